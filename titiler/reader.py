"""Opening sources: the source policy first, then rasterio with an allow-list of drivers."""

import math
import os
import re
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy
import rasterio
import rasterio.features
from morecantile import TileMatrixSet
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.io import DatasetReader
from rio_tiler.io import Reader

from titiler.errors import BadParameter, SourceNotFound, SourceUnavailable, SourceUnreadable
from titiler.gdal import can_reset_gdal_error, forget_remote_file, reset_gdal_error
from titiler.sources import SourcePolicy, check_signature, follow_redirects

#: The one GDAL driver allowed to open a source. VRT, GTI, WMS and the like would let a source pull
#: in other files or URLs behind the policy's back, so only GeoTIFF (and so COG) is opened.
ALLOWED_DRIVER = "GTiff"

_NOT_FOUND_HINTS = ("no such file", "does not exist", "http response code: 404", "http 404")
_UNAVAILABLE_HINTS = (
    "timed out",
    "couldn't connect",
    "could not connect",
    "connection refused",
    "connection reset",
    "couldn't resolve",
    "http response code: 5",
)


def classify_open_error(exc: RasterioIOError) -> Exception:
    """A missing source is a 404, one down or too slow a 502; anything else is unreadable (422)."""
    message = str(exc).lower()
    if any(hint in message for hint in _UNAVAILABLE_HINTS):
        return SourceUnavailable("The source did not answer in time or could not be reached.")
    if any(hint in message for hint in _NOT_FOUND_HINTS):
        return SourceNotFound("The source does not exist or could not be reached.")
    if "not recognized" in message or "not a supported" in message:
        return SourceUnreadable("The source is not a GeoTIFF this server can read.")
    return SourceUnreadable(f"The source could not be opened: {exc}")


#: Datasets each worker thread keeps open between requests (0: open and close per request).
DEFAULT_OPEN_DATASETS = 16
#: Seconds an open remote dataset is reused before it is opened again (a local one is reused
#: while its inode, size and modification time stay the same).
REMOTE_REUSE_SECONDS = 60.0


@dataclass
class _OpenDataset:
    dataset: DatasetReader
    #: rio-tiler readers over `dataset`, by tile matrix set identifier (None: the default).
    readers: dict[str | None, "_Reader"]
    #: (inode, size, mtime) of a local file; None for a remote one.
    identity: tuple[int, int, int] | None
    expires: float


class _ThreadDatasets(threading.local):
    """The datasets one thread keeps open, least recently used first.

    Per thread because a GDAL dataset handle must not be used by two threads at once; the
    worker pool's threads live as long as the process (`titiler.concurrency`), so a warm Lambda
    or server skips opening (about 1 ms locally: the TIFF header, rio-tiler's reader set-up) and
    keeps GDAL's decoded blocks of the files it serves.
    """

    def __init__(self) -> None:
        self.entries: OrderedDict[str, _OpenDataset] = OrderedDict()
        self.generation = _generation


_generation = 0
_open_datasets = _ThreadDatasets()
_capacity = DEFAULT_OPEN_DATASETS


def configure_open_datasets(per_thread: int) -> None:
    """How many datasets each worker thread keeps open (0 turns reuse off)."""
    global _capacity
    if per_thread < 0:
        raise ValueError("the number of open datasets cannot be negative")
    _capacity = per_thread


def forget_open_datasets() -> None:
    """Have every thread close the datasets it keeps open, before its next request (after GDAL
    settings change, or between tests).
    """
    global _generation
    _generation += 1


def _close_all() -> None:
    while _open_datasets.entries:
        _, entry = _open_datasets.entries.popitem()
        _close(entry)
    _open_datasets.generation = _generation


def _close(entry: _OpenDataset) -> None:
    for reader in entry.readers.values():
        reader.close()
    entry.dataset.close()


def _forget(path: str) -> None:
    entry = _open_datasets.entries.pop(path, None)
    if entry is not None:
        _close(entry)


def _local_identity(path: str) -> tuple[int, int, int]:
    """What tells a changed local file from the one opened before; 404/422 for non-files."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise SourceNotFound("The source does not exist or could not be reached.") from None
    except OSError:
        raise SourceUnreadable("The source is not a file this server can read.") from None
    if not stat.S_ISREG(status.st_mode):  # a directory, a FIFO that would block, a device
        raise SourceUnreadable("The source is not a regular file.")
    return (status.st_ino, status.st_size, status.st_mtime_ns)


def _open_dataset(path: str, identity: tuple[int, int, int] | None) -> _OpenDataset:
    if identity is not None:
        check_signature(_first_bytes(path))
    try:
        dataset = rasterio.open(path, driver=ALLOWED_DRIVER)
    except RasterioIOError as exc:
        forget_remote_file(path)
        raise classify_open_error(exc) from None
    if dataset.crs is None and not dataset.gcps[0]:
        dataset.close()
        raise SourceUnreadable("The source has no georeferencing (no CRS and no GCPs).")
    return _OpenDataset(dataset, {}, identity, time.monotonic() + REMOTE_REUSE_SECONDS)


def _dataset_for(path: str, identity: tuple[int, int, int] | None) -> _OpenDataset:
    """The thread's open dataset for `path` when it is still the same file, else a new one."""
    if _open_datasets.generation != _generation:
        _close_all()
    entries = _open_datasets.entries
    entry = entries.get(path)
    if entry is not None:
        fresh = entry.identity == identity if identity else entry.expires > time.monotonic()
        if fresh:
            entries.move_to_end(path)
            return entry
        _forget(path)
    entry = _open_dataset(path, identity)
    if _capacity > 0 and can_reset_gdal_error():
        entries[path] = entry
        while len(entries) > _capacity:
            _, oldest = entries.popitem(last=False)
            _close(oldest)
    return entry


@contextmanager
def open_source(
    url: str, policy: SourcePolicy, tms: TileMatrixSet | None = None
) -> Iterator[Reader]:
    """Check `url` against `policy`, open it (or reuse this thread's open dataset), and yield a
    rio-tiler `Reader`.

    The policy is checked on every request; only what GDAL read from an allowed file is reused.
    """
    path = policy.check(url)
    identity = None
    if path.lower().startswith(("http://", "https://")):
        path = follow_redirects(path, policy)
    elif not path.lower().startswith("s3://"):
        identity = _local_identity(path)
    entry = _dataset_for(path, identity)
    reset_gdal_error()
    key = tms.id if tms is not None else None
    reader = entry.readers.get(key)
    if reader is None:
        reader = (
            _Reader(path, dataset=entry.dataset, tms=tms)
            if tms
            else _Reader(path, dataset=entry.dataset)
        )
        entry.readers[key] = reader
    kept = _open_datasets.entries.get(path) is entry
    try:
        yield reader
    except (RasterioError, CPLE_BaseError, OSError):
        # A read that failed in GDAL may leave the handle in a state not worth trusting.
        if kept:
            _forget(path)
        raise
    finally:
        if not kept:
            _close(entry)


class _Reader(Reader):
    """rio-tiler's Reader, refusing a `nodata` the dataset's data type cannot hold: numpy would
    raise a TypeError deep in its masked arrays (-1 or nan for uint16 was a 500).
    """

    def read(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().read(*args, **kwargs)

    def part(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().part(*args, **kwargs)

    def point(self, *args: Any, **kwargs: Any) -> Any:
        _check_nodata(self, kwargs.get("nodata"))
        return super().point(*args, **kwargs)

    def feature(self, shape: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        # A point or a straight axis-aligned line has no area: rio-tiler divided by zero (500).
        # Statistics align the bounds to the pixel grid first, so they still read its pixels.
        if not kwargs.get("align_bounds_with_dataset"):
            try:
                minx, miny, maxx, maxy = rasterio.features.bounds(shape)
            except (IndexError, KeyError, TypeError, ValueError):
                raise BadParameter("geojson", "the geometry has no coordinates") from None
            if minx == maxx or miny == maxy:
                raise BadParameter("geojson", "the feature has no area to draw (a point or line)")
        return super().feature(shape, *args, **kwargs)


def _check_nodata(reader: Reader, nodata: float | None) -> None:
    if nodata is None or reader.dataset is None:
        return
    dtype = numpy.dtype(reader.dataset.dtypes[0])
    if dtype.kind in "iu":
        limits = numpy.iinfo(dtype)
        if not math.isfinite(nodata) or not limits.min <= nodata <= limits.max:
            raise BadParameter(
                "nodata", f"{nodata} is not a {dtype} value ({limits.min} to {limits.max})"
            )


def _first_bytes(path: str) -> bytes:
    """The first bytes of a local file, read before GDAL is allowed anywhere near it."""
    try:
        with open(path, "rb") as file:
            return file.read(4)
    except OSError:
        raise SourceUnreadable("The source is not a file this server can read.") from None


def check_indexes(reader: Reader, indexes: list[int] | None, expression: str | None = None) -> None:
    """Band indexes beyond the dataset's band count are a client error, not a GDAL crash."""
    count = reader.dataset.count if reader.dataset is not None else 0
    if indexes and max(indexes) > count:
        raise BadParameter("bidx", f"the dataset has {count} band(s)")
    named = [int(index) for index in re.findall(r"\bb(\d+)\b", expression or "")]
    if named and not 1 <= min(named) <= max(named) <= count:
        raise BadParameter("expression", f"the dataset has {count} band(s) (b1 to b{count})")
