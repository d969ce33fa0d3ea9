"""Build-time check of the function image: requests through the Lambda handler on the demo COG.

The Dockerfile trims the installed packages (sources, unused data, numpy submodules); an import or
a data file that a request needs only when it runs would not be missed by an import check. This
sends HTTP API (payload 2.0) events for every output format and the main endpoints through
`handler.handler` and exits non-zero on the first answer that is not a 200.

Run in the build stage only; it is not copied into the final image.
"""

import base64
import importlib
import json
import sys
from typing import Any
from urllib.parse import urlencode

import morecantile

from titiler.demo import demo_path

# The task root's module, by name: /var/task holds handler.py beside the packages it imports.
handler = importlib.import_module("handler").handler


def _event(
    method: str, path: str, query: dict[str, str], body: str | None = None
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {"host": "selfcheck.local", "content-type": "application/json"},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": "selfcheck",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _call(method: str, path: str, query: dict[str, str], body: str | None = None) -> bytes:
    response = handler(_event(method, path, query, body), None)
    payload = response.get("body") or ""
    data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
    if response["statusCode"] != 200:
        raise SystemExit(f"selfcheck: {method} {path} -> {response['statusCode']}: {data[:300]!r}")
    print(f"selfcheck: {method} {path} -> 200 ({len(data)} bytes)")
    return data


def main() -> int:
    """Send the requests; any failure exits with its status and detail."""
    url = {"url": demo_path()}
    tilejson = json.loads(_call("GET", "/cog/WebMercatorQuad/tilejson.json", url))
    lon, lat, zoom = tilejson["center"]
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, int(zoom) + 1)
    styled = {**url, "rescale": "0,3000", "colormap_name": "terrain"}
    for extension in ("png", "pngraw", "jpeg", "webp", "tif", "jp2", "npy"):
        _call("GET", f"/cog/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.{extension}", styled)
    _call("GET", "/cog/info", url)
    _call("GET", "/cog/statistics", url)
    _call("GET", f"/cog/point/{lon},{lat}", url)
    _call("GET", "/cog/preview.png", {**styled, "max_size": "256"})
    _call("GET", "/cog/validate", url)
    _call("GET", "/cog/WMTSCapabilities.xml", url)
    _call("GET", "/cog/WebMercatorQuad/map.html", url)
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [lon - 0.1, lat - 0.1],
                    [lon + 0.1, lat - 0.1],
                    [lon + 0.1, lat + 0.1],
                    [lon - 0.1, lat + 0.1],
                    [lon - 0.1, lat - 0.1],
                ]
            ],
        },
    }
    _call("POST", "/cog/statistics", url, json.dumps(feature))
    _call("POST", "/cog/feature.png", {**styled, "max_size": "128"}, json.dumps(feature))
    return 0


if __name__ == "__main__":
    sys.exit(main())
