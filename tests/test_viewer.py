"""The landing page and the map viewer page, through the HTTP interface a browser uses."""

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from titiler import demo
from titiler.main import create_app
from titiler.settings import ApiSettings

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
VIEWER = "/cog/WebMercatorQuad/map.html"


class _References(HTMLParser):
    """Collects the `src` and `href` attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.scripts: dict[str, str] = {}
        self._script_id: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href", "action"):
            value = attributes.get(name)
            if value is not None:
                self.references.append(value)
        self._script_id = attributes.get("id") if tag == "script" else None

    def handle_endtag(self, tag: str) -> None:
        self._script_id = None

    def handle_data(self, data: str) -> None:
        if self._script_id:
            self.scripts[self._script_id] = self.scripts.get(self._script_id, "") + data


def parse_page(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def demo_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("demo-data")
    demo.write_demo_cog(str(directory / demo.DEMO_FILENAME))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "DEMO_DIRECTORY", str(directory))
        yield directory


@pytest.fixture(scope="module")
def client(demo_directory: Path) -> TestClient:
    settings = ApiSettings(allowed_sources=[f"{demo_directory}/"])
    return TestClient(create_app(settings))


def viewer_page(client: TestClient, **params: str) -> tuple[str, dict[str, object]]:
    response = client.get(VIEWER, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    config = json.loads(parse_page(response.text).scripts["viewer-config"])
    return response.text, config


def test_viewer_page_loads_assets_only_from_this_server(client: TestClient) -> None:
    html, _ = viewer_page(client, url=demo.demo_path())
    assert not re.search(r"https?://", html), "no CDN, no base map from the internet"
    references = parse_page(html).references
    assert references, "the page links its stylesheets and scripts"
    for reference in references:
        if reference.startswith("data:"):
            continue
        assert reference.startswith("../../static/"), reference
        resolved = urljoin(f"http://testserver{VIEWER}", reference)
        assert client.get(resolved).status_code == 200, reference


def test_viewer_page_asks_tilejson_with_the_same_parameters(client: TestClient) -> None:
    _, config = viewer_page(
        client, url=demo.demo_path(), rescale="0,3000", colormap_name="terrain", bidx="1"
    )
    tilejson = urlsplit(urljoin(f"http://testserver{VIEWER}", str(config["tilejson_url"])))
    assert tilejson.path == "/cog/WebMercatorQuad/tilejson.json"
    assert parse_qsl(tilejson.query) == [
        ("url", demo.demo_path()),
        ("rescale", "0,3000"),
        ("colormap_name", "terrain"),
        ("bidx", "1"),
        ("tilesize", "256"),
    ]
    for key, path in (("info_url", "/cog/info"), ("statistics_url", "/cog/statistics")):
        resolved = urlsplit(urljoin(f"http://testserver{VIEWER}", str(config[key])))
        assert resolved.path == path
        assert parse_qsl(resolved.query) == [("url", demo.demo_path()), ("bidx", "1")]
    colormaps = urljoin(f"http://testserver{VIEWER}", str(config["colormaps_url"]))
    assert urlsplit(colormaps).path == "/colorMaps"


def test_viewer_page_drops_empty_form_fields(client: TestClient) -> None:
    _, config = viewer_page(client, url=demo.demo_path(), colormap_name="")
    query = parse_qsl(urlsplit(str(config["tilejson_url"])).query, keep_blank_values=True)
    assert query == [("url", demo.demo_path()), ("tilesize", "256")]
    tilejson = client.get(urljoin(f"http://testserver{VIEWER}", str(config["tilejson_url"])))
    assert tilejson.status_code == 200


def test_viewer_page_keeps_an_explicit_tilesize(client: TestClient) -> None:
    _, config = viewer_page(client, url=demo.demo_path(), tilesize="512")
    assert config["tilesize"] == 512
    query = parse_qsl(urlsplit(str(config["tilejson_url"])).query)
    assert query == [("url", demo.demo_path()), ("tilesize", "512")]


def test_viewer_urls_answer_what_the_page_script_reads(client: TestClient) -> None:
    _, config = viewer_page(client, url=demo.demo_path(), rescale="0,3000")

    def fetch(key: str) -> Any:
        response = client.get(urljoin(f"http://testserver{VIEWER}", str(config[key])))
        assert response.status_code == 200, (key, response.text)
        return response.json()

    tilejson = fetch("tilejson_url")
    assert tilejson["bounds"] == pytest.approx(demo.DEMO_BOUNDS)
    tile_query = dict(parse_qsl(urlsplit(tilejson["tiles"][0]).query))
    assert tile_query["rescale"] == "0,3000"
    assert "{z}/{x}/{y}" in tilejson["tiles"][0]
    info = fetch("info_url")
    assert (info["count"], info["width"], info["height"]) == (1, 1024, 1024)
    band = next(iter(fetch("statistics_url").values()))
    assert 0 <= band["percentile_2"] < band["percentile_98"] <= 3000
    colormaps = [entry["id"] for entry in fetch("colormaps_url")["colormaps"]]
    assert {"terrain", "viridis"} <= set(colormaps)


def test_viewer_page_escapes_the_dataset_url(client: TestClient) -> None:
    hostile = '/data/x.tif"></script><script>alert(1)</script>'
    html, config = viewer_page(client, url=hostile)
    assert "<script>alert(1)" not in html
    assert config["dataset_url"] == hostile


@pytest.mark.parametrize("tms", ["WorldCRS84Quad", "WGS1984Quad", "UTM31WGS84Quad"])
def test_viewer_refuses_other_tile_matrix_sets(client: TestClient, tms: str) -> None:
    response = client.get(f"/cog/{tms}/map.html", params={"url": demo.demo_path()})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "Only WebMercatorQuad is supported by this viewer" in response.json()["detail"]


def test_viewer_rejects_unknown_tile_matrix_set_and_missing_url(client: TestClient) -> None:
    unknown = client.get("/cog/NotATileMatrixSet/map.html", params={"url": demo.demo_path()})
    assert unknown.status_code == 422
    assert client.get(VIEWER).status_code == 422


def test_landing_is_json_by_default(client: TestClient) -> None:
    for accept in (None, "*/*", "application/json", "text/html;q=0.5,application/json"):
        headers = {"accept": accept} if accept else {}
        response = client.get("/", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json", accept
        assert "accept" in response.headers["vary"].lower()


def test_landing_json_shape(client: TestClient) -> None:
    body = client.get("/", params={"f": "json"}).json()
    assert set(body) == {"title", "description", "links"}
    assert body["title"] == "TiTiler"
    for link in body["links"]:
        assert set(link) <= {"href", "rel", "type", "title"}
        assert {"href", "rel"} <= set(link)
    by_rel = {link["rel"]: link for link in body["links"]}
    assert by_rel["service-desc"]["href"] == "http://testserver/api"
    assert by_rel["service-doc"]["href"] == "http://testserver/api.html"
    assert by_rel["self"]["href"] == "http://testserver/?f=json"
    preview = urlsplit(by_rel["preview"]["href"])
    assert preview.path == VIEWER
    assert dict(parse_qsl(preview.query)) == {
        "url": demo.demo_path(),
        "rescale": "0,3000",
        "colormap_name": "terrain",
    }
    assert client.get(by_rel["preview"]["href"]).status_code == 200


def test_landing_links_follow_the_root_path(demo_directory: Path) -> None:
    app = create_app(ApiSettings(allowed_sources=[f"{demo_directory}/"]))
    with TestClient(app, root_path="/Prod") as prefixed:
        body = prefixed.get("/", params={"f": "json"}).json()
    for link in body["links"]:
        assert link["href"].startswith("http://testserver/Prod/"), link


def test_landing_html_for_browsers(client: TestClient) -> None:
    for response in (
        client.get("/", headers={"accept": BROWSER_ACCEPT}),
        client.get("/", params={"f": "html"}, headers={"accept": "application/json"}),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "accept" in response.headers["vary"].lower()
        references = parse_page(response.text).references
        assert "http://testserver/api.html" in references
        assert "http://testserver/api" in references
        assert "http://testserver/cog/WebMercatorQuad/map.html" in references, "own-COG form"
        demo_links = [ref for ref in references if "map.html?" in ref]
        assert demo_links
        assert all(urlsplit(ref).netloc == "testserver" for ref in references if ":," not in ref)
        assert "python -m titiler.demo" not in response.text


def test_landing_html_explains_a_missing_demo(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(demo, "DEMO_DIRECTORY", str(tmp_path))
        app = create_app(ApiSettings(allowed_sources=[f"{tmp_path}/"]))
        with TestClient(app) as fresh:
            html = fresh.get("/", params={"f": "html"}).text
            links = fresh.get("/", params={"f": "json"}).json()["links"]
    assert "python -m titiler.demo" in html
    assert "preview" not in {link["rel"] for link in links}


def test_landing_rejects_unknown_format(client: TestClient) -> None:
    assert client.get("/", params={"f": "xml"}).status_code == 422


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/static/vendor/leaflet/leaflet.js", "text/javascript"),
        ("/static/vendor/leaflet/leaflet.css", "text/css"),
        ("/static/vendor/leaflet/images/layers.png", "image/png"),
        ("/static/viewer.js", "text/javascript"),
        ("/static/viewer.css", "text/css"),
    ],
)
def test_static_files_have_their_media_type(client: TestClient, path: str, media_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.content


def test_vendored_leaflet_keeps_its_license(client: TestClient) -> None:
    license_text = client.get("/static/vendor/leaflet/LICENSE").text
    assert "Volodymyr Agafonkin" in license_text
