"""The panel's files at `/ui`: served from the package with a strict CSP, revalidated by ETag, and
nothing outside its own folder (surfaces.admin_ui)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from llmswitch.app import build_app
from llmswitch.config import parse_config
from llmswitch.surfaces.admin_ui import load_assets


@pytest.fixture
async def gw() -> AsyncIterator[TestClient]:
    app = build_app(parse_config("providers: {demo: {type: demo}}\nmodels: {m: [{provider: demo}]}\n"))
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_ui_redirects_to_the_panel_folder(gw: TestClient) -> None:
    response = await gw.get("/ui", allow_redirects=False)
    assert response.status == 308 and response.headers["location"] == "/ui/"


async def test_the_panel_page_is_served_with_a_strict_content_security_policy(gw: TestClient) -> None:
    response = await gw.get("/ui/")
    assert response.status == 200 and response.content_type == "text/html"
    assert re.search(r'<script type="module" src="v/[0-9a-f]{16}/js/app\.js">', await response.text())
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_modules_are_served_as_javascript(gw: TestClient) -> None:
    response = await gw.get("/ui/js/pages/keys.js")
    assert response.status == 200 and response.content_type == "text/javascript"


async def test_an_unchanged_file_is_answered_304(gw: TestClient) -> None:
    etag = (await gw.get("/ui/app.css")).headers["etag"]
    response = await gw.get("/ui/app.css", headers={"if-none-match": etag})
    assert response.status == 304


@pytest.mark.parametrize("path", ["/ui/nothing.js", "/ui/../__init__.py", "/ui/%2e%2e/__init__.py", "/ui/js"])
async def test_only_the_panels_own_files_are_served(gw: TestClient, path: str) -> None:
    response = await gw.get(path)
    assert response.status == 404
    assert "error" in await response.json()


async def version(gw: TestClient) -> str:
    """The version the panel's page names its files under."""
    found = re.search(r'src="v/([0-9a-f]+)/js/app\.js"', await (await gw.get("/ui/")).text())
    assert found
    return found.group(1)


async def test_the_panel_page_preloads_every_module(gw: TestClient) -> None:
    page = await (await gw.get("/ui/")).text()
    prefix = f"v/{await version(gw)}/"
    modules = {path for path in load_assets() if path.endswith(".js") and path != "js/app.js"}
    assert {path for path in modules if f'<link rel="modulepreload" href="{prefix}{path}">' in page} == modules


async def test_the_files_the_page_names_are_cached_for_good_under_its_version(gw: TestClient) -> None:
    prefix = f"/ui/v/{await version(gw)}"
    response = await gw.get(f"{prefix}/js/pages/keys.js")
    assert response.status == 200 and response.content_type == "text/javascript"
    assert "immutable" in response.headers["cache-control"]
    assert response.headers["content-security-policy"] == (await gw.get("/ui/")).headers["content-security-policy"]
    assert (await gw.get("/ui/")).headers["cache-control"] == "no-cache"  # the page itself: asked again each visit


async def test_another_version_of_the_files_is_not_found(gw: TestClient) -> None:
    assert (await gw.get("/ui/v/0123456789abcdef/js/app.js")).status == 404
