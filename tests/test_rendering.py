"""`titiler.rendering`: from rio-tiler `ImageData` to encoded bytes, decoded back to check."""

from typing import Any

import numpy
import pytest
from rasterio.crs import CRS
from rasterio.transform import from_bounds
from rio_tiler.colormap import apply_cmap, cmap
from rio_tiler.models import ImageData

from tests.conftest import decode_image, decode_npy
from titiler.dependencies import RenderParams
from titiler.rendering import (
    ImageFormat,
    _mask_to_uint8,
    _rescale_to_uint8,
    apply_colormap,
    image_headers,
    image_response,
    render_image,
)

BOUNDS = (10.0, 40.0, 12.0, 42.0)
WGS84 = CRS.from_epsg(4326)


def image(data: numpy.ndarray, masked: numpy.ndarray | None = None, **options: Any) -> ImageData:
    """An ImageData of `data` (bands, rows, cols) with `masked` pixels (rows, cols) hidden."""
    mask = numpy.zeros(data.shape, dtype=bool)
    if masked is not None:
        mask[:, masked] = True
    array = numpy.ma.MaskedArray(data, mask=mask)
    options.setdefault("bounds", BOUNDS)
    options.setdefault("crs", WGS84)
    return ImageData(array, **options)


def ramp(dtype: str, bands: int = 1, size: int = 8, step: float = 1) -> numpy.ndarray:
    values = numpy.arange(size * size, dtype="float64").reshape(size, size) * step
    return numpy.stack([values + band for band in range(bands)]).astype(dtype)


def left_half(size: int = 8) -> numpy.ndarray:
    masked = numpy.zeros((size, size), dtype=bool)
    masked[:, : size // 2] = True
    return masked


def render(img: ImageData, fmt: ImageFormat | None, **params: Any) -> tuple[bytes, ImageFormat]:
    return render_image(img, fmt, RenderParams(**params))


# --- ImageFormat --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "driver", "media_type"),
    [
        ("png", "PNG", "image/png"),
        ("pngraw", "PNG", "image/png"),
        ("jpeg", "JPEG", "image/jpeg"),
        ("jpg", "JPEG", "image/jpg"),
        ("webp", "WEBP", "image/webp"),
        ("tif", "GTiff", "image/tiff; application=geotiff"),
        ("tiff", "GTiff", "image/tiff; application=geotiff"),
        ("jp2", "JP2OpenJPEG", "image/jp2"),
        ("npy", "NPY", "application/x-binary"),
    ],
)
def test_image_formats(fmt: str, driver: str, media_type: str) -> None:
    image_format = ImageFormat(fmt)
    assert image_format.driver == driver
    assert image_format.media_type == media_type
    assert isinstance(image_format.profile, dict)


def test_format_profiles_are_copies() -> None:
    ImageFormat.png.profile["zlevel"] = 99
    assert ImageFormat.png.profile.get("zlevel") != 99


# --- automatic format ---------------------------------------------------------------------------


def test_auto_format_without_masked_pixels_is_jpeg() -> None:
    content, used = render(image(ramp("uint8")), None)
    assert used is ImageFormat.jpeg
    assert decode_image(content).profile["driver"] == "JPEG"


def test_auto_format_with_masked_pixels_is_png_with_alpha() -> None:
    content, used = render(image(ramp("uint8"), left_half()), None)
    assert used is ImageFormat.png
    decoded = decode_image(content)
    assert decoded.mask is not None
    numpy.testing.assert_array_equal(decoded.mask[:, :4], 0)
    numpy.testing.assert_array_equal(decoded.mask[:, 4:], 255)
    numpy.testing.assert_array_equal(decoded.data[0, :, 4:], ramp("uint8")[0, :, 4:])


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32", "float64", "int32"])
def test_auto_format_is_always_8_bit(dtype: str) -> None:
    content, used = render(image(ramp(dtype), left_half()), None)
    assert used is ImageFormat.png
    decoded = decode_image(content)
    assert decoded.data.dtype == numpy.uint8
    assert decoded.mask is not None
    numpy.testing.assert_array_equal(decoded.mask[:, :4], 0)
    numpy.testing.assert_array_equal(decoded.mask[:, 4:], 255)


# --- data types a format cannot hold ------------------------------------------------------------


@pytest.mark.parametrize("fmt", [ImageFormat.png, ImageFormat.webp])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int16", "uint32"])
def test_stretched_formats_keep_the_mask(fmt: ImageFormat, dtype: str) -> None:
    content, _ = render(image(ramp(dtype, bands=3), left_half()), fmt)
    decoded = decode_image(content)
    assert decoded.data.dtype == numpy.uint8
    assert decoded.mask is not None
    assert (decoded.mask[:, :4] == 0).all()
    assert (decoded.mask[:, 4:] == 255).all()


def test_png_keeps_uint16() -> None:
    data = ramp("uint16", step=1000)
    content, _ = render(image(data, left_half()), ImageFormat.png)
    decoded = decode_image(content)
    assert decoded.data.dtype == numpy.uint16
    numpy.testing.assert_array_equal(decoded.data[0, :, 4:], data[0, :, 4:])


def test_uint16_to_jpeg_is_stretched_from_the_type_range() -> None:
    data = numpy.full((3, 8, 8), 65535, dtype="uint16")
    data[:, :, :4] = 0
    content, _ = render(image(data), ImageFormat.jpeg)
    decoded = decode_image(content)
    assert decoded.data[:, :, :3].max() < 5
    assert decoded.data[:, :, 5:].min() > 250


def test_stretch_uses_dataset_statistics_when_known() -> None:
    data = numpy.full((1, 8, 8), 200, dtype="uint16")
    data[:, :, 4:] = 100
    img = image(data, dataset_statistics=[(100, 200)])
    content, _ = render(img, ImageFormat.webp)
    decoded = decode_image(content)
    assert abs(int(decoded.data[0, 4, 1]) - 255) <= 2
    assert int(decoded.data[0, 4, 6]) <= 2


def test_rescale_to_uint8() -> None:
    data = numpy.array([[[0, 50, 100], [150, 200, 250]]], dtype="float32")
    valid = numpy.array([[True, True, True], [True, True, False]])
    out = _rescale_to_uint8(data, valid, ((0.0, 200.0),))
    assert out.dtype == numpy.uint8
    assert out[0, 0].tolist() == [0, 63, 127]
    assert out[0, 1].tolist() == [191, 255, 0]  # clipped at max; masked pixel is 0


def test_rescale_to_uint8_per_band() -> None:
    data = numpy.stack([numpy.full((2, 2), 10.0), numpy.full((2, 2), 10.0)])
    out = _rescale_to_uint8(data, numpy.ones((2, 2), dtype=bool), ((0.0, 10.0), (0.0, 20.0)))
    assert out[0, 0, 0] == 255 and out[1, 0, 0] == 127


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "int32", "float32", "float64"])
def test_mask_to_uint8(dtype: str) -> None:
    info = numpy.finfo(dtype) if dtype.startswith("float") else numpy.iinfo(dtype)
    mask = numpy.array([info.min, info.max], dtype=dtype)
    if dtype == "uint8":
        mask = numpy.array([0, 255], dtype="uint8")
    out = _mask_to_uint8(mask)
    assert out.dtype == numpy.uint8
    assert out.tolist() == [0, 255]


# --- rendering parameters -----------------------------------------------------------------------


def test_rescale_parameter() -> None:
    data = ramp("uint16", step=100)  # 0 .. 6300
    content, _ = render(image(data), ImageFormat.png, rescale=["0,6300"])
    decoded = decode_image(content)
    assert decoded.data.dtype == numpy.uint8
    assert decoded.data[0, 0, 0] == 0 and decoded.data[0, -1, -1] == 255


def test_rescale_per_band() -> None:
    data = numpy.stack([numpy.full((4, 4), 50), numpy.full((4, 4), 50), numpy.full((4, 4), 50)])
    content, _ = render(
        image(data.astype("uint16")), ImageFormat.png, rescale=["0,100", "0,50", "50,100"]
    )
    decoded = decode_image(content)
    assert decoded.data[:, 0, 0].tolist() == [127, 255, 0]


def test_color_formula_parameter() -> None:
    data = numpy.full((3, 4, 4), 64, dtype="uint8")
    content, _ = render(image(data), ImageFormat.png, color_formula="gamma RGB 2")
    decoded = decode_image(content)
    assert decoded.data[0, 0, 0] == pytest.approx(255 * (64 / 255) ** 0.5, abs=1)


def test_colormap_parameter_keeps_the_data_mask() -> None:
    data = numpy.zeros((1, 4, 4), dtype="uint8")
    data[:, 2:, :] = 1
    masked = numpy.zeros((4, 4), dtype=bool)
    masked[0, 0] = True
    params = RenderParams(colormap='{"0": "#ff0000", "1": "#0000ff80"}')
    content, used = render_image(image(data, masked), None, params, params.parsed_colormap)
    assert used is ImageFormat.png
    decoded = decode_image(content)
    assert decoded.data[:, 1, 1].tolist() == [255, 0, 0]
    assert decoded.data[:, 3, 3].tolist() == [0, 0, 255]
    assert decoded.mask is not None
    assert decoded.mask[0, 0] == 0  # masked data stays transparent
    assert decoded.mask[1, 1] == 255
    assert decoded.mask[3, 3] == 128  # the colour's own alpha


def test_colormap_intervals_on_float_data() -> None:
    data = numpy.array([[[0.5, 1.5], [2.5, 3.5]]], dtype="float32")
    params = RenderParams(colormap='[[[0, 2], "#ff0000"], [[2, 4], "#00ff00"]]')
    content, _ = render_image(image(data), ImageFormat.png, params, params.parsed_colormap)
    decoded = decode_image(content)
    assert decoded.data[:, 0, 0].tolist() == [255, 0, 0]
    assert decoded.data[:, 1, 1].tolist() == [0, 255, 0]


def test_return_mask_false_writes_no_alpha() -> None:
    content, _ = render(image(ramp("uint8"), left_half()), ImageFormat.png, add_mask=False)
    decoded = decode_image(content)
    assert decoded.mask is None
    assert decoded.data.shape[0] == 1


# --- georeferenced and raw formats --------------------------------------------------------------


def test_geotiff_carries_crs_and_transform() -> None:
    data = ramp("float32", bands=2)
    img = image(data)
    content, _ = render(img, ImageFormat.tif)
    decoded = decode_image(content)
    assert decoded.profile["crs"] == WGS84
    assert decoded.profile["transform"] == from_bounds(*BOUNDS, 8, 8)
    assert decoded.data.dtype == numpy.float32
    numpy.testing.assert_array_equal(decoded.data, data)


def test_npy_is_data_then_mask() -> None:
    data = ramp("int16", bands=2)
    content, _ = render(image(data, left_half()), ImageFormat.npy)
    array = decode_npy(content)
    assert array.shape == (3, 8, 8)
    numpy.testing.assert_array_equal(array[:2], data)
    assert (array[2, :, :4] == numpy.iinfo("int16").min).all()
    assert (array[2, :, 4:] == numpy.iinfo("int16").max).all()


def test_jp2_keeps_uint16() -> None:
    data = ramp("uint16", step=500)
    content, _ = render(image(data), ImageFormat.jp2, add_mask=False)
    decoded = decode_image(content)
    assert decoded.data.dtype == numpy.uint16
    assert decoded.data.max() > 255  # not stretched to 8 bits
    # Lossy: the values follow the ramp, not exactly.
    assert numpy.corrcoef(decoded.data.ravel(), data.ravel())[0, 1] > 0.95


# --- headers and responses ----------------------------------------------------------------------


def test_image_headers() -> None:
    headers = image_headers(image(ramp("uint8")))
    assert headers == {
        "Content-Bbox": "10.0,40.0,12.0,42.0",
        "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>",
    }
    projected = image_headers(image(ramp("uint8"), crs=CRS.from_epsg(32631)))
    assert projected["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/32631>"


def test_image_headers_without_georeferencing() -> None:
    img = ImageData(numpy.ma.MaskedArray(ramp("uint8")))
    assert "Content-Crs" not in image_headers(img)


def test_image_response() -> None:
    response = image_response(image(ramp("uint8"), left_half()), None, RenderParams())
    assert response.media_type == "image/png"
    assert response.headers["content-bbox"] == "10.0,40.0,12.0,42.0"
    decoded = decode_image(bytes(response.body))
    assert decoded.mask is not None and (decoded.mask[:, :4] == 0).all()


def test_image_response_uses_the_dataset_colormap_unless_one_is_asked() -> None:
    data = numpy.ones((1, 2, 2), dtype="uint8")
    dataset_colormap = {1: (10, 20, 30, 255)}
    own = image_response(image(data), ImageFormat.png, RenderParams(), dataset_colormap)
    assert decode_image(bytes(own.body)).data[:, 0, 0].tolist() == [10, 20, 30]
    asked = image_response(
        image(data), ImageFormat.png, RenderParams(colormap='{"1": "#ffffff"}'), dataset_colormap
    )
    assert decode_image(bytes(asked.body)).data[:, 0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize("name", sorted(cmap.list()))
def test_apply_colormap_equals_rio_tiler_for_every_named_colormap(name: str) -> None:
    data = numpy.random.default_rng(len(name)).integers(0, 255, (1, 64, 48), "uint8", True)
    colormap = cmap.get(name)
    ours, theirs = apply_colormap(data, colormap), apply_cmap(data, colormap)
    for our_band, their_band in zip(ours, theirs, strict=True):
        assert our_band.dtype == their_band.dtype
        numpy.testing.assert_array_equal(our_band, their_band)
    assert ours[0].flags.c_contiguous


@pytest.mark.parametrize(
    "data,colormap",
    [
        # fewer than 256 entries (discrete), a float key, 16-bit data, two bands, intervals
        (numpy.array([[[1, 2], [3, 9]]], "uint8"), {1: (255, 0, 0, 255), 3: (0, 0, 255, 255)}),
        (
            numpy.array([[[1, 2]]], "uint8"),
            {**{i: (i, i, i, 255) for i in range(255)}, 2.5: (1, 1, 1, 1)},
        ),
        (numpy.array([[[1, 300]]], "uint16"), {i: (i, 0, 0, 255) for i in range(256)}),
        (numpy.zeros((2, 2, 2), "uint8"), {i: (i, 0, 0, 255) for i in range(256)}),
        (numpy.array([[[1.5, 7.0]]]), [((0, 5), (255, 0, 0, 255)), ((5, 10), (0, 255, 0, 255))]),
    ],
)
def test_apply_colormap_other_cases_go_to_rio_tiler(data: numpy.ndarray, colormap: Any) -> None:
    def outcome(function: Any) -> Any:
        try:
            return function(data, colormap)
        except Exception as error:  # the same refusal (two bands)
            return type(error).__name__

    ours, theirs = outcome(apply_colormap), outcome(apply_cmap)
    if isinstance(theirs, str):
        assert ours == theirs
    else:
        for our_band, their_band in zip(ours, theirs, strict=True):
            numpy.testing.assert_array_equal(our_band, their_band)
