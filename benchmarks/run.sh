#!/usr/bin/env bash
# Run every benchmark of this project side by side with titiler.application 2.4 and print the
# ratios measured in this run. Loopback only; needs about 8-10 minutes on 2 cores.
#
#   1. warm throughput and latency (wrk, one uvicorn worker each)     bench_warm.py
#   2. overhead over rio-tiler alone, in-process (ASGI and Mangum)     bench_floor.py
#   3. cold start through the Lambda handler (+ sam local if present)  bench_cold.py
#   4. HTTP requests / bytes per tile from a COG served by nginx       bench_remote.py
#   5. what the function image adds on top of its base                 bench_image_size.sh
#
# Usage: bash benchmarks/run.sh [only...]     e.g. `bash benchmarks/run.sh warm cold`
#
# Environment:
#   BENCH_DURATION  seconds of wrk per server and format (default 12, split in 2 rounds)
#   BENCH_REPEAT    repetitions per tile in bench_floor (default 5)
#   BENCH_COLD_RUNS fresh processes per server in bench_cold (default 7)
#   BENCH_SAM       1 to time sam local start-api when docker, sam and a built image exist
#                   (default 1), 0 to skip
#   BENCH_OUT       where JSON results go (default artifacts/bench, gitignored)
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=$(pwd)
OUT=${BENCH_OUT:-artifacts/bench}
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
PY=$ROOT/.venv/bin/python
REF=$ROOT/.tools/titiler-ref/bin/python
mkdir -p "$OUT"
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(warm floor cold remote image)
want() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

if [ ! -x "$PY" ]; then
    echo "==> no .venv: running scripts/setup-dev.sh"
    bash scripts/setup-dev.sh
fi
if [ ! -x "$REF" ] || ! (cd /tmp && "$REF" -P -c "import titiler.application, uvicorn" 2>/dev/null); then
    if [ -f benchmarks/setup_titiler_ref.sh ]; then
        # PYTHONSAFEPATH: this tree's titiler/ must not shadow TiTiler's during its checks.
        PYTHONSAFEPATH=1 bash benchmarks/setup_titiler_ref.sh
    else
        echo "==> creating .tools/titiler-ref (titiler.application 2.4.0)"
        python3 -m venv .tools/titiler-ref
        "$REF" -m pip install -q "titiler.application==2.4.0" uvicorn
    fi
fi
if ! (cd /tmp && "$REF" -P -c "import mangum" 2>/dev/null); then
    echo "==> adding mangum to .tools/titiler-ref (TiTiler behind the Lambda adapter)"
    "$REF" -m pip install -q mangum
fi
if ! "$PY" -c "import mangum" 2>/dev/null; then
    "$PY" -m pip install -q mangum
fi
if ! command -v wrk >/dev/null 2>&1; then
    echo "==> installing wrk (Debian)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
fi

export PYTHONWARNINGS=ignore
echo "# Benchmarks: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git status --porcelain 2>/dev/null | grep -q . && echo '(uncommitted changes)')"
echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; results in $OUT/"
echo "# versions: ours $($PY -c 'import titiler; print(titiler.__version__)' 2>/dev/null), $(cd /tmp && $REF -P -c 'from importlib.metadata import version as v; print("titiler.application", v("titiler.application"), "| rio-tiler", v("rio-tiler"), "| rasterio", v("rasterio"), "| fastapi", v("fastapi"))')"
echo

if want warm; then
    "$PY" benchmarks/bench_warm.py --json "$OUT/warm.json"
    echo
fi
if want floor; then
    echo "## 2. Overhead over the floor (rio-tiler alone), in-process, same tiles"
    "$PY" benchmarks/bench_floor.py --app ours --json "$OUT/floor_ours.json"
    # -P and another cwd: this tree's titiler/ must not shadow TiTiler's.
    (cd /tmp && "$REF" -P "$ROOT/benchmarks/bench_floor.py" --app titiler \
        --json "$OUT/floor_titiler.json")
    echo
fi
if want cold; then
    sam_flag=()
    [ "${BENCH_SAM:-1}" = 1 ] && sam_flag=(--sam)
    "$PY" benchmarks/bench_cold.py --importtime "${sam_flag[@]}" --json "$OUT/cold.json"
    echo
fi
if want remote; then
    "$PY" benchmarks/bench_remote.py --json "$OUT/remote.json"
    echo
fi
if want image; then
    bash benchmarks/bench_image_size.sh | tee "$OUT/image.txt"
    echo
fi

"$PY" - "$OUT" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None

print("# Summary (ratios from this run)")
warm = load("warm.json")
if warm:
    for fmt in ("png", "jpeg"):
        r = warm[fmt]
        print(f"  1. warm {fmt.upper():<4} throughput ours/titiler {r['ratio_rps']:.2f}x "
              f"(p50 {r['ratio_p50']:.2f}x, p99 {r['ratio_p99']:.2f}x, CPU/req {r['ratio_cpu']:.2f}x)"
              f"  target >= 1.5x: {'PASS' if r['ratio_rps'] >= 1.5 else 'FAIL'}")
ours, ref = load("floor_ours.json"), load("floor_titiler.json")
if ours:
    s = ours["summary"]
    print(f"  2. overhead over rio-tiler alone: ours ASGI {s['asgi_overhead_pct']:+.1f}%"
          + (f" (TiTiler {ref['summary']['asgi_overhead_pct']:+.1f}%)" if ref else "")
          + f"  target <= 15%: {'PASS' if s['asgi_overhead_pct'] <= 15 else 'FAIL'}")
    if "lambda_overhead_pct" in s:
        line = f"     via Mangum (Lambda-like): ours {s['lambda_overhead_pct']:+.1f}%"
        if ref and "lambda_ms_per_tile" in ref["summary"]:
            rs = ref["summary"]
            line += (f", TiTiler {rs['lambda_overhead_pct']:+.1f}%; ms/tile ours "
                     f"{s['lambda_ms_per_tile']:.1f} vs TiTiler {rs['lambda_ms_per_tile']:.1f}")
        print(line)
cold = load("cold.json")
if cold:
    m = cold["medians"]
    print(f"  3. cold start ours {m['ours']['total_ms']:.0f} ms vs TiTiler {m['titiler']['total_ms']:.0f} ms"
          f" = {cold['ratio'] * 100:.0f}%  target <= 50%: {'PASS' if cold['ratio'] <= 0.5 else 'FAIL'}")
remote = load("remote.json")
if remote:
    totals = {}
    for row in remote:
        t = totals.setdefault(row["server"], [0, 0])
        t[0] += row["cold"]["requests"]
        t[1] += row["warm"]["requests"] + row["warm_z"]["requests"]
    o, t, g = totals["ours"], totals["titiler"], totals.get("titiler+gdal-env", [0, 0])
    print(f"  4. remote requests cold/warm: ours {o[0]}/{o[1]}, TiTiler {t[0]}/{t[1]} "
          f"(TiTiler + our GDAL env {g[0]}/{g[1]})  target cold <=: "
          f"{'PASS' if o[0] <= t[0] else 'FAIL'}, warm <: {'PASS' if o[1] < t[1] else 'FAIL'}")
image = out / "image.txt"
if image.exists():
    lines = [l.strip() for l in image.read_text().splitlines() if "added on top" in l or "target" in l or "skipped" in l]
    print("  5. image: " + "; ".join(lines))
PY
