"""/api/docs: Swagger UI served by the app itself, so the page works with no network."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from payymo.api import docs
from tests import browser, serving

DOCS = "/api/docs"
SCRIPT_TYPES = {"text/javascript", "application/javascript"}


class _Assets(HTMLParser):
    """The scripts and stylesheets a page names, and every URL-valued attribute."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [attrs[name] for name in ("src", "href") if attrs.get(name)]
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "").split():
            self.stylesheets.append(attrs["href"])


def _page_assets(client) -> tuple[str, _Assets]:
    response = client.get(DOCS)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    parser = _Assets()
    parser.feed(text)
    return text, parser


@pytest.fixture
def client(app):
    return app.test_client()


def test_every_script_and_stylesheet_of_the_page_is_served_by_the_app(client):
    text, assets = _page_assets(client)
    assert len(assets.scripts) >= 2 and assets.stylesheets, text
    for url, types in [(u, SCRIPT_TYPES) for u in assets.scripts] + [
        (u, {"text/css"}) for u in assets.stylesheets
    ]:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not on the app"
        assert parts.path.startswith(DOCS + "/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype in types, (url, response.mimetype)
        assert len(response.get_data()) > 10_000, url


def test_the_page_points_nowhere_off_the_app(client):
    text, assets = _page_assets(client)
    assert "https://" not in text and "http://" not in text
    assert "/api/v1/openapi.json" in text
    for url in assets.urls:
        assert not urlsplit(url).netloc, url


def test_docs_need_no_api_key_and_are_not_rate_limited(client):
    _, assets = _page_assets(client)
    for url in [DOCS, "/api/v1/openapi.json", *assets.scripts, *assets.stylesheets] * 3:
        response = client.get(url, headers={"X-API-Key": "pym_live_not_a_key"})
        assert response.status_code == 200, url
        assert "X-RateLimit-Limit" not in response.headers, url


def test_files_are_cacheable_for_good_under_a_versioned_url(client):
    _, assets = _page_assets(client)
    url = assets.scripts[0]
    assert f"/{docs.swagger_ui_version()}/" in url
    response = client.get(url)
    assert response.cache_control.public
    assert response.cache_control.max_age == docs.ONE_YEAR
    assert response.cache_control.immutable
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_page_may_load_nothing_from_elsewhere(client):
    response = client.get(DOCS)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "https:" not in policy and "*" not in policy


@pytest.mark.parametrize(
    "path",
    [
        "0.0.1/swagger-ui.css",  # another release's files are not served under this one
        "{version}/../docs.py",
        "{version}/..%2F..%2F__init__.py",
        "{version}/%2Fetc%2Fpasswd",
        "{version}/no-such-file.js",
    ],
)
def test_only_the_installed_swagger_ui_files_are_served(client, path):
    url = f"{docs.ASSETS_PATH}/{path.format(version=docs.swagger_ui_version())}"
    # werkzeug redirects a doubled slash to the merged path first.
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 404, url
    assert response.json["error"]["type"] == "not_found"


@pytest.mark.browser
def test_swagger_ui_renders_the_spec_in_a_browser_with_no_network(app, tmp_path):
    spec = app.test_client().get("/api/v1/openapi.json").json
    with serving.serve(app) as origin:
        page = browser.load(f"{origin}{DOCS}", workdir=tmp_path)
    rendered = _Rendered()
    rendered.feed(page.dom)
    assert rendered.title.startswith(spec["info"]["title"]), page.dom[:2000]
    assert "/api/v1/invoices" in rendered.paths
    assert rendered.paths == set(spec["paths"])
    off_app = [url for url in page.requested if not url.startswith(origin + "/")]
    assert not off_app, off_app
    requested = {urlsplit(url).path for url in page.requested}
    assert {"/api/v1/openapi.json", f"{docs.swagger_ui_url()}swagger-ui-bundle.js"} <= requested
    assert not [line for line in page.console if "Content Security Policy" in line]


class _Rendered(HTMLParser):
    """What Swagger UI drew: the API title and the path of every operation block."""

    def __init__(self):
        super().__init__()
        self.title = ""
        self.paths: set[str] = set()
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "h1" and "title" in classes:
            self._in_title = True
        if "opblock-summary-path" in classes and attrs.get("data-path"):
            self.paths.add(attrs["data-path"])

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_title = False
