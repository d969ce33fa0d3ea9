"""PNG encoding with numpy and zlib, outside the interpreter lock.

rio-tiler encodes PNG through GDAL's PNG driver, and rasterio holds the GIL for the whole of
`GDALCreateCopy` in its buffered writer: on a server answering several tiles at once, every PNG
compression (about 5 ms of a 12 ms tile) runs one at a time whatever the number of cores.
numpy's array arithmetic and `zlib` release the GIL, so tiles compress in parallel here. GDAL
through `rasterio.shutil.copy` would release it too (titiler.encoders does that for JPEG and
WebP), but its adaptive row filter costs 2 ms a tile and makes colormapped tiles 25% larger
than unfiltered rows; Pillow adds 12 MB to a function image that must stay under 150 MB.

The output is a plain PNG (IHDR, IDAT, IEND; no interlacing) that decodes to exactly the pixels
GDAL would have written: grey, grey + alpha, RGB or RGBA, 8 or 16 bits per sample."""

import struct
import zlib
from enum import IntEnum

import numpy
from numpy.typing import NDArray

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type by number of samples per pixel.
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


class PngFilter(IntEnum):
    """Row filters (PNG specification, section 9.2) this encoder applies to every row."""

    #: Best for colormapped images: runs of equal colours compress as they are (25% smaller
    #: than GDAL's adaptive filtering on the project's colormapped benchmark tiles).
    none = 0
    #: Best for continuous-tone images (photographs, hillshades): each byte as the difference
    #: from the same sample of the pixel on its left.
    sub = 1


def can_encode_png(pixels: NDArray) -> bool:
    """Whether `pixels` (bands, rows, columns) is an image this encoder writes."""
    return (
        pixels.ndim == 3
        and pixels.shape[0] in _COLOR_TYPES
        and pixels.dtype in (numpy.uint8, numpy.uint16)
        and pixels.shape[1] > 0
        and pixels.shape[2] > 0
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _filtered_rows(
    samples: NDArray[numpy.uint8], pixel_bytes: int, row_filter: PngFilter
) -> NDArray[numpy.uint8]:
    """Each row prefixed by its filter type byte, filtered (uint8 arithmetic wraps modulo 256,
    which is what PNG's filters specify)."""
    rows, row_bytes = samples.shape
    out = numpy.empty((rows, row_bytes + 1), dtype=numpy.uint8)
    out[:, 0] = row_filter
    if row_filter is PngFilter.sub:
        out[:, 1 : pixel_bytes + 1] = samples[:, :pixel_bytes]
        numpy.subtract(
            samples[:, pixel_bytes:], samples[:, :-pixel_bytes], out=out[:, pixel_bytes + 1 :]
        )
    else:
        out[:, 1:] = samples
    return out


def encode_png(pixels: NDArray, *, zlevel: int = 6, row_filter: PngFilter = PngFilter.sub) -> bytes:
    """`pixels` (bands, rows, columns; 1 to 4 bands of uint8 or uint16) as PNG bytes.

    One band is grey, two grey and alpha, three RGB, four RGBA; `zlevel` is zlib's level
    (0-9), as GDAL's ZLEVEL creation option.
    """
    if not can_encode_png(pixels):
        raise ValueError(f"cannot write {pixels.shape} {pixels.dtype} as PNG")
    bands, height, width = pixels.shape
    sample_type = numpy.dtype(">u2") if pixels.dtype == numpy.uint16 else numpy.dtype("u1")
    interleaved = numpy.ascontiguousarray(pixels.transpose(1, 2, 0), dtype=sample_type)
    samples = interleaved.view(numpy.uint8).reshape(height, -1)
    filtered = _filtered_rows(samples, bands * sample_type.itemsize, row_filter)

    # libpng's choices: Z_FILTERED for filtered rows, the default strategy for unfiltered ones.
    strategy = zlib.Z_DEFAULT_STRATEGY if row_filter is PngFilter.none else zlib.Z_FILTERED
    compressor = zlib.compressobj(zlevel, zlib.DEFLATED, 15, 8, strategy)
    data = compressor.compress(filtered.data) + compressor.flush()
    header = struct.pack(
        ">IIBBBBB", width, height, sample_type.itemsize * 8, _COLOR_TYPES[bands], 0, 0, 0
    )
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", data), _chunk(b"IEND", b""))
    )
