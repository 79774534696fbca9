"""`/admin/api`: virtual keys and stored upstream keys, authorised by the master key (or a panel session:
`surfaces.admin_auth`).

JSON in and out; the OpenAPI document at `/admin/api/openapi.json` is generated from the same
structures that validate the bodies, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from aiohttp import web

from llmswitch.config import unsendable
from llmswitch.core.key_admin import KeyNotFound
from llmswitch.core.keys import KeyFields, KeyRecord
from llmswitch.core.limits import CAPS
from llmswitch.core.upstream_keys import fernet
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces import admin_auth, admin_models, admin_usage
from llmswitch.surfaces.admin_auth import BASE, admin_gateway, keys_of
from llmswitch.surfaces.body import read_json_object


class UpstreamKeyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    provider: str
    api_key: str
    name: str = ""


_gateway = admin_gateway  # the master key or a panel session
_keys = keys_of


def _bad_field(error: msgspec.ValidationError) -> GatewayError:
    message = str(error)
    match = re.search(r"at `\$\.([^`\[]+)", message) or re.search(r"unknown field `([^`]+)`", message)
    return invalid(message.replace("`", "'"), param=match.group(1) if match else None)


async def _body(request: web.Request) -> dict[str, Any]:
    return await read_json_object(request) if request.can_read_body else {}


async def create_key(request: web.Request) -> web.Response:
    admin = _keys(_gateway(request))
    try:
        record, key = await admin.create(await _body(request))
    except msgspec.ValidationError as error:
        raise _bad_field(error) from None
    return web.json_response({**record.public(), "key": key}, status=201)


async def list_keys(request: web.Request) -> web.Response:
    admin = _keys(_gateway(request))
    records = await admin.list(include_revoked=request.query.get("include_revoked") in ("1", "true"))
    return web.json_response({"object": "list", "data": [r.public() for r in records]})


async def _one(request: web.Request, action: str) -> web.Response:
    admin = _keys(_gateway(request))
    key_id = request.match_info["key_id"]
    try:
        if action == "get":
            return web.json_response((await admin.get(key_id)).public())
        if action == "update":
            return web.json_response((await admin.update(key_id, await _body(request))).public())
        if action == "revoke":
            return web.json_response((await admin.revoke(key_id)).public())
        record, key = await admin.rotate(key_id)
        return web.json_response({**record.public(), "key": key})
    except KeyNotFound:
        raise GatewayError(404, f"No key with id {key_id!r}.", type="not_found_error", code="key_not_found") from None
    except msgspec.ValidationError as error:
        raise _bad_field(error) from None


async def get_key(request: web.Request) -> web.Response:
    return await _one(request, "get")


async def update_key(request: web.Request) -> web.Response:
    return await _one(request, "update")


async def revoke_key(request: web.Request) -> web.Response:
    return await _one(request, "revoke")


async def rotate_key(request: web.Request) -> web.Response:
    return await _one(request, "rotate")


async def add_upstream_key(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    try:
        entry = msgspec.convert(await _body(request), UpstreamKeyIn)
    except msgspec.ValidationError as error:
        raise _bad_field(error) from None
    if entry.provider not in gateway.config.providers:
        raise invalid(f"Unknown provider {entry.provider!r}.", param="provider")
    why = unsendable(entry.api_key) if entry.api_key else "must not be empty"
    if why is not None:
        raise invalid(f"api_key: {why}", param="api_key")
    assert gateway.auth.store is not None and gateway.auth.secret is not None
    row = await gateway.auth.store.upstream_keys.add(fernet(gateway.auth.secret), entry.provider, entry.api_key,
                                                     entry.name)
    await gateway.auth.upstream_keys_changed()
    return web.json_response(row, status=201)


async def list_upstream_keys(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    assert gateway.auth.store is not None
    return web.json_response({"object": "list", "data": await gateway.auth.store.upstream_keys.list()})


async def delete_upstream_key(request: web.Request) -> web.Response:
    gateway = _gateway(request)
    assert gateway.auth.store is not None
    key_id = request.match_info["key_id"]
    if not await gateway.auth.store.upstream_keys.delete(key_id):
        raise GatewayError(404, f"No upstream key with id {key_id!r}.", type="not_found_error")
    await gateway.auth.upstream_keys_changed()
    return web.json_response({"id": key_id, "deleted": True})


def openapi() -> dict[str, Any]:
    """The admin API's OpenAPI 3.1 document."""
    (fields, record, upstream), components = msgspec.json.schema_components(
        [KeyFields, KeyRecord, UpstreamKeyIn], ref_template="#/components/schemas/{name}")
    stored = components["KeyRecord"]
    stored["properties"].pop("key_hash")
    stored["required"] = [r for r in stored.get("required", []) if r != "key_hash"]
    for name, cap in CAPS.items():  # the bounds KeyAdmin checks beyond the structure's own
        components["KeyFields"]["properties"][name]["anyOf"][0]["maximum"] = cap
    components["KeyPatch"] = {**components["KeyFields"], "required": []}
    components["KeyWithSecret"] = {"allOf": [record, {"type": "object", "required": ["key"], "properties": {
        "key": {"type": "string", "description": "The key itself; shown only in this response."}}}]}
    components["Error"] = {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]}}}}}

    def reply(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def listing(item: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": item}}}

    error = {"$ref": "#/components/schemas/Error"}
    errors = {"401": reply("Missing or wrong master key", error), "404": reply("No such key", error)}
    with_secret = {"$ref": "#/components/schemas/KeyWithSecret"}
    key_id = [{"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "llmswitch admin API", "version": "1"},
        "components": {"schemas": components,
                       "securitySchemes": {"masterKey": {"type": "http", "scheme": "bearer"},
                                           **admin_auth.SECURITY_SCHEMES}},
        "security": [{"masterKey": []}, {"sessionCookie": []}],
        "paths": {
            f"{BASE}/keys": {
                "post": {"summary": "Create a virtual key", "requestBody": body(fields),
                         "responses": {"201": reply("The key, with its value shown once", with_secret),
                                       "400": reply("A field is invalid", error), **errors}},
                "get": {"summary": "List keys",
                        "parameters": [{"name": "include_revoked", "in": "query", "schema": {"type": "boolean"}}],
                        "responses": {"200": reply("Keys", listing(record)), **errors}},
            },
            f"{BASE}/keys/{{key_id}}": {
                "parameters": key_id,
                "get": {"summary": "Show a key", "responses": {"200": reply("The key", record), **errors}},
                "patch": {"summary": "Change some of a key's fields",
                          "requestBody": body({"$ref": "#/components/schemas/KeyPatch"}),
                          "responses": {"200": reply("The updated key", record), **errors}},
                "delete": {"summary": "Revoke a key (it stops working on every instance)",
                           "responses": {"200": reply("The revoked key", record), **errors}},
            },
            f"{BASE}/keys/{{key_id}}/rotate": {
                "parameters": key_id,
                "post": {"summary": "Give a key a new value; the old value stops working",
                         "responses": {"200": reply("The key, with its new value shown once", with_secret),
                                       **errors}},
            },
            f"{BASE}/upstream-keys": {
                "post": {"summary": "Store a provider API key, encrypted at rest; the provider's requests use it "
                                    "at once, beside its configured keys", "requestBody": body(upstream),
                         "responses": {"201": reply("The stored key, without its value", {"type": "object"}),
                                       "400": reply("Unknown provider, or a key no HTTP header can carry",
                                                    error), **errors}},
                "get": {"summary": "List stored provider keys (values never shown)",
                        "responses": {"200": reply("Stored keys", listing({"type": "object"})), **errors}},
            },
            f"{BASE}/upstream-keys/{{key_id}}": {
                "parameters": key_id,
                "delete": {"summary": "Delete a stored provider key",
                           "responses": {"200": reply("Deleted", {"type": "object"}), **errors}},
            },
            **admin_auth.openapi_paths(reply, error),
            **admin_models.openapi_paths(reply, error),
            **admin_usage.openapi_paths(reply, error),
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi())


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{BASE}/openapi.json", openapi_json)
    router.add_post(f"{BASE}/keys", create_key)
    router.add_get(f"{BASE}/keys", list_keys)
    router.add_get(BASE + "/keys/{key_id}", get_key)
    router.add_patch(BASE + "/keys/{key_id}", update_key)
    router.add_delete(BASE + "/keys/{key_id}", revoke_key)
    router.add_post(BASE + "/keys/{key_id}/rotate", rotate_key)
    router.add_post(f"{BASE}/upstream-keys", add_upstream_key)
    router.add_get(f"{BASE}/upstream-keys", list_upstream_keys)
    router.add_delete(BASE + "/upstream-keys/{key_id}", delete_upstream_key)
    admin_auth.add_routes(app)
    admin_models.add_routes(app)
    admin_usage.add_routes(app)
