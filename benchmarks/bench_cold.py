"""Cold start: a fresh process, from interpreter start to the first tile response, through the
Lambda handler (Mangum + an API Gateway HTTP API v2 event), for this project and for
titiler.application behind Mangum.

Each run spawns a new Python process that imports the handler module and invokes it once with a
tile event; the time is taken from just before the spawn to the moment the response is in hand
(CLOCK_MONOTONIC is shared by all processes), so it includes interpreter start-up, imports, app
construction and the first request. Runs of the two servers alternate, so load drift hits both.

Optional: `--sam` also times the first request through `sam local start-api` against a fresh
container (needs a running docker engine, .tools/sam/bin/sam and an image built by
`scripts/local-api.sh --build-only`); skipped with a message otherwise.

Usage: .venv/bin/python benchmarks/bench_cold.py [--runs 7] [--importtime] [--sam]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_floor import apigw_v2_event  # noqa: E402
from bench_warm import DATA_DIR, OUR_PYTHON, REF_PYTHON, ROOT, TileCase, free_port  # noqa: E402

#: The tile every cold start asks for.
COLD_TILE = TileCase("cog.tif", 8, 87, 49, "png", rescale=(1, 7000), colormap_name="viridis")

# The child: imports the handler, invokes it once, prints timings as JSON. `{handler}` is the
# import that must define `handler`.
CHILD = r"""
import time
t_start = time.monotonic()
import json, sys, base64
{handler}
t_imported = time.monotonic()
event = json.loads(sys.argv[1])
class Context:
    function_name = "bench"; memory_limit_in_mb = 1024; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 30000
response = handler(event, Context())
t_first = time.monotonic()
ok = response["statusCode"] == 200 and response.get("isBase64Encoded")
body = base64.b64decode(response["body"]) if ok else response.get("body", "")[:300]
handler(event, Context())
t_second = time.monotonic()
print("COLDJSON " + json.dumps({{
    "start": t_start, "imported": t_imported, "first": t_first, "second": t_second,
    "status": response["statusCode"], "ok": bool(ok) and body[:4] == b"\x89PNG",
    "detail": "" if ok else str(body),
}}))
"""

OUR_HANDLER = """
sys.path[:0] = [{root!r}, {handler_dir!r}]
try:
    from handler import handler
except ImportError:  # handler/handler.py not written yet: the same wiring
    from mangum import Mangum
    from titiler.main import app
    handler = Mangum(app, lifespan="off")
"""

REF_HANDLER = """
from mangum import Mangum
from titiler.application.main import app
handler = Mangum(app, lifespan="off")
"""


def child_command(kind: str) -> tuple[list[str], dict[str, str], Path]:
    if kind == "ours":
        code = CHILD.format(
            handler=OUR_HANDLER.format(root=str(ROOT), handler_dir=str(ROOT / "handler"))
        )
        env = dict(os.environ, TITILER_API_ALLOWED_SOURCES=json.dumps([f"{DATA_DIR}/"]))
        return [str(OUR_PYTHON), "-c", code], env, ROOT
    code = CHILD.format(handler=REF_HANDLER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITILER_", "PYTHONPATH"))}
    # -P and a neutral cwd: this tree's own `titiler` package would shadow TiTiler's.
    return [str(REF_PYTHON), "-P", "-c", code], env, Path(tempfile.gettempdir())


def cold_run(kind: str, event: dict) -> dict:
    command, env, cwd = child_command(kind)
    spawned = time.monotonic()
    result = subprocess.run(
        [*command, json.dumps(event)], env=env, cwd=cwd, capture_output=True, text=True
    )
    for line in result.stdout.splitlines():
        if line.startswith("COLDJSON "):
            data = json.loads(line[len("COLDJSON ") :])
            if not data["ok"]:
                raise RuntimeError(f"{kind}: status {data['status']}: {data['detail']}")
            return {
                "total_ms": (data["first"] - spawned) * 1000,
                "interpreter_ms": (data["start"] - spawned) * 1000,
                "import_ms": (data["imported"] - data["start"]) * 1000,
                "first_request_ms": (data["first"] - data["imported"]) * 1000,
                "second_request_ms": (data["second"] - data["first"]) * 1000,
            }
    raise RuntimeError(f"{kind}: no result (exit {result.returncode}):\n{result.stderr[-2000:]}")


def importtime(kind: str, top: int = 14) -> list[tuple[float, str]]:
    """Import time (ms) per top-level package, self times summed over its modules, from
    `python -X importtime` of the cold-start child (handler import included)."""
    command, env, cwd = child_command(kind)
    command = [command[0], "-X", "importtime", *command[1:]]
    event = apigw_v2_event(COLD_TILE.path())
    result = subprocess.run(
        [*command, json.dumps(event)], env=env, cwd=cwd, capture_output=True, text=True
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if match:
            name = match.group(3)
            package = ".".join(name.split(".")[:2]) if name.startswith("titiler.") else name
            package = package.split(".")[0] if not name.startswith("titiler.") else package
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1000
    return sorted(((ms, name) for name, ms in totals.items()), reverse=True)[:top]


def sam_cold_start(runs: int) -> dict | None:
    """First requests through `sam local start-api` (a new container per request: no warm
    containers). None, with a message, when docker or sam or a built image is missing."""
    sam = ROOT / ".tools" / "sam" / "bin" / "sam"
    template = ROOT / ".aws-sam" / "local" / "build" / "template.yaml"
    if not sam.exists():
        print("  sam local: skipped (.tools/sam/bin/sam not installed; scripts/setup-dev.sh)")
        return None
    if (
        not shutil.which("docker")
        or subprocess.run(["docker", "info"], capture_output=True).returncode
    ):
        print("  sam local: skipped (no docker engine answers `docker info`)")
        return None
    if not template.exists():
        print(
            "  sam local: skipped (no built image: run `bash scripts/local-api.sh --build-only`, "
            "then rerun with --sam)"
        )
        return None
    port = free_port()
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    log_fd, log_name = tempfile.mkstemp(prefix="bench-sam-", suffix=".log")
    proc = subprocess.Popen(
        [
            str(sam),
            "local",
            "start-api",
            "--template",
            str(template),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--skip-pull-image",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
    )
    os.close(log_fd)
    path = "/cog/tiles/WebMercatorQuad/8/133/90.png?url=%2Fvar%2Ftask%2Fdemo%2Fdemo.tif"
    times = []
    try:
        deadline = time.monotonic() + 120
        while "Running on" not in Path(log_name).read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                print(f"  sam local: skipped (start-api did not start; log {log_name})")
                return None
            time.sleep(0.5)
        for _ in range(runs):
            start = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as resp:
                resp.read()
                status = resp.status
            times.append((time.monotonic() - start) * 1000)
            if status != 200:
                raise RuntimeError(f"sam local answered {status}")
    except Exception as exc:
        print(f"  sam local: failed ({exc}); log {log_name}")
        return None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(
        f"  sam local start-api, new container per request ({runs} requests): "
        f"median {statistics.median(times):.0f} ms, min {min(times):.0f} ms "
        "(container start + init + first tile; stand-in base image)"
    )
    return {"times_ms": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_COLD_RUNS", 7)))
    parser.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    parser.add_argument("--sam", action="store_true", help="also time sam local start-api")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)

    print(
        f"## 3. Cold start: fresh process -> first tile through Mangum + API GW v2 event "
        f"({args.runs} runs each, alternating)"
    )
    print(f"  tile: {COLD_TILE.label}")
    event = apigw_v2_event(COLD_TILE.path())
    runs: dict[str, list[dict]] = {"ours": [], "titiler": []}
    cold_run("ours", event)  # page cache and .pyc files warm for both, as on a reused sandbox
    cold_run("titiler", event)
    for _ in range(args.runs):
        for kind in ("titiler", "ours"):
            runs[kind].append(cold_run(kind, event))
    keys = ("total_ms", "interpreter_ms", "import_ms", "first_request_ms", "second_request_ms")
    medians = {
        kind: {k: statistics.median(r[k] for r in rs) for k in keys} for kind, rs in runs.items()
    }
    print(
        f"  {'median ms':<10}{'total':>9}{'python':>9}{'imports':>9}{'1st req':>9}"
        f"{'2nd req':>9}{'min total':>11}"
    )
    for kind in ("ours", "titiler"):
        m = medians[kind]
        low = min(r["total_ms"] for r in runs[kind])
        print(
            f"  {kind:<10}{m['total_ms']:>9.0f}{m['interpreter_ms']:>9.0f}{m['import_ms']:>9.0f}"
            f"{m['first_request_ms']:>9.0f}{m['second_request_ms']:>9.0f}{low:>11.0f}"
        )
    ratio = medians["ours"]["total_ms"] / medians["titiler"]["total_ms"]
    print(
        f"  ratio ours/titiler cold start: {ratio * 100:.0f}% of TiTiler's  "
        f"target <= 50%: {'PASS' if ratio <= 0.5 else 'FAIL'}"
    )
    result: dict[str, object] = {"runs": runs, "medians": medians, "ratio": ratio}
    if args.importtime:
        for kind in ("ours", "titiler"):
            top = importtime(kind)
            listing = ", ".join(f"{name} {ms:.0f}" for ms, name in top)
            print(f"  import time by package ({kind}, ms): {listing}")
            result[f"importtime_{kind}"] = top
    if args.sam:
        result["sam"] = sam_cold_start(3)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
