"""The Anthropic dialect, driven by the official anthropic SDK, and the request checks it shares with the real API."""

from __future__ import annotations

from typing import Any

import aiohttp
import anthropic
import pytest

from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

HEADERS = {"x-api-key": "x", "anthropic-version": "2023-06-01"}


async def post(fake, body: dict[str, Any], headers: dict[str, str] = HEADERS) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/messages", json=body, headers=headers) as r:
            return r.status, await r.json()


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


async def test_create_echoes_the_last_user_message(anthropic_client):
    message = await anthropic_client.messages.create(model="claude-x", max_tokens=100,
                                                     messages=[user("hello there")])
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "You said: hello there"
    assert message.stop_reason == "end_turn"
    assert message.model == "claude-x"


async def test_stream_final_message_has_thinking_text_and_tool_use_in_order(anthropic_client):
    text = say(thinking="hmm", text="Checking.", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}},
                                                              {"name": "get_time", "arguments": {}}])
    async with anthropic_client.messages.stream(model="m", max_tokens=2000, messages=[user(text)]) as stream:
        message = await stream.get_final_message()
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use", "tool_use"]
    thinking, answer, weather, clock = message.content
    assert thinking.thinking == "hmm" and thinking.signature
    assert answer.text == "Checking."
    assert (weather.name, weather.input, clock.name, clock.input) == ("get_weather", {"city": "Paris"}, "get_time", {})
    assert message.stop_reason == "tool_use"


async def test_stream_text_arrives_in_the_asked_number_of_deltas(anthropic_client):
    async with anthropic_client.messages.stream(model="m", max_tokens=10,
                                                messages=[user(say("abc", chunks=3))]) as stream:
        deltas = [t async for t in stream.text_stream]
    assert "".join(deltas) == "You said: abc" and len(deltas) == 3


async def test_stream_reports_usage_in_message_start_and_message_delta(anthropic_client):
    usage = {"prompt": 100, "completion": 7, "cached": 40}
    async with anthropic_client.messages.stream(model="m", max_tokens=10,
                                                messages=[user(say(usage=usage))]) as stream:
        events = [e async for e in stream]
    start = next(e for e in events if e.type == "message_start")
    delta = next(e for e in events if e.type == "message_delta")
    assert (start.message.usage.input_tokens, start.message.usage.cache_read_input_tokens) == (60, 40)
    assert delta.usage.output_tokens == 7


async def test_every_stream_frame_has_an_event_line_and_one_is_a_ping(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/messages", headers=HEADERS, json={
                "model": "m", "max_tokens": 5, "stream": True, "messages": [user("x")]}) as r:
            frames = (await r.text()).strip().split("\n\n")
    events = [f.split("\n")[0] for f in frames]
    assert all(e.startswith("event: ") for e in events)
    assert "event: ping" in events
    assert (events[0], events[-1]) == ("event: message_start", "event: message_stop")


async def test_finish_length_is_max_tokens(anthropic_client):
    message = await anthropic_client.messages.create(model="m", max_tokens=10,
                                                     messages=[user(say(finish="length"))])
    assert message.stop_reason == "max_tokens"


async def test_count_tokens_counts_system_and_messages(anthropic_client):
    result = await anthropic_client.messages.count_tokens(model="m", system="s" * 20,
                                                          messages=[user("u" * 20)])
    assert result.input_tokens == 10


async def test_tool_results_are_echoed(anthropic_client):
    messages = [user("weather?"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}])]
    message = await anthropic_client.messages.create(model="m", max_tokens=10, messages=messages)
    assert message.content[0].text == "Tool results: sunny"


async def test_missing_max_tokens_is_rejected(fake):
    status, body = await post(fake, {"model": "m", "messages": [user("x")]})
    assert status == 400
    assert body["type"] == "error"
    assert body["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


async def test_missing_api_key_is_401(fake):
    status, body = await post(fake, {"model": "m", "max_tokens": 5, "messages": [user("x")]},
                              headers={"anthropic-version": "2023-06-01"})
    assert (status, body["error"]["type"]) == (401, "authentication_error")


async def test_missing_anthropic_version_is_rejected(fake):
    status, body = await post(fake, {"model": "m", "max_tokens": 5, "messages": [user("x")]},
                              headers={"x-api-key": "x"})
    assert status == 400 and "anthropic-version" in body["error"]["message"]


async def test_empty_text_block_is_rejected(anthropic_client):
    with pytest.raises(anthropic.BadRequestError, match="text content blocks must be non-empty"):
        await anthropic_client.messages.create(model="m", max_tokens=10, messages=[
            user([{"type": "text", "text": ""}, {"type": "text", "text": "hi"}])])


async def test_tool_use_id_outside_the_pattern_is_rejected(anthropic_client):
    messages = [user("x"), {"role": "assistant", "content": [{"type": "tool_use", "id": "call.1", "name": "w",
                                                              "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "call.1", "content": "ok"}])]
    with pytest.raises(anthropic.BadRequestError, match=r"\^\[a-zA-Z0-9_-\]\+\$"):
        await anthropic_client.messages.create(model="m", max_tokens=10, messages=messages)


async def test_tool_use_without_result_in_the_next_turn_is_rejected(anthropic_client):
    messages = [user("x"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}},
                                                  {"type": "tool_use", "id": "t2", "name": "w", "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "t1", "content": "a"}]),
                user([{"type": "tool_result", "tool_use_id": "t2", "content": "b"}])]
    with pytest.raises(anthropic.BadRequestError, match="ids were found without `tool_result` blocks"):
        await anthropic_client.messages.create(model="m", max_tokens=10, messages=messages)


async def test_mid_conversation_system_messages_and_blocks_are_accepted(fake):
    mid = {"type": "mid_conv_system", "content": [{"type": "text", "text": "be brief"}]}
    status, body = await post(fake, {"model": "m", "max_tokens": 5, "messages": [
        user("x"), {"role": "system", "content": "be nice"}, user([mid, {"type": "text", "text": "y"}])]})
    assert status == 200 and body["content"][0]["text"] == "You said: y"


async def test_temperature_above_one_is_rejected(fake):
    status, _ = await post(fake, {"model": "m", "max_tokens": 5, "temperature": 1.5, "messages": [user("x")]})
    assert status == 400


async def test_thinking_budget_not_below_max_tokens_is_rejected(fake):
    status, body = await post(fake, {"model": "m", "max_tokens": 2000, "messages": [user("x")],
                                     "thinking": {"type": "enabled", "budget_tokens": 2000}})
    assert status == 400 and "budget_tokens" in body["error"]["message"]


async def test_models_in_anthropic_shape_when_asked_by_the_sdk(anthropic_client):
    page = await anthropic_client.models.list()
    assert [m.id for m in page.data] == ["fake-model"]


async def test_thinking_replayed_with_its_signature_is_accepted(anthropic_client):
    first = await anthropic_client.messages.create(
        model="m", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[user(say(thinking="plan", tool_calls=[{"name": "w", "arguments": {}}]))])
    call = first.content[1]
    second = await anthropic_client.messages.create(
        model="m", max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[user("go"), {"role": "assistant", "content": [b.model_dump() for b in first.content]},
                  user([{"type": "tool_result", "tool_use_id": call.id, "content": "done"}])])
    assert second.content[0].text == "Tool results: done"


async def test_thinking_dropped_before_tool_use_is_rejected_when_thinking_is_on(anthropic_client):
    messages = [user("go"), {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w",
                                                               "input": {}}]},
                user([{"type": "tool_result", "tool_use_id": "t1", "content": "done"}])]
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking` or `redacted_thinking`"):
        await anthropic_client.messages.create(model="m", max_tokens=2000, messages=messages,
                                               thinking={"type": "enabled", "budget_tokens": 1024})


async def test_thinking_with_an_altered_signature_is_rejected(anthropic_client):
    messages = [user("go"), {"role": "assistant", "content": [{"type": "thinking", "thinking": "plan",
                                                               "signature": "forged"},
                                                              {"type": "text", "text": "ok"}]},
                user("next")]
    with pytest.raises(anthropic.BadRequestError, match="Invalid `signature`"):
        await anthropic_client.messages.create(model="m", max_tokens=10, messages=messages)
