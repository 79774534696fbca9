"""The admin web panel at `/ui`: static files from the package, read once at start-up.

The panel is plain HTML, CSS and ES modules (no build step, nothing to install); every action it
takes is a call to the documented admin API (`/admin/api`, see `surfaces.admin_auth` for its sign-in
session), so whatever it does can be scripted. The files hold no data and are served to anyone; a
strict Content-Security-Policy allows only this origin's scripts, styles and connections.

The page (`/ui/`) is revalidated on every visit; it names its stylesheet and modules under
`/ui/v/<version>/`, the version a digest of every file, and those are cached for good: a visit costs
one conditional request rather than one per file (14), and a gateway with other files has another
version, so an upgraded panel is served at once. The modules import each other by relative paths,
which resolve under the same version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from aiohttp import web

from llmswitch.web.context import GATEWAY

PREFIX = "/ui"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-cache",  # revalidated by ETag: an upgraded gateway serves its own panel at once
}
IMMUTABLE = {**HEADERS, "cache-control": "public, max-age=31536000, immutable"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file under `static/` by its path relative to it; only these paths are ever served."""
    assets: dict[str, Asset] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
                continue
            suffix = entry.name[entry.name.rfind("."):]
            if suffix in CONTENT_TYPES:
                body = entry.read_bytes()
                assets[prefix + entry.name] = Asset(body, CONTENT_TYPES[suffix],
                                                    '"' + hashlib.sha256(body).hexdigest()[:20] + '"')

    walk(resources.files(__package__).joinpath("static"), "")
    return assets


def version_of(assets: dict[str, Asset]) -> str:
    """A digest of every file: what the versioned paths are named after."""
    digest = hashlib.sha256()
    for path in sorted(assets):
        digest.update(f"{path}\0{assets[path].etag}\0".encode())
    return digest.hexdigest()[:16]


def versioned_page(page: Asset, version: str) -> Asset:
    """The page with its stylesheet and modules named under `v/VERSION/`."""
    body = page.body.replace(b'="js/', f'="v/{version}/js/'.encode()).replace(
        b'="app.css"', f'="v/{version}/app.css"'.encode())
    return Asset(body, page.content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def add_routes(app: web.Application) -> None:
    if not app[GATEWAY].config.ui.enabled:
        return
    assets = load_assets()
    version = version_of(assets)
    page = versioned_page(assets["index.html"], version)

    def serve(asset: Asset, request: web.Request) -> web.Response:
        if request.headers.get("if-none-match") == asset.etag:
            return web.Response(status=304, headers={**HEADERS, "etag": asset.etag})
        return web.Response(body=asset.body, headers={**HEADERS, "etag": asset.etag,
                                                      "content-type": asset.content_type})

    async def index(request: web.Request) -> web.Response:
        return serve(page, request)

    async def versioned(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["path"])
        if found is None or request.match_info["version"] != version:
            raise web.HTTPNotFound()
        return web.Response(body=found.body, headers={**IMMUTABLE, "content-type": found.content_type})

    async def to_index(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(f"{PREFIX}/")  # relative asset and API paths resolve from /ui/

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["path"])
        if found is None:
            raise web.HTTPNotFound()
        return serve(found, request)

    app.router.add_get(PREFIX, to_index)
    app.router.add_get(f"{PREFIX}/", index)
    app.router.add_get(PREFIX + "/v/{version}/{path:.+}", versioned)
    app.router.add_get(PREFIX + "/{path:.+}", asset)
