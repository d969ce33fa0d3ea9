"""GDAL configuration applied to the process before any source is opened.

Values already present in the environment win, so a deployment can tune each one.
"""

import os
from collections.abc import Mapping

#: Safe and fast defaults for reading COGs over HTTP and S3.
GDAL_DEFAULTS: Mapping[str, str] = {
    # Never list a directory to look for sidecar files: one request, not dozens.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Drivers that embed code or other files stay off.
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_HTTP_TIMEOUT": "10",
    "GDAL_HTTP_CONNECTTIMEOUT": "5",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": "5000000",
    "CPL_VSIL_CURL_CACHE_SIZE": "200000000",
    "GDAL_CACHEMAX": "200",
    # No anonymous credentials lookups against instance metadata for public buckets.
    "AWS_NO_SIGN_REQUEST": os.environ.get("AWS_NO_SIGN_REQUEST", "NO"),
}


def apply_gdal_defaults(environ: dict[str, str] | None = None) -> None:
    """Set each default that the environment does not already set."""
    target = os.environ if environ is None else environ
    for key, value in GDAL_DEFAULTS.items():
        target.setdefault(key, value)
