"""GDAL configuration applied to the process before any source is opened.

Values already present in the environment win, so a deployment can tune each one.
"""

import ctypes
import os
from collections.abc import Mapping
from functools import lru_cache

#: Safe and fast defaults for reading COGs over HTTP and S3.
GDAL_DEFAULTS: Mapping[str, str] = {
    # Never list a directory to look for sidecar files: one request, not dozens.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Never read or write `.aux.xml` sidecars: statistics computed for /cog/validate must not
    # write files next to a source, and a sidecar could change how a source reads.
    "GDAL_PAM_ENABLED": "NO",
    # Drivers that embed code or other files stay off.
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    # Curl would read `~/.netrc`: never send stored credentials to whatever host is allowed.
    "GDAL_HTTP_NETRC": "NO",
    # One stalled request, retried, must end well inside the function's 10 s default timeout:
    # 4 + 0.5 + 4 = 8.5 s. (10 s with 2 retries was 31 s: Lambda killed mid-request, no detail.)
    "GDAL_HTTP_TIMEOUT": "4",
    "GDAL_HTTP_CONNECTTIMEOUT": "2",
    "GDAL_HTTP_MAX_RETRY": "1",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": "5000000",
    "CPL_VSIL_CURL_CACHE_SIZE": "200000000",
    # Unaligned reads (headers, single blocks) fetch 256 KB chunks instead of 16 KB: a warm
    # process then finds the neighbouring tiles' blocks in the cache (benchmarks/bench_remote.py:
    # warm requests per tile 2 instead of 3, other zoom 2 instead of 4). On S3 a request costs
    # 20-50 ms of latency; 240 KB more costs a few.
    "CPL_VSIL_CURL_CHUNK_SIZE": "262144",
    "GDAL_CACHEMAX": "200",
    # No anonymous credentials lookups against instance metadata for public buckets.
    "AWS_NO_SIGN_REQUEST": os.environ.get("AWS_NO_SIGN_REQUEST", "NO"),
}


def apply_gdal_defaults(environ: dict[str, str] | None = None) -> None:
    """Set each default that the environment does not already set."""
    target = os.environ if environ is None else environ
    for key, value in GDAL_DEFAULTS.items():
        target.setdefault(key, value)


@lru_cache(maxsize=1)
def _libgdal() -> "ctypes.CDLL | None":
    """The libgdal this process loaded (for the functions rasterio has no binding for); None
    where it cannot be found (not Linux, static build).
    """
    import rasterio._env  # noqa: F401 - loads libgdal

    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libgdal" in line}
        for path in sorted(paths):
            return ctypes.CDLL(path)
    except OSError:
        pass
    return None


@lru_cache(maxsize=1)
def _clear_cache_function() -> "ctypes._NamedFuncPointer | None":
    """GDAL's `VSICurlPartialClearCache`."""
    try:
        function = _libgdal().VSICurlPartialClearCache  # type: ignore[union-attr]
    except AttributeError:
        return None
    function.argtypes = [ctypes.c_char_p]
    function.restype = None
    return function


@lru_cache(maxsize=1)
def _error_reset_function() -> "ctypes._NamedFuncPointer | None":
    """GDAL's `CPLErrorReset`."""
    try:
        function = _libgdal().CPLErrorReset  # type: ignore[union-attr]
    except AttributeError:
        return None
    function.argtypes = []
    function.restype = None
    return function


def can_reset_gdal_error() -> bool:
    """True where `reset_gdal_error` works (datasets are only kept open where it does)."""
    return _error_reset_function() is not None


def reset_gdal_error() -> None:
    """Clear this thread's last GDAL error.

    Opening a dataset clears it; a dataset kept open between requests is read without an open,
    and rasterio would report the error a failed read of another file left behind (a corrupt
    file's "IReadBlock failed" on the next, valid, file).
    """
    function = _error_reset_function()
    if function is not None:
        function()


def forget_remote_file(path: str) -> None:
    """Drop what GDAL cached about a remote file after it failed to open.

    GDAL remembers a failed HEAD (a timeout, a refused connection) as "this file does not exist"
    for the life of the process, so one upstream hiccup would turn a warm Lambda's every later
    request for that URL into a 404.
    """
    if path.lower().startswith(("http://", "https://")):
        vsi_path = f"/vsicurl/{path}"
    elif path.lower().startswith("s3://"):
        vsi_path = f"/vsis3/{path[len('s3://') :]}"
    else:
        return
    function = _clear_cache_function()
    if function is not None:
        function(vsi_path.encode("utf-8"))
