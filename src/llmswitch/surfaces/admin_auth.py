"""Who may call the admin API: the master key as a bearer token, or a signed-in panel session.

The web panel (`/ui`) signs in once with the master key (`POST /admin/api/session`) and from then
on holds only a session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page
makes the browser send it), scoped to `/admin/api` and expiring after `ui.session_hours`. A request
carried by that cookie that changes anything (any method but GET/HEAD) must also bring the session's
CSRF token in `x-csrf-token`, and an `Origin` naming this host when it has one; otherwise 403.

The playground streams from `/v1/chat/completions`, which knows only API keys, so a session may ask
for a playground key (`POST /admin/api/session/playground-key`): a real virtual key, limited to
PLAYGROUND_LIMITS, expiring with the session, one per session (asking again rotates it), revoked at
sign-out and listed among the keys like any other, so its use is metered and attributed like any.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from llmswitch.core.auth import presented_key
from llmswitch.core.gateway import Gateway
from llmswitch.core.key_admin import KeyAdmin
from llmswitch.core.keys import KeyRecord
from llmswitch.core.sessions import Session, SessionSigner
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.web.context import GATEWAY

BASE = "/admin/api"
COOKIE = "llmswitch_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SIGNER = web.AppKey("session_signer", SessionSigner)
PLAYGROUND_MARK = "ui_playground"  # metadata naming the session a playground key belongs to
PLAYGROUND_LIMITS: dict[str, Any] = {"rpm": 60, "max_concurrent": 4}


def _forbidden(message: str, code: str) -> GatewayError:
    return GatewayError(403, message, type="permission_error", code=code)


def _unauthorized(message: str, code: str = "invalid_api_key") -> GatewayError:
    return GatewayError(401, message, type="authentication_error", code=code)


def admin_enabled(gateway: Gateway) -> str:
    """The master key, once the admin API is known to be on (keys mode with a master key)."""
    master = gateway.config.auth.master_key
    if not master or gateway.auth.store is None:
        raise _forbidden("The admin API needs auth.mode keys and auth.master_key.", "admin_disabled")
    return master


def is_master(token: str, master: str) -> bool:
    return hmac.compare_digest(token.encode(), master.encode())


def admin_gateway(request: web.Request) -> Gateway:
    """The gateway, once the caller has proved it holds the master key or a panel session."""
    gateway = request.app[GATEWAY]
    master = admin_enabled(gateway)
    token = presented_key(request.headers)
    if token is None and session_of(request) is not None:
        return gateway
    if token is None or not is_master(token, master):
        raise _unauthorized("The admin API needs the master key.")
    return gateway


def session_of(request: web.Request) -> Session | None:
    """The panel session the cookie carries, if valid. A request that may change something must
    also prove it comes from the panel itself (CSRF token, same origin), else 403."""
    signer = request.app.get(SIGNER)
    token = request.cookies.get(COOKIE)
    if signer is None or not token:
        return None
    session = signer.verify(token)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        if not same_origin(request):
            raise _forbidden("Cross-origin request refused.", "csrf_failed")
        if not signer.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise _forbidden(f"Missing or wrong {CSRF_HEADER} for this session.", "csrf_failed")
    return session


def same_origin(request: web.Request) -> bool:
    """No `Origin` (a client that is not a browser), or one naming the host the request was sent to.
    Hosts are compared rather than schemes, so a TLS-terminating proxy in front does not matter."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc.lower() == request.host.lower()


def keys_of(gateway: Gateway) -> KeyAdmin:
    assert gateway.auth.store is not None and gateway.auth.secret is not None
    return KeyAdmin(gateway.auth.store, gateway.auth.secret, gateway.config.auth.key_prefix,
                    gateway.auth.key_changed)


# --- the session routes ---------------------------------------------------------------------------
def _signer(request: web.Request) -> SessionSigner:
    signer = request.app.get(SIGNER)
    if signer is None:
        raise _forbidden("Sign-in sessions need auth.mode keys, auth.master_key and ui.enabled.", "admin_disabled")
    return signer


def _described(signer: SessionSigner, session: Session) -> dict[str, Any]:
    return {"object": "session", "expires_at": session.expires_at, "csrf_token": signer.csrf_token(session)}


async def sign_in(request: web.Request) -> web.Response:
    master = admin_enabled(request.app[GATEWAY])
    signer = _signer(request)
    if not same_origin(request):
        raise _forbidden("Cross-origin request refused.", "csrf_failed")
    key = (await read_json_object(request)).get("key") if request.can_read_body else None
    if not isinstance(key, str) or not key:
        raise invalid("Send the master key as {\"key\": \"...\"}.", param="key")
    if not is_master(key, master):
        raise _unauthorized("Wrong master key.")
    token, session = signer.issue()
    response = web.json_response(_described(signer, session), status=201)
    response.set_cookie(COOKIE, token, max_age=signer.lifetime_s, path=BASE, httponly=True, samesite="Strict",
                        secure=request.secure or request.headers.get("x-forwarded-proto") == "https")
    return response


async def current_session(request: web.Request) -> web.Response:
    admin_enabled(request.app[GATEWAY])
    signer = _signer(request)
    session = session_of(request)
    if session is None:
        raise _unauthorized("Not signed in, or the session expired.", code="no_session")
    return web.json_response(_described(signer, session))


async def sign_out(request: web.Request) -> web.Response:
    """Ends the session: this process forgets it, the browser drops the cookie, its playground key is
    revoked. Without a valid session it only clears the cookie."""
    gateway = request.app[GATEWAY]
    admin_enabled(gateway)
    session = session_of(request)
    if session is not None:
        _signer(request).revoke(session)
        admin = keys_of(gateway)
        for record in await _playground_keys(admin, session):
            await admin.revoke(record.id)
    response = web.json_response({"object": "session", "signed_out": True})
    response.del_cookie(COOKIE, path=BASE)
    return response


async def _playground_keys(admin: KeyAdmin, session: Session) -> list[KeyRecord]:
    return [r for r in await admin.list() if r.metadata.get(PLAYGROUND_MARK) == session.nonce]


async def playground_key(request: web.Request) -> web.Response:
    """This session's playground key, with its value: made on first use, rotated after (the panel keeps
    the value in memory only, so a reloaded page asks again)."""
    gateway = request.app[GATEWAY]
    admin_enabled(gateway)
    session = session_of(request)
    if session is None:
        raise _unauthorized("The playground key needs a panel session.", code="no_session")
    admin = keys_of(gateway)
    existing = await _playground_keys(admin, session)
    if existing:
        record, key = await admin.rotate(existing[0].id)
        return web.json_response({**record.public(), "key": key})
    record, key = await admin.create({"name": "playground (panel session)", **PLAYGROUND_LIMITS,
                                      "expires_at": float(session.expires_at),
                                      "metadata": {PLAYGROUND_MARK: session.nonce}})
    return web.json_response({**record.public(), "key": key}, status=201)


def openapi_paths(reply: Any, error: dict[str, Any]) -> dict[str, Any]:
    """The session routes in the admin API's OpenAPI document."""
    session = {"type": "object", "required": ["object", "expires_at", "csrf_token"], "properties": {
        "object": {"const": "session"}, "expires_at": {"type": "integer", "description": "unix seconds"},
        "csrf_token": {"type": "string", "description": f"send as {CSRF_HEADER} on every request that changes "
                                                         "anything when authenticating by the session cookie"}}}
    sign_in_body = {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}}}}}
    cookie = [{"sessionCookie": []}]
    return {
        f"{BASE}/session": {
            "post": {"summary": "Sign in with the master key: sets the HttpOnly, SameSite=Strict session cookie",
                     "security": [], "requestBody": sign_in_body,
                     "responses": {"201": reply("The new session and its CSRF token", session),
                                   "401": reply("Wrong master key", error),
                                   "403": reply("Cross-origin, or sessions are off", error)}},
            "get": {"summary": "The current session and its CSRF token", "security": cookie,
                    "responses": {"200": reply("The session", session),
                                  "401": reply("Not signed in or expired", error)}},
            "delete": {"summary": "Sign out: ends the session and revokes its playground key", "security": cookie,
                       "responses": {"200": reply("Signed out", {"type": "object"}),
                                     "403": reply("Wrong CSRF token", error)}},
        },
        f"{BASE}/session/playground-key": {
            "post": {"summary": "This session's playground key (made, else rotated): a virtual key with "
                                f"{PLAYGROUND_LIMITS}, expiring with the session", "security": cookie,
                     "responses": {"200": reply("The key, rotated", {"$ref": "#/components/schemas/KeyWithSecret"}),
                                   "201": reply("The key, made", {"$ref": "#/components/schemas/KeyWithSecret"}),
                                   "401": reply("No session", error), "403": reply("Wrong CSRF token", error)}},
        },
    }


SECURITY_SCHEMES = {
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                      "description": f"From POST {BASE}/session; requests that change anything also need the "
                                     f"session's {CSRF_HEADER} header"},
}


def add_routes(app: web.Application) -> None:
    gateway = app[GATEWAY]
    config = gateway.config
    if config.ui.enabled and config.auth.master_key and gateway.auth.secret is not None:
        app[SIGNER] = SessionSigner(gateway.auth.secret, config.auth.master_key, config.ui.session_hours)
    app.router.add_post(f"{BASE}/session", sign_in)
    app.router.add_get(f"{BASE}/session", current_session)
    app.router.add_delete(f"{BASE}/session", sign_out)
    app.router.add_post(f"{BASE}/session/playground-key", playground_key)
