"""Gemini stream chunks -> OpenAI chunks, checked with openai-python's own accumulator."""

from __future__ import annotations

import json
from typing import Any

from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from llmswitch.dialects.gemini import GeminiToOpenAIStream, gemini_response_to_events
from llmswitch.dialects.types import StreamContext
from llmswitch.dialects.usage import Usage


def chunk(*parts: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], **extra}


def call(name: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"functionCall": {"name": name, "args": args or {}}}


def run(events: list[dict[str, Any]], include_usage: bool = False) -> list[dict[str, Any]]:
    translator = GeminiToOpenAIStream(StreamContext(client_model="my-model", include_usage=include_usage))
    out: list[dict[str, Any]] = []
    for event in events:
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return out


def accumulate(chunks: list[dict[str, Any]]) -> Any:
    """What an openai-python client ends up with; raises on a stream it cannot assemble."""
    state = ChatCompletionStreamState()
    for raw in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(json.loads(json.dumps(raw))))
    return state.current_completion_snapshot  # get_final_completion() raises on length/content_filter


def test_text_stream_accumulates_to_the_answer_with_stop():
    completion = accumulate(run([chunk({"text": "Hel"}), chunk({"text": "lo"}, finish="STOP")]))
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Hello", "stop")
    assert completion.model == "my-model"


def test_role_chunk_comes_first_and_only_once():
    out = run([chunk({"text": "a"}), chunk({"text": "b"}, finish="STOP")])
    roles = [c["choices"][0]["delta"].get("role") for c in out if c["choices"]]
    assert roles[0] == "assistant" and roles.count("assistant") == 1


def test_every_chunk_shares_one_id_and_created():
    out = run([chunk({"text": "a"}, responseId="r1"), chunk({"text": "b"}, finish="STOP", responseId="r1")],
              include_usage=True)
    assert {c["id"] for c in out} == {"chatcmpl-r1"} and len({c["created"] for c in out}) == 1


def test_bug2_parallel_calls_get_distinct_indices_and_keep_their_arguments():
    out = run([chunk(call("a", {"x": 1}), call("b", {"y": 2})), chunk(call("c"), finish="STOP")])
    message = accumulate(out).choices[0].message
    assert [c.function.name for c in message.tool_calls] == ["a", "b", "c"]
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [{"x": 1}, {"y": 2}, {}]
    indices = [fragment["index"] for c in out if c["choices"]
               for fragment in c["choices"][0]["delta"].get("tool_calls", [])]
    assert indices == [0, 1, 2]


def test_bug3_stream_with_calls_finishes_with_tool_calls():
    assert accumulate(run([chunk(call("f"), finish="STOP")])).choices[0].finish_reason == "tool_calls"


def test_bug5_streamed_call_without_arguments_has_empty_object_arguments():
    completion = accumulate(run([chunk({"functionCall": {"name": "now"}}, finish="STOP")]))
    [tool_call] = completion.choices[0].message.tool_calls
    assert tool_call.function.arguments == "{}"


def test_streamed_calls_get_unique_synthesized_ids():
    calls = accumulate(run([chunk(call("f"), call("f"), finish="STOP")])).choices[0].message.tool_calls
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)


def test_thought_signature_travels_on_the_streamed_tool_call():
    out = run([chunk({**call("f"), "thoughtSignature": "c2ln"}, finish="STOP")])
    [fragment] = [t for c in out if c["choices"] for t in c["choices"][0]["delta"].get("tool_calls", [])]
    assert fragment["extra_content"] == {"google": {"thought_signature": "c2ln"}}
    accumulate(out)


def test_thoughts_stream_as_reasoning_content():
    out = run([chunk({"text": "hmm", "thought": True}), chunk({"text": "42"}, finish="STOP")])
    deltas = [c["choices"][0]["delta"] for c in out if c["choices"]]
    assert {"reasoning_content": "hmm"} in deltas and {"content": "42"} in deltas


def test_max_tokens_finishes_with_length():
    assert accumulate(run([chunk({"text": "a"}, finish="MAX_TOKENS")])).choices[0].finish_reason == "length"


def test_blocked_prompt_finishes_with_content_filter():
    completion = accumulate(run([{"promptFeedback": {"blockReason": "SAFETY"}}]))
    assert completion.choices[0].finish_reason == "content_filter"


def test_usage_chunk_comes_last_with_empty_choices_when_asked():
    meta = {"promptTokenCount": 10, "candidatesTokenCount": 3, "thoughtsTokenCount": 2,
            "cachedContentTokenCount": 4}
    out = run([chunk({"text": "a"}, usageMetadata={"promptTokenCount": 10}),
               chunk({"text": "b"}, finish="STOP", usageMetadata=meta)], include_usage=True)
    assert out[-1]["choices"] == [] and out[-1]["usage"]["completion_tokens"] == 5
    assert all(c["usage"] is None for c in out[:-1])
    assert accumulate(out).usage.prompt_tokens == 10


def test_no_usage_chunk_when_not_asked_but_usage_is_still_read():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m"))
    out = translator.feed(chunk({"text": "a"}, finish="STOP", usageMetadata={"promptTokenCount": 7,
                                                                            "candidatesTokenCount": 1}))
    out += translator.finish()
    assert all(c["choices"] and "usage" not in c for c in out)
    assert translator.usage == Usage(prompt_tokens=7, completion_tokens=1)


def test_saw_content_turns_true_only_with_content():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m"))
    translator.feed(chunk())
    assert not translator.saw_content
    translator.feed(chunk({"text": "x"}))
    assert translator.saw_content


def test_chunks_without_parts_or_with_empty_text_are_not_content():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m"))
    translator.feed({"candidates": [{"index": 0}], "usageMetadata": {"promptTokenCount": 3}})
    translator.feed(chunk({"text": ""}))
    assert not translator.saw_content
    translator.feed(chunk(call("get")))
    assert translator.saw_content


def test_fail_gives_an_openai_error_frame():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m"))
    assert translator.fail(502, "api_error", "upstream broke") == [
        {"error": {"message": "upstream broke", "type": "api_error", "param": None, "code": "502"}}]


def test_fail_names_a_google_error_in_openai_words_by_its_status():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m"))
    [frame] = translator.fail(429, "RESOURCE_EXHAUSTED", "quota")
    assert frame == {"error": {"message": "quota", "type": "rate_limit_error", "param": None, "code": "429"}}


def test_fail_after_content_is_the_last_frame_with_no_finish_chunk_or_usage_after_it():
    translator = GeminiToOpenAIStream(StreamContext(client_model="m", include_usage=True))
    translator.feed(chunk({"text": "partial"}))
    translator.fail(503, "UNAVAILABLE", "high demand")
    assert translator.finish() == []


def test_a_whole_response_replayed_as_events_streams_to_the_same_message():
    body = {"candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
        {"text": "Let me check."}, {"functionCall": {"name": "f", "args": {"q": 1}}}]}}],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}
    completion = accumulate(run(gemini_response_to_events(body), include_usage=True))
    message = completion.choices[0].message
    assert message.content == "Let me check." and message.tool_calls[0].function.name == "f"
    assert completion.choices[0].finish_reason == "tool_calls" and completion.usage.total_tokens == 5
