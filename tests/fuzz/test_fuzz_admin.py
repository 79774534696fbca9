"""The admin API under hostile bodies generated from its own OpenAPI document, and what follows.

Whatever an administrator managed to set must not break the key's own next request, nor a stored
upstream key the next request of its provider: after each accepted change the test sends one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmswitch.surfaces.admin import openapi
from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import SPARE_MODEL, Target
from tests.fuzz.hostile import encode, mutated
from tests.fuzz.schema import OpenAPIStrategies
from tests.fuzz.tally import observe
from tests.fuzz.verdict import check
from tests.fuzz.wire import Answer, request

ADMIN = OpenAPIStrategies(openapi()["components"]["schemas"])
KEY_FIELDS = ADMIN.named("KeyFields")
FIELD_NAMES = tuple(ADMIN.field_names())
UPSTREAM_KEY = ADMIN.named("UpstreamKeyIn").map(lambda body: {**body, "provider": "p-spare"})
OPERATIONS = ["create", "create", "patch", "patch", "patch", "get", "list", "revoke", "rotate", "add_upstream",
              "list_upstream", "delete_upstream", "openapi"]
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def pool(keys_gateway: Target) -> dict[str, str]:
    """Keys only this test changes: id -> current value (a fixed set of ids, so that what an
    example draws never depends on the examples before it)."""
    keys: dict[str, str] = {}
    for n in range(3):
        answer = _admin(keys_gateway, "POST", "/admin/api/keys", encode({"name": f"fuzz-admin-{n}"}))
        created = json.loads(answer.body)
        keys[created["id"]] = created["key"]
    return keys


def _admin(target: Target, method: str, path: str, body: bytes | None = None,
           credential: str = "master") -> Answer:
    headers: dict[str, str | bytes] = {**target.credentials[credential], "content-type": "application/json"}
    return request(target.base, method, path, body, headers)


def _follow_up(target: Target, key: str, model: str) -> None:
    """The request a key (or a provider's stored key) serves next must still get the property."""
    body = encode({**CHAT, "model": model})
    headers: dict[str, str | bytes] = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    observe("POST /v1/chat/completions (after admin)", lambda: request(target.base, "POST", "/v1/chat/completions",
                                                                      body, headers),
            lambda answer: check(answer, "chat", "/v1/chat/completions", model=model))


@fuzz_settings(250)
@given(data=st.data())
def test_admin_api_answers_every_request_and_what_it_accepts_keeps_working(
        keys_gateway: Target, pool: dict[str, str], data: st.DataObject) -> None:
    target = keys_gateway
    operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
    credential = data.draw(st.sampled_from(["master"] * 6 + sorted(target.credentials)), label="credential")
    key_id = data.draw(st.sampled_from(sorted(pool)) | st.sampled_from(["", "key_nope", "%ff", "a" * 500]),
                       label="key id")
    method, path, body = _request(operation, key_id, data)
    answers: list[Answer] = []

    def send() -> Answer:
        answers.append(_admin(target, method, path, body, credential))
        return answers[-1]

    observe(f"{method} {_template(path)}", send, lambda answer: check(answer, "admin", path))
    if not answers or answers[0].status >= 300 or credential != "master":
        return
    reply: Any = json.loads(answers[0].body)
    if operation == "rotate":
        pool[reply["id"]] = reply["key"]
    if operation in ("create", "patch", "rotate"):
        _follow_up(target, reply["key"] if operation == "create" else pool[reply["id"]], "m-openai")
    if operation == "add_upstream":
        _follow_up(target, target.credentials["key-bearer"]["authorization"].removeprefix("Bearer "), SPARE_MODEL)
        _admin(target, "DELETE", f"/admin/api/upstream-keys/{reply['id']}")


def _key_fields(data: st.DataObject) -> bytes:
    return encode(data.draw(mutated(KEY_FIELDS, fields=FIELD_NAMES), label="body"))


def _request(operation: str, key_id: str, data: st.DataObject) -> tuple[str, str, bytes | None]:
    keys = "/admin/api/keys"
    if operation == "create":
        return "POST", keys, _key_fields(data)
    if operation == "patch":
        return "PATCH", f"{keys}/{key_id}", _key_fields(data)
    if operation == "get":
        return "GET", f"{keys}/{key_id}", None
    if operation == "list":
        return "GET", keys + data.draw(st.sampled_from(["", "?include_revoked=true", "?include_revoked=%ff"])), None
    if operation == "revoke":
        return "DELETE", f"{keys}/{key_id}", None
    if operation == "rotate":
        return "POST", f"{keys}/{key_id}/rotate", None
    if operation == "add_upstream":
        body = data.draw(mutated(UPSTREAM_KEY, fields=FIELD_NAMES), label="body")
        return "POST", "/admin/api/upstream-keys", encode(body)
    if operation == "list_upstream":
        return "GET", "/admin/api/upstream-keys", None
    if operation == "delete_upstream":
        return "DELETE", f"/admin/api/upstream-keys/{key_id}", None
    return "GET", "/admin/api/openapi.json", None


def _template(path: str) -> str:
    parts = path.split("?")[0].split("/")
    if len(parts) > 4:
        parts[4] = "{id}"
    return "/".join(parts)


@pytest.mark.parametrize("fields", [{"budget_usd": 1e303}, {"budget_usd": 1e308}], ids=["1e303", "1e308"])
def test_a_key_with_a_huge_budget_is_refused_or_keeps_working(keys_gateway: Target, fields: dict[str, Any]) -> None:
    answers: list[Answer] = []

    def create() -> Answer:
        answers.append(_admin(keys_gateway, "POST", "/admin/api/keys", encode({"name": "fuzz-huge", **fields})))
        return answers[-1]

    observe("POST /admin/api/keys", create, lambda answer: check(answer, "admin", "/admin/api/keys"))
    if answers[0].status == 201:
        key = json.loads(answers[0].body)["key"]
        body = encode({**CHAT, "model": "m-openai"})
        headers: dict[str, str | bytes] = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        observe("POST /v1/chat/completions (after admin)",
                lambda: request(keys_gateway.base, "POST", "/v1/chat/completions", body, headers),
                lambda answer: check(answer, "chat", "/v1/chat/completions", model="m-openai"))
