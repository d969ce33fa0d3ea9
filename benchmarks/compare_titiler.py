"""Compare this tile server with titiler.application 2.4 on the same requests over ../shared/data.

Both servers run as uvicorn subprocesses on free loopback ports (the reference from
.tools/titiler-ref, made by benchmarks/setup_titiler_ref.sh when missing). Every request goes to
both; status codes, Content-Type/Content-Bbox/Content-Crs, JSON bodies (floats to a relative
1e-6, host:port normalised), decoded image arrays and parsed WMTS layers are compared. The report,
grouped by endpoint, goes to stdout and artifacts/compare-titiler.md. Exit status is 0 unless a
server fails to start: this is a report, not a test.

Usage: .venv/bin/python benchmarks/compare_titiler.py [--only REGEX] [--verbose] [--jobs N]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import httpx
import morecantile
import numpy as np
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
REF_PYTHON = ROOT / ".tools" / "titiler-ref" / "bin" / "python"
REPORT = ROOT / "artifacts" / "compare-titiler.md"
WMQ = morecantile.tms.get("WebMercatorQuad")
IGNORED = re.compile(r"^versions(\.|$)")  # /healthz package versions legitimately differ
REL_TOL = 1e-6
HOST = "http://{host}"
VISIBLE = "image equal where visible"
CMAP = json.dumps({"0": [0, 0, 0, 255], "128": [255, 0, 0, 255], "255": [255, 255, 255, 255]})
Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Req:
    endpoint: str  # the group it is reported under
    path: str
    params: Params = ()
    body: dict[str, Any] | None = None  # POSTed as JSON when set

    @property
    def label(self) -> str:
        query = "&".join(f"{k}={Path(v).name if k == 'url' else v}" for k, v in self.params)
        return f"{'POST' if self.body else 'GET'} {self.path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Diff:
    kind: str  # a category, e.g. "status" or "json value at `statistics.b*.mean`"
    detail: str  # "ours / theirs"


@dataclass(frozen=True)
class Result:
    req: Req
    diffs: list[Diff]
    seconds: tuple[float, float]  # ours, theirs


Proc = subprocess.Popen[bytes]


def start_server(name: str, argv: list[str], env: dict[str, str], cwd: Path) -> tuple[Proc, str]:
    """Start uvicorn on a free loopback port; return the process and its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    log = REPORT.parent / f"compare-titiler-{name}.log"
    opts = ["--host", "127.0.0.1", "--port", port, "--log-level", "warning"]
    opts += ["--timeout-keep-alive", "600"]  # no idle connection dropped under a slow request
    with log.open("wb") as out:
        proc = subprocess.Popen([*argv, *opts], cwd=cwd, env=env, stdout=out, stderr=out)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{name} server did not answer /healthz; log tail:\n{tail}")


def fetch(client: httpx.Client, base: str, req: Req) -> tuple[httpx.Response, float]:
    """Send `req` to `base`, retrying once when a keep-alive connection was dropped."""
    method, start = "POST" if req.body else "GET", time.perf_counter()
    try:
        resp = client.request(method, base + req.path, params=req.params, json=req.body)
    except httpx.TransportError:
        start = time.perf_counter()
        resp = client.request(method, base + req.path, params=req.params, json=req.body)
    return resp, time.perf_counter() - start


@dataclass(frozen=True)
class Probe:
    bbox: tuple[float, float, float, float]  # geographic, from /cog/info.geojson
    minzoom: int
    rescale: tuple[float, float]  # band 1 min/max


def probe(client: httpx.Client, bases: list[str], url: str) -> Probe | None:
    """Bbox, minzoom and band-1 range of `url`, from the reference first, else from ours."""
    for base in bases:
        try:
            geo = client.get(f"{base}/cog/info.geojson", params={"url": url})
            tj = client.get(f"{base}/cog/WebMercatorQuad/tilejson.json", params={"url": url})
            st = client.get(f"{base}/cog/statistics", params={"url": url, "bidx": "1"})
            if geo.status_code != 200 or tj.status_code != 200:
                continue
            minx, miny, maxx, maxy = geo.json()["bbox"]
            band = next(iter(st.json().values())) if st.status_code == 200 else {}
            rescale = (float(band.get("min", 0)), float(band.get("max", 255)))
            maxx += 360 if minx > maxx else 0  # across the antimeridian
            return Probe((minx, miny, maxx, maxy), int(tj.json()["minzoom"]), rescale)
        except (httpx.HTTPError, ValueError, KeyError, StopIteration):
            continue
    return None


def one_each(*pairs: tuple[str, str]) -> list[Params]:
    return [(pair,) for pair in pairs]


STAT_VARIANTS: list[Params] = [
    (),
    *one_each(("bidx", "1"), ("expression", "b1*2"), ("histogram_bins", "8"), ("nodata", "0")),
    *one_each(("histogram_range", "0,1000"), ("unscale", "true"), ("max_size", "256")),
    (("categorical", "true"), ("bidx", "1"), ("max_size", "64")),
    (("p", "5"), ("p", "95")),
]
TILE_FORMATS = ["", ".png", ".jpeg", ".webp", ".tif", ".npy", ".pngraw"]
TILE_VARIANTS: list[Params] = [
    (("bidx", "1"), ("rescale", "0,255"), ("colormap", CMAP)),
    *one_each(("bidx", "1"), ("return_mask", "false"), ("buffer", "2"), ("padding", "2")),
    *one_each(("tilesize", "256"), ("tilesize", "512"), ("unscale", "true"), ("nodata", "0")),
    *one_each(("resampling", "bilinear")),
]


def raster_requests(url: str, p: Probe | None) -> list[Req]:
    """The per-raster request matrix (tile, point, bbox and feature need a successful probe)."""
    u: Params = (("url", url),)
    reqs = [Req(f"GET {path}", path, u) for path in ("/cog/info", "/cog/info.geojson")]
    reqs += [Req("GET /cog/statistics", "/cog/statistics", u + v) for v in STAT_VARIANTS]
    for path in ("/cog/validate", "/cog/WMTSCapabilities.xml", "/cog/tiles"):
        reqs.append(Req(f"GET {path}", path, u))
    reqs.append(Req("GET /cog/tiles/{tms}", "/cog/tiles/WebMercatorQuad", u))
    reqs.append(Req("GET /cog/{tms}/tilejson.json", "/cog/WebMercatorQuad/tilejson.json", u))
    if p is None:
        return reqs
    lon, lat = ((p.bbox[0] + p.bbox[2]) / 2 + 180) % 360 - 180, (p.bbox[1] + p.bbox[3]) / 2
    reqs.append(Req("GET /cog/point/{lon},{lat}", f"/cog/point/{lon!r},{lat!r}", u))
    t = WMQ.tile(lon, lat, p.minzoom)
    tile = f"/cog/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    reqs += [Req(f"GET /cog/tiles/{{tms}}/{{z}}/{{x}}/{{y}}{f}", tile + f, u) for f in TILE_FORMATS]
    lo, hi = p.rescale
    with_range: list[Params] = [
        (("rescale", f"{lo:g},{hi:g}"),),
        (("bidx", "1"), ("rescale", f"{lo:g},{hi:g}"), ("colormap_name", "viridis")),
        (("expression", "b1*2"), ("rescale", f"{2 * lo:g},{2 * hi:g}")),
    ]
    variants = "GET /cog/tiles/{tms}/{z}/{x}/{y}.png (variants)"
    reqs += [Req(variants, tile + ".png", u + v) for v in with_range + TILE_VARIANTS]
    far = WMQ.tile(((lon + 360) % 360) - 180, -lat / 2, max(p.minzoom, 3))  # the other side
    far_tile = f"/cog/tiles/WebMercatorQuad/{far.z}/{far.x}/{far.y}.png"
    reqs.append(Req("GET /cog/tiles/{tms}/{z}/{x}/{y}.png (outside)", far_tile, u))
    small: Params = (*u, ("max_size", "256"))
    reqs.append(Req("GET /cog/preview.png", "/cog/preview.png", small))
    reqs.append(Req("GET /cog/preview/{w}x{h}.png", "/cog/preview/128x128.png", u))
    dx, dy = (p.bbox[2] - p.bbox[0]) / 10, (p.bbox[3] - p.bbox[1]) / 10
    x0, y0, x1, y1 = (round(v, 6) for v in (lon - dx, lat - dy, lon + dx, lat + dy))
    reqs.append(Req("GET /cog/bbox/{bbox}.png", f"/cog/bbox/{x0},{y0},{x1},{y1}.png", small))
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    reqs.append(Req("POST /cog/feature.png", "/cog/feature.png", small, feature))
    reqs.append(Req("POST /cog/statistics", "/cog/statistics", u, feature))
    return reqs


def general_requests(cog: str) -> list[Req]:
    """Catalogue endpoints and error cases."""
    reqs = [Req(f"GET {path}", path) for path in ("/healthz", "/tileMatrixSets", "/colorMaps")]
    for tms in ("WebMercatorQuad", "WGS1984Quad", "Nope"):
        reqs.append(Req("GET /tileMatrixSets/{id}", f"/tileMatrixSets/{tms}"))
    reqs += [Req("GET /colorMaps/{id}", f"/colorMaps/{c}") for c in ("viridis", "cfastie", "nope")]
    u: Params = (("url", cog),)
    tile = "/cog/tiles/WebMercatorQuad/8/86/94"
    bad = [("colormap_name", "nope"), ("rescale", "abc"), ("colormap", "{not json")]
    bad += [("expression", "b9*2"), ("bidx", "5"), ("resampling", "nope")]
    reqs += [Req("errors", f"{tile}.png", (*u, kv)) for kv in bad]
    paths = [f"{tile}.gif", "/cog/tiles/Nope/8/86/94.png", "/cog/preview/0x0.png"]
    paths += [f"/cog/tiles/WebMercatorQuad/{zxy}.png" for zxy in ("99/0/0", "-1/0/0", "8/9999/0")]
    reqs += [Req("errors", path, u) for path in paths]
    reqs.append(Req("errors", "/cog/info"))
    reqs.append(Req("errors", "/cog/info", (("url", str(DATA / "missing.tif")),)))
    reqs.append(Req("errors", "/cog/statistics", (*u, ("histogram_range", "abc"))))
    reqs.append(Req("errors", "/cog/statistics", u, {"type": "Point"}))
    return reqs


def normalise(value: Any, bases: tuple[str, ...]) -> Any:
    """Replace either server's host:port, sort URL queries, sort long enumerations in messages."""
    if isinstance(value, dict):
        return {k: normalise(v, bases) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, bases) for v in value]
    if not isinstance(value, str):
        return value
    for base in bases:
        if value.startswith(base):
            parts = urlsplit(HOST + value[len(base) :])
            query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
            return unquote(parts._replace(query=query).geturl())
    names = re.findall(r"'([^']*)'", value)
    if len(names) > 20:  # "Input should be 'a', 'b', ...": the reference lists a set, unordered
        return re.sub(r"'.*'", "{" + ",".join(sorted(set(names))) + "}", value)
    return value


def json_diff(a: Any, b: Any, path: str = "") -> Iterator[tuple[str, str, Any, Any]]:
    """(what, path, ours, theirs) for every difference between two JSON values."""
    if IGNORED.match(path):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in b and not IGNORED.match(sub):
                yield "extra field", sub, a[key], None
            elif key not in a and not IGNORED.match(sub):
                yield "missing field", sub, None, b[key]
            elif key in a and key in b:
                yield from json_diff(a[key], b[key], sub)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield "list length", path, len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from json_diff(x, y, f"{path}[{i}]")
    elif all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b)):
        if not (math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12) or (a != a and b != b)):
            yield "value", path, a, b
    elif a != b:
        yield ("value" if type(a) is type(b) else "type"), path, a, b


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_json(a: Any, b: Any, prefix: str) -> list[Diff]:
    out = []
    for what, path, x, y in json_diff(a, b):
        # One kind per field whatever the list index, band name or GDAL statistics key.
        generic = re.sub(r"\[\d+\]", "[]", re.sub(r"\bb\d+\b", "b*", path)) or "."
        generic = re.sub(r"STATISTICS_\w+", "STATISTICS_*", generic)
        generic = re.sub(r"^layers\.\w+\.links\.\w+", "layers.*.links.*", generic)
        out.append(Diff(f"{prefix} {what} at `{generic}`", f"`{path}`: {short(x)} / {short(y)}"))
    return out


def decode(body: bytes, npy: bool) -> tuple[np.ndarray, dict[str, Any], int | None]:
    """Array, georeferencing and alpha band index of an image response."""
    if npy:
        return np.load(io.BytesIO(body), allow_pickle=False), {}, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(body) as mem, mem.open() as src:
            meta = {"driver": src.driver, "crs": src.crs.to_string() if src.crs else None}
            meta["transform"] = list(src.transform)[:6] if src.crs else None
            data, interp = src.read(), src.colorinterp
    alpha = [i for i, ci in enumerate(interp) if ci == ColorInterp.alpha]
    # rio-tiler appends the mask as the last band: GDAL calls it blue for 2-band data (3 bands).
    if not alpha and len(interp) == 3 and np.isin(data[2], (0, 255)).all():
        alpha = [2]
    return data, meta, alpha[0] if alpha else None


def diff_image(ours: bytes, theirs: bytes, npy: bool) -> list[Diff]:
    try:
        (a, meta_a, alpha), (b, meta_b, alpha_b) = decode(ours, npy), decode(theirs, npy)
    except Exception as exc:
        return [Diff("image undecodable", short(str(exc), 80))]
    out = diff_json(meta_a, meta_b, "image meta")
    if a.shape != b.shape or a.dtype != b.dtype:
        return [*out, Diff("image shape/dtype", f"{a.shape} {a.dtype} / {b.shape} {b.dtype}")]
    differ = (a != b) & ~(np.isnan(a) & np.isnan(b)) if a.dtype.kind == "f" else a != b
    pixels = differ.reshape(-1, *a.shape[-2:]).any(axis=0) if a.ndim >= 2 else differ
    n, total = int(pixels.sum()), pixels.size
    if n == 0:
        return out
    maxd = float(np.nanmax(np.abs(a.astype(float) - b.astype(float))))
    if alpha is not None and alpha == alpha_b and np.array_equal(a[alpha], b[alpha]):
        visible = int((pixels & (a[alpha] > 0)).sum())
        if visible == 0:
            return [*out, Diff(VISIBLE, f"{n} of {total} px differ, all under alpha=0")]
        detail = f"{visible} visible px of {total} differ, max |d| {maxd:g}"
        return [*out, Diff("image pixels (same alpha)", detail)]
    return [*out, Diff("image pixels", f"{n} of {total} px differ, max |d| {maxd:g}")]


def wmts_layers(text: str) -> dict[str, Any]:
    """Layer identifiers, formats, bounds, tile matrix set links/limits and URL templates."""
    root, layers = ET.fromstring(text), {}
    for layer in root.findall(".//{*}Layer"):
        links = {}
        for link in layer.findall(".//{*}TileMatrixSetLink"):
            limits = link.findall(".//{*}TileMatrixLimits")
            rows = [{c.tag.split("}")[1]: c.text for c in lim} for lim in limits]
            links[link.findtext("{*}TileMatrixSet", "")] = rows
        corners = layer.findall(".//{*}LowerCorner") + layer.findall(".//{*}UpperCorner")
        layers[re.sub(r"^.*\.tiff?_", "", layer.findtext("{*}Identifier", ""))] = {
            "formats": sorted(f.text or "" for f in layer.findall(".//{*}Format")),
            "bbox": [float(v) for c in corners for v in (c.text or "").split()],
            "links": links,
            "urls": sorted(r.get("template", "") for r in layer.findall(".//{*}ResourceURL")),
        }
    sets = [s.findtext("{*}Identifier", "") for s in root.findall("{*}Contents/{*}TileMatrixSet")]
    return {"layers": layers, "tileMatrixSets": sorted(sets)}


def compare(req: Req, a: httpx.Response, b: httpx.Response, bases: tuple[str, str]) -> list[Diff]:
    out = []
    if a.status_code != b.status_code:
        out.append(Diff("status", f"{a.status_code} / {b.status_code}"))
    for name in ("content-type", "content-bbox", "content-crs"):
        x, y = a.headers.get(name, ""), b.headers.get(name, "")
        if name == "content-bbox" and x and y and x.count(",") == y.count(","):
            pairs = zip(x.split(","), y.split(","), strict=True)
            if all(math.isclose(float(p), float(q), rel_tol=REL_TOL) for p, q in pairs):
                continue
        if x.replace(" ", "").lower() != y.replace(" ", "").lower():
            out.append(Diff(f"header {name}", f"{x or None} / {y or None}"))
    ctype = b.headers.get("content-type", "")
    if a.status_code != b.status_code or ctype != a.headers.get("content-type", ""):
        return out
    npy = "binary" in ctype or req.path.endswith(".npy")
    try:
        if "json" in ctype:
            ja, jb = normalise(a.json(), bases), normalise(b.json(), bases)
            return out + diff_json(ja, jb, "error body" if a.status_code >= 400 else "json")
        if "xml" in ctype:
            ta, tb = (normalise(wmts_layers(r.text), bases) for r in (a, b))
            return out + diff_json(ta, tb, "wmts")
    except (ValueError, ET.ParseError) as exc:
        return [*out, Diff("body unparsable", short(str(exc)))]
    if ctype.startswith("image/") or npy:
        return out + diff_image(a.content, b.content, npy)
    if a.content != b.content:
        out.append(Diff("body bytes", f"{len(a.content)} / {len(b.content)} bytes"))
    return out


def run(args: argparse.Namespace) -> list[Result]:
    if not REF_PYTHON.exists():
        subprocess.run([str(ROOT / "benchmarks" / "setup_titiler_ref.sh")], check=True)
    REPORT.parent.mkdir(exist_ok=True)
    env = {**os.environ, "TITILER_API_ALLOWED_SOURCES": json.dumps([f"{DATA}/"])}
    ours_argv = [str(ROOT / ".venv" / "bin" / "python"), "-m", "uvicorn", "titiler.main:app"]
    # -P and a scratch cwd: ./titiler would shadow the reference's titiler namespace package.
    ref_argv = [str(REF_PYTHON), "-P", "-m", "uvicorn", "titiler.application.main:app"]
    procs = []
    try:
        procs.append(start_server("ours", ours_argv, env, ROOT))
        procs.append(start_server("ref", ref_argv, dict(os.environ), Path(tempfile.gettempdir())))
        (_, ours), (_, theirs) = procs
        with httpx.Client(timeout=300) as client:

            def one(req: Req) -> Result:
                try:
                    (a, ta), (b, tb) = fetch(client, ours, req), fetch(client, theirs, req)
                    result = Result(req, compare(req, a, b, (ours, theirs)), (ta, tb))
                except httpx.HTTPError as exc:
                    failed = Diff("request failed", f"{type(exc).__name__}: {exc}")
                    result = Result(req, [failed], (0.0, 0.0))
                if args.verbose:
                    times = "{:.2f}s / {:.2f}s".format(*result.seconds)
                    lines = [f"{'DIFF' if result.diffs else 'same'} {times} {req.label}"]
                    lines += [f"    {d.kind}: {d.detail}" for d in result.diffs]
                    print("\n".join(lines), file=sys.stderr, flush=True)
                return result

            reqs = general_requests(str(DATA / "cog.tif"))
            for path in sorted(DATA.glob("*.tif")):
                reqs += raster_requests(str(path), probe(client, [theirs, ours], str(path)))
            reqs = [r for r in reqs if not args.only or re.search(args.only, r.label)]
            with ThreadPoolExecutor(args.jobs) as pool:
                return list(pool.map(one, reqs))
    finally:
        for proc, _ in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report(results: list[Result]) -> str:
    visible = [r for r in results if r.diffs and all(d.kind == VISIBLE for d in r.diffs)]
    different = [r for r in results if r.diffs and r not in visible]
    same = len(results) - len(visible) - len(different)
    t_ours, t_ref = (sum(r.seconds[i] for r in results) for i in (0, 1))
    lines = [
        "# This server vs titiler.application 2.4.0",
        "",
        f"Rasters: {len(list(DATA.glob('*.tif')))} in ../shared/data. Cells read `ours / theirs`."
        f" Summed latency: ours {t_ours:.1f} s, theirs {t_ref:.1f} s.",
        "",
        f"identical: {same} of {len(results)} "
        f"(equal where visible: {len(visible)}, different: {len(different)})",
        "",
        "## Kinds of difference",
        "",
        "| endpoint | difference | requests | first example |",
        "|---|---|---|---|",
    ]
    kinds: dict[tuple[str, str], list[tuple[Req, Diff]]] = {}
    for r in results:
        for d in {d.kind: d for d in r.diffs}.values():
            kinds.setdefault((r.req.endpoint, d.kind), []).append((r.req, d))
    for (endpoint, kind), hits in sorted(kinds.items()):
        req, d = hits[0]
        lines.append(f"| {endpoint} | {kind} | {len(hits)} | `{req.label}` → {cell(d.detail)} |")
    lines += ["", "## Differences by endpoint"]
    by_endpoint: dict[str, list[Result]] = {}
    for r in results:
        by_endpoint.setdefault(r.req.endpoint, []).append(r)
    for endpoint, rows in by_endpoint.items():
        bad = [r for r in rows if r.diffs]
        lines += ["", f"### {endpoint}: identical {len(rows) - len(bad)} of {len(rows)}"]
        if bad:
            lines += ["", "| request | what differs (ours / theirs) |", "|---|---|"]
            for r in bad:
                shown = "; ".join(f"{d.kind}: {d.detail}" for d in r.diffs[:4])
                more = f"; (+{len(r.diffs) - 4} more)" if len(r.diffs) > 4 else ""
                lines.append(f"| `{r.req.label}` | {cell(shown)}{more} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", metavar="REGEX", help="only requests whose label matches")
    parser.add_argument("--verbose", action="store_true", help="print each request and its diffs")
    parser.add_argument("--jobs", type=int, default=4, help="requests in flight (default 4)")
    args = parser.parse_args()
    try:
        text = report(run(args))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    REPORT.write_text(text)
    print(text)
    print(f"report written to {REPORT.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
