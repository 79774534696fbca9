"""The `/openai2` routes (the Responses API of the proxies we replace) through real processes: the
gateway in keys mode, and in open mode with client upstream keys allowed, in front of the fake
upstream, on an OpenAI deployment with the Responses API (a pass-through: it keeps the responses)
and on an Anthropic one (translated: the gateway keeps them). Driven with raw HTTP and the bodies
and queries those proxies' clients send, and with the openai SDK's low-level calls.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

import openai
import pydantic
import pytest
from openai import Stream
from openai.types.responses import Response, ResponseStreamEvent

from tests.e2e.compat_fixtures import ANTHROPIC_KEY, MASTER, OPENAI_KEY, admin_key
from tests.e2e.compat_fixtures import fake, keys, open_gateway  # noqa: F401 (this module's fixtures)
from tests.support.compat import call, timeout_line
from tests.support.fake import fake_directive, fake_get, received
from tests.support.processes import Process

MODELS = {"openai": "gpt-4o", "anthropic": "claude"}
KINDS = tuple(MODELS)
COMPAT_FIELDS = ("security_key", "openai_api_key", "project", "organization", "timeout")
STREAM_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)


def create(gateway: Process, kind: str, text: Any, **fields: Any) -> dict[str, Any]:
    """A response made through POST /openai2 with the master key (unless FIELDS says otherwise)."""
    status, _, answer = call(f"{gateway.url}/openai2", {"security_key": MASTER, "model": MODELS[kind],
                                                        "input": text, **fields})
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


def get(gateway: Process, path: str, method: str = "GET", **query: str) -> tuple[int, dict[str, str], Any]:
    """A GET (or DELETE) of PATH with its compat fields in the query, as those proxies' clients send them."""
    query = {"security_key": MASTER, **query}
    return call(f"{gateway.url}{path}?{urllib.parse.urlencode(query)}", method=method)


def sub_requests(fake: Process, response_id: str) -> list[dict[str, Any]]:
    """What the fake upstream received about RESPONSE_ID after it made it (reads, deletes)."""
    return [r for r in fake_get(fake.url, "/_fake/requests") if response_id in r["path"]]


def data_frames(raw: str) -> list[str]:
    """Each SSE frame's data, keep-alive comments left out; a frame with an `event:` line fails."""
    frames = []
    for block in raw.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            assert len(lines) == 1 and lines[0].startswith("data: "), block
            frames.append(lines[0].removeprefix("data: "))
    return frames


def stream_events(raw: str) -> list[Any]:
    """The events of a complete /openai2 stream, each parsed as the SDK types it; [DONE] ends it."""
    frames = data_frames(raw)
    assert frames[-1] == "[DONE]"
    return [STREAM_EVENT.validate_json(frame) for frame in frames[:-1]]


def no_compat_field_in(sent: dict[str, Any]) -> None:
    """SENT (a request the fake upstream received) has no compat field, nor the gateway key."""
    assert not set(COMPAT_FIELDS) & set(sent.get("body") or {})
    assert not set(COMPAT_FIELDS) & set(sent.get("query") or {})
    assert MASTER not in json.dumps(sent)


# --- POST /openai2 ------------------------------------------------------------------------------
def test_a_create_passes_to_an_openai_responses_deployment_without_the_compat_fields(keys: Process,
                                                                                     fake: Process) -> None:
    mark = uuid.uuid4().hex
    body = {"model": "gpt-4o", "instructions": "You are a helpful coding assistant.",
            "input": f"How do I read a file in Python? {mark}", "temperature": 0.5}
    status, _, answer = call(f"{keys.url}/openai2", {**body, "security_key": MASTER, "project": "proj_a",
                                                     "organization": "org-a", "timeout": "30000",
                                                     "openai_api_key": "sk-client-0005"})
    assert status == 200, answer
    response = Response.model_validate(answer)
    assert response.output_text == f"You said: How do I read a file in Python? {mark}"
    assert (response.model, response.status) == ("gpt-4o", "completed")
    [sent] = received(fake.url, mark)
    assert sent["path"] == "/v1/responses" and sent["body"] == {**body, "model": "up-gpt"}
    assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert (sent["headers"]["openai-project"], sent["headers"]["openai-organization"]) == ("proj_a", "org-a")
    no_compat_field_in(sent)


def test_a_create_is_translated_for_an_anthropic_deployment_which_gets_no_openai_header(keys: Process,
                                                                                        fake: Process) -> None:
    mark = uuid.uuid4().hex
    answer = create(keys, "anthropic", f"Tell me a story {mark}", project="proj_b", timeout=30_000)
    assert Response.model_validate(answer).output_text == f"You said: Tell me a story {mark}"
    [sent] = received(fake.url, mark)
    assert sent["path"] == "/v1/messages" and sent["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert "openai-project" not in sent["headers"]
    no_compat_field_in(sent)


@pytest.mark.parametrize("kind", KINDS)
def test_a_streamed_create_sends_the_responses_events_as_data_lines_ending_in_done(keys: Process,
                                                                                  kind: str) -> None:
    mark = uuid.uuid4().hex
    status, head, raw = call(f"{keys.url}/openai2", {"security_key": MASTER, "model": MODELS[kind],
                                                     "input": f"Write a poem {mark}", "stream": True})
    assert status == 200 and head["content-type"].startswith("text/event-stream")
    events = stream_events(raw)
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text == f"You said: Write a poem {mark}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_the_upstream_breaks_ends_with_its_failure_and_no_done(keys: Process, kind: str) -> None:
    text = "break " + fake_directive(chunks=6, reset_after=5)
    status, _, raw = call(f"{keys.url}/openai2", {"security_key": MASTER, "model": MODELS[kind], "input": text,
                                                  "stream": True})
    assert status == 200
    frames = data_frames(raw)
    assert "[DONE]" not in frames
    last = STREAM_EVENT.validate_json(frames[-1])
    assert last.type == "response.failed" and last.response.error is not None


def test_the_openai_sdk_reads_the_stream_and_the_answer(keys: Process) -> None:
    client = openai.OpenAI(base_url=f"{keys.url}/", api_key="unused", max_retries=0, timeout=20)
    body = {"security_key": MASTER, "model": "claude", "input": "stream to the sdk"}
    events = list(client.post("/openai2", cast_to=Response, body={**body, "stream": True}, stream=True,
                              stream_cls=Stream[ResponseStreamEvent]))  # type: ignore[type-abstract]
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "You said: stream to the sdk"  # type: ignore[union-attr]
    assert client.post("/openai2", cast_to=Response, body=body).output_text == "You said: stream to the sdk"


def test_an_invalid_create_is_a_400_in_openai_shape(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai2", {"security_key": MASTER, "model": "gpt-4o", "input": "x",
                                                     "temperature": 5})
    assert status == 400 and answer["error"]["param"] == "temperature"


def test_a_conversation_continues_from_a_previous_response_id_the_gateway_keeps(keys: Process, fake: Process) -> None:
    mark = uuid.uuid4().hex
    first = create(keys, "anthropic", f"My name is Alice. {mark}")
    second = create(keys, "anthropic", f"What is my name? {mark}", previous_response_id=first["id"])
    assert second["previous_response_id"] == first["id"]
    messages = received(fake.url, mark)[-1]["body"]["messages"]
    assert [message["role"] for message in messages] == ["user", "assistant", "user"]
    assert "My name is Alice." in json.dumps(messages[0]) and "What is my name?" in json.dumps(messages[2])


def test_a_conversation_an_openai_deployment_keeps_continues_there(keys: Process, fake: Process) -> None:
    mark = uuid.uuid4().hex
    first = create(keys, "openai", f"My name is Alice. {mark}")
    create(keys, "openai", f"What is my name? {mark}", previous_response_id=first["id"])
    sent = received(fake.url, mark)[-1]
    assert sent["path"] == "/v1/responses" and sent["body"]["previous_response_id"] == first["id"]


@pytest.mark.parametrize("kind", KINDS)
def test_content_parts_sent_as_input_items_are_a_400_saying_where_they_belong(keys: Process, kind: str) -> None:
    parts = [{"type": "input_text", "text": "What is in this image?"},
             {"type": "input_image", "image_url": "https://example.com/image.png"}]
    status, _, answer = call(f"{keys.url}/openai2", {"security_key": MASTER, "model": MODELS[kind], "input": parts})
    assert status == 400 and answer["error"]["param"] == "input[0].type"
    assert "goes in a message's `content`" in answer["error"]["message"]


# --- the stored response ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_a_response_is_retrieved_with_the_key_in_the_query(keys: Process, kind: str) -> None:
    made = create(keys, kind, "keep me")
    status, _, again = get(keys, f"/openai2/{made['id']}", timeout="20000")
    assert status == 200, again
    assert Response.model_validate(again).output_text == "You said: keep me" and again["id"] == made["id"]


def test_the_upstream_keeping_a_response_gets_the_clients_query_without_the_compat_fields(keys: Process,
                                                                                          fake: Process) -> None:
    made = create(keys, "openai", "read upstream")
    compat = {"project": "proj_c", "organization": "org-c", "timeout": "20000", "openai_api_key": "sk-client-0010"}
    include = {"include[]": "message.output_text.logprobs"}
    for method, path in (("GET", f"/openai2/{made['id']}"), ("GET", f"/openai2/{made['id']}/input_items"),
                         ("DELETE", f"/openai2/{made['id']}")):
        assert get(keys, path, method, **include, **compat)[0] == 200
    forwarded = sub_requests(fake, made["id"])
    assert [(r["method"], r["path"]) for r in forwarded] == [
        ("GET", f"/v1/responses/{made['id']}"), ("GET", f"/v1/responses/{made['id']}/input_items"),
        ("DELETE", f"/v1/responses/{made['id']}")]
    assert [sent["query"] for sent in forwarded] == [include, include, {}]  # a delete takes no query
    for sent in forwarded:
        assert sent["headers"]["openai-project"] == "proj_c"
        assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
        no_compat_field_in(sent)


@pytest.mark.parametrize("kind", KINDS)
def test_a_streamed_retrieve_replays_the_events_as_data_lines_ending_in_done(keys: Process, kind: str) -> None:
    made = create(keys, kind, "replay me")
    status, _, raw = get(keys, f"/openai2/{made['id']}", stream="true")
    assert status == 200
    events = stream_events(raw)
    assert events[-1].type == "response.completed" and events[-1].response.id == made["id"]


@pytest.mark.parametrize("kind", KINDS)
def test_input_items_list_the_input_newest_first(keys: Process, kind: str) -> None:
    made = create(keys, kind, [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}])
    status, _, listing = get(keys, f"/openai2/{made['id']}/input_items")
    assert status == 200 and listing["object"] == "list"
    assert [item["content"][0]["text"] for item in listing["data"]] == ["two", "one"]
    status, _, first = get(keys, f"/openai2/{made['id']}/input_items", order="asc", limit="1")
    assert [item["content"][0]["text"] for item in first["data"]] == ["one"] and first["has_more"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_response_is_gone(keys: Process, kind: str) -> None:
    made = create(keys, kind, "short-lived")
    status, _, deleted = get(keys, f"/openai2/{made['id']}", method="DELETE")
    assert status == 200 and (deleted["id"], deleted["deleted"]) == (made["id"], True)
    assert get(keys, f"/openai2/{made['id']}")[0] == 404


@pytest.mark.parametrize("kind", KINDS)
def test_a_background_response_is_cancelled_with_the_key_in_the_body(keys: Process, kind: str) -> None:
    made = create(keys, kind, "slow " + fake_directive(hang_s=5), background=True)
    assert made["status"] == "queued"
    status, _, cancelled = call(f"{keys.url}/openai2/{made['id']}/cancel", {"security_key": MASTER})
    assert status == 200, cancelled
    assert (cancelled["id"], cancelled["status"]) == (made["id"], "cancelled")
    assert get(keys, f"/openai2/{made['id']}")[2]["status"] == "cancelled"


def test_a_cancel_with_no_body_is_served_in_open_mode(open_gateway: Process) -> None:
    status, _, made = call(f"{open_gateway.url}/openai2", {"model": "claude", "background": True,
                                                           "input": "slow " + fake_directive(hang_s=5)})
    assert status == 200, made
    status, _, cancelled = call(f"{open_gateway.url}/openai2/{made['id']}/cancel", method="POST", raw=b"")
    assert status == 200 and cancelled["status"] == "cancelled"


def test_a_response_belongs_to_the_key_that_made_it(keys: Process) -> None:
    alice, bob = admin_key(keys)["key"], admin_key(keys)["key"]
    made = create(keys, "anthropic", "mine", security_key=alice)
    path = f"/openai2/{made['id']}"
    for method, route in (("GET", path), ("GET", f"{path}/input_items"), ("DELETE", path)):
        assert get(keys, route, method, security_key=bob)[0] == 404
    assert call(f"{keys.url}{path}/cancel", {"security_key": bob})[0] == 404
    status, _, answer = call(f"{keys.url}/v1/responses/{made['id']}", method="GET",
                             headers={"authorization": f"Bearer {alice}"})
    assert status == 200 and answer["id"] == made["id"]
    assert get(keys, path, security_key=alice)[0] == 200


# --- counting and compaction --------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "path"), [("openai", "/v1/responses/input_tokens"),
                                            ("anthropic", "/v1/messages/count_tokens")])
def test_input_tokens_are_counted_upstream_without_the_compat_fields(keys: Process, fake: Process, kind: str,
                                                                     path: str) -> None:
    mark = uuid.uuid4().hex
    status, _, counted = call(f"{keys.url}/openai2/input_tokens", {"security_key": MASTER, "model": MODELS[kind],
                                                                   "input": f"count me {mark}", "timeout": 9000})
    assert status == 200, counted
    assert counted["object"] == "response.input_tokens" and counted["input_tokens"] > 0
    [sent] = received(fake.url, mark)
    assert sent["path"] == path
    no_compat_field_in(sent)


def test_compact_is_forwarded_to_an_openai_responses_deployment(keys: Process, fake: Process) -> None:
    mark = uuid.uuid4().hex
    status, _, compacted = call(f"{keys.url}/openai2/compact", {
        "security_key": MASTER, "model": "gpt-4o", "input": [{"role": "user", "content": f"a long talk {mark}"}]})
    assert status == 200, compacted
    assert compacted["object"] == "response.compaction" and compacted["output"][-1]["type"] == "compaction"
    [sent] = received(fake.url, mark)
    assert sent["path"] == "/v1/responses/compact"
    no_compat_field_in(sent)


def test_compact_for_a_translated_model_is_a_400_naming_the_limitation(keys: Process) -> None:
    status, _, answer = call(f"{keys.url}/openai2/compact", {"security_key": MASTER, "model": "claude",
                                                             "input": "a long talk"})
    assert status == 400 and answer["error"]["code"] == "unsupported_operation"
    assert "only an OpenAI deployment with the Responses API compacts" in answer["error"]["message"]


# --- security_key -------------------------------------------------------------------------------
POSTS = ("/openai2", "/openai2/compact", "/openai2/input_tokens", "/openai2/resp_none/cancel")
READS = (("GET", "/openai2/resp_none"), ("DELETE", "/openai2/resp_none"), ("GET", "/openai2/resp_none/input_items"))


@pytest.mark.parametrize(("key", "code"), [("wrong-key-0006", "invalid_security_key"), (None, "missing_security_key"),
                                           ("", "missing_security_key")])
@pytest.mark.parametrize("path", POSTS)
def test_a_post_with_a_wrong_or_missing_key_in_its_body_is_a_403_and_sends_nothing(
        keys: Process, fake: Process, path: str, key: str | None, code: str) -> None:
    mark = uuid.uuid4().hex
    body = {"model": "gpt-4o", "input": mark, **({} if key is None else {"security_key": key})}
    status, _, answer = call(f"{keys.url}{path}", body)
    assert status == 403 and answer["error"]["param"] == "security_key" and answer["error"]["code"] == code
    assert received(fake.url, mark) == []


@pytest.mark.parametrize(("key", "code"), [("wrong-key-0007", "invalid_security_key"), (None, "missing_security_key")])
@pytest.mark.parametrize(("method", "path"), READS)
def test_a_read_with_a_wrong_or_missing_key_in_its_query_is_a_403(keys: Process, method: str, path: str,
                                                                  key: str | None, code: str) -> None:
    query = "" if key is None else f"?security_key={key}"
    status, _, answer = call(f"{keys.url}{path}{query}", method=method)
    assert status == 403 and answer["error"]["code"] == code


def test_a_post_reads_its_key_from_the_body_and_a_read_from_the_query(keys: Process) -> None:
    made = create(keys, "anthropic", "where is the key")
    status, _, answer = call(f"{keys.url}/openai2?security_key={MASTER}", {"model": "claude", "input": "x"})
    assert status == 403 and answer["error"]["code"] == "missing_security_key"
    assert "in the body" in answer["error"]["message"]
    status, _, answer = call(f"{keys.url}/openai2/{made['id']}", method="GET",
                             headers={"authorization": f"Bearer {MASTER}"})
    assert status == 403 and "in the query" in answer["error"]["message"]


# --- the client's upstream key and timeout ------------------------------------------------------
def test_openai_api_key_is_the_upstream_key_of_a_pass_through_when_allowed(open_gateway: Process,
                                                                           fake: Process) -> None:
    mark = uuid.uuid4().hex
    status, _, _ = call(f"{open_gateway.url}/openai2", {"model": "gpt-4o", "input": mark,
                                                        "openai_api_key": "sk-client-0008"})
    assert status == 200
    [sent] = received(fake.url, mark)
    assert sent["headers"]["authorization"] == "Bearer sk-client-0008"
    assert "openai_api_key" not in sent["body"]


def test_openai_api_key_is_ignored_unless_the_config_allows_it(keys: Process, fake: Process) -> None:
    mark = uuid.uuid4().hex
    create(keys, "openai", mark, openai_api_key="sk-client-0009")
    [sent] = received(fake.url, mark)
    assert sent["headers"]["authorization"] == f"Bearer {OPENAI_KEY}" and "sk-client-0009" not in json.dumps(sent)


@pytest.mark.parametrize(("timeout", "logged"), [
    (None, "timeout_s=2 timeout_source=config timeout_rule=missing"),
    ("1500", "timeout_s=1.5 timeout_source=query timeout_rule=asked"),
    ("soon", "timeout_s=2 timeout_source=query timeout_rule=invalid"),
    ("-3", "timeout_s=2 timeout_source=query timeout_rule=invalid"),
    ("Infinity", "timeout_s=2 timeout_source=query timeout_rule=invalid"),
    ("60000", "timeout_s=5 timeout_source=query timeout_rule=clamped"),
])
@pytest.mark.parametrize("kind", KINDS)
def test_the_timeout_of_a_read_is_taken_from_its_query_by_the_compat_rules(open_gateway: Process, fake: Process,
                                                                           kind: str, timeout: str | None,
                                                                           logged: str) -> None:
    status, _, made = call(f"{open_gateway.url}/openai2", {"model": MODELS[kind], "input": "time me"})
    assert status == 200
    request_id = f"openai2-{uuid.uuid4().hex}"
    query = "" if timeout is None else f"?timeout={timeout}"
    status, _, _ = call(f"{open_gateway.url}/openai2/{made['id']}{query}", method="GET",
                        headers={"x-request-id": request_id})
    assert status == 200
    assert logged in timeout_line(open_gateway, request_id)
    assert all("timeout" not in r["query"] for r in sub_requests(fake, made["id"]))
