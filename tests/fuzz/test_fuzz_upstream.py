"""Upstream answers of the wrong shape, of every provider kind, streaming or not: the client gets a
502 in its own dialect (or a correct answer, where what arrived could still be read whole).

The scripted upstream answers each request with the bytes the example chose: a valid answer of the
deployment's dialect with hostile mutations (`"usage": "x"`, `choices: null`, wrong types
anywhere), a body that is no JSON or is cut short, a stream with frames of the wrong event type,
not JSON, out of order or without its end, an error status with a body of any shape.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import PROVIDERS, Target
from tests.fuzz.hostile import encode, mutated
from tests.fuzz.scripted import Script, ScriptedUpstream
from tests.fuzz.tally import observe
from tests.fuzz.verdict import check
from tests.fuzz.wire import request

USAGE = {"openai": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                    "prompt_tokens_details": {"cached_tokens": 0}},
         "anthropic": {"input_tokens": 3, "output_tokens": 2, "cache_read_input_tokens": 0},
         "gemini": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}}


def whole_answer(kind: str) -> dict[str, Any]:
    """A valid non-streaming answer in KIND's dialect, with a text part and a tool call."""
    if kind == "openai":
        return {"id": "chatcmpl-s", "object": "chat.completion", "created": 1, "model": "up-openai",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
                    "role": "assistant", "content": "hello", "refusal": None, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]}}],
                "usage": USAGE["openai"]}
    if kind == "anthropic":
        return {"id": "msg_s", "type": "message", "role": "assistant", "model": "up-anthropic",
                "content": [{"type": "text", "text": "hello"},
                            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
                "stop_reason": "tool_use", "stop_sequence": None, "usage": USAGE["anthropic"]}
    return {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"text": "hello"}, {"functionCall": {"name": "f", "args": {"a": 1}}}]}}],
        "usageMetadata": USAGE["gemini"], "responseId": "r1"}


def stream_events(kind: str) -> list[Any]:
    """A valid stream of KIND's dialect, as event objects."""
    if kind == "openai":
        head = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": "up-openai"}
        return [{**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
                {**head, "choices": [{"index": 0, "delta": {"content": "hel"}}]},
                {**head, "choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]},
                {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {**head, "choices": [], "usage": USAGE["openai"]}]
    if kind == "anthropic":
        return [{"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant",
                                                      "model": "up-anthropic", "content": [], "stop_reason": None,
                                                      "stop_sequence": None, "usage": USAGE["anthropic"]}},
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hel"}},
                {"type": "content_block_stop", "index": 0},
                {"type": "content_block_start", "index": 1,
                 "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}},
                {"type": "content_block_delta", "index": 1,
                 "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}},
                {"type": "content_block_stop", "index": 1},
                {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                 "usage": {"output_tokens": 2}},
                {"type": "message_stop"}]
    return [{"candidates": [{"index": 0, "content": {"role": "model", "parts": [{"text": "hel"}]}}],
             "responseId": "r1"},
            {"candidates": [{"index": 0, "content": {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {"a": 1}}}]}, "finishReason": "STOP"}],
             "usageMetadata": USAGE["gemini"], "responseId": "r1"}]


def _sse(kind: str, events: list[Any], done: bool) -> bytes:
    out = b""
    for event in events:
        data = event if isinstance(event, bytes) else encode(event)
        if kind == "anthropic":
            name = event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else "bogus"
            out += b"event: " + name.encode("utf-8", "replace") + b"\n"
        out += b"data: " + data.replace(b"\n", b" ") + b"\n\n"
    return out + (b"data: [DONE]\n\n" if kind == "openai" and done else b"")


WHOLE_BODY_FAULTS = [b"", b"<html>502 Bad Gateway</html>", b"not json", b"[]", b"null", b"\"x\"", b"{", b"\xff\xfe"]
FRAME_FAULTS = [b"not json", b"{", b"[]", b'"text"', b"null", b'{"type": "bogus"}', b'{"type": 5}',
                b'{"choices": "x"}', b'{"candidates": ["x"]}', b'{"error": "x"}', b'{"error": {"code": "x"}}',
                b'{"type": "error", "error": "x"}', b'{"type": "content_block_delta", "delta": 5}']
ERROR_STATUSES = [400, 404, 413, 422, 500, 502, 504]  # 401/403/429 would disable or cool the only target


@st.composite
def scripts(draw: st.DrawFn, kind: str, stream: bool) -> Script:
    """The upstream's answer: mostly a valid one, mutated; else one of the faults above."""
    fault = draw(st.sampled_from(["mutated"] * 6 + ["whole body", "error status", "frames", "truncated"]))
    if fault == "error status":
        body = draw(st.sampled_from(WHOLE_BODY_FAULTS) | mutated(st.just({"error": {"message": "m", "type": "t"}}))
                    .map(encode))
        return Script(draw(st.sampled_from(ERROR_STATUSES)), "application/json", body)
    if fault == "whole body":
        return Script(200, draw(st.sampled_from(["application/json", "text/html", "text/event-stream"])),
                      draw(st.sampled_from(WHOLE_BODY_FAULTS)))
    if not stream:
        body = encode(draw(mutated(st.just(whole_answer(kind)), max_mutations=2)))
        if fault == "truncated":
            body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
        framing = draw(st.sampled_from(["length", "length", "chunked", "close", "short"]))
        return Script(200, "application/json", body, framing)
    events: list[Any] = draw(mutated(st.just(stream_events(kind)), max_mutations=2))
    if not isinstance(events, list):
        events = [events]
    if fault == "frames":
        at = draw(st.integers(0, len(events)))
        events = [*events[:at], draw(st.sampled_from(FRAME_FAULTS)), *events[at:]]
    body = _sse(kind, events, done=draw(st.booleans()) or fault != "truncated")
    if fault == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    return Script(200, "text/event-stream", body, draw(st.sampled_from(["chunked", "close", "short"])))


def _ask(client: str, model: str, token: str, stream: bool) -> tuple[str, bytes]:
    if client == "openai":
        body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": f"say {token}"}],
                                "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return "/v1/chat/completions", json.dumps(body).encode()
    return "/v1/messages", json.dumps({"model": model, "max_tokens": 50, "stream": stream,
                                       "messages": [{"role": "user", "content": f"say {token}"}]}).encode()


@fuzz_settings(600)
@given(data=st.data())
def test_upstream_answers_of_the_wrong_shape_are_a_502_in_the_clients_dialect(
        shapes_gateway: Target, scripted: ScriptedUpstream, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(PROVIDERS), label="upstream kind")
    client = data.draw(st.sampled_from(["openai", "anthropic"]), label="client dialect")
    stream = data.draw(st.booleans(), label="client streams")
    simulated = data.draw(st.booleans(), label="simulated stream")
    model = f"bad-{kind}-sim" if simulated else f"bad-{kind}"
    script = data.draw(scripts(kind, stream and not simulated), label="upstream answer")
    token = scripted.register(script)
    path, body = _ask(client, model, token, stream)
    headers: dict[str, str | bytes] = {"content-type": "application/json"}
    route = "chat" if client == "openai" else "messages"
    observe(f"POST {path} (upstream {kind}{' simulated' if simulated else ''})",
            lambda: request(shapes_gateway.base, "POST", path, body, headers),
            lambda answer: check(answer, route, path, upstream_fault=True, model=model,
                                 upstream_status=_status_said(script)))


def _status_said(script: Script) -> int:
    """The status the upstream gave its failure: its HTTP status, or for an error frame in a 200
    stream the 500 of an error that names no type (an in-stream error fails as an HTTP one would)."""
    return 500 if script.status == 200 and b'"error"' in script.body else script.status


@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_an_upstream_answer_over_one_mebibyte_is_read_whole(shapes_gateway: Target, scripted: ScriptedUpstream,
                                                            client: str) -> None:
    answer = whole_answer("openai")
    answer["choices"][0]["message"]["content"] = "x" * (2 * 1024 * 1024)
    token = scripted.register(Script(200, "application/json", json.dumps(answer).encode()))
    path, body = _ask(client, "bad-openai", token, False)
    observe(f"POST {path} (upstream openai)", lambda: request(shapes_gateway.base, "POST", path, body,
                                                             {"content-type": "application/json"}),
            lambda reply: check(reply, "chat" if client == "openai" else "messages", path, model="bad-openai"))
