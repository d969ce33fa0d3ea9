"""Pages for people: the landing page (`/`) and the Leaflet map viewer (`/cog/{tms}/map.html`).

The viewer page holds no data of its own: its script fetches the dataset's TileJSON, info,
statistics and the colormap list from the API, with URLs relative to the page so that it works
under any path prefix (an API Gateway stage, a `root_path`).
"""

import functools
import os
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles

from titiler.concurrency import in_worker_thread
from titiler.demo import DEMO_ELEVATION_RANGE, demo_path
from titiler.responses import JSONResponse
from titiler.routers.common import TMS, Settings, SourceUrl

#: Vendored Leaflet and the viewer's own script and style; mount it at `/static`.
STATIC_DIRECTORY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")

#: The one tile matrix set Leaflet's default CRS (EPSG:3857) can display.
VIEWER_TILE_MATRIX_SET = "WebMercatorQuad"

#: Query parameters that shape the rendered image only; info and statistics do not take them.
RENDER_ONLY_PARAMETERS = frozenset(
    {
        "tilesize",
        "tile_format",
        "minzoom",
        "maxzoom",
        "buffer",
        "padding",
        "colormap",
        "colormap_name",
        "rescale",
        "color_formula",
        "return_mask",
    }
)

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates


@functools.cache
def page_templates() -> "Jinja2Templates":
    """The page templates, loaded on the first page served: Jinja2 is 12 ms of a cold start
    that most Lambda invocations (tiles) never need.
    """
    import jinja2
    from starlette.templating import Jinja2Templates

    return Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.PackageLoader("titiler", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
        )
    )


router = APIRouter(tags=["Viewer"], default_response_class=JSONResponse)


def static_files() -> StaticFiles:
    """The ASGI app serving `STATIC_DIRECTORY`."""
    return StaticFiles(directory=STATIC_DIRECTORY)


class Link(BaseModel):
    """A link of the landing page, in the shape OGC API landing pages use."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Landing(BaseModel):
    """The landing page document."""

    title: str
    description: str
    links: list[Link]


def media_quality(accept: str, media_type: str) -> float:
    """The quality an `Accept` header gives to exactly `media_type` (0 when not listed).

    Wildcards are deliberately not matched: a client sending only `*/*` gets the default (JSON).
    """
    quality = 0.0
    for media_range in accept.split(","):
        name, *parameters = (part.strip() for part in media_range.split(";"))
        if name.lower() != media_type:
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
    return quality


def wants_html(accept: str) -> bool:
    """Whether a request with this `Accept` header prefers HTML to JSON."""
    html = media_quality(accept, "text/html")
    return html > 0 and html >= media_quality(accept, "application/json")


def viewer_path() -> str:
    """Path of the viewer page, relative to the application root."""
    return f"/cog/{VIEWER_TILE_MATRIX_SET}/map.html"


def demo_viewer_path() -> str:
    """Viewer path and query that open the demo dataset with a terrain colormap."""
    low, high = DEMO_ELEVATION_RANGE
    query = urlencode({"url": demo_path(), "rescale": f"{low},{high}", "colormap_name": "terrain"})
    return f"{viewer_path()}?{query}"


#: Other endpoints the landing page lists when the application serves them.
_CATALOGUE_LINKS: tuple[tuple[str, str, str, str], ...] = (
    (
        "/conformance",
        "Standards this server conforms to",
        "application/json",
        "http://www.opengis.net/def/rel/ogc/1.0/conformance",
    ),
    (
        "/tileMatrixSets",
        "Tile matrix sets",
        "application/json",
        "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
    ),
    ("/algorithms", "Post-processing algorithms", "application/json", "data"),
    ("/colorMaps", "Colormaps", "application/json", "data"),
)


def landing_links(request: Request) -> list[Link]:
    """Links to what this application serves, absolute and under the app's root path."""
    base = str(request.base_url).rstrip("/")
    # The OpenAPI document is the public list of what the app serves (and is cached by FastAPI).
    served = set(request.app.openapi().get("paths", {}))
    links = [
        Link(href=f"{base}/?f=json", rel="self", type="application/json", title="This document"),
        Link(href=f"{base}/?f=html", rel="alternate", type="text/html", title="This page as HTML"),
    ]
    openapi_url = getattr(request.app, "openapi_url", None)
    if openapi_url:
        links.append(
            Link(
                href=f"{base}{openapi_url}",
                rel="service-desc",
                type="application/vnd.oai.openapi+json;version=3.0",
                title="OpenAPI definition",
            )
        )
    docs_url = getattr(request.app, "docs_url", None)
    if docs_url:
        links.append(
            Link(
                href=f"{base}{docs_url}",
                rel="service-doc",
                type="text/html",
                title="Interactive API documentation",
            )
        )
    links.extend(
        Link(href=f"{base}{path}", rel=rel, type=media_type, title=title)
        for path, title, media_type, rel in _CATALOGUE_LINKS
        if path in served
    )
    if os.path.exists(demo_path()):
        links.append(
            Link(
                href=f"{base}{demo_viewer_path()}",
                rel="preview",
                type="text/html",
                title="Map of the demo dataset",
            )
        )
    return links


@router.get(
    "/",
    response_model=Landing,
    response_model_exclude_none=True,
    responses={200: {"content": {"text/html": {}, "application/json": {}}}},
    operation_id="getLandingPage",
)
@in_worker_thread
def landing(
    request: Request,
    response: Response,
    settings: Settings,
    f: Annotated[
        Literal["html", "json"] | None,
        Query(description="Response format; without it, `Accept` decides (default JSON)."),
    ] = None,
) -> Landing | Response:
    """Describe the server and link to its API, its documentation and the demo map."""
    document = Landing(
        title=settings.name, description=settings.description, links=landing_links(request)
    )
    as_html = f == "html" if f else wants_html(request.headers.get("accept", ""))
    # Caches must not hand the HTML page to a JSON client, or the reverse.
    response.headers["Vary"] = "Accept"
    if not as_html:
        return document
    base = str(request.base_url).rstrip("/")
    page = page_templates().TemplateResponse(
        request,
        "landing.html",
        {
            "document": document,
            "demo_available": os.path.exists(demo_path()),
            "demo_viewer_href": f"{base}{demo_viewer_path()}",
            "viewer_action": f"{base}{viewer_path()}",
            "docs_href": f"{base}{request.app.docs_url}" if request.app.docs_url else None,
            "openapi_href": f"{base}{request.app.openapi_url}" if request.app.openapi_url else None,
        },
        media_type="text/html",
    )
    page.headers["Vary"] = "Accept"
    return page


@router.get(
    "/cog/{tileMatrixSetId}/map.html",
    response_class=HTMLResponse,
    operation_id="getMapViewer",
    responses={400: {"description": "The tile matrix set cannot be shown by this viewer."}},
)
@in_worker_thread
def map_viewer(
    request: Request,
    tile_matrix_set: TMS,
    url: SourceUrl,
    tilesize: Annotated[int, Query(gt=0, description="Tile size in pixels (256 or 512).")] = 256,
) -> Response:
    """A full-page map of a dataset, with colormap and rescale controls for single bands.

    Every query parameter is passed on to `tilejson.json`, so tiles render as the tile endpoint
    would render them for the same parameters.
    """
    if tile_matrix_set.id != VIEWER_TILE_MATRIX_SET:
        raise HTTPException(
            status_code=400,
            detail=(
                f"Only {VIEWER_TILE_MATRIX_SET} is supported by this viewer (Leaflet shows "
                f"Web Mercator maps); open /cog/{VIEWER_TILE_MATRIX_SET}/map.html instead."
            ),
        )
    # Empty fields come from HTML forms (the landing page's) and mean "not set".
    parameters = [(key, value) for key, value in request.query_params.multi_items() if value]
    tilejson_parameters = list(parameters)
    if "tilesize" not in request.query_params:
        tilejson_parameters.append(("tilesize", str(tilesize)))
    dataset_query = urlencode(
        [(key, value) for key, value in parameters if key.lower() not in RENDER_ONLY_PARAMETERS]
    )
    # Relative to /cog/{tms}/map.html, whatever prefix the browser sees in front of it.
    config = {
        "tilejson_url": f"tilejson.json?{urlencode(tilejson_parameters)}",
        "info_url": f"../info?{dataset_query}",
        "statistics_url": f"../statistics?{dataset_query}",
        "colormaps_url": "../../colorMaps",
        "tilesize": tilesize,
        "dataset_url": url,
    }
    return page_templates().TemplateResponse(
        request,
        "map.html",
        {"config": config, "static_url": "../../static", "dataset_url": url},
        media_type="text/html",
    )
