"""Image encoders that leave the interpreter lock free while they compress.

rio-tiler's `render` writes through rasterio's buffered writer, whose `GDALCreateCopy` holds
the GIL: on a server answering several tiles at once, every JPEG, WebP or PNG compression runs
one at a time however many cores there are (measured: another Python thread keeps a tenth of
its speed during a rio-tiler JPEG encoding, all of it during `rasterio.shutil.copy`). Here the
same bands go into an in-memory (MEM) dataset and `rasterio.shutil.copy` writes the format:
GDAL's own encoder with the same creation options, so the bytes are the ones `render` returns.
PNG goes to `titiler.png` (numpy and zlib), which also filters rows better for colormapped tiles.
Everything else (GeoTIFF with its georeferencing, NPY, data a format cannot hold) stays with
`render`.
"""

import uuid
import warnings
from typing import Any

import numpy
import rasterio
import rasterio.shutil
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rio_tiler.errors import InvalidFormat
from rio_tiler.utils import linear_rescale, render

from titiler.png import PngFilter, can_encode_png, encode_png

#: GDAL drivers written from a MEM dataset with `rasterio.shutil.copy`, and the data types each
#: takes (anything else is left to `render`, which reports what the driver refuses).
_COPY_DRIVERS: dict[str, tuple[str, ...]] = {
    "JPEG": ("uint8",),
    "WEBP": ("uint8",),
    "JP2OpenJPEG": ("uint8", "int16", "uint16"),
}


def encode_image(
    data: numpy.ndarray,
    mask: numpy.ndarray | None,
    driver: str,
    options: dict[str, Any],
    row_filter: PngFilter = PngFilter.sub,
) -> bytes:
    """`data` (bands, rows, columns) and its `mask` as the image bytes of `driver`, as
    rio-tiler's `render(data, mask, img_format=driver, **options)` would write them.
    `row_filter` is the PNG row filter (none suits colormapped images)."""
    if driver == "PNG":
        pixels = _with_alpha(data, mask, rescale_16_bit=True)
        if can_encode_png(pixels):
            return encode_png(pixels, zlevel=int(options.get("zlevel", 6)), row_filter=row_filter)
    elif driver in _COPY_DRIVERS and str(data.dtype) in _COPY_DRIVERS[driver]:
        if driver == "WEBP" and data.shape[0] == 1:  # WebP has no grey: as render, repeat it
            data = numpy.repeat(data, 3, axis=0)
        return _copy_from_memory(data, None if driver == "JPEG" else mask, driver, options)
    return render(data, mask, img_format=driver, **options)


def _with_alpha(
    data: numpy.ndarray, mask: numpy.ndarray | None, rescale_16_bit: bool = False
) -> numpy.ndarray:
    """The bands `render` hands to GDAL: the data, then the mask as an alpha band in the
    data's type (for 16-bit PNG, 0-255 stretched to 0-65535 first, as `render` does)."""
    if mask is None:
        return data
    alpha = mask
    if rescale_16_bit and data.dtype == numpy.uint16:
        alpha = linear_rescale(mask, (0, 255), (0, 65535))
    return numpy.concatenate((data, alpha.astype(data.dtype)[numpy.newaxis]))


def _copy_from_memory(
    data: numpy.ndarray, mask: numpy.ndarray | None, driver: str, options: dict[str, Any]
) -> bytes:
    pixels = _with_alpha(data, mask)
    count, height, width = pixels.shape
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with (
                rasterio.open(
                    f"/vsimem/{uuid.uuid4().hex}.mem",
                    "w",
                    driver="MEM",
                    count=count,
                    height=height,
                    width=width,
                    dtype=pixels.dtype,
                ) as source,
                MemoryFile() as output,
            ):
                source.write(pixels)
                if mask is not None:
                    source.colorinterp = (*source.colorinterp[:-1], ColorInterp.alpha)
                rasterio.shutil.copy(source, output.name, driver=driver, **options)
                return output.read()
    except Exception as error:  # the same failure `render` reports
        raise InvalidFormat(
            f"Could not encode array of shape {pixels.shape} as {driver}"
        ) from error
