"""The Responses API through the gateway with the official openai SDK, on every kind of upstream: an
OpenAI deployment with the Responses API (a pass-through; it keeps its responses), and, translated,
Anthropic, Gemini and a chat-only OpenAI-compatible server (the gateway keeps them). Real processes:
the fake upstream and the gateway in keys mode on SQLite, two virtual keys.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pydantic
import pytest

from tests.support.fake import fake_directive, received
from tests.support.processes import Process, free_port, start_fake_upstream, start_gateway

MASTER = "master-responses-0001"
MODELS = {"openai": "gpt", "anthropic": "claude", "gemini": "gemini", "chat": "compat"}
KINDS = tuple(MODELS)
TRANSLATED = ("anthropic", "gemini", "chat")
UPSTREAM_PATHS = {"openai": "/v1/responses", "anthropic": "/v1/messages", "chat": "/v1/chat/completions",
                  "gemini": "/v1beta/models/gemini-up:generateContent"}
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}, "strict": True}


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="responses-fake") as process:
        yield process


@pytest.fixture(scope="module")
def gateway(fake: Process, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    database = tmp_path_factory.mktemp("responses") / "gw.db"
    config = {
        "auth": {"master_key": MASTER, "secret": "responses-secret-0002"}, "database_url": f"sqlite:///{database}",
        "providers": {
            "oai": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["oai-key-0003"]},
            "chat-only": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["chat-key-0004"],
                          "responses_api": False},
            "claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["claude-key-0005"]},
            "gem": {"type": "gemini", "base_url": f"{fake.url}/v1beta", "api_keys": ["gemini-key-0006"]},
            "down": {"type": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_keys": ["down-0007"]},
        },
        "models": {
            "gpt": [{"provider": "oai", "model": "gpt-up"}],
            "claude": [{"provider": "claude", "model": "claude-up", "max_tokens_default": 1024}],
            "gemini": [{"provider": "gem", "model": "gemini-up"}],
            "compat": [{"provider": "chat-only", "model": "llama-up"}],
            "gpt-sim": [{"provider": "oai", "model": "gpt-up", "stream": "simulate"}],
            "failover": [{"provider": "down", "model": "gpt-up", "priority": 0},
                         {"provider": "claude", "model": "claude-up", "priority": 1, "max_tokens_default": 1024}],
        },
    }
    with start_gateway(config) as process:
        yield process


def new_key(gateway: Process, name: str) -> str:
    request = urllib.request.Request(f"{gateway.url}/admin/api/keys", method="POST",
                                     data=json.dumps({"name": name}).encode(),
                                     headers={"authorization": f"Bearer {MASTER}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["key"])


@pytest.fixture(scope="module")
def keys(gateway: Process) -> dict[str, str]:
    return {"alice": new_key(gateway, "alice"), "bob": new_key(gateway, "bob")}


def sdk(gateway: Process, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0, timeout=30)


@pytest.fixture
def client(gateway: Process, keys: dict[str, str]) -> openai.OpenAI:
    return sdk(gateway, keys["alice"])


def marker() -> str:
    return uuid.uuid4().hex[:10]


def upstream_requests(fake: Process, mark: str, kind: str) -> list[dict[str, Any]]:
    """The chat requests the fake got for this test (its marker), on the path of KIND's dialect."""
    return [r for r in received(fake.url, mark) if r["path"].startswith(UPSTREAM_PATHS[kind].split(":")[0])]


def raw_post(gateway: Process, key: str, body: dict[str, Any]) -> bytes:
    request = urllib.request.Request(f"{gateway.url}/v1/responses", method="POST", data=json.dumps(body).encode(),
                                     headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def frames(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event line, data) of each SSE frame."""
    out = []
    for block in raw.decode().split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            fields = dict(line.split(": ", 1) for line in lines)
            out.append((fields.get("event", ""), json.loads(fields["data"])))
    return out


# --- create -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_create_answers_with_the_models_reply_under_the_clients_model_name(kind, client, fake):
    mark = marker()
    response = client.responses.create(model=MODELS[kind], input=f"hello {mark}", instructions="Be brief.")
    assert response.output_text == f"You said: hello {mark}"
    assert (response.model, response.status, response.instructions) == (MODELS[kind], "completed", "Be brief.")
    assert response.id.startswith("resp_") and response.usage is not None and response.usage.total_tokens > 0
    assert len(upstream_requests(fake, mark, kind)) == 1


def test_an_openai_deployment_gets_the_clients_body_with_only_the_model_rewritten(client, fake):
    mark = marker()
    body = {"input": [{"role": "user", "content": f"as is {mark}"}], "instructions": "x", "temperature": 0.5,
            "metadata": {"team": "a"}, "include": ["reasoning.encrypted_content"], "store": True}
    client.responses.create(model="gpt", **body)
    (sent,) = upstream_requests(fake, mark, "openai")
    assert sent["body"] == {**body, "model": "gpt-up"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_works_with_the_sdks_event_helpers_and_final_response(kind, client):
    mark = marker()
    with client.responses.stream(model=MODELS[kind], input=f"stream {mark} please") as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == final.output_text == f"You said: stream {mark} please"
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text_done = [event for event in events if event.type == "response.output_text.done"]
    assert text_done and text_done[0].text == final.output_text
    assert final.model == MODELS[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_a_raw_stream_names_each_event_numbers_them_in_order_and_ends_without_done(kind, gateway, keys):
    raw = raw_post(gateway, keys["alice"], {"model": MODELS[kind], "input": "raw", "stream": True})
    parsed = frames(raw)
    assert all(name == data["type"] for name, data in parsed)
    assert [data["sequence_number"] for _, data in parsed] == list(range(len(parsed)))
    assert parsed[-1][0] == "response.completed"
    assert b"[DONE]" not in raw


# --- the stored response ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_response_is_retrieved_whole_and_as_a_replayed_stream(kind, client):
    mark = marker()
    with client.responses.stream(model=MODELS[kind], input=f"keep {mark}") as stream:
        made = stream.get_final_response()
    again = client.responses.retrieve(made.id)
    assert (again.id, again.output_text, again.status) == (made.id, made.output_text, "completed")
    replay = list(client.responses.retrieve(made.id, stream=True))
    assert replay[0].type == "response.created" and replay[-1].type == "response.completed"
    assert replay[-1].response.output_text == made.output_text
    later = list(client.responses.retrieve(made.id, stream=True, starting_after=2))
    assert [event.sequence_number for event in later] == [event.sequence_number for event in replay[3:]]


@pytest.mark.parametrize("kind", TRANSLATED)
def test_a_response_made_whole_is_replayed_as_the_stream_that_would_have_made_it(kind, client):
    made = client.responses.create(model=MODELS[kind], input="whole then streamed")
    replay = list(client.responses.retrieve(made.id, stream=True))
    deltas = "".join(event.delta for event in replay if event.type == "response.output_text.delta")
    assert deltas == made.output_text and replay[-1].response.id == made.id


@pytest.mark.parametrize("kind", KINDS)
def test_input_items_list_the_input_newest_first_in_pages(kind, client):
    made = client.responses.create(model=MODELS[kind], input=[
        {"role": "developer", "content": "Answer in French."}, {"role": "user", "content": "one"},
        {"role": "user", "content": "two"}])
    listing = client.responses.input_items.list(made.id)
    texts = [item.content[0].text for item in listing.data]
    assert texts == ["two", "one", "Answer in French."]
    assert all(item.id for item in listing.data)
    first = client.responses.input_items.list(made.id, order="asc", limit=1)
    assert [item.content[0].text for item in first.data] == ["Answer in French."] and first.has_more
    rest = client.responses.input_items.list(made.id, order="asc", after=first.data[0].id)
    assert [item.content[0].text for item in rest.data] == ["one", "two"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_deleted_response_is_gone(kind, client):
    made = client.responses.create(model=MODELS[kind], input="short-lived")
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


@pytest.mark.parametrize("kind", TRANSLATED)
def test_store_false_keeps_nothing(kind, client):
    made = client.responses.create(model=MODELS[kind], input="forget me", store=False)
    assert made.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


@pytest.mark.parametrize("kind", KINDS)
def test_another_key_gets_404_for_a_stored_response(kind, client, gateway, keys):
    made = client.responses.create(model=MODELS[kind], input="mine")
    other = sdk(gateway, keys["bob"])
    for read in (lambda: other.responses.retrieve(made.id), lambda: other.responses.input_items.list(made.id),
                 lambda: other.responses.delete(made.id), lambda: other.responses.cancel(made.id),
                 lambda: other.responses.create(model=MODELS[kind], input="x", previous_response_id=made.id)):
        with pytest.raises(openai.NotFoundError):
            read()
    assert client.responses.retrieve(made.id).id == made.id  # still there for its owner


# --- background runs ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_background_response_is_queued_then_retrieved_completed(kind, client):
    made = client.responses.create(model=MODELS[kind], input="in the background", background=True)
    assert (made.status, made.background) == ("queued", True)
    deadline = time.monotonic() + 10
    while (current := client.responses.retrieve(made.id)).status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (current.id, current.status, current.output_text) == (made.id, "completed", "You said: in the background")
    assert current.background is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_background_response_is_cancelled_while_it_runs(kind, client):
    made = client.responses.create(model=MODELS[kind], input="slow " + fake_directive(hang_s=5), background=True)
    started = time.monotonic()
    cancelled = client.responses.cancel(made.id)
    assert (cancelled.id, cancelled.status) == (made.id, "cancelled")
    assert time.monotonic() - started < 4
    assert client.responses.retrieve(made.id).status == "cancelled"


@pytest.mark.parametrize("kind", TRANSLATED)
def test_a_streamed_retrieve_follows_a_background_run_live(kind, client):
    made = client.responses.create(model=MODELS[kind], input="live " + fake_directive(delay_ms=30, chunks=5),
                                   background=True)
    events = list(client.responses.retrieve(made.id, stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.id == made.id
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "You said: live"


def test_only_a_background_response_can_be_cancelled(client):
    made = client.responses.create(model="claude", input="foreground")
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(made.id)


# --- counting and compaction --------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_input_tokens_are_counted_upstream_where_it_can_and_estimated_and_marked_elsewhere(kind, client, fake):
    mark = marker()
    counted = client.responses.input_tokens.count(model=MODELS[kind], input=f"count these tokens {mark}",
                                                  tools=[WEATHER])
    assert counted.object == "response.input_tokens" and counted.input_tokens > 0
    estimated = (counted.model_extra or {}).get("estimated")
    assert estimated is (True if kind in ("gemini", "chat") else None)
    paths = [r["path"] for r in received(fake.url, mark)]
    assert paths == {"openai": ["/v1/responses/input_tokens"], "anthropic": ["/v1/messages/count_tokens"]}.get(kind, [])


def test_compact_is_forwarded_to_an_openai_deployment(client):
    compacted = client.responses.compact(model="gpt", input=[{"role": "user", "content": "a long talk"}])
    assert compacted.object == "response.compaction" and compacted.output[-1].type == "compaction"


@pytest.mark.parametrize("kind", TRANSLATED)
def test_compact_elsewhere_is_a_400_naming_the_limitation(kind, client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.compact(model=MODELS[kind], input="a long talk")
    assert "only an OpenAI deployment with the Responses API compacts" in raised.value.message
    assert raised.value.code == "unsupported_operation"


# --- conversations ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_three_turn_previous_response_id_chain_gives_the_model_the_whole_conversation(kind, client, fake):
    mark = marker()
    first = client.responses.create(model=MODELS[kind], input=f"first {mark}")
    second = client.responses.create(model=MODELS[kind], input=f"second {mark}", previous_response_id=first.id)
    third = client.responses.create(model=MODELS[kind], input=f"third {mark}", previous_response_id=second.id)
    assert third.output_text == f"You said: third {mark}" and third.previous_response_id == second.id
    last = upstream_requests(fake, mark, kind)[-1]["body"]
    if kind == "openai":  # the upstream keeps the conversation: the id goes to it as the client sent it
        assert last["previous_response_id"] == second.id
        return
    said = json.dumps(last)
    order = [said.index(f"first {mark}"), said.index(f"You said: first {mark}"), said.index(f"second {mark}"),
             said.index(f"You said: second {mark}"), said.index(f"third {mark}")]
    assert order == sorted(order)
    listed = [item.id for item in client.responses.input_items.list(third.id, order="asc").data]
    assert len(listed) == 5  # three user turns and the two answers between them


class Weather(pydantic.BaseModel):
    city: str
    temperature: int


@pytest.mark.parametrize("kind", KINDS)
def test_structured_output_comes_back_parsed_and_the_schema_reaches_the_upstream(kind, client, fake):
    mark = marker()
    answer = fake_directive(text=json.dumps({"city": "Paris", "temperature": 21}))
    parsed = client.responses.parse(model=MODELS[kind], input=f"weather {mark} {answer}", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Paris", temperature=21)
    sent = json.dumps(upstream_requests(fake, mark, kind)[0]["body"])
    assert '"temperature"' in sent and '"city"' in sent  # the schema, in the upstream's own dialect


@pytest.mark.parametrize("kind", KINDS)
def test_function_tools_work_over_several_turns(kind, client, fake):
    mark = marker()
    call = fake_directive(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    first = client.responses.create(model=MODELS[kind], tools=[WEATHER], input=f"weather in Paris? {mark} {call}")
    (function_call,) = [item for item in first.output if item.type == "function_call"]
    assert (function_call.name, json.loads(function_call.arguments)) == ("get_weather", {"city": "Paris"})
    second = client.responses.create(model=MODELS[kind], tools=[WEATHER], previous_response_id=first.id,
                                     input=[{"type": "function_call_output", "call_id": function_call.call_id,
                                             "output": f"sunny {mark}"}])
    assert second.output_text.startswith("Tool results: ") and f"sunny {mark}" in second.output_text
    with client.responses.stream(model=MODELS[kind], tools=[WEATHER], previous_response_id=second.id,
                                 input=f"and tomorrow? {mark} {call}") as stream:
        third = stream.get_final_response()
    (again,) = [item for item in third.output if item.type == "function_call"]
    assert json.loads(again.arguments) == {"city": "Paris"} and again.call_id


@pytest.mark.parametrize("kind", TRANSLATED)
def test_an_item_reference_to_a_kept_item_is_replaced_by_the_item(kind, client, fake):
    mark = marker()
    first = client.responses.create(model=MODELS[kind], input=f"remember {mark}")
    client.responses.create(model=MODELS[kind], input=[
        {"type": "item_reference", "id": first.output[0].id}, {"role": "user", "content": f"and now {mark}"}])
    last = json.dumps(upstream_requests(fake, mark, kind)[-1]["body"])
    assert f"You said: remember {mark}" in last


def test_a_previous_response_of_an_openai_deployment_is_continued_there_only(client, fake):
    first = client.responses.create(model="gpt", input="kept upstream")
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="claude", input="elsewhere", previous_response_id=first.id)
    assert raised.value.code == "response_unreachable"


def test_a_conversation_kept_by_the_gateway_continues_on_an_openai_deployment(client, fake):
    mark = marker()
    first = client.responses.create(model="claude", input=f"begun on claude {mark}")
    moved = client.responses.create(model="gpt", input=f"go on {mark}", previous_response_id=first.id)
    assert moved.output_text == f"You said: go on {mark}" and moved.previous_response_id == first.id
    (sent,) = upstream_requests(fake, mark, "openai")
    assert "previous_response_id" not in sent["body"]
    assert f"You said: begun on claude {mark}" in json.dumps(sent["body"]["input"])


def test_a_background_response_shows_in_the_database_after_a_restart(fake, tmp_path: Path):
    """Written off the request path, but written: a second gateway on the same database finds it."""
    config = {
        "auth": {"master_key": MASTER, "secret": "responses-secret-0002"},
        "database_url": f"sqlite:///{tmp_path}/restart.db",
        "providers": {"claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["claude-key-0005"]}},
        "models": {"claude": [{"provider": "claude", "model": "claude-up", "max_tokens_default": 1024}]},
    }
    with start_gateway(config) as first:
        made = sdk(first, MASTER).responses.create(model="claude", input="durable")
    with start_gateway(config) as second:
        assert sdk(second, MASTER).responses.retrieve(made.id).output_text == "You said: durable"


def test_reasoning_kept_by_the_gateway_is_shown_as_include_asks_and_replayed_to_anthropic(client, fake):
    mark = marker()
    thinking = fake_directive(thinking="Let me think.")
    made = client.responses.create(model="claude", input=f"ponder {mark} {thinking}", reasoning={"effort": "low"},
                                   include=["reasoning.encrypted_content"])
    (reasoning,) = [item for item in made.output if item.type == "reasoning"]
    assert reasoning.encrypted_content
    assert client.responses.retrieve(made.id).output[0].encrypted_content is None
    shown = client.responses.retrieve(made.id, include=["reasoning.encrypted_content"])
    assert shown.output[0].encrypted_content == reasoning.encrypted_content
    client.responses.create(model="claude", input=f"go on {mark}", reasoning={"effort": "low"},
                            previous_response_id=made.id)
    replayed = upstream_requests(fake, mark, "anthropic")[-1]["body"]["messages"]
    assistant = next(message for message in replayed if message["role"] == "assistant")
    assert assistant["content"][0]["type"] == "thinking" and assistant["content"][0]["signature"]


def test_the_api_v1_prefix_serves_the_responses_api_too(gateway, keys):
    api = openai.OpenAI(base_url=f"{gateway.url}/api/v1", api_key=keys["alice"], max_retries=0, timeout=30)
    made = api.responses.create(model="claude", input="prefixed")
    assert api.responses.retrieve(made.id).output_text == "You said: prefixed"


def test_a_background_stream_is_followed_from_its_first_event(client):
    events = list(client.responses.create(model="gemini", input="both", background=True, stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert events[-1].response.background is True
    assert client.responses.retrieve(events[-1].response.id).status == "completed"


def test_a_simulated_stream_of_a_responses_upstream_is_told_from_its_whole_answer(client, fake):
    mark = marker()
    with client.responses.stream(model="gpt-sim", input=f"simulated {mark}") as stream:
        final = stream.get_final_response()
    assert final.output_text == f"You said: simulated {mark}"
    (sent,) = upstream_requests(fake, mark, "openai")
    assert "stream" not in sent["body"] or sent["body"]["stream"] is False


def test_a_create_fails_over_like_chat_and_the_answer_says_who_made_it(client):
    raw = client.responses.with_raw_response.create(model="failover", input="fail over")
    assert raw.headers["x-llmswitch-attempts"] == "2" and raw.headers["x-llmswitch-provider"] == "claude"
    made = raw.parse()
    assert client.responses.retrieve(made.id).output_text == "You said: fail over"  # kept: claude is translated


def test_a_background_run_the_gateway_stops_is_kept_as_failed(fake, tmp_path: Path):
    """Its upstream call is ended with the shutdown's 503; the run records that before the store closes."""
    config = {
        "auth": {"master_key": MASTER, "secret": "responses-secret-0002"},
        "database_url": f"sqlite:///{tmp_path}/stopped.db", "server": {"shutdown_grace_s": 0},
        "providers": {"claude": {"type": "anthropic", "base_url": fake.url, "api_keys": ["claude-key-0005"]}},
        "models": {"claude": [{"provider": "claude", "model": "claude-up", "max_tokens_default": 1024}]},
    }
    with start_gateway(config) as first:
        made = sdk(first, MASTER).responses.create(model="claude", input="slow " + fake_directive(hang_s=30),
                                                   background=True)
    with start_gateway(config) as second:
        stopped = sdk(second, MASTER).responses.retrieve(made.id)
    assert stopped.status == "failed" and stopped.error is not None
    assert "shutting down" in stopped.error.message
