"""Remote reads: HTTP requests and bytes per tile when the COG is served over HTTP.

../shared/data is served on loopback by nginx (Debian's nginx-light, installed with apt-get when
missing; a small Python range server is the fallback) with an access log that records every
request and its `$bytes_sent`. Each server is started fresh per dataset, asked for a first tile
(cold: right after process start), then a second, different tile of the same zoom and a third at
another zoom (warm: same process); the log lines each tile caused are counted.

Rows: this server; titiler.application with its own defaults; titiler.application given this
server's GDAL settings (titiler/gdal.py), which separates what the code does from what the
configuration does.

Usage: .venv/bin/python benchmarks/bench_remote.py [--keep-logs]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_warm import (  # noqa: E402
    DATA_DIR,
    ROOT,
    TileCase,
    fetch,
    free_port,
    our_env,
    ref_env,
    run_server,
)

#: (dataset, render options, cold tile, warm tile same zoom, warm tile other zoom)
REMOTE_CASES = [
    (
        "cog.tif",
        {"rescale": (1, 7000), "colormap_name": "viridis"},
        (8, 87, 49),
        (8, 88, 49),
        (9, 175, 98),
    ),
    (
        "web.tif",
        {"rescale": (5537, 33468), "colormap_name": "magma"},
        (7, 37, 45),
        (7, 37, 46),
        (8, 74, 91),
    ),
    ("cog_int16.tif", {"rescale": (69, 201)}, (7, 43, 24), (7, 44, 24), (8, 87, 49)),
]

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    log_format bench '$msec "$request" $status $bytes_sent "$http_range" "$http_user_agent"';
    access_log {tmp}/access.log bench;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    keepalive_timeout 65;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def ensure_nginx() -> str | None:
    found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if found:
        return str(found)
    if os.geteuid() != 0:
        return None
    print("  nginx not found: installing nginx-light with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "install", "-y", "-q", "nginx-light"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "nginx-light"],
    ):
        subprocess.run(command, env=env, capture_output=True)
        found = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
        if found:
            return str(found)
    return None


@contextmanager
def nginx_server(tmp: Path) -> Iterator[tuple[str, Path]]:
    """nginx serving DATA_DIR on a free loopback port: (base URL, access log)."""
    binary = ensure_nginx()
    if binary is None:
        with python_range_server(tmp) as served:
            yield served
        return
    port = free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=DATA_DIR))
    log = tmp / "access.log"
    log.touch()
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "nginx.stderr", "wb"),  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(tmp / 'nginx.stderr').read_text()}")
            try:
                if fetch(base + "cog.tif", timeout=1)[0] in (200, 206):
                    break
            except OSError:
                time.sleep(0.05)
        print(f"  range server: nginx on {base} ($bytes_sent per request from its access log)")
        yield base, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def python_range_server(tmp: Path) -> Iterator[tuple[str, Path]]:
    """Fallback when nginx cannot be installed: single-range HTTP server with the same log."""
    log = tmp / "access.log"
    log.touch()
    lock = threading.Lock()

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(DATA_DIR), **kwargs)

        def log_message(self, *args) -> None:
            pass

        def _log(self, status: int, sent: int) -> None:
            line = (
                f'{time.time():.3f} "{self.requestline}" {status} {sent} '
                f'"{self.headers.get("Range", "-")}" "{self.headers.get("User-Agent", "-")}"\n'
            )
            with lock, open(log, "a") as handle:
                handle.write(line)

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = Path(self.translate_path(self.path))
            if not path.is_file():
                self.send_error(404)
                self._log(404, 0)
                return
            data = path.read_bytes()
            status, body = 200, data
            header = self.headers.get("Range", "")
            if header.startswith("bytes="):
                first, _, last = header[6:].split(",")[0].partition("-")
                start = int(first) if first else max(len(data) - int(last), 0)
                end = min(int(last), len(data) - 1) if first and last else len(data) - 1
                status, body = 206, data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            if not head:
                self.wfile.write(body)
            self._log(status, len(body) + 200)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"  range server: Python fallback on port {port} (nginx unavailable)")
    try:
        yield f"http://127.0.0.1:{port}/", log
    finally:
        server.shutdown()


def log_lines_since(log: Path, offset: int) -> tuple[list[dict], int]:
    time.sleep(0.15)  # nginx writes each line when the request ends; let the last one land
    data = log.read_bytes()
    lines = []
    for raw in data[offset:].decode(errors="replace").splitlines():
        parts = raw.split('"')
        if len(parts) < 7:
            continue
        status_bytes = parts[2].split()
        lines.append(
            {
                "request": parts[1],
                "status": int(status_bytes[0]),
                "bytes": int(status_bytes[1]),
                "range": parts[3],
                "agent": parts[5],
            }
        )
    return lines, len(data)


def gdal_env_of_this_project() -> dict[str, str]:
    """The GDAL defaults this project applies to itself (titiler/gdal.py)."""
    sys.path.insert(0, str(ROOT))
    try:
        from titiler.gdal import GDAL_DEFAULTS
    finally:
        sys.path.remove(str(ROOT))
        for name in [m for m in sys.modules if m == "titiler" or m.startswith("titiler.")]:
            del sys.modules[name]
    return dict(GDAL_DEFAULTS)


def measure(kind: str, base_url: str, log: Path, env: dict[str, str]) -> list[dict]:
    rows = []
    for dataset, options, *tiles in REMOTE_CASES:
        with run_server(kind.split("+")[0], env=env) as server:
            offset = log.stat().st_size
            row: dict[str, object] = {"server": kind, "dataset": dataset}
            for label, (z, x, y) in zip(("cold", "warm", "warm_z"), tiles, strict=True):
                case = TileCase(dataset, z, x, y, "png", **options)
                status, _, body = fetch(server + case.path(base_url))
                if status != 200:
                    raise RuntimeError(f"{kind} {case.label}: {status} {body[:300]!r}")
                lines, offset = log_lines_since(log, offset)
                row[label] = {
                    "requests": len(lines),
                    "bytes": sum(line["bytes"] for line in lines),
                    "lines": lines,
                }
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-logs", action="store_true", help="print every logged request")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for this server only (try a GDAL option before adopting it)",
    )
    parser.add_argument(
        "--only-ours", action="store_true", help="skip the TiTiler rows (quick experiments)"
    )
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.set)
    print("## 4. Remote reads: HTTP requests / bytes per tile, COG served over HTTP on loopback")
    results: list[dict] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp,
        nginx_server(Path(tmp)) as (base_url, log),
    ):
        envs = {
            "ours": {**our_env(extra_sources=[base_url]), **extra},
            "titiler": ref_env(),
            "titiler+gdal-env": ref_env(gdal_env_of_this_project()),
        }
        if args.only_ours:
            envs = {"ours": envs["ours"]}
        if extra:
            print(f"  extra environment for ours: {extra}")
        for kind, env in envs.items():
            results.extend(measure(kind, base_url, log, env))
    print(
        f"  {'server':<18}{'dataset':<15}{'cold req':>9}{'cold KB':>9}{'warm req':>9}"
        f"{'warm KB':>9}{'zoom req':>9}{'zoom KB':>9}"
    )
    for row in results:
        cells = "".join(
            f"{row[k]['requests']:>9}{row[k]['bytes'] / 1024:>9.1f}"  # type: ignore[index]
            for k in ("cold", "warm", "warm_z")
        )
        print(f"  {row['server']:<18}{row['dataset']:<15}{cells}")
    totals: dict[str, dict[str, int]] = {}
    for row in results:
        total = totals.setdefault(row["server"], {"cold": 0, "warm": 0, "warm_z": 0})  # type: ignore[arg-type]
        for key in total:
            total[key] += row[key]["requests"]  # type: ignore[index]
    print("  totals (requests, all datasets):")
    for kind, total in totals.items():
        print(
            f"    {kind:<18} cold {total['cold']:>3}  warm {total['warm']:>3}"
            f"  warm other zoom {total['warm_z']:>3}"
        )
    if "titiler" in totals:
        ours, ref, tuned = totals["ours"], totals["titiler"], totals["titiler+gdal-env"]
        for name, other in (("TiTiler as shipped", ref), ("TiTiler + our GDAL env", tuned)):
            cold_ok = ours["cold"] <= other["cold"]
            warm_ok = ours["warm"] + ours["warm_z"] < other["warm"] + other["warm_z"]
            print(
                f"  target vs {name}: cold no more requests: {'PASS' if cold_ok else 'FAIL'}; "
                f"warm fewer requests: {'PASS' if warm_ok else 'FAIL'}"
            )
    if args.keep_logs:
        for row in results:
            for key in ("cold", "warm", "warm_z"):
                for line in row[key]["lines"]:  # type: ignore[index]
                    print(
                        f"    {row['server']:<18}{row['dataset']:<15}{key:<7}{line['status']} "
                        f"{line['bytes']:>7} {line['range']:<22} {line['agent'][:30]}"
                    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
