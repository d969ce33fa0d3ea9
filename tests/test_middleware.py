"""CORS, Cache-Control, compression, size limits and deadlines, through the app and on their own."""

import gzip
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.conftest import Generated, data_path, decode_image, make_app
from titiler.middleware import (
    CacheControlMiddleware,
    CompressionMiddleware,
    DeadlineMiddleware,
    SizeLimitMiddleware,
)
from titiler.settings import ApiSettings

CACHE = "public, max-age=3600"


@pytest.fixture(scope="module")
def restricted(generated: Generated) -> Iterator[TestClient]:
    """An app with explicit CORS origins and methods and its own Cache-Control."""
    app = make_app(
        generated.directory,
        cors_origins=["https://maps.example.com", "http://localhost:3000"],
        cors_allow_methods=["GET", "post"],
        cachecontrol="private, max-age=60",
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- CORS ---------------------------------------------------------------------------------------


def test_cors_allows_any_origin_by_default(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/tiles/WorldCRS84Quad/2/4/1.png",
        params={"url": generated.uint16, "bidx": 1},
        headers={"Origin": "https://anywhere.example"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed == {"content-bbox", "content-crs"}


def test_cors_headers_are_on_errors_too(client: TestClient, generated: Generated) -> None:
    response = client.get(
        "/cog/tiles/WorldCRS84Quad/2/0/0.png",
        params={"url": generated.uint16},
        headers={"Origin": "https://anywhere.example"},
    )
    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_for_get(client: TestClient) -> None:
    response = client.options(
        "/cog/info",
        headers={"Origin": "https://anywhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]


def test_cors_configured_origins(restricted: TestClient, generated: Generated) -> None:
    params = {"url": generated.uint16}
    allowed = restricted.get(
        "/cog/info", params=params, headers={"Origin": "https://maps.example.com"}
    )
    assert allowed.headers["access-control-allow-origin"] == "https://maps.example.com"
    other = restricted.get("/cog/info", params=params, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    preflight = restricted.options(
        "/cog/info",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 400


def test_cors_configured_methods(client: TestClient, restricted: TestClient) -> None:
    headers = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}
    allowed = restricted.options("/cog/feature", headers=headers)
    assert allowed.status_code == 200
    assert "POST" in allowed.headers["access-control-allow-methods"]
    refused = client.options("/cog/feature", headers=headers)  # default: GET only
    assert refused.status_code == 400


# --- Cache-Control ------------------------------------------------------------------------------


def test_cache_control_on_successful_gets(client: TestClient, generated: Generated) -> None:
    for path, params in (
        ("/cog/info", {"url": generated.uint16}),
        ("/cog/tiles/WorldCRS84Quad/2/4/1.png", {"url": generated.uint16, "bidx": 1}),
        ("/cog/WMTSCapabilities.xml", {"url": generated.uint16}),
        ("/tileMatrixSets", {}),
        ("/healthz", {}),
    ):
        response = client.get(path, params=params)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == CACHE, path


def test_head_answers_like_get_without_a_body(client: TestClient, generated: Generated) -> None:
    params = {"url": generated.uint16, "bidx": 1}
    path = "/cog/tiles/WorldCRS84Quad/2/4/1.png"
    got = client.get(path, params=params)
    head = client.head(path, params=params)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "content-bbox", "cache-control"):
        assert head.headers[name] == got.headers[name], name
    missing = client.head("/cog/tiles/WorldCRS84Quad/2/0/0.png", params={"url": generated.uint16})
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers


def test_no_cache_control_on_errors(client: TestClient, generated: Generated) -> None:
    for path, params in (
        ("/cog/tiles/WorldCRS84Quad/2/0/0.png", {"url": generated.uint16}),  # 404
        ("/cog/tiles/WorldCRS84Quad/2/4/1.png", {"url": generated.uint16, "rescale": "x"}),  # 400
        ("/cog/info", {"url": "/etc/passwd"}),  # 403
        ("/cog/info", {}),  # 422
        ("/cog/preview.png", {"url": data_path("corrupt.tif")}),  # 422 from GDAL
    ):
        response = client.get(path, params=params)
        assert response.status_code >= 400, path
        assert "cache-control" not in response.headers, path


def test_no_cache_control_on_post(client: TestClient, generated: Generated) -> None:
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]},
    }
    response = client.post("/cog/statistics", params={"url": generated.uint16}, json=feature)
    assert response.status_code == 200, response.text
    assert "cache-control" not in response.headers


def test_cache_control_is_configurable(restricted: TestClient) -> None:
    assert restricted.get("/healthz").headers["cache-control"] == "private, max-age=60"


def test_cache_control_can_be_switched_off(generated: Generated) -> None:
    with TestClient(make_app(generated.directory, cachecontrol=None)) as client:
        assert "cache-control" not in client.get("/healthz").headers


def small_app(*middleware: tuple[type, dict[str, object]]) -> Starlette:
    async def json_route(request: Request) -> Response:
        return JSONResponse({"values": list(range(400))})

    async def text_route(request: Request) -> Response:
        return PlainTextResponse("x" * 1000)

    async def image_route(request: Request) -> Response:
        return Response(b"\x89PNG" + b"\x00" * 2000, media_type="image/png")

    async def cached_route(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    async def redirect_route(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/json"})

    async def error_route(request: Request) -> Response:
        return JSONResponse({"detail": "nope " * 200}, status_code=404)

    async def echo_route(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(
        routes=[
            Route("/json", json_route, methods=["GET", "HEAD", "POST"]),
            Route("/text", text_route),
            Route("/image", image_route),
            Route("/cached", cached_route),
            Route("/redirect", redirect_route),
            Route("/error", error_route),
            Route("/echo", echo_route, methods=["POST"]),
        ]
    )
    for cls, options in middleware:
        app.add_middleware(cls, **options)
    return app


def test_cache_control_middleware_rules() -> None:
    app = small_app((CacheControlMiddleware, {"cachecontrol": CACHE}))
    with TestClient(app) as client:
        assert client.get("/json").headers["cache-control"] == CACHE
        assert client.head("/json").headers["cache-control"] == CACHE
        assert "cache-control" not in client.post("/json").headers
        assert client.get("/cached").headers["cache-control"] == "no-store"  # kept as set
        redirect = client.get("/redirect", follow_redirects=False)
        assert redirect.status_code == 302
        assert redirect.headers["cache-control"] == CACHE
        assert "cache-control" not in client.get("/error").headers


# --- compression --------------------------------------------------------------------------------


def test_large_json_is_gzipped(client: TestClient) -> None:
    response = client.get(
        "/cog/info", params={"url": data_path("cog_cmap.tif")}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.json()["colormap"]["0"]  # httpx undid the gzip


def test_gzip_body_and_length_are_consistent(client: TestClient) -> None:
    with client.stream(
        "GET",
        "/cog/info",
        params={"url": data_path("cog_cmap.tif")},
        headers={"Accept-Encoding": "gzip"},
    ) as response:
        raw = b"".join(response.iter_raw())
    assert int(response.headers["content-length"]) == len(raw)
    assert gzip.decompress(raw).startswith(b"{")


def test_no_gzip_without_accept_encoding(client: TestClient) -> None:
    response = client.get(
        "/cog/info",
        params={"url": data_path("cog_cmap.tif")},
        headers={"Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/cog/WMTSCapabilities.xml", {"url": "GENERATED"}),
        ("/api", {}),
        ("/api.html", {}),
        ("/colorMaps/viridis", {}),
    ],
)
def test_xml_html_and_json_documents_are_gzipped(
    client: TestClient, generated: Generated, path: str, params: dict[str, str]
) -> None:
    if params.get("url") == "GENERATED":
        params = {"url": generated.uint16}
    response = client.get(path, params=params, headers={"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tif", "npy", "jp2"])
def test_images_are_never_gzipped(client: TestClient, generated: Generated, fmt: str) -> None:
    response = client.get(
        f"/cog/tiles/WorldCRS84Quad/2/4/1.{fmt}",
        params={"url": generated.rgba, "tilesize": 256},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content)
    if fmt != "npy":
        assert decode_image(response.content).width == 256


def test_small_json_is_not_gzipped(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_compression_middleware_rules() -> None:
    app = small_app((CompressionMiddleware, {}))
    with TestClient(app) as client:
        gz = {"Accept-Encoding": "gzip"}
        assert client.get("/json", headers=gz).headers["content-encoding"] == "gzip"
        assert client.get("/text", headers=gz).headers["content-encoding"] == "gzip"
        assert client.get("/error", headers=gz).headers["content-encoding"] == "gzip"
        image = client.get("/image", headers=gz)
        assert "content-encoding" not in image.headers
        assert image.content.startswith(b"\x89PNG") and len(image.content) == 2004
        identity = {"Accept-Encoding": "identity"}
        assert "content-encoding" not in client.get("/json", headers=identity).headers


def test_head_keeps_the_length_of_the_get() -> None:
    app = small_app((CompressionMiddleware, {}), (CacheControlMiddleware, {"cachecontrol": CACHE}))
    with TestClient(app) as client:
        for encoding in ("identity", "gzip"):
            get = client.get("/json", headers={"Accept-Encoding": encoding})
            head = client.head("/json", headers={"Accept-Encoding": encoding})
            assert head.status_code == 200
            assert head.content == b""
            assert head.headers["content-length"] == get.headers["content-length"]
            assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
            assert head.headers["cache-control"] == CACHE


# --- size limits --------------------------------------------------------------------------------


def test_size_limit_middleware_rules() -> None:
    app = small_app((SizeLimitMiddleware, {"max_body_bytes": 100, "max_response_bytes": 1500}))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/echo", content=b"x" * 100).text == "100"
        too_big = client.post("/echo", content=b"x" * 101)
        assert too_big.status_code == 413
        assert "100 bytes" in too_big.json()["detail"]

        def chunks() -> Iterator[bytes]:
            yield b"x" * 60
            yield b"x" * 60

        assert client.post("/echo", content=chunks()).status_code == 413
        assert client.get("/text").status_code == 200  # 1000 bytes
        large = client.get("/image")  # 2004 bytes
        assert large.status_code == 400
        assert "smaller" in large.json()["detail"]


def test_size_limit_errors_carry_cors_headers(generated: Generated) -> None:
    app = make_app(generated.directory, max_response_bytes=1_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(
            "/cog/preview.npy",
            params={"url": generated.uint16},
            headers={"Origin": "https://anywhere.example"},
        )
        assert response.status_code == 400
        assert response.headers["access-control-allow-origin"] == "*"
        assert "cache-control" not in response.headers


class _LambdaContext:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize(
    "request_timeout,remaining_ms,limit",
    [
        (None, None, None),  # not on Lambda, no setting: no deadline
        (5.0, None, 5.0),
        (None, 3000, 2.5),  # the invocation's remaining time less half a second
        (2.0, 3000, 2.0),
        (5.0, 3000, 2.5),
        (None, 200, 0.1),  # almost out of time: still a moment to answer
    ],
)
def test_deadline_limit(
    request_timeout: float | None, remaining_ms: int | None, limit: float | None
) -> None:
    middleware = DeadlineMiddleware(PlainTextResponse("ok"), request_timeout=request_timeout)
    scope: dict = {"type": "http"}
    if remaining_ms is not None:
        scope["aws.context"] = _LambdaContext(remaining_ms)
    result = middleware.time_limit(scope)
    if limit is None:
        assert result is None
    else:
        assert result == pytest.approx(limit)


def test_request_timeout_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="request_timeout"):
        ApiSettings(request_timeout=0)
