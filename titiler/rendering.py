"""Turning rio-tiler `ImageData` into encoded image responses."""

from enum import StrEnum
from typing import Any

import numpy
from rasterio.dtypes import dtype_ranges
from rio_tiler.colormap import apply_cmap
from rio_tiler.models import ImageData
from rio_tiler.profiles import img_profiles
from rio_tiler.types import ColorMapType
from rio_tiler.utils import CRS_to_uri, linear_rescale
from starlette.responses import Response

from titiler.dependencies import RenderParams
from titiler.encoders import encode_image
from titiler.errors import BadParameter
from titiler.png import PngFilter


class ImageFormat(StrEnum):
    """Output image formats (TiTiler's names)."""

    png = "png"
    npy = "npy"
    tif = "tif"
    tiff = "tiff"
    jpeg = "jpeg"
    jpg = "jpg"
    jp2 = "jp2"
    webp = "webp"
    pngraw = "pngraw"

    @property
    def driver(self) -> str:
        return _DRIVERS[self.value]

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self.value]

    @property
    def profile(self) -> dict[str, Any]:
        return dict(img_profiles.get(self.value, {}))


_DRIVERS = {
    "png": "PNG",
    "pngraw": "PNG",
    "npy": "NPY",
    "tif": "GTiff",
    "tiff": "GTiff",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "jp2": "JP2OpenJPEG",
    "webp": "WEBP",
}
_MEDIA_TYPES = {
    "png": "image/png",
    "pngraw": "image/png",
    "npy": "application/x-binary",
    "tif": "image/tiff; application=geotiff",
    "tiff": "image/tiff; application=geotiff",
    "jpeg": "image/jpeg",
    "jpg": "image/jpg",
    "jp2": "image/jp2",
    "webp": "image/webp",
}
# Data types each driver can write; anything else is rescaled to uint8 first.
_FORMAT_DTYPES: dict[str, tuple[str, ...]] = {
    "png": ("uint8", "uint16"),
    "jpeg": ("uint8",),
    "jpg": ("uint8",),
    "webp": ("uint8",),
    "jp2": ("uint8", "int16", "uint16"),
}


def _rescale_to_uint8(
    data: numpy.ndarray, valid: numpy.ndarray, in_range: tuple[tuple[float, float], ...]
) -> numpy.ndarray:
    """Stretch each band from its input range to 0..255; masked pixels become 0."""
    bands = data.shape[0]
    ranges = in_range if len(in_range) == bands else (in_range[0],) * bands
    out = numpy.zeros(data.shape, dtype="uint8")
    for band in range(bands):
        stretched = linear_rescale(data[band], in_range=ranges[band], out_range=(0, 255))
        out[band] = numpy.where(valid, stretched, 0)
    return out


def _mask_to_uint8(mask: numpy.ndarray) -> numpy.ndarray:
    """A mask in its data type's range (masked = min, valid = max) stretched to 0..255."""
    if mask.dtype == numpy.uint8:
        return mask
    # Halved so that float64's full range (max - min) does not overflow to infinity.
    low, high = (float(value) / 2 for value in dtype_ranges[str(mask.dtype)])
    scaled = (mask.astype("float64") / 2 - low) / (high - low) * 255
    return numpy.clip(numpy.round(scaled), 0, 255).astype("uint8")


def apply_colormap(
    data: numpy.ndarray, colormap: ColorMapType
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """rio-tiler's `apply_cmap`: RGB bands and an alpha band from one band and a colormap.

    For its common case, a 256-entry table over 8-bit data, each output band is one
    `numpy.take` from the table (half the time of a fancy index and a transpose, with the GIL
    released, and contiguous bands for the encoder); anything else goes to `apply_cmap`.
    """
    if (
        data.dtype == numpy.uint8
        and data.ndim == 3
        and data.shape[0] == 1
        and isinstance(colormap, dict)
        and len(colormap) == 256
        and all(type(value) is int and 0 <= value < 256 for value in colormap)
    ):
        colors = numpy.array(list(colormap.values()))
        if colors.shape == (256, 4):
            # The table as (4, 256), one row per band, as rio-tiler's `make_lut` builds it
            # (values cast to 8 bits) in one array operation: the keys are every int of 0..255.
            table = numpy.zeros((4, 256), dtype=numpy.uint8)
            table[:, numpy.fromiter(colormap, dtype=numpy.intp, count=256)] = colors.T
            bands = numpy.empty((4, *data.shape[1:]), dtype=numpy.uint8)
            for band in range(4):
                numpy.take(table[band], data[0], out=bands[band])
            return bands[:3], bands[3]
    return apply_cmap(data, colormap)


def render_image(
    image: ImageData,
    output_format: ImageFormat | None,
    render_params: RenderParams,
    colormap: ColorMapType | None = None,
) -> tuple[bytes, ImageFormat]:
    """Apply rescale, colour formula and colormap, choose the format, encode.

    With no format the output is PNG when any pixel is masked and JPEG otherwise (both 8-bit, so
    a tile set never mixes bit depths). Data that a format cannot hold is stretched to 8 bits
    from the dataset statistics or the data type's range.
    """
    if image.array.dtype == numpy.bool_:  # band math comparisons (b1>0): rio-tiler has no range
        image.array = numpy.ma.MaskedArray(image.array, dtype="uint8")
    if render_params.parsed_rescale:
        image.rescale(render_params.parsed_rescale)
    if render_params.color_formula:
        try:
            image.apply_color_formula(render_params.color_formula)
        except IndexError:  # `sigmoidal rgb ...` on a one-band image
            raise BadParameter(
                "color_formula", f"it names bands the image does not have ({image.count})"
            ) from None

    data, mask = image.data.copy(), image.mask.copy()
    input_range = dtype_ranges[str(data.dtype)]
    output_range: tuple[tuple[float, float], ...] = tuple(
        image.dataset_statistics or (input_range,)
    )
    if colormap:
        data, cmap_alpha = apply_colormap(data, colormap)
        output_range = (dtype_ranges[str(data.dtype)],)
        mask = numpy.where(mask != input_range[0], cmap_alpha, output_range[0][0]).astype(
            data.dtype
        )

    allowed = dict(_FORMAT_DTYPES)
    if output_format is None:
        masked = bool((mask == dtype_ranges[str(mask.dtype)][0]).any())
        output_format = ImageFormat.png if masked else ImageFormat.jpeg
        allowed["png"] = ("uint8",)
    valid_dtypes = allowed.get(output_format.value)
    if valid_dtypes and str(data.dtype) not in valid_dtypes:
        data = _rescale_to_uint8(data, mask > 0, output_range)
        mask = _mask_to_uint8(mask)

    options = output_format.profile
    if output_format.driver == "GTiff":
        options.setdefault("transform", image.transform)
        if image.crs:
            options.setdefault("crs", image.crs)
    add_mask = render_params.add_mask is not False
    # A colormapped image is a few colours in runs: unfiltered PNG rows compress best.
    row_filter = PngFilter.none if colormap else PngFilter.sub
    content = encode_image(
        data, mask if add_mask else None, output_format.driver, options, row_filter=row_filter
    )
    return content, output_format


def image_headers(image: ImageData) -> dict[str, str]:
    """`Content-Bbox` and `Content-Crs` (OGC API style) for an image response."""
    headers: dict[str, str] = {}
    if image.bounds is not None:
        headers["Content-Bbox"] = ",".join(str(value) for value in image.bounds)
    if image.crs is not None and (uri := CRS_to_uri(image.crs)):
        headers["Content-Crs"] = f"<{uri}>"
    return headers


def image_response(
    image: ImageData,
    output_format: ImageFormat | None,
    render_params: RenderParams,
    dataset_colormap: ColorMapType | None = None,
) -> Response:
    """Render `image` and wrap it with its georeferencing headers."""
    colormap = render_params.parsed_colormap or dataset_colormap
    content, used_format = render_image(image, output_format, render_params, colormap)
    return Response(content, media_type=used_format.media_type, headers=image_headers(image))
