"""Settings of the tile server, read once from `TITILER_API_*` environment variables."""

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from titiler.concurrency import DEFAULT_WORKER_THREADS
from titiler.demo import DEMO_DIRECTORY
from titiler.reader import DEFAULT_OPEN_DATASETS

#: Sources allowed when `TITILER_API_ALLOWED_SOURCES` is not set: the embedded demo data and any
#: public HTTPS or S3 source (private, loopback and metadata addresses stay refused).
DEFAULT_ALLOWED_SOURCES: tuple[str, ...] = (f"{DEMO_DIRECTORY}/", "https://", "s3://")


def _split_list(value: object) -> object:
    """Accept a JSON list or a comma-separated string, as TiTiler does for CORS settings."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            import json

            return json.loads(stripped)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


class ApiSettings(BaseSettings):
    """Application settings (environment prefix `TITILER_API_`)."""

    model_config = SettingsConfigDict(env_prefix="TITILER_API_", env_file=".env", extra="ignore")

    name: str = "TiTiler"
    description: str = "A dynamic raster tile server for Cloud Optimized GeoTIFFs, on AWS Lambda."
    cors_origins: Annotated[list[str], NoDecode] = ["*"]
    cors_allow_methods: Annotated[list[str], NoDecode] = ["GET"]
    cachecontrol: str | None = "public, max-age=3600"
    root_path: str = ""
    debug: bool = False

    #: Prefixes a `url` must start with (`s3://bucket/`, `https://host/path/`, `/local/dir/`).
    allowed_sources: Annotated[list[str], NoDecode] = list(DEFAULT_ALLOWED_SOURCES)

    #: Output limits for preview, bbox and feature images.
    max_output_width: int = Field(default=4096, ge=1)
    max_output_height: int = Field(default=4096, ge=1)
    max_output_pixels: int = Field(default=4096 * 4096, ge=1)
    #: Largest POST body accepted, in bytes.
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    #: Largest response body, in bytes, before base64 (Lambda answers at most 6 MB after base64).
    max_response_bytes: int = Field(default=4_500_000, ge=1)
    #: Seconds a request may take before it is answered 504 (none: no limit of its own). On
    #: Lambda the function's remaining time, less half a second, limits it as well.
    request_timeout: float | None = Field(default=None, gt=0)
    #: Requests that may read and render at once (threads that live as long as the process).
    worker_threads: int = Field(default=DEFAULT_WORKER_THREADS, ge=1, le=1024)
    #: Datasets each worker thread keeps open between requests (0: open per request).
    open_datasets_per_thread: int = Field(default=DEFAULT_OPEN_DATASETS, ge=0, le=1024)

    @field_validator("cors_origins", "allowed_sources", mode="before")
    @classmethod
    def _parse_list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("cors_allow_methods", mode="before")
    @classmethod
    def _parse_methods(cls, value: object) -> object:
        parsed = _split_list(value)
        if isinstance(parsed, list):
            return [str(method).upper() for method in parsed]
        return parsed


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """The process-wide settings, read once."""
    return ApiSettings()
