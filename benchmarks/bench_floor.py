"""Overhead over the floor: rio-tiler alone vs the same tiles through the app, in-process.

The floor is what any rio-tiler based server must do per tile: open a `Reader`, read the tile,
rescale, apply the colormap and encode. The app path is one direct ASGI call of the whole app
(routing, parameter parsing, source policy, middleware, threadpool hop) for the same URL. The two
are interleaved per tile and the median of each is kept, so drift hits both alike.

Run with this project's venv for our app (default), or with TiTiler's venv and `--app titiler`
to measure TiTiler's own overhead over the same floor:

  .venv/bin/python benchmarks/bench_floor.py [--repeat 15]
  .tools/titiler-ref/bin/python -P benchmarks/bench_floor.py --app titiler
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_warm import DATA_DIR, TMS, TileCase, tile_cases  # noqa: E402

warnings.filterwarnings("ignore")


def load_app(kind: str):
    if kind == "ours":
        os.environ["TITILER_API_ALLOWED_SOURCES"] = json.dumps([f"{DATA_DIR}/"])
        sys.path.insert(0, str(ROOT))
        from titiler.main import create_app
        from titiler.settings import ApiSettings

        return create_app(ApiSettings())
    if str(ROOT) in sys.path or "" in sys.path:
        raise SystemExit("run TiTiler with `python -P` so this tree's titiler/ is not imported")
    from titiler.application.main import app

    return app


def floor_tile(case: TileCase) -> bytes:
    """rio-tiler only: open, read the tile, rescale, colormap, encode."""
    import morecantile
    from rio_tiler.colormap import cmap
    from rio_tiler.io import Reader
    from rio_tiler.profiles import img_profiles

    tms = morecantile.tms.get(TMS)
    with Reader(str(DATA_DIR / case.dataset), tms=tms) as src:
        image = src.tile(case.x, case.y, case.z)
        colormap = cmap.get(case.colormap_name) if case.colormap_name else src.colormap
    if case.rescale:
        image.rescale((case.rescale,))
    driver = "JPEG" if case.fmt == "jpeg" else "PNG"
    return image.render(img_format=driver, colormap=colormap, **img_profiles.get(case.fmt, {}))


class AsgiCaller:
    """Call an ASGI app directly for a GET, as a server would, without any network.

    Calls are awaited from one long-lived task, as under uvicorn: AnyIO keeps its worker threads
    for the life of the root task, so sync endpoints reuse warm threads. (Running each call in
    its own `run_until_complete`, as Mangum does per Lambda invocation, gets a new thread every
    time; `LambdaCaller` measures that path.)
    """

    def __init__(self, app) -> None:
        self.app = app

    async def get(self, path_and_query: str) -> tuple[int, bytes]:
        parts = urlsplit(path_and_query)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": parts.path,
            "raw_path": parts.path.encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        status = 0
        body = bytearray()
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, bytes(body)


class LambdaCaller:
    """Call the app through Mangum with an API Gateway HTTP API (v2) event, as Lambda does."""

    def __init__(self, app) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from mangum import Mangum

        self.handler = Mangum(app, lifespan="off")
        # One thread with its own event loop kept across calls, like the Lambda runtime's.
        self.executor = ThreadPoolExecutor(
            1, initializer=lambda: asyncio.set_event_loop(asyncio.new_event_loop())
        )

    async def get(self, path_and_query: str) -> tuple[int, bytes]:
        import base64

        # Mangum runs its own event loop per invocation: call it from a thread that runs no loop.
        response = await asyncio.get_running_loop().run_in_executor(
            self.executor, self.handler, apigw_v2_event(path_and_query), LambdaContext()
        )
        body = response.get("body") or ""
        raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
        return int(response["statusCode"]), raw


class LambdaContext:
    """The few attributes of a Lambda context object that Mangum may read."""

    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def apigw_v2_event(path_and_query: str) -> dict:
    """An API Gateway HTTP API (payload 2.0) GET event for `path_and_query`."""
    from urllib.parse import parse_qsl

    parts = urlsplit(path_and_query)
    query: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": [],
        "headers": {"host": "bench.execute-api.us-east-1.amazonaws.com", "accept": "*/*"},
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000,
        },
        "isBase64Encoded": False,
    }


PATHS = ("asgi", "lambda")


async def measure(kind: str, repeat: int, formats: list[str], paths: tuple[str, ...]) -> dict:
    app = load_app(kind)
    callers = {"asgi": AsgiCaller(app), "lambda": LambdaCaller(app)}
    rows = []
    for fmt in formats:
        for case in tile_cases(fmt):
            url = case.path()
            for name in paths:  # warm-up: imports, GDAL cache, first-call paths
                status, body = await callers[name].get(url)
                if status != 200:
                    raise RuntimeError(f"{name} {case.label}: {status} {body[:200]!r}")
            floor_tile(case)
            times: dict[str, list[float]] = {"floor": [], **{name: [] for name in paths}}
            for _ in range(repeat):
                start = time.perf_counter()
                floor_tile(case)
                times["floor"].append((time.perf_counter() - start) * 1000)
                for name in paths:
                    start = time.perf_counter()
                    await callers[name].get(url)
                    times[name].append((time.perf_counter() - start) * 1000)
            row: dict[str, object] = {"tile": case.label}
            row.update({f"{name}_ms": statistics.median(values) for name, values in times.items()})
            rows.append(row)
    return {"app": kind, "paths": list(paths), "rows": rows}


def report(result: dict, verbose: bool) -> dict:
    rows = result["rows"]
    paths = result["paths"]
    name = "ours" if result["app"] == "ours" else "titiler.application"
    floor_total = sum(r["floor_ms"] for r in rows)
    if verbose:
        header = "".join(f"{p + ' ms':>11}{'ovh':>8}" for p in paths)
        print(f"  {'tile':<46}{'floor ms':>10}{header}")
        for r in rows:
            cells = "".join(
                f"{r[p + '_ms']:>11.2f}{(r[p + '_ms'] / r['floor_ms'] - 1) * 100:>7.0f}%"
                for p in paths
            )
            print(f"  {r['tile']:<46}{r['floor_ms']:>10.2f}{cells}")
    summary: dict[str, float] = {"floor_ms_per_tile": floor_total / len(rows)}
    per_tile = floor_total / len(rows)
    print(f"  {name}: {len(rows)} tiles, floor (rio-tiler alone) {per_tile:.2f} ms/tile")
    labels = {
        "asgi": "app, direct ASGI call (server-like)",
        "lambda": "app via Mangum + API GW v2 event (Lambda-like)",
    }
    for p in paths:
        total = sum(r[p + "_ms"] for r in rows)
        overhead = (total - floor_total) / floor_total * 100
        median_ms = statistics.median(r[p + "_ms"] - r["floor_ms"] for r in rows)
        summary[f"{p}_ms_per_tile"] = total / len(rows)
        summary[f"{p}_overhead_pct"] = overhead
        summary[f"{p}_median_overhead_ms"] = median_ms
        print(
            f"    {labels[p]:<48} {total / len(rows):7.2f} ms/tile  overhead {overhead:+6.1f}%"
            f"  (median {median_ms:+.2f} ms/tile)"
        )
    result["summary"] = summary
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=("ours", "titiler"), default="ours")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 9)))
    parser.add_argument("--formats", default="png,jpeg")
    parser.add_argument("--paths", default="asgi,lambda", help="asgi, lambda or both")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every tile")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    paths = tuple(p for p in args.paths.split(",") if p in PATHS)
    result = asyncio.run(measure(args.app, args.repeat, args.formats.split(","), paths))
    summary = report(result, args.verbose)
    if args.app == "ours" and "asgi_overhead_pct" in summary:
        verdict = "PASS" if summary["asgi_overhead_pct"] <= 15 else "FAIL"
        print(f"    target: ASGI overhead <= 15%: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
