"""Faults: broken files, broken upstream servers and oversized requests or responses.

Each one gives a bounded (timed), clear JSON error: a 4xx/5xx with a `detail`, no traceback and
no server path; and the app answers the next, good request normally.
"""

import base64
import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mangum import Mangum

from titiler.main import create_app
from titiler.settings import ApiSettings

from .security_http import SHARED_DATA, ServerBehaviour, closed_port, serve

COG = SHARED_DATA / "cog.tif"
#: A WebMercatorQuad tile inside cog.tif (zooms 5 to 9).
TILE = "/cog/tiles/WebMercatorQuad/8/87/49.png"
FEATURE = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-61.2, 73.0], [-60.0, 73.0], [-60.0, 73.6], [-61.2, 73.0]]],
    },
}


@dataclass
class Setup:
    files: Path
    app: FastAPI
    client: TestClient


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("faults")
    data = COG.read_bytes()
    (directory / "truncated.tif").write_bytes(data[: len(data) // 20])
    (directory / "header-only.tif").write_bytes(data[:200])
    shutil.copy(COG, directory / "cog.tif")
    (directory / "www" / "cogs").mkdir(parents=True)
    shutil.copy(COG, directory / "www" / "cogs" / "cog.tif")
    return directory


def make_client(files: Path, *extra_sources: str, **settings: Any) -> TestClient:
    allowed = [f"{SHARED_DATA}/", f"{files}/", *extra_sources]
    app = create_app(ApiSettings(allowed_sources=allowed, **settings))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(files: Path) -> Iterator[TestClient]:
    with make_client(files) as test_client:
        yield test_client


def timed_get(client: TestClient, path: str, **params: Any) -> tuple[Any, float]:
    start = time.monotonic()
    response = client.get(path, params=params)
    return response, time.monotonic() - start


def assert_clear_error(
    response: Any, statuses: tuple[int, ...], elapsed: float, bound: float, *hidden: Path
) -> str:
    """A JSON error with one short `detail`, no traceback, no server path, within `bound` s."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"detail"}, body
    detail = body["detail"]
    assert isinstance(detail, str) and detail, body
    assert "Traceback" not in detail and 'File "' not in detail, detail
    for path in (SHARED_DATA, Path("/work"), Path("/tmp"), *hidden):
        assert str(path) not in detail, detail
    assert len(detail) <= 300, detail
    assert elapsed < bound, f"took {elapsed:.1f} s (bound {bound} s)"
    return detail


def assert_still_serving(client: TestClient, url: str = str(COG)) -> None:
    info = client.get("/cog/info", params={"url": url})
    assert info.status_code == 200, info.text
    tile = client.get(TILE, params={"url": url})
    assert tile.status_code == 200, tile.text
    assert tile.headers["content-type"] == "image/png"


# -- broken files -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cog/preview.png", "/cog/statistics"])
def test_corrupt_file(client: TestClient, path: str) -> None:
    response, elapsed = timed_get(client, path, url=str(SHARED_DATA / "corrupt.tif"))
    detail = assert_clear_error(response, (422,), elapsed, 10)
    # rasterio's own "Read failed. See previous exception" is replaced by the GDAL cause.
    assert "previous exception" not in detail
    assert detail.startswith("The source could not be read: "), detail
    assert "corrupt.tif" in detail
    assert_still_serving(client)


def test_corrupt_file_metadata_still_answers(client: TestClient) -> None:
    """The header of corrupt.tif is fine; only its pixels are broken."""
    info = client.get("/cog/info", params={"url": str(SHARED_DATA / "corrupt.tif")})
    assert info.status_code == 200, info.text


def test_nocog_file_is_read_and_reported_not_a_cog(client: TestClient) -> None:
    url = str(SHARED_DATA / "nocog.tif")
    for path in ("/cog/info", TILE, "/cog/statistics"):
        response, elapsed = timed_get(client, path, url=url)
        assert response.status_code == 200, (path, response.text)
        assert elapsed < 10
    validate = client.get("/cog/validate", params={"url": url})
    assert validate.status_code == 200, validate.text
    assert validate.json()["COG"] is False
    assert validate.json()["Path"] == url


@pytest.mark.parametrize("path", ["/cog/info", "/cog/preview.png", TILE, "/cog/validate"])
def test_header_only_file(client: TestClient, files: Path, path: str) -> None:
    response, elapsed = timed_get(client, path, url=str(files / "header-only.tif"))
    detail = assert_clear_error(response, (422,), elapsed, 10, files)
    assert "could not be opened" in detail
    assert_still_serving(client)


@pytest.mark.parametrize("path", ["/cog/preview.png", TILE, "/cog/statistics"])
def test_truncated_cog(client: TestClient, files: Path, path: str) -> None:
    """The first 5 % of a COG: its header opens, its pixels are gone."""
    response, elapsed = timed_get(client, path, url=str(files / "truncated.tif"))
    detail = assert_clear_error(response, (422,), elapsed, 10, files)
    assert detail.startswith("The source could not be read: "), detail
    assert_still_serving(client)


def test_missing_and_non_regular_files(client: TestClient, files: Path) -> None:
    response, elapsed = timed_get(client, "/cog/info", url=str(files / "missing.tif"))
    assert_clear_error(response, (404,), elapsed, 5, files)
    response, elapsed = timed_get(client, "/cog/info", url=f"{files}/www")
    assert_clear_error(response, (422,), elapsed, 5, files)
    assert_still_serving(client)


# -- broken upstream servers --------------------------------------------------------------------


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> float:
    """GDAL's (and the app's redirect check's) HTTP timeout, small for the test."""
    monkeypatch.setenv("GDAL_HTTP_TIMEOUT", "1")
    monkeypatch.setenv("GDAL_HTTP_CONNECTTIMEOUT", "1")
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "1")
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.1")
    return 1.0


def test_server_down(files: Path, short_timeouts: float) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with make_client(files, f"{base}/cogs/") as client:
        response, elapsed = timed_get(client, "/cog/info", url=f"{base}/cogs/cog.tif")
        detail = assert_clear_error(response, (502,), elapsed, 3)
        assert "could not be reached" in detail
        assert "127.0.0.1" not in detail
        assert_still_serving(client)


def test_server_too_slow_to_answer(files: Path, short_timeouts: float) -> None:
    behaviour = ServerBehaviour(files / "www", delay=3)
    with serve(behaviour) as base, make_client(files, f"{base}/cogs/") as client:
        response, elapsed = timed_get(client, TILE, url=f"{base}/cogs/cog.tif")
        detail = assert_clear_error(response, (502,), elapsed, short_timeouts + 1.5)
        assert "in time" in detail
        assert_still_serving(client)


def test_server_slow_after_the_first_answer_then_back(files: Path, short_timeouts: float) -> None:
    """The app's check gets through, GDAL's reads time out (with one retry); then the server
    recovers and the same URL works again: GDAL's failed HEAD is not remembered as a 404.
    """
    behaviour = ServerBehaviour(files / "www", delay=3, delay_after=1)
    with serve(behaviour) as base, make_client(files, f"{base}/cogs/") as client:
        url = f"{base}/cogs/cog.tif"
        response, elapsed = timed_get(client, "/cog/info", url=url)
        # Two tries of 1 s and a 0.1 s delay, plus slack for a loaded machine.
        bound = 2 * short_timeouts + 0.1 + 2
        detail = assert_clear_error(response, (502,), elapsed, bound)
        assert "in time" in detail
        assert_still_serving(client)
        behaviour.delay = 0
        recovered = client.get("/cog/info", params={"url": url})
        assert recovered.status_code == 200, recovered.text
        assert client.get(TILE, params={"url": url}).status_code == 200


def test_request_deadline_answers_504_before_a_slow_source_does(files: Path) -> None:
    """GDAL's reads would wait out their own timeouts (4 s, retried); the request's deadline
    answers first, with a reason, and the app keeps serving."""
    behaviour = ServerBehaviour(files / "www", delay=3, delay_after=1)
    with (
        serve(behaviour) as base,
        make_client(files, f"{base}/cogs/", request_timeout=0.5) as client,
    ):
        response, elapsed = timed_get(client, TILE, url=f"{base}/cogs/cog.tif")
        detail = assert_clear_error(response, (504,), elapsed, 2.5)
        assert "within 0.5 s" in detail
        assert "cache-control" not in response.headers
        assert_still_serving(client)


def test_request_deadline_from_the_lambda_context(files: Path) -> None:
    """Through Mangum, the invocation's remaining time (less half a second) is the deadline,
    so the function answers 504 itself instead of being killed at its timeout."""
    behaviour = ServerBehaviour(files / "www", delay=3, delay_after=1)

    class Context:
        function_name = "titiler"
        memory_limit_in_mb = 1536
        aws_request_id = "deadline"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:titiler"

        def get_remaining_time_in_millis(self) -> int:
            return 1300

    with serve(behaviour) as base:
        app = create_app(ApiSettings(allowed_sources=[f"{SHARED_DATA}/", f"{base}/cogs/"]))
        handler = Mangum(app, lifespan="off")
        url = f"{base}/cogs/cog.tif"
        event = _lambda_event("GET", TILE, urlencode({"url": url}), None, {})
        start = time.monotonic()
        response = handler(event, Context())
        elapsed = time.monotonic() - start
        assert response["statusCode"] == 504, response
        assert "within 0.8 s" in json.loads(response["body"])["detail"]
        assert elapsed < 2.5
        behaviour.delay = 0
        assert handler(event, Context())["statusCode"] == 200


def test_server_without_range_support(files: Path, short_timeouts: float) -> None:
    behaviour = ServerBehaviour(files / "www", ignore_range=True)
    with serve(behaviour) as base, make_client(files, f"{base}/cogs/") as client:
        response, elapsed = timed_get(client, TILE, url=f"{base}/cogs/cog.tif")
        detail = assert_clear_error(response, (422,), elapsed, 3)
        assert "range requests" in detail
        assert_still_serving(client)


@pytest.mark.parametrize(
    ("status", "expected"), [(404, 404), (410, 404), (403, 422), (500, 502), (503, 502)]
)
def test_server_error_statuses(
    files: Path, short_timeouts: float, status: int, expected: int
) -> None:
    behaviour = ServerBehaviour(files / "www", statuses={"/cogs/broken.tif": status})
    with serve(behaviour) as base, make_client(files, f"{base}/cogs/") as client:
        response, elapsed = timed_get(client, "/cog/info", url=f"{base}/cogs/broken.tif")
        assert_clear_error(response, (expected,), elapsed, 3)
        assert_still_serving(client, f"{base}/cogs/cog.tif")


def test_remote_good_source_after_faults(files: Path, short_timeouts: float) -> None:
    behaviour = ServerBehaviour(files / "www")
    with serve(behaviour) as base, make_client(files, f"{base}/cogs/") as client:
        assert_still_serving(client, f"{base}/cogs/cog.tif")


# -- Lambda size limits -------------------------------------------------------------------------


def test_lambda_response_limit_leaves_room_for_base64() -> None:
    limit = ApiSettings().max_response_bytes
    assert limit == 4_500_000
    # Lambda answers at most 6 MB (6 MiB) of payload; binary bodies are base64-encoded.
    assert math.ceil(limit / 3) * 4 <= 6_000_000 < 6 * 1024 * 1024


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/cog/preview/2048x2048.npy", {}),
        ("/cog/preview/2048x2048.tif", {}),
        ("/cog/preview.tif", {"width": 2048, "height": 2048}),
        ("/cog/preview.npy", {"max_size": 2048}),
    ],
)
def test_response_too_large_for_lambda(client: TestClient, path: str, params: dict) -> None:
    response, elapsed = timed_get(client, path, url=str(COG), **params)
    detail = assert_clear_error(response, (400,), elapsed, 20)
    assert "smaller" in detail and "4500000" in detail, detail
    assert_still_serving(client)


def test_response_just_under_the_limit_is_served(client: TestClient) -> None:
    response = client.get("/cog/preview/512x512.npy", params={"url": str(COG)})
    assert response.status_code == 200, response.text
    assert 0 < len(response.content) <= 4_500_000
    assert numpy.load(__import__("io").BytesIO(response.content)).shape[1:] == (512, 512)


def _feature_body(size: int) -> bytes:
    padded = {**FEATURE, "properties": {"padding": "x" * size}}
    return json.dumps(padded).encode()


def test_request_body_too_large(client: TestClient) -> None:
    limit = ApiSettings().max_body_bytes
    body = _feature_body(limit)
    headers = {"content-type": "application/json"}
    response = client.post("/cog/feature", params={"url": str(COG)}, content=body, headers=headers)
    detail = assert_clear_error(response, (413,), 0, 1)
    assert str(limit) in detail

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must still hold
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    chunked = client.post(
        "/cog/feature", params={"url": str(COG)}, content=chunks(), headers=headers
    )
    assert_clear_error(chunked, (413,), 0, 1)
    small = client.post("/cog/feature.png", params={"url": str(COG), "max_size": 64}, json=FEATURE)
    assert small.status_code == 200, small.text


def _lambda_event(
    method: str, path: str, query: str, body: bytes | None, headers: dict[str, str]
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.example.com", **headers},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "body": base64.b64encode(body).decode() if body is not None else None,
        "isBase64Encoded": body is not None,
    }


def test_limits_hold_through_the_lambda_handler(files: Path) -> None:
    """API Gateway events may carry no Content-Length; the body limit still answers 413."""
    handler = Mangum(create_app(ApiSettings(allowed_sources=[f"{SHARED_DATA}/"])), lifespan="off")
    query = f"url={COG}"
    body = _feature_body(ApiSettings().max_body_bytes)
    event = _lambda_event("POST", "/cog/feature", query, body, {"content-type": "application/json"})
    result = handler(event, None)
    assert result["statusCode"] == 413, result
    assert "larger than" in json.loads(result["body"])["detail"]
    big = handler(_lambda_event("GET", "/cog/preview/2048x2048.npy", query, None, {}), None)
    assert big["statusCode"] == 400, big["statusCode"]
    assert "smaller" in json.loads(big["body"])["detail"]
    good = handler(_lambda_event("GET", TILE, query, None, {}), None)
    assert good["statusCode"] == 200 and good["isBase64Encoded"]
