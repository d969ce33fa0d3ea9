"""Warm throughput and latency: this server vs titiler.application, same wrk load, loopback only.

Both servers run as one uvicorn worker on 127.0.0.1; wrk (-t2 -c4) rotates over the same list of
tile URLs (several datasets and zooms, PNG and JPEG, with rescale and a colormap) through a Lua
script. Before the timed run each URL is fetched once from both servers: every answer must be a
200 image, and the decoded pixels are compared so the two servers are known to do the same work.

This module also holds the helpers the other benchmarks share (tile list, servers, ports).

Usage: .venv/bin/python benchmarks/bench_warm.py [--duration 12] [--threads 2] [--connections 4]
Environment: TITILER_REF_PYTHON (default .tools/titiler-ref/bin/python), BENCH_DURATION.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
DATA_DIR = (ROOT / ".." / "shared" / "data").resolve()
OUR_PYTHON = Path(os.environ.get("OUR_PYTHON", ROOT / ".venv" / "bin" / "python"))
REF_PYTHON = Path(
    os.environ.get("TITILER_REF_PYTHON", ROOT / ".tools" / "titiler-ref" / "bin" / "python")
)
TMS = "WebMercatorQuad"


# --------------------------------------------------------------------------------------------
# The tile list shared by every benchmark
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TileCase:
    """One tile request: dataset, tile index, format and rendering parameters."""

    dataset: str
    z: int
    x: int
    y: int
    fmt: str  # "png" or "jpeg"
    rescale: tuple[float, float] | None = None
    colormap_name: str | None = None
    bidx: tuple[int, ...] | None = None

    def params(self, url: str) -> list[tuple[str, str]]:
        query: list[tuple[str, str]] = [("url", url)]
        for band in self.bidx or ():
            query.append(("bidx", str(band)))
        if self.rescale:
            query.append(("rescale", f"{self.rescale[0]:g},{self.rescale[1]:g}"))
        if self.colormap_name:
            query.append(("colormap_name", self.colormap_name))
        return query

    def path(self, source_prefix: str | None = None) -> str:
        """`/cog/tiles/...` with the query; the dataset read from `source_prefix` (a local
        directory by default, or `http://127.0.0.1:PORT/`)."""
        prefix = source_prefix or f"{DATA_DIR}/"
        query = urlencode(self.params(prefix + self.dataset), safe="/:,")
        return f"/cog/tiles/{TMS}/{self.z}/{self.x}/{self.y}.{self.fmt}?{query}"

    @property
    def label(self) -> str:
        extra = "+rescale" if self.rescale else ""
        extra += f"+{self.colormap_name}" if self.colormap_name else ""
        return f"{self.dataset} {self.z}/{self.x}/{self.y}.{self.fmt}{extra}"


# (dataset, zooms, render options); tiles are picked around the dataset centre at each zoom.
_DATASETS: list[tuple[str, tuple[int, ...], dict]] = [
    ("cog.tif", (6, 7, 8, 9), {"rescale": (1, 7000), "colormap_name": "viridis"}),
    ("cog_int16.tif", (6, 7, 8), {"rescale": (69, 201), "colormap_name": "terrain"}),
    ("web.tif", (6, 7, 8), {"rescale": (5537, 33468), "colormap_name": "magma"}),
    ("RGB.byte.tif", (7, 8, 9), {}),
    ("cog_cmap.tif", (13, 14, 15), {}),
]
# Each (dataset, zoom) contributes these offsets from the centre tile.
_OFFSETS = ((0, 0), (1, 0), (0, 1), (-1, -1))


def tile_cases(fmt: str) -> list[TileCase]:
    """The benchmark's tile list for `fmt` (deterministic; tiles inside each dataset)."""
    import morecantile
    from rio_tiler.io import Reader

    tms = morecantile.tms.get(TMS)
    cases = []
    for dataset, zooms, options in _DATASETS:
        with Reader(str(DATA_DIR / dataset)) as src:
            bounds = src.get_geographic_bounds(tms.rasterio_geographic_crs)
        inside = set()
        for zoom in zooms:
            inside |= {(t.x, t.y, t.z) for t in tms.tiles(*bounds, zooms=[zoom])}
            centre = tms.tile((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, zoom)
            for dx, dy in _OFFSETS:
                x, y = centre.x + dx, centre.y + dy
                if (x, y, zoom) in inside:
                    cases.append(TileCase(dataset, zoom, x, y, fmt, **options))
    return cases


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def our_env(extra_sources: list[str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["TITILER_API_ALLOWED_SOURCES"] = json.dumps([f"{DATA_DIR}/", *(extra_sources or [])])
    env["PYTHONPATH"] = str(ROOT)
    return env


def ref_env(gdal_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITILER_", "PYTHONPATH"))}
    env.update(gdal_env or {})
    return env


def server_command(kind: str, port: int) -> tuple[list[str], Path | None]:
    """The uvicorn command line and working directory for `kind` ("ours" or "titiler")."""
    if kind == "ours":
        app, python, cwd = "titiler.main:app", OUR_PYTHON, ROOT
    else:
        # -P and a neutral cwd: this tree's own `titiler` package would shadow TiTiler's.
        app, python, cwd = "titiler.application.main:app", REF_PYTHON, None
    command = [str(python)]
    if kind != "ours":
        command.append("-P")
    command += [
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return command, cwd


#: base URL -> process id of the servers run_server started (for CPU accounting).
SERVER_PIDS: dict[str, int] = {}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def run_server(
    kind: str, env: dict[str, str] | None = None, log_path: Path | None = None
) -> Iterator[str]:
    """Start a server of `kind` on a free loopback port; yield its base URL; stop it."""
    port = free_port()
    command, cwd = server_command(kind, port)
    if env is None:
        env = our_env() if kind == "ours" else ref_env()
    workdir = cwd or Path(tempfile.gettempdir())
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = proc.pid
    try:
        wait_ready(base, proc)
        yield base
    finally:
        SERVER_PIDS.pop(base, None)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"server at {base} did not answer /healthz within {timeout}s")


def fetch(url: str, timeout: float = 30) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


def decode(content: bytes):
    """Decode PNG/JPEG bytes to an array with GDAL (no extra dependency)."""
    from rasterio.io import MemoryFile

    with MemoryFile(content) as memfile, memfile.open() as dataset:
        return dataset.read()


# --------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------

WRK_LUA = r"""
-- Rotate over the request paths in the file named by WRK_URLS; each thread starts elsewhere.
local paths = {}
for line in io.lines(os.getenv("WRK_URLS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local counter = 0
local threads = {}
function setup(thread)
  thread:set("offset", #threads * 7)
  threads[#threads + 1] = thread
end
function init(args)
  counter = offset or 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"p50_us\":%d,\"p90_us\":%d," ..
    "\"p99_us\":%d,\"mean_us\":%.1f,\"max_us\":%d,\"non2xx\":%d,\"connect\":%d,\"read\":%d," ..
    "\"write\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max, e.status,
    e.connect, e.read, e.write, e.timeout))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get (Debian package wrk)", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, env=env)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "wrk"


def run_wrk(
    base: str, paths: list[str], duration: int, threads: int, connections: int, workdir: Path
) -> dict:
    urls_file = workdir / "urls.txt"
    urls_file.write_text("\n".join(paths) + "\n")
    script = workdir / "rotate.lua"
    script.write_text(WRK_LUA)
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    env = dict(os.environ, WRK_URLS=str(urls_file))
    pid = SERVER_PIDS.get(base)
    cpu_before = cpu_seconds(pid) if pid else 0.0
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    cpu_used = (cpu_seconds(pid) - cpu_before) if pid else 0.0
    for line in result.stdout.splitlines():
        if line.startswith("WRKJSON "):
            stats = json.loads(line[len("WRKJSON ") :])
            stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
            stats["cpu_s"] = cpu_used
            return stats
    raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


def merge_runs(runs: list[dict]) -> dict:
    """Sum counts over rounds; latency percentiles are request-weighted means of the rounds'."""
    merged: dict = {}
    total = sum(r["requests"] for r in runs) or 1
    for key in (
        "requests",
        "duration_us",
        "bytes",
        "non2xx",
        "connect",
        "read",
        "write",
        "timeout",
        "cpu_s",
    ):
        merged[key] = sum(r[key] for r in runs)
    for key in ("p50_us", "p90_us", "p99_us", "mean_us"):
        merged[key] = sum(r[key] * r["requests"] for r in runs) / total
    merged["max_us"] = max(r["max_us"] for r in runs)
    merged["rps"] = merged["requests"] / (merged["duration_us"] / 1e6)
    merged["cpu_ms_per_req"] = merged["cpu_s"] * 1000 / total
    merged["rounds"] = runs
    return merged


def check_responses(bases: dict[str, str], cases: list[TileCase]) -> dict[str, object]:
    """Fetch each tile from every server: all 200 images, and how many decode identically."""
    import numpy

    identical = close = 0
    worst = 0.0
    for case in cases:
        arrays = {}
        for kind, base in bases.items():
            status, ctype, body = fetch(base + case.path())
            if status != 200 or not ctype.startswith("image/"):
                raise RuntimeError(f"{kind}: {case.label} -> {status} {ctype} {body[:200]!r}")
            arrays[kind] = decode(body)
        first, second = arrays.values()
        if first.shape == second.shape and numpy.array_equal(first, second):
            identical += 1
        elif first.shape == second.shape:
            diff = float(numpy.abs(first.astype("int32") - second.astype("int32")).mean())
            worst = max(worst, diff)
            close += diff < 2.0
    return {"tiles": len(cases), "identical": identical, "close": close, "worst_mean_abs": worst}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 12)))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds per server (duration split)"
    )
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)

    ensure_wrk()
    slice_s = max(1, round(args.duration / args.rounds))
    print(
        f"## 1. Warm throughput: wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
        "one uvicorn worker each, loopback"
    )
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        workdir = Path(tmp)
        for fmt in ("png", "jpeg"):
            cases = tile_cases(fmt)
            paths = [case.path() for case in cases]
            datasets = sorted({case.dataset for case in cases})
            zooms = sorted({case.z for case in cases})
            print(
                f"\n{fmt.upper()}: {len(cases)} tiles, datasets {', '.join(datasets)}, "
                f"zooms {zooms[0]}-{zooms[-1]}"
            )
            with run_server("ours") as ours, run_server("titiler") as theirs:
                check = check_responses({"ours": ours, "titiler": theirs}, cases)
                print(
                    f"  responses: all 200 images; identical pixels {check['identical']}/"
                    f"{check['tiles']} (others mean |diff| <= {check['worst_mean_abs']:.2f})"
                )
                # Warm both (GDAL block cache, Python caches) before the timed runs.
                for base in (ours, theirs):
                    for path in paths:
                        fetch(base + path)
                    run_wrk(base, paths, 2, args.threads, args.connections, workdir)
                # Alternate who goes first, in rounds, so load drift hits both servers alike.
                per_kind: dict[str, list[dict]] = {"ours": [], "titiler": []}
                order = [("titiler", theirs), ("ours", ours)]
                for round_index in range(args.rounds):
                    for kind, base in order if round_index % 2 == 0 else order[::-1]:
                        per_kind[kind].append(
                            run_wrk(base, paths, slice_s, args.threads, args.connections, workdir)
                        )
                for kind, runs in per_kind.items():
                    results.setdefault(fmt, {})[kind] = merge_runs(runs)
            print(
                f"  {'server':<10}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
                f"{'CPU ms/req':>12}{'errors':>8}"
            )
            for kind in ("ours", "titiler"):
                s = results[fmt][kind]
                errors = s["non2xx"] + s["connect"] + s["read"] + s["write"] + s["timeout"]
                print(
                    f"  {kind:<10}{s['rps']:>9.1f}{s['p50_us'] / 1000:>9.2f}"
                    f"{s['p90_us'] / 1000:>9.2f}{s['p99_us'] / 1000:>9.2f}"
                    f"{s['cpu_ms_per_req']:>12.2f}{errors:>8}"
                )
            ours_s, ref_s = results[fmt]["ours"], results[fmt]["titiler"]
            ratio = ours_s["rps"] / ref_s["rps"]
            results[fmt]["ratio_rps"] = ratio
            results[fmt]["ratio_p50"] = ref_s["p50_us"] / max(ours_s["p50_us"], 1)
            results[fmt]["ratio_p99"] = ref_s["p99_us"] / max(ours_s["p99_us"], 1)
            results[fmt]["ratio_cpu"] = ref_s["cpu_ms_per_req"] / max(
                ours_s["cpu_ms_per_req"], 1e-9
            )
            print(
                f"  ratio ours/titiler throughput: {ratio:.2f}x "
                f"(p50 {results[fmt]['ratio_p50']:.2f}x, p99 {results[fmt]['ratio_p99']:.2f}x "
                f"faster; server CPU per request {results[fmt]['ratio_cpu']:.2f}x less)  "
                f"target >= 1.5x: {'PASS' if ratio >= 1.5 else 'FAIL'}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
