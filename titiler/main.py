"""The FastAPI application: settings in, routers and middleware wired, nothing else."""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from titiler import __version__
from titiler.concurrency import configure_worker_threads
from titiler.errors import install_error_handlers
from titiler.gdal import apply_gdal_defaults
from titiler.middleware import (
    CacheControlMiddleware,
    CompressionMiddleware,
    DeadlineMiddleware,
    HeadMiddleware,
    RootPathMiddleware,
    SizeLimitMiddleware,
)
from titiler.reader import configure_open_datasets
from titiler.responses import JSONResponse
from titiler.routers import catalog, cog_images, cog_metadata, cog_tiles, health, viewer
from titiler.settings import ApiSettings, get_settings
from titiler.sources import SourcePolicy


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the tile server for `settings` (read from the environment when omitted)."""
    settings = settings or get_settings()
    apply_gdal_defaults()
    configure_worker_threads(settings.worker_threads)
    configure_open_datasets(settings.open_datasets_per_thread)
    app = FastAPI(
        title=settings.name,
        description=settings.description,
        version=__version__,
        openapi_url="/api",
        docs_url="/api.html",
        redoc_url=None,
        debug=settings.debug,
        default_response_class=JSONResponse,
    )
    app.state.settings = settings
    app.state.source_policy = SourcePolicy(tuple(settings.allowed_sources))

    # Tiles first, and the routes join the app's own router instead of being included:
    # FastAPI prepares a route (a pydantic validator per parameter, about 3 ms a route) when
    # its module declares it, and prepares an included router's routes a second time on the
    # first request that walks past them (17 ms of a cold start for six routes). No two routers
    # share a path. Each router sets this app's JSONResponse as its default itself, and
    # `app.dependency_overrides` does not reach these routes: tests inject settings through
    # `create_app(settings)`.
    for router in (
        cog_tiles.router,
        cog_metadata.router,
        cog_images.router,
        catalog.router,
        health.router,
        viewer.router,
    ):
        app.router.routes.extend(router.routes)
    app.mount("/static", viewer.static_files(), name="static")
    install_error_handlers(app)

    # Added innermost first: CORS wraps everything, so even size-limit errors carry its headers.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(CacheControlMiddleware, cachecontrol=settings.cachecontrol)
    app.add_middleware(CompressionMiddleware)
    app.add_middleware(DeadlineMiddleware, request_timeout=settings.request_timeout)
    app.add_middleware(
        SizeLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_response_bytes=settings.max_response_bytes,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=settings.cors_allow_methods,
        allow_headers=["*"],
        expose_headers=["Content-Bbox", "Content-Crs"],
    )
    app.add_middleware(RootPathMiddleware, root_path=settings.root_path)
    return app


app = create_app()
