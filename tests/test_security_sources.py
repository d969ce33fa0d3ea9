"""Hostile `url` values: every one is refused (403, `detail` naming the rule) before GDAL opens
anything, and allowed sources (a local directory, a loopback HTTP prefix) still work.

Refusals are checked with `rasterio.open` and the app's own HTTP check patched to fail the test,
so "refused" means "refused before any file or socket was touched", not "GDAL failed to read it".
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import rasterio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasterio.errors import RasterioIOError

import titiler.reader
import titiler.sources
from titiler.gdal import GDAL_DEFAULTS, apply_gdal_defaults
from titiler.main import create_app
from titiler.reader import forget_open_datasets
from titiler.settings import ApiSettings
from titiler.sources import SourcePolicy, is_public_address

from .security_http import SHARED_DATA, ServerBehaviour, serve

#: What the injected resolver answers; any other name does not resolve. No test touches DNS.
FAKE_DNS: dict[str, list[str]] = {
    "public.example": ["93.184.216.34"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "10.1.2.3"],
    "v6private.example": ["fd00:ec2::254"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
}

LAMBDA_RUNTIME_API = "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"
METADATA = "169.254.169.254"


def fake_resolver(host: str) -> list[str]:
    return FAKE_DNS.get(host, [])


def _vrt(source: Path) -> str:
    """A VRT whose one band reads another file: what only-GTiff must keep out."""
    return (
        '<VRTDataset rasterXSize="10" rasterYSize="10">\n'
        '  <VRTRasterBand dataType="Byte" band="1">\n'
        f'    <SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename>'
        "<SourceBand>1</SourceBand></SimpleSource>\n"
        "  </VRTRasterBand>\n"
        "</VRTDataset>\n"
    )


@dataclass
class Site:
    """Directories, the loopback servers and the app that allows them."""

    allowed: Path
    outside: Path
    base: str  # the allowed HTTP server: `{base}/cogs/` is allowed, `{base}/secret/` is not
    behaviour: ServerBehaviour
    other: str  # a second loopback server no prefix names
    other_behaviour: ServerBehaviour
    app: FastAPI


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("hostile")
    allowed, outside, www, other_root = (
        root / "allowed",
        root / "outside",
        root / "www",
        root / "other",
    )
    for directory in (allowed / "sub", outside, www / "cogs", www / "secret", other_root):
        directory.mkdir(parents=True)
    cog = SHARED_DATA / "cog.tif"
    for target in (
        allowed / "cog.tif",
        outside / "secret.tif",
        www / "cogs" / "cog.tif",
        www / "secret" / "cog.tif",
        other_root / "cog.tif",
    ):
        shutil.copy(cog, target)
    (allowed / "local.vrt").write_text(_vrt(outside / "secret.tif"))
    (allowed / "disguised.tif").write_text(_vrt(outside / "secret.tif"))
    (allowed / "empty.tif").write_bytes(b"")
    (allowed / "escape.tif").symlink_to(outside / "secret.tif")
    (allowed / "linkdir").symlink_to(outside, target_is_directory=True)

    behaviour = ServerBehaviour(www)
    other_behaviour = ServerBehaviour(other_root)
    with serve(other_behaviour) as other, serve(behaviour) as base:
        behaviour.redirects.update(
            {
                "/cogs/moved.tif": "/cogs/cog.tif",
                "/cogs/chain1.tif": f"{base}/cogs/chain2.tif",
                "/cogs/chain2.tif": "cog.tif",
                "/cogs/to-metadata.tif": f"http://{METADATA}/latest/meta-data/iam/",
                "/cogs/to-runtime.tif": LAMBDA_RUNTIME_API,
                "/cogs/to-decimal.tif": "http://2852039166/latest/meta-data/",
                "/cogs/to-secret.tif": "/secret/cog.tif",
                "/cogs/to-other-port.tif": f"{other}/cog.tif",
                "/cogs/to-file.tif": "file:///etc/passwd",
                "/cogs/to-vsicurl.tif": f"/vsicurl/{other}/cog.tif",
                "/cogs/loop.tif": "/cogs/loop.tif",
            }
        )
        allowed_sources = [f"{allowed}/", f"{base}/cogs/", "https://"]
        app = create_app(ApiSettings(allowed_sources=allowed_sources))
        app.state.source_policy = SourcePolicy(tuple(allowed_sources), resolver=fake_resolver)
        yield Site(allowed, outside, base, behaviour, other, other_behaviour, app)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    site.app.state.source_policy.redirect_cache.clear()
    with TestClient(site.app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path GDAL is asked to open (rasterio.open is the only way in)."""
    calls: list[str] = []
    real_open = rasterio.open

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", spy)
    assert titiler.reader.rasterio.open is spy
    return calls


@pytest.fixture
def nothing_opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail on any GDAL open or any HTTP request made by the app."""
    calls: list[str] = []

    def forbidden_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"rasterio.open({path})")
        raise AssertionError(f"GDAL was asked to open {path!r}")

    class ForbiddenOpener:
        def open(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(f"http({request.full_url})")
            raise AssertionError(f"the app made a request to {request.full_url!r}")

    monkeypatch.setattr(rasterio, "open", forbidden_open)
    monkeypatch.setattr(titiler.sources, "_OPENER", ForbiddenOpener())
    yield calls
    assert calls == [], calls


def refused_rule(response: Any) -> str:
    """The rule named in a 403's detail: `Source refused (rule): reason`."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail.startswith("Source refused ("), detail
    assert "Traceback" not in detail
    return str(detail[len("Source refused (") :].split(")", 1)[0])


# -- every hostile form, against /cog/info -------------------------------------------------------


def hostile_cases() -> list[tuple[str, str, str]]:
    """(id, url template, rule). `{allowed}`, `{outside}`, `{base}` and `{shared}` are filled in."""
    return [
        # Local files outside the allowed directory, and ways out of it.
        ("etc-passwd", "/etc/passwd", "local-path"),
        ("proc-environ", "/proc/self/environ", "local-path"),
        ("outside-file", "{outside}/secret.tif", "local-path"),
        ("shared-not-allowed", "{shared}/cog.tif", "local-path"),
        ("relative", "cog.tif", "local-path"),
        ("dotdot", "{allowed}/../outside/secret.tif", "local-path"),
        ("dotdot-deep", "{allowed}/sub/../../outside/secret.tif", "local-path"),
        ("dotdot-root", "{allowed}/../../../../../../etc/passwd", "local-path"),
        ("symlink-file", "{allowed}/escape.tif", "local-path"),
        ("symlink-dir", "{allowed}/linkdir/secret.tif", "local-path"),
        ("prefix-sibling", "{allowed}-evil/cog.tif", "local-path"),
        ("inline-vrt-xml", '<VRTDataset rasterXSize="1" rasterYSize="1"/>', "local-path"),
        # Inside the allowed directory, but not a TIFF: VRT XML reading another file.
        ("vrt-file", "{allowed}/local.vrt", "format"),
        ("vrt-named-tif", "{allowed}/disguised.tif", "format"),
        ("empty-file", "{allowed}/empty.tif", "format"),
        # Schemes and GDAL syntaxes.
        ("file-scheme", "file:///etc/passwd", "scheme"),
        ("file-scheme-allowed", "file://{allowed}/cog.tif", "scheme"),
        ("vrt-scheme", "vrt://{allowed}/cog.tif?bands=1", "scheme"),
        ("vrt-scheme-outside", "vrt:///etc/passwd", "scheme"),
        ("mem", "MEM:::DATAPOINTER=0x1000,PIXELS=1,LINES=1,BANDS=1,DATATYPE=Byte", "scheme"),
        ("gti", "GTI:{allowed}/index.gpkg", "scheme"),
        ("wms", f"WMS:http://{METADATA}/latest/meta-data/", "scheme"),
        ("netcdf", 'NETCDF:"{allowed}/x.nc":var', "scheme"),
        ("hdf5", 'HDF5:"{allowed}/x.h5"://data', "scheme"),
        ("gpkg", "GPKG:{allowed}/x.gpkg:table", "scheme"),
        ("pg", f"PG:dbname=x host={METADATA}", "scheme"),
        ("gtiff-dir", "GTIFF_DIR:1:{allowed}/cog.tif", "scheme"),
        ("ftp", "ftp://public.example/x.tif", "scheme"),
        ("gopher", f"gopher://{METADATA}:80/_GET", "scheme"),
        ("single-slash", f"http:/{METADATA}/", "scheme"),
        ("vsicurl-metadata", f"/vsicurl/http://{METADATA}/latest/meta-data/", "gdal-syntax"),
        ("vsicurl-loopback", "/vsicurl/{base}/cogs/cog.tif", "gdal-syntax"),
        ("vsicurl-runtime", f"/vsicurl/{LAMBDA_RUNTIME_API}", "gdal-syntax"),
        ("vsicurl-upper", f"/VSICURL/http://{METADATA}/", "gdal-syntax"),
        ("vsizip", "/vsizip/{allowed}/x.zip/cog.tif", "gdal-syntax"),
        ("vsimem", "/vsimem/x.tif", "gdal-syntax"),
        ("vsis3", "/vsis3/bucket/key.tif", "gdal-syntax"),
        ("vsistdin", "/vsistdin/", "gdal-syntax"),
        # Loopback, the Lambda runtime API and the metadata service, in every spelling.
        ("runtime-api", LAMBDA_RUNTIME_API, "prefix"),
        ("runtime-api-https", LAMBDA_RUNTIME_API.replace("http:", "https:"), "private-address"),
        ("loopback-other-port", "{other}/cog.tif", "prefix"),
        ("loopback-outside-path", "{base}/secret/cog.tif", "prefix"),
        ("localhost", "https://localhost/x.tif", "private-address"),
        ("metadata-http", f"http://{METADATA}/latest/meta-data/", "prefix"),
        ("metadata", f"https://{METADATA}/latest/meta-data/", "private-address"),
        ("metadata-decimal", "https://2852039166/latest/meta-data/", "host"),
        ("metadata-hex", "https://0xA9FEA9FE/latest/meta-data/", "host"),
        ("metadata-hex-dotted", "https://0xa9.0xfe.0xa9.0xfe/", "host"),
        ("metadata-octal", "https://0251.0376.0251.0376/latest/meta-data/", "host"),
        ("metadata-short", "https://169.254.43518/", "host"),
        ("metadata-trailing-dot", f"https://{METADATA}./", "host"),
        ("loopback-short", "https://127.1/", "host"),
        ("metadata-v4-mapped", f"https://[::ffff:{METADATA}]/latest/meta-data/", "private-address"),
        ("metadata-v4-mapped-hex", "https://[::ffff:a9fe:a9fe]/", "private-address"),
        ("metadata-v4-compatible", "https://[::a9fe:a9fe]/", "private-address"),
        ("metadata-nat64", "https://[64:ff9b::a9fe:a9fe]/", "private-address"),
        ("metadata-6to4", "https://[2002:a9fe:a9fe::1]/", "private-address"),
        ("metadata-ipv6", "https://[fd00:ec2::254]/latest/meta-data/", "private-address"),
        ("loopback-ipv6", "https://[::1]:9001/", "private-address"),
        ("unspecified", "https://0.0.0.0/", "private-address"),
        ("bad-ipv6", "https://[::ffff:zz]/", "host"),
        ("zone-id", "https://[fe80::1%25eth0]/", "host"),
        # DNS names that resolve to private addresses (injected resolver).
        ("dns-metadata", "https://metadata.example/latest/meta-data/", "private-address"),
        ("dns-mixed", "https://mixed.example/x.tif", "private-address"),
        ("dns-v6-private", "https://v6private.example/x.tif", "private-address"),
        ("dns-mapped-loopback", "https://mapped.example/x.tif", "private-address"),
        ("dns-nxdomain", "https://nowhere.example/x.tif", "host"),
        # Credentials, and URL parser confusion around `@` and `\`.
        ("credentials", "https://user:secret@public.example/x.tif", "host"),
        ("credentials-loopback", "http://user@{base_netloc}/cogs/cog.tif", "host"),
        ("at-confusion", f"http://{{base_netloc}}@{METADATA}/cogs/cog.tif", "host"),
        ("backslash-at", f"https://public.example\\@{METADATA}/", "host"),
        ("encoded-host", f"https://{METADATA}%2f.public.example/", "host"),
        ("bad-port", "https://public.example:99999/x.tif", "host"),
        # Traversal out of an allowed URL prefix: curl or the server would resolve it.
        ("url-dotdot", "{base}/cogs/../secret/cog.tif", "path-traversal"),
        ("url-encoded-dotdot", "{base}/cogs/%2e%2e/secret/cog.tif", "path-traversal"),
        ("url-encoded-upper", "{base}/cogs/%2E%2E/secret/cog.tif", "path-traversal"),
        ("url-double-encoded", "{base}/cogs/%252e%252e/secret/cog.tif", "path-traversal"),
        ("url-encoded-slash", "{base}/cogs/..%2fsecret/cog.tif", "path-traversal"),
        ("url-backslash", "{base}/cogs/..%5csecret/cog.tif", "path-traversal"),
        ("url-dot", "{base}/cogs/./cog.tif", "path-traversal"),
        # Control characters (header injection, NUL truncation) and empty values.
        ("nul", "{allowed}/cog.tif\x00.png", "syntax"),
        ("crlf", "https://public.example/x.tif\r\nHost: 169.254.169.254", "syntax"),
        ("tab", "\t/etc/passwd", "syntax"),
        ("del", "{allowed}/cog\x7f.tif", "syntax"),
        ("empty", "", "empty"),
        ("blank", "   ", "empty"),
        # S3 is not allowed here, and a bucket name is checked when it is.
        ("s3-not-allowed", "s3://some-bucket/key.tif", "prefix"),
    ]


def fill(template: str, site: Site) -> str:
    return (
        template.replace("{allowed}", str(site.allowed))
        .replace("{outside}", str(site.outside))
        .replace("{shared}", str(SHARED_DATA))
        .replace("{base_netloc}", site.base.removeprefix("http://"))
        .replace("{base}", site.base)
        .replace("{other}", site.other)
    )


@pytest.mark.parametrize(
    ("template", "rule"),
    [case[1:] for case in hostile_cases()],
    ids=[case[0] for case in hostile_cases()],
)
def test_hostile_source_is_refused_before_any_open(
    client: TestClient, site: Site, nothing_opened: list[str], template: str, rule: str
) -> None:
    url = fill(template, site)
    response = client.get("/cog/info", params={"url": url})
    assert refused_rule(response) == rule
    detail = response.json()["detail"]
    assert str(site.allowed) not in detail and str(site.outside) not in detail


def test_the_case_table_covers_every_rule() -> None:
    rules = {rule for _, _, rule in hostile_cases()}
    assert rules == {
        "local-path",
        "format",
        "scheme",
        "gdal-syntax",
        "prefix",
        "private-address",
        "host",
        "path-traversal",
        "syntax",
        "empty",
    }


# -- encodings at the HTTP level ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_query", "rule"),
    [
        (f"url=%2Fvsicurl%2Fhttp%3A%2F%2F{METADATA}%2F", "gdal-syntax"),
        (f"url=%252Fvsicurl%252Fhttp%253A%252F%252F{METADATA}%252F", "local-path"),
        ("url=%2Fetc%2Fpasswd", "local-path"),
        ("url=file%3A%2F%2F%2Fetc%2Fpasswd", "scheme"),
        (f"url=http%3A%2F%2F{METADATA}%2F", "prefix"),
        ("url=%00", "syntax"),
    ],
)
def test_percent_encoded_query_is_decoded_once_then_checked(
    client: TestClient, nothing_opened: list[str], raw_query: str, rule: str
) -> None:
    response = client.get(f"/cog/info?{raw_query}")
    assert refused_rule(response) == rule


def test_encoded_dotdot_in_a_local_path_is_decoded_once(
    client: TestClient, site: Site, opened: list[str]
) -> None:
    escape = quote(f"{site.allowed}/%2e%2e/outside/secret.tif", safe="")
    response = client.get(f"/cog/info?url={escape}")
    # `%2e%2e` arrives as the literal name "%2e%2e" (no GDAL path decodes it): inside the allowed
    # directory, and missing, so a 404 with GDAL never asked.
    assert response.status_code == 404, response.text
    assert opened == []
    once = quote(f"{site.allowed}/../outside/secret.tif", safe="")
    assert refused_rule(client.get(f"/cog/info?url={once}")) == "local-path"


# -- every endpoint that takes a `url` goes through the policy ----------------------------------

_PATH_VALUES = {
    "tileMatrixSetId": "WebMercatorQuad",
    "z": "0",
    "x": "0",
    "y": "0",
    "format": "png",
    "lon": "0",
    "lat": "0",
    "minx": "0",
    "miny": "0",
    "maxx": "1",
    "maxy": "1",
    "width": "64",
    "height": "64",
}
_FEATURE = {
    "type": "Feature",
    "properties": {},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
}
#: Pages that show a url without opening it (the viewer fetches tiles and info from the API).
_NO_OPEN_PAGES = ("/map.html",)


def url_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation with a `url` query parameter."""
    operations = []
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "url" in names:
                concrete = path
                for name, value in _PATH_VALUES.items():
                    concrete = concrete.replace("{" + name + "}", value)
                assert "{" not in concrete, f"no sample value for a parameter of {path}"
                operations.append((method.upper(), concrete))
    return operations


@pytest.mark.parametrize(
    "template",
    [
        "/etc/passwd",
        f"/vsicurl/http://{METADATA}/latest/meta-data/",
        LAMBDA_RUNTIME_API,
        "https://0xA9FEA9FE/",
        "{allowed}/local.vrt",
        "{base}/cogs/%2e%2e/secret/cog.tif",
    ],
)
def test_every_url_endpoint_refuses(
    client: TestClient, site: Site, nothing_opened: list[str], template: str
) -> None:
    operations = url_operations(site.app)
    assert len(operations) >= 15, operations
    url = fill(template, site)
    for method, path in operations:
        body = {"json": _FEATURE} if method == "POST" else {}
        response = client.request(method, path, params={"url": url}, **body)
        if path.endswith(_NO_OPEN_PAGES):
            assert response.status_code < 500, (path, response.text)
            continue
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert refused_rule(response)


# -- allowed sources still work -----------------------------------------------------------------


def test_allowed_local_file_is_served(client: TestClient, site: Site, opened: list[str]) -> None:
    url = f"{site.allowed}/cog.tif"
    info = client.get("/cog/info", params={"url": url})
    assert info.status_code == 200, info.text
    assert info.json()["driver"] == "GTiff"
    preview = client.get("/cog/preview.png", params={"url": url, "max_size": 64})
    assert preview.status_code == 200, preview.text
    assert preview.headers["content-type"] == "image/png"
    assert opened and all(path == str(site.allowed / "cog.tif") for path in opened)


def test_allowed_loopback_http_prefix_is_served(
    client: TestClient, site: Site, opened: list[str]
) -> None:
    url = f"{site.base}/cogs/cog.tif"
    info = client.get("/cog/info", params={"url": url})
    assert info.status_code == 200, info.text
    stats = client.get("/cog/statistics", params={"url": url, "max_size": 64})
    assert stats.status_code == 200, stats.text
    assert stats.json()["b1"]["count"] > 0
    assert set(opened) == {url}
    ranges = [rng for _, path, rng in site.behaviour.requests if path == "/cogs/cog.tif"]
    assert "bytes=0-3" in ranges, "the app's own check reads the first bytes only"


def test_policy_accepts_public_https_and_refuses_private(site: Site) -> None:
    policy = site.app.state.source_policy
    assert policy.check("https://public.example/data/x.tif") == "https://public.example/data/x.tif"
    assert policy.check(f"{site.allowed}/sub/../cog.tif") == str(site.allowed / "cog.tif")
    assert is_public_address("93.184.216.34")
    for address in (METADATA, "127.0.0.1", "10.0.0.1", "::1", "fd00:ec2::254", "::ffff:7f00:1"):
        assert not is_public_address(address), address


# -- redirects ----------------------------------------------------------------------------------


def test_gdal_follows_redirects_by_itself(site: Site) -> None:
    """Why the app checks redirects: GDAL 3.10's curl follows them, and no config option stops it
    (no FOLLOWLOCATION / MAX_REDIRECT option exists in libgdal). If this starts failing, GDAL
    learnt to stop, and the app-side check could become belt and braces.
    """
    site.other_behaviour.requests.clear()
    url = f"/vsicurl/{site.base}/cogs/to-other-port.tif"
    options = {"GDAL_HTTP_MAX_REDIRECT": "0", "CPL_CURL_FOLLOWLOCATION": "NO"}
    with rasterio.Env(**options), rasterio.open(url, driver="GTiff") as dataset:
        assert dataset.width > 0
    assert site.other_behaviour.requests, "GDAL reached the redirect target"


@pytest.mark.parametrize(
    "name",
    ["moved.tif", "chain1.tif"],
)
def test_redirect_inside_the_allowed_prefix_is_followed(
    client: TestClient, site: Site, opened: list[str], name: str
) -> None:
    response = client.get("/cog/info", params={"url": f"{site.base}/cogs/{name}"})
    assert response.status_code == 200, response.text
    # GDAL opens the checked final URL, not the one that redirects.
    assert opened == [f"{site.base}/cogs/cog.tif"]


@pytest.mark.parametrize(
    ("name", "inner_rule"),
    [
        ("to-metadata.tif", "prefix"),
        ("to-runtime.tif", "prefix"),
        ("to-decimal.tif", "host"),
        ("to-secret.tif", "prefix"),
        ("to-other-port.tif", "prefix"),
        ("to-file.tif", None),
        ("to-vsicurl.tif", "prefix"),
        ("loop.tif", None),
    ],
)
def test_redirect_to_a_refused_source_is_refused(
    client: TestClient,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    inner_rule: str | None,
) -> None:
    def forbidden_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"GDAL was asked to open {path!r}")

    monkeypatch.setattr(rasterio, "open", forbidden_open)
    site.other_behaviour.requests.clear()
    response = client.get("/cog/info", params={"url": f"{site.base}/cogs/{name}"})
    assert refused_rule(response) == "redirect"
    detail = response.json()["detail"]
    if inner_rule:
        assert f"({inner_rule})" in detail
    assert site.other_behaviour.requests == [], "nothing reached the refused target"


def test_redirect_to_metadata_refused_even_with_bare_http_allowed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `http://` allowed for any public host, a redirect to a private one is still refused."""
    allowed = [f"{site.base}/cogs/", "http://"]
    app = create_app(ApiSettings(allowed_sources=allowed))
    app.state.source_policy = SourcePolicy(tuple(allowed), resolver=fake_resolver)
    monkeypatch.setattr(rasterio, "open", lambda *a, **k: pytest.fail("GDAL opened"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        for name, inner in (("to-metadata.tif", "private-address"), ("to-decimal.tif", "host")):
            response = test_client.get("/cog/info", params={"url": f"{site.base}/cogs/{name}"})
            assert refused_rule(response) == "redirect"
            assert f"({inner})" in response.json()["detail"]


# -- GDAL configuration -------------------------------------------------------------------------


def test_gdal_defaults_are_applied_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in GDAL_DEFAULTS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GDAL_HTTP_TIMEOUT", "7")
    create_app(ApiSettings(allowed_sources=["/nonexistent/"]))
    for key, value in GDAL_DEFAULTS.items():
        expected = "7" if key == "GDAL_HTTP_TIMEOUT" else value
        assert os.environ[key] == expected, key
    # GDAL reads them from the environment.
    assert rasterio.env.get_gdal_config("GDAL_HTTP_TIMEOUT", normalize=False) == "7"
    for key in ("GDAL_DISABLE_READDIR_ON_OPEN", "GDAL_HTTP_MAX_RETRY", "GDAL_HTTP_NETRC"):
        assert rasterio.env.get_gdal_config(key, normalize=False) == GDAL_DEFAULTS[key]


def test_gdal_defaults_are_hardened() -> None:
    assert GDAL_DEFAULTS["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert GDAL_DEFAULTS["GDAL_VRT_ENABLE_PYTHON"] == "NO"
    assert GDAL_DEFAULTS["GDAL_HTTP_NETRC"] == "NO"
    timeout = float(GDAL_DEFAULTS["GDAL_HTTP_TIMEOUT"])
    retries = int(GDAL_DEFAULTS["GDAL_HTTP_MAX_RETRY"])
    delay = float(GDAL_DEFAULTS["GDAL_HTTP_RETRY_DELAY"])
    assert float(GDAL_DEFAULTS["GDAL_HTTP_CONNECTTIMEOUT"]) <= timeout
    # One stalled request, with its retries, ends inside the function's default 10 s timeout.
    assert timeout * (retries + 1) + delay * retries < 10
    assert titiler.reader.ALLOWED_DRIVER == "GTiff"


def test_only_gtiff_opens_even_past_the_signature_check(
    client: TestClient, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second layer: were the signature check gone, the GTiff-only open still refuses a VRT."""
    with pytest.raises(RasterioIOError):
        rasterio.open(str(site.allowed / "local.vrt"), driver="GTiff")
    monkeypatch.setattr(titiler.reader, "check_signature", lambda head: None)
    response = client.get("/cog/info", params={"url": f"{site.allowed}/local.vrt"})
    assert response.status_code == 422, response.text
    assert str(site.outside) not in response.text


def test_sidecar_files_are_not_read(
    client: TestClient, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An .aux.xml next to a source is never read: directory listing is off (EMPTY_DIR) and PAM
    is off, each enough on its own.
    """
    source = site.allowed / "sidecar.tif"
    shutil.copy(site.allowed / "cog.tif", source)
    source.with_suffix(".tif.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><Metadata>'
        '<MDI key="FROM_SIDECAR">yes</MDI></Metadata></PAMRasterBand></PAMDataset>'
    )
    apply_gdal_defaults()

    def sidecar_read(readdir: str, pam: str) -> bool:
        monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", readdir)
        monkeypatch.setenv("GDAL_PAM_ENABLED", pam)
        forget_open_datasets()  # the settings apply when a dataset is opened
        info = client.get("/cog/info", params={"url": str(source)})
        assert info.status_code == 200, info.text
        return "FROM_SIDECAR" in info.text

    defaults = (GDAL_DEFAULTS["GDAL_DISABLE_READDIR_ON_OPEN"], GDAL_DEFAULTS["GDAL_PAM_ENABLED"])
    assert defaults == ("EMPTY_DIR", "NO")
    assert not sidecar_read(*defaults)
    assert not sidecar_read("EMPTY_DIR", "YES")
    assert not sidecar_read("NO", "NO")
    assert sidecar_read("NO", "YES"), "the test can see a sidecar when both are on"
