"""Soak test through the Lambda handler path: thousands of mixed requests, bounded time and memory.

Every request is an API Gateway HTTP API (payload 2.0) event handed to
`mangum.Mangum(create_app(settings), lifespan="off")` in this process, as Lambda would: tiles in
several datasets, formats and zooms, previews, info, statistics (GET and POST), points, TileJSON,
and errors (refused sources, missing files, tiles outside the data, bad parameters, an output over
the response limit, a body over the request limit, a corrupt file). Each kind of request has the
statuses it may answer; anything else is an unexpected status.

Reported: request count, unexpected statuses (must be 0), p50/p99 latency overall and per kind,
and the resident memory (VmRSS) at start, middle and end. Memory must be bounded: after the
caches have filled (first half of the run), the second half may not grow RSS by more than
--max-growth-mb. The exit status is 1 when either check fails.

Only local files are read (../shared/data); nothing is sent over the network.

Usage: .venv/bin/python benchmarks/soak.py [--requests 3000] [--seconds 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))

import morecantile  # noqa: E402
import rasterio  # noqa: E402
from mangum import Mangum  # noqa: E402
from rasterio.warp import transform_bounds  # noqa: E402

from titiler.main import create_app  # noqa: E402
from titiler.settings import ApiSettings  # noqa: E402

TILE_DATASETS = (
    "cog.tif",
    "cog_rgba.tif",
    "cog_int16.tif",
    "cog_nodata.tif",
    "cog_cmap.tif",
    "cog_dateline.tif",
    "web.tif",
    "cog_world.tif",
)
PREVIEW_DATASETS = ("cog.tif", "cog_rgba.tif", "cog_int16.tif", "cog_nodata_nan.tif", "nocog.tif")
FEATURE = {
    "type": "Feature",
    "properties": {},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[-61.0, 73.0], [-59.0, 73.0], [-59.0, 74.0], [-61.0, 74.0], [-61.0, 73.0]]
        ],
    },
}


@dataclass(frozen=True)
class Call:
    """One request and the statuses it may answer."""

    kind: str
    method: str
    path: str
    query: list[tuple[str, str]]
    expected: frozenset[int]
    body: bytes | None = None
    gzip: bool = False


class Context:
    """The Lambda context object (Mangum passes it on as `scope["aws.context"]`)."""

    function_name = "TilerFunction"
    memory_limit_in_mb = 1536
    aws_request_id = "soak"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def http_api_event(call: Call) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for `call`."""
    headers = {
        "host": "soak.execute-api.us-east-1.amazonaws.com",
        "user-agent": "soak",
        "accept-encoding": "gzip" if call.gzip else "identity",
    }
    if call.body is not None:
        headers["content-type"] = "application/json"
    query = urlencode(call.query)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": call.path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": dict(call.query) if call.query else None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "soak",
            "domainName": headers["host"],
            "domainPrefix": "soak",
            "http": {
                "method": call.method,
                "path": call.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "soak",
            },
            "requestId": "soak",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "body": base64.b64encode(call.body).decode() if call.body is not None else None,
        "isBase64Encoded": call.body is not None,
    }


def tiles_over(name: str, rng: random.Random, per_zoom: int = 6) -> list[tuple[int, int, int]]:
    """A few WebMercatorQuad tiles over a dataset at its three lowest useful zooms."""
    with rasterio.open(DATA_DIR / name) as dataset:
        bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=21)
    tms = morecantile.tms.get("WebMercatorQuad")
    west, south, east, north = bounds
    south, north = max(south, -85.0), min(north, 85.0)
    if west > east:  # across the antimeridian: the eastern part is enough
        east = 180.0
    chosen: list[tuple[int, int, int]] = []
    for zoom in range(0, 12):
        tiles = list(tms.tiles(west, south, east, north, zooms=[zoom]))
        if len(tiles) < 2 and zoom < 11:
            continue
        rng.shuffle(tiles)
        chosen.extend((t.z, t.x, t.y) for t in tiles[:per_zoom])
        if len({z for z, _, _ in chosen}) == 3:
            break
    return chosen


def request_mix(rng: random.Random) -> list[tuple[float, Callable[[random.Random], Call]]]:
    """(weight, factory) of every kind of request."""
    data = {name: str(DATA_DIR / name) for name in (*TILE_DATASETS, *PREVIEW_DATASETS)}
    tiles = {name: tiles_over(name, rng) for name in TILE_DATASETS}
    ok = frozenset({200})

    def tile(r: random.Random) -> Call:
        name = r.choice(TILE_DATASETS)
        z, x, y = r.choice(tiles[name])
        fmt = r.choice(["", ".png", ".jpeg", ".webp"])
        query = [("url", data[name])]
        if name in ("cog.tif", "cog_int16.tif", "cog_nodata.tif"):
            query += [("rescale", "0,3000"), ("colormap_name", r.choice(["viridis", "terrain"]))]
        path = f"/cog/tiles/WebMercatorQuad/{z}/{x}/{y}{fmt}"
        # A tile of the list can still fall on nodata only (404 would be wrong: it is inside).
        return Call("tile", "GET", path, query, ok)

    def preview(r: random.Random) -> Call:
        name = r.choice(PREVIEW_DATASETS)
        fmt = r.choice(["png", "jpeg", "webp", "npy", "tif"])
        query = [("url", data[name]), ("max_size", str(r.choice([128, 256, 512])))]
        return Call("preview", "GET", f"/cog/preview.{fmt}", query, ok)

    def info(r: random.Random) -> Call:
        name = r.choice(TILE_DATASETS)
        path = r.choice(["/cog/info", "/cog/info.geojson", "/cog/WebMercatorQuad/tilejson.json"])
        return Call("info", "GET", path, [("url", data[name])], ok, gzip=r.random() < 0.5)

    def stats(r: random.Random) -> Call:
        name = r.choice(PREVIEW_DATASETS)
        query = [("url", data[name]), ("max_size", "256")]
        return Call("statistics", "GET", "/cog/statistics", query, ok, gzip=r.random() < 0.5)

    def stats_post(r: random.Random) -> Call:
        body = json.dumps(FEATURE).encode()
        query = [("url", data["cog.tif"]), ("max_size", "256")]
        return Call("statistics-post", "POST", "/cog/statistics", query, ok, body=body)

    def point(r: random.Random) -> Call:
        lon, lat = r.uniform(-59.5, -55.0), r.uniform(73.0, 74.0)  # inside cog.tif
        return Call(
            "point", "GET", f"/cog/point/{lon:.4f},{lat:.4f}", [("url", data["cog.tif"])], ok
        )

    def error(r: random.Random) -> Call:
        choice = r.randrange(9)
        if choice == 0:
            return Call(
                "err-refused", "GET", "/cog/info", [("url", "/etc/passwd")], frozenset({403})
            )
        if choice == 1:
            url = "https://169.254.169.254/latest/meta-data/"
            return Call("err-refused", "GET", "/cog/info", [("url", url)], frozenset({403}))
        if choice == 2:
            url = str(DATA_DIR / "missing.tif")
            return Call("err-missing", "GET", "/cog/info", [("url", url)], frozenset({404}))
        if choice == 3:
            path = "/cog/tiles/WebMercatorQuad/8/0/0.png"
            return Call("err-outside", "GET", path, [("url", data["cog.tif"])], frozenset({404}))
        if choice == 4:
            query = [("url", data["cog.tif"]), ("rescale", "nope")]
            return Call("err-param", "GET", "/cog/preview.png", query, frozenset({400}))
        if choice == 5:
            path = "/cog/tiles/WebMercatorQuad/99/0/0.png"
            return Call("err-param", "GET", path, [("url", data["cog.tif"])], frozenset({400}))
        if choice == 6:
            query = [("url", str(DATA_DIR / "corrupt.tif")), ("max_size", "1024")]
            return Call("err-corrupt", "GET", "/cog/preview.png", query, frozenset({422}))
        if choice == 7:
            padded = {**FEATURE, "properties": {"padding": "x" * 1_100_000}}
            body = json.dumps(padded).encode()
            query = [("url", data["cog.tif"])]
            return Call("err-body", "POST", "/cog/feature", query, frozenset({413}), body=body)
        query = [("url", data["cog.tif"])]
        path = "/cog/preview/2048x2048.npy"
        return Call("err-response-size", "GET", path, query, frozenset({400}))

    return [
        (45, tile),
        (12, preview),
        (12, info),
        (8, stats),
        (3, stats_post),
        (5, point),
        (15, error),
    ]


def rss_mb() -> float:
    """Resident memory now (VmRSS), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=300.0, help="stop early after this")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-growth-mb", type=float, default=64.0)
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")
    rng = random.Random(args.seed)
    settings = ApiSettings(allowed_sources=[f"{DATA_DIR}/"])
    handler = Mangum(create_app(settings), lifespan="off")
    context = Context()
    mix = request_mix(rng)
    weights = [weight for weight, _ in mix]
    factories = [factory for _, factory in mix]

    memory = {"start": rss_mb()}
    latencies: dict[str, list[float]] = defaultdict(list)
    unexpected: Counter[str] = Counter()
    examples: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    cpu_started = time.process_time()
    done = 0
    for done in range(1, args.requests + 1):
        call = rng.choices(factories, weights)[0](rng)
        event = http_api_event(call)
        begin = time.perf_counter()
        result = handler(event, context)
        latencies[call.kind].append(time.perf_counter() - begin)
        status = int(result["statusCode"])
        statuses[status] += 1
        if status not in call.expected:
            unexpected[f"{call.kind} {status}"] += 1
            examples.setdefault(
                f"{call.kind} {status}",
                f"{call.method} {call.path}?{urlencode(call.query)[:200]} -> "
                f"{str(result.get('body'))[:200]}",
            )
        if done == args.requests // 2:
            memory["middle"] = rss_mb()
        if time.perf_counter() - started > args.seconds:
            break
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    memory.setdefault("middle", memory["start"])
    memory["end"] = rss_mb()
    memory["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    every = [value for values in latencies.values() for value in values]
    summary = {
        "requests": done,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(done / elapsed, 1),
        "cpu_seconds": round(cpu, 1),
        "unexpected": sum(unexpected.values()),
        "statuses": dict(sorted(statuses.items())),
        "p50_ms": round(percentile(every, 0.50) * 1000, 1),
        "p99_ms": round(percentile(every, 0.99) * 1000, 1),
        "rss_mb": {key: round(value, 1) for key, value in memory.items()},
        "by_kind": {
            kind: {
                "count": len(values),
                "p50_ms": round(percentile(values, 0.50) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                "mean_ms": round(statistics.fmean(values) * 1000, 1),
            }
            for kind, values in sorted(latencies.items())
        },
    }
    growth = memory["end"] - memory["middle"]
    memory_ok = growth <= args.max_growth_mb
    complete = done == args.requests

    print(
        f"requests {done} in {elapsed:.1f} s ({summary['requests_per_second']}/s), "
        f"unexpected statuses {summary['unexpected']}; CPU {cpu:.1f} s "
        f"(wall/CPU {elapsed / max(cpu, 1e-9):.2f}: above 1 means the machine was busy)"
    )
    print(f"statuses {summary['statuses']}")
    print(f"latency p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
    print(
        "RSS MB start {start:.0f}, middle {middle:.0f}, end {end:.0f}, peak {peak:.0f}".format(
            **memory
        )
        + f" (second-half growth {growth:+.1f} MB, limit {args.max_growth_mb:.0f})"
    )
    print(f"{'kind':<18}{'count':>7}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for kind, row in summary["by_kind"].items():
        print(f"{kind:<18}{row['count']:>7}{row['p50_ms']:>9}{row['p99_ms']:>9}{row['mean_ms']:>9}")
    for key, count in unexpected.items():
        print(f"UNEXPECTED {key} x{count}: {examples[key]}")
    if not complete:
        print(f"stopped by the time bound after {done} of {args.requests} requests")
    if not memory_ok:
        print("MEMORY: the second half grew RSS past the limit")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if summary["unexpected"] == 0 and memory_ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
