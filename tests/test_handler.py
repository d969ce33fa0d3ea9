"""The Lambda handler answers API Gateway events exactly as the app answers HTTP requests."""

import base64
import importlib.util
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mangum import Mangum

from titiler.main import create_app
from titiler.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[1]
EVENTS = Path(__file__).resolve().parent / "events"
DATA = (ROOT / ".." / "shared" / "data").resolve()
COG = DATA / "cog.tif"

#: Sent with every request: no gzip, so that the Lambda body and TestClient bytes compare 1:1.
REQUEST_HEADERS = {"accept": "image/png", "accept-encoding": "identity"}
#: A tile over cog.tif (zooms 5-9) and one far outside it.
TILE_PATH = "/cog/tiles/WebMercatorQuad/8/87/49.png"
OUTSIDE_TILE_PATH = "/cog/tiles/WebMercatorQuad/8/0/0.png"

Event = dict[str, Any]


@dataclass
class InvocationContext:
    """The Lambda context object; Mangum hands it to the app as `scope["aws.context"]`."""

    function_name: str = "TilerFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:TilerFunction"
    memory_limit_in_mb: int = 1536
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/TilerFunction"
    log_stream_name: str = "2026/01/01/[$LATEST]00000000000000000000000000000000"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


CONTEXT = InvocationContext()
EventFactory = Callable[[str, dict[str, str]], Event]


def http_api_event(path: str, query: dict[str, str]) -> Event:
    """An HTTP API (payload 2.0) event for GET `path?query`, from the recorded sample."""
    event: Event = json.loads((EVENTS / "http-api-tile.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = urlencode(query)
    event["queryStringParameters"] = dict(query)
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["headers"].update(REQUEST_HEADERS)
    return event


def rest_api_event(path: str, query: dict[str, str]) -> Event:
    """A REST API (payload 1.0) event for GET `path?query`, from the recorded sample."""
    event: Event = json.loads((EVENTS / "rest-api-tile.json").read_text())
    stage = event["requestContext"]["stage"]
    event["path"] = path
    event["requestContext"]["path"] = f"/{stage}{path}"
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["queryStringParameters"] = dict(query)
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    for name, value in REQUEST_HEADERS.items():
        for header in list(event["headers"]):
            if header.lower() == name:
                del event["headers"][header]
                del event["multiValueHeaders"][header]
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event


EVENT_FACTORIES = [
    pytest.param(http_api_event, id="http-api-2.0"),
    pytest.param(rest_api_event, id="rest-api-1.0"),
]


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """Headers of a Lambda proxy response, multi-value ones joined as HTTP clients join them."""
    headers = {name.lower(): value for name, value in response.get("headers", {}).items()}
    for name, values in response.get("multiValueHeaders", {}).items():
        headers[name.lower()] = ", ".join(values)
    return headers


def response_body(response: dict[str, Any]) -> bytes:
    """The body bytes a client of API Gateway receives."""
    body: str = response["body"]
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The app, allowed to read the shared test data."""
    return create_app(ApiSettings(allowed_sources=[f"{DATA}/"]))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def assert_same_answer(
    response: dict[str, Any], client: TestClient, path: str, query: dict[str, str]
) -> None:
    """The Lambda response carries the status, headers and bytes the app sends directly."""
    expected = client.get(path, params=query, headers=REQUEST_HEADERS)
    headers = response_headers(response)
    assert response["statusCode"] == expected.status_code
    for name in ("content-type", "content-length", "cache-control", "content-encoding"):
        assert headers.get(name) == expected.headers.get(name), name
    assert response_body(response) == expected.content


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_png_tile(make_event: EventFactory, app: FastAPI, client: TestClient) -> None:
    query = {"url": str(COG)}
    response = Mangum(app, lifespan="off")(make_event(TILE_PATH, query), CONTEXT)

    assert response["statusCode"] == 200
    assert response_headers(response)["content-type"] == "image/png"
    assert response["isBase64Encoded"] is True
    assert response_body(response).startswith(b"\x89PNG\r\n\x1a\n")
    assert_same_answer(response, client, TILE_PATH, query)


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_healthz(make_event: EventFactory, app: FastAPI, client: TestClient) -> None:
    response = Mangum(app, lifespan="off")(make_event("/healthz", {}), CONTEXT)

    assert response["statusCode"] == 200
    assert response_headers(response)["content-type"].startswith("application/json")
    assert response["isBase64Encoded"] is False
    assert "gdal" in json.loads(response_body(response))["versions"]
    assert_same_answer(response, client, "/healthz", {})


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_tile_outside_bounds_is_404(
    make_event: EventFactory, app: FastAPI, client: TestClient
) -> None:
    query = {"url": str(COG)}
    response = Mangum(app, lifespan="off")(make_event(OUTSIDE_TILE_PATH, query), CONTEXT)

    assert response["statusCode"] == 404
    assert response["isBase64Encoded"] is False
    assert "detail" in json.loads(response_body(response))
    assert_same_answer(response, client, OUTSIDE_TILE_PATH, query)


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_base_path_is_stripped(make_event: EventFactory, app: FastAPI, client: TestClient) -> None:
    query = {"url": str(COG)}
    handler = Mangum(app, lifespan="off", api_gateway_base_path="/dev")
    response = handler(make_event(f"/dev{TILE_PATH}", query), CONTEXT)

    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert_same_answer(response, client, TILE_PATH, query)


def load_handler_module() -> ModuleType:
    """A fresh import of handler/handler.py, reading the environment as Lambda would."""
    spec = importlib.util.spec_from_file_location("lambda_handler", ROOT / "handler" / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_lambda_entry_point(make_event: EventFactory, client: TestClient) -> None:
    module = load_handler_module()
    assert isinstance(module.handler, Mangum)

    response = module.handler(make_event("/healthz", {}), CONTEXT)

    assert response["statusCode"] == 200
    assert response_body(response) == client.get("/healthz", headers=REQUEST_HEADERS).content


@pytest.mark.parametrize("make_event", EVENT_FACTORIES)
def test_lambda_entry_point_base_path_setting(
    make_event: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITILER_API_GATEWAY_BASE_PATH", "/tiles")
    module = load_handler_module()

    response = module.handler(make_event("/tiles/healthz", {}), CONTEXT)

    assert response["statusCode"] == 200
    assert "versions" in json.loads(response_body(response))


def test_recorded_events_request_the_demo_tile() -> None:
    """The event files work as they are with `sam local invoke -e` against the image."""
    for name in ("http-api-tile.json", "rest-api-tile.json"):
        event = json.loads((EVENTS / name).read_text())
        assert event["queryStringParameters"] == {"url": "/var/task/demo/demo.tif"}
        assert (event.get("rawPath") or event["path"]).startswith("/cog/tiles/WebMercatorQuad/")


def test_rest_api_stage_is_kept_in_the_links_the_app_builds() -> None:
    """Behind a REST API the app lives under `/<stage>/`; render.py sets the root path to it."""
    staged = Mangum(
        create_app(ApiSettings(allowed_sources=[f"{DATA}/"], root_path="/Prod")), lifespan="off"
    )
    event = rest_api_event("/cog/WebMercatorQuad/tilejson.json", {"url": str(COG)})
    response = staged(event, CONTEXT)
    assert response["statusCode"] == 200
    tiles = urlsplit(json.loads(response_body(response))["tiles"][0])
    assert tiles.path == "/Prod/cog/tiles/WebMercatorQuad/{z}/{x}/{y}"


def test_invocations_read_on_one_long_lived_thread(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Lambda invocation is its own event-loop run; reads must still land on a warm thread
    (a fresh one rebuilds GDAL's and PROJ's per-thread state: about 8 ms a tile).
    """
    from titiler.concurrency import configure_worker_threads, worker_pool
    from titiler.routers import cog_tiles

    # One request at a time, as on Lambda, where the pool never starts a second thread.
    before = worker_pool()._max_workers
    configure_worker_threads(1)
    threads: list[threading.Thread] = []
    open_source = cog_tiles.open_source

    def recording_open_source(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return open_source(*args, **kwargs)

    monkeypatch.setattr(cog_tiles, "open_source", recording_open_source)
    handler = Mangum(app, lifespan="off")
    for _ in range(3):
        response = handler(http_api_event(TILE_PATH, {"url": str(COG)}), CONTEXT)
        assert response["statusCode"] == 200

    assert len(threads) == 3
    assert len({thread.ident for thread in threads}) == 1
    assert threads[0].name.startswith("titiler-worker")
    assert threads[0].is_alive()
    configure_worker_threads(before)
