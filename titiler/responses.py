"""Response classes: JSON without NaN/Infinity (invalid JSON) and XML."""

import json
import math
from typing import Any

from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import Response


def _finite(value: Any) -> Any:
    """NaN and +/-Infinity become null; containers are walked recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class JSONResponse(StarletteJSONResponse):
    """JSON that strict parsers accept: non-finite numbers are written as `null`."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            _finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


class GeoJSONResponse(JSONResponse):
    """GeoJSON media type."""

    media_type = "application/geo+json"


class XMLResponse(Response):
    """XML media type."""

    media_type = "application/xml"
