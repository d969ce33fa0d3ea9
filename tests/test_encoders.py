"""The encoders: JPEG, WebP and JPEG 2000 byte for byte as rio-tiler's `render`; PNG decoding
(with GDAL) to the same pixels; and all of them leaving the GIL free while they compress."""

import struct
import threading
import time
import zlib

import numpy
import pytest
from rasterio.io import MemoryFile
from rio_tiler.profiles import img_profiles
from rio_tiler.utils import render

from titiler.encoders import encode_image
from titiler.png import PngFilter, can_encode_png, encode_png


def _decode(content: bytes) -> tuple[numpy.ndarray, list[str]]:
    with MemoryFile(content) as memfile, memfile.open() as dataset:
        assert dataset.driver == "PNG"
        return dataset.read(), [interp.name for interp in dataset.colorinterp]


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("bands", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (256, 256), (33, 300)])
@pytest.mark.parametrize("row_filter", list(PngFilter))
def test_round_trip_is_exact(dtype: str, bands: int, shape: tuple[int, int], row_filter) -> None:
    rng = numpy.random.default_rng(bands * 1000 + shape[0])
    pixels = rng.integers(
        0, numpy.iinfo(dtype).max, size=(bands, *shape), dtype=dtype, endpoint=True
    )
    decoded, _ = _decode(encode_png(pixels, row_filter=row_filter))
    assert decoded.dtype == pixels.dtype
    numpy.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("bands,interpretation", [
    (1, ["gray"]),
    (2, ["gray", "alpha"]),
    (3, ["red", "green", "blue"]),
    (4, ["red", "green", "blue", "alpha"]),
])  # fmt: skip
def test_colour_types_match_gdal(bands: int, interpretation: list[str]) -> None:
    """The same bands as GDAL's PNG driver writes them (what rio-tiler's `render` returns)."""
    pixels = numpy.arange(bands * 16 * 16, dtype="uint32").reshape(bands, 16, 16) % 251
    pixels = pixels.astype("uint8")
    ours, ours_interp = _decode(encode_png(pixels))
    gdal, gdal_interp = _decode(
        render(pixels[:-1], pixels[-1]) if bands in (2, 4) else render(pixels)
    )
    numpy.testing.assert_array_equal(ours, gdal)
    assert ours_interp == gdal_interp == interpretation


def test_structure_and_zlevel() -> None:
    """Signature, IHDR fields, one IDAT whose zlib stream holds filtered rows, IEND; the level
    is zlib's (0 stores)."""
    pixels = numpy.full((3, 4, 5), 200, dtype="uint8")
    content = encode_png(pixels, zlevel=0, row_filter=PngFilter.none)
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", content[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert struct.unpack(">IIBBBBB", content[16:29]) == (5, 4, 8, 2, 0, 0, 0)
    (idat_length,) = struct.unpack(">I", content[33:37])
    assert content[37:41] == b"IDAT"
    rows = zlib.decompress(content[41 : 41 + idat_length])
    assert rows == (b"\x00" + bytes([200] * 15)) * 4
    assert content.endswith(b"IEND\xaeB`\x82")
    assert len(encode_png(pixels, zlevel=9)) < len(content)


@pytest.mark.parametrize(
    "pixels",
    [
        numpy.zeros((5, 4, 4), "uint8"),  # five bands
        numpy.zeros((3, 4, 4), "float32"),
        numpy.zeros((3, 4, 4), "int16"),
        numpy.zeros((3, 0, 4), "uint8"),
        numpy.zeros((4, 4), "uint8"),
    ],
)
def test_refuses_what_png_cannot_hold(pixels: numpy.ndarray) -> None:
    assert not can_encode_png(pixels)
    with pytest.raises(ValueError, match="cannot write"):
        encode_png(pixels)


@pytest.mark.parametrize("driver", ["PNG", "JPEG", "WEBP"])
def test_compression_leaves_the_interpreter_free(driver: str) -> None:
    """While one thread compresses a large image, another keeps running Python at a good part
    of its own speed. GDAL's PNG driver through rasterio holds the GIL for most of an encoding
    (measured: the other thread at about a tenth of its speed), which serialises tiles."""
    pixels = numpy.random.default_rng(0).integers(0, 255, size=(4, 2048, 2048), dtype="uint8")
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    def rate_while(action) -> float:
        start_ticks, start = ticks, time.perf_counter()
        action()
        return (ticks - start_ticks) / (time.perf_counter() - start)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        alone = rate_while(lambda: time.sleep(0.2))
        during = rate_while(lambda: encode_image(pixels[:3], pixels[3], driver, {}))
    finally:
        done.set()
        counter.join()
    # One core shared by both threads still leaves the counter about half its speed.
    assert during > 0.3 * alone, f"counter at {during / alone:.0%} of its speed while encoding"


@pytest.mark.parametrize(
    "driver,profile,dtype",
    [
        ("JPEG", "jpeg", "uint8"),
        ("WEBP", "webp", "uint8"),
        ("JP2OpenJPEG", "jp2", "uint8"),
        ("JP2OpenJPEG", "jp2", "uint16"),
        ("JP2OpenJPEG", "jp2", "int16"),
    ],
)
@pytest.mark.parametrize("bands", [1, 2, 3])
@pytest.mark.parametrize("masked", [False, True])
def test_gdal_formats_are_byte_identical_to_render(
    driver: str, profile: str, dtype: str, bands: int, masked: bool
) -> None:
    ramp = numpy.add.outer(numpy.arange(64), numpy.arange(64)) % 100
    data = numpy.stack([ramp + 10 * band for band in range(bands)]).astype(dtype)
    mask = None
    if masked:
        mask = numpy.where(numpy.random.default_rng(bands).random((64, 64)) > 0.3, 255, 0)
        mask = mask.astype("uint8")
    options = dict(img_profiles.get(profile, {}))

    def outcome(encode) -> bytes | str:  # the bytes, or the error a format refuses with
        try:
            return encode()
        except Exception as error:
            return type(error).__name__

    ours = outcome(lambda: encode_image(data, mask, driver, options))
    theirs = outcome(lambda: render(data, mask, img_format=driver, **options))
    assert ours == theirs


def test_png_through_encode_image_matches_render_pixels() -> None:
    """16-bit data with a mask: the mask becomes a 0-65535 alpha band, as in `render`."""
    data = (numpy.arange(3 * 32 * 32).reshape(3, 32, 32) * 61).astype("uint16")
    mask = numpy.where(numpy.arange(32 * 32).reshape(32, 32) % 3 == 0, 0, 255).astype("uint8")
    ours, _ = _decode(encode_image(data, mask, "PNG", {"zlevel": 6}))
    theirs, _ = _decode(render(data, mask, img_format="PNG", zlevel=6))
    numpy.testing.assert_array_equal(ours, theirs)
