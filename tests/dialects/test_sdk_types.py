"""Every role, content block and content part the installed official SDKs define is accepted.

The cases are read at test time from the SDKs' own type definitions (the TypedDict unions of
anthropic-sdk-python and openai-python), each with a minimal valid instance built from its
required fields, so a newer SDK that adds a role or a block fails here instead of in a user's
request. Accepted means: the route's validator passes it, and each translation to another
dialect either carries it or lists it in `x-llmswitch-dropped-params` (never a 500, never a
400 once the deployment allows dropping what its provider lacks).
"""

from __future__ import annotations

import collections.abc
import copy
import types
import typing
from typing import Any

import pydantic
import pytest
import typing_extensions
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionMessageParam

from llmswitch.surfaces.anthropic_messages import validate_request
from llmswitch.dialects.translate import translate_request
from llmswitch.dialects.types import RequestOptions
from llmswitch.surfaces.openai_chat import validate_chat_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
# Field values a bare "x" would make meaningless; everything else is the simplest value of its type.
MEANINGFUL = {"url": "https://example.com/a.png", "data": PNG, "file_data": "data:application/pdf;base64,JVBERi0=",
              "arguments": "{}", "id": "call_1", "tool_use_id": "call_1", "tool_call_id": "call_1"}
LENIENT = {"drop_unsupported": True}
TARGETS = {"anthropic": ("openai", "gemini"), "openai": ("anthropic", "gemini")}


# --- minimal instances from type hints -------------------------------------------------------

def _hints(cls: type) -> dict[str, Any]:
    return typing_extensions.get_type_hints(cls, include_extras=True)


def _strip(tp: Any) -> Any:
    """The type inside Required/NotRequired/Annotated wrappers."""
    while typing.get_origin(tp) in (typing.Required, typing.NotRequired, typing.Annotated,
                                    typing_extensions.Required, typing_extensions.NotRequired):
        tp = typing.get_args(tp)[0]
    return tp


def variants(tp: Any) -> list[Any]:
    """The members of a (possibly nested, possibly Annotated) union, or the type itself."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(tp) for member in variants(arg)]
    return [tp]


def minimal(tp: Any, name: str = "") -> Any:
    """The smallest valid value of TP: required keys only, first union member that is not None."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if name in MEANINGFUL and tp is str:
        return MEANINGFUL[name]
    if origin is typing.Literal:
        return typing.get_args(tp)[0]
    if origin in (typing.Union, types.UnionType):
        return minimal(next(arg for arg in typing.get_args(tp) if arg is not type(None)), name)
    if origin is not None and isinstance(origin, type) and issubclass(origin, collections.abc.Mapping):
        return {}
    if origin is not None and (getattr(origin, "__name__", "") == "SequenceNotStr" or
                               (isinstance(origin, type) and issubclass(origin, collections.abc.Iterable))):
        return [minimal(typing.get_args(tp)[0], name)]
    if typing_extensions.is_typeddict(tp):
        return {key: minimal(hint, key) for key, hint in _hints(tp).items()
                if typing.get_origin(hint) in (typing.Required, typing_extensions.Required)}
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return {field.alias or key: minimal(field.annotation, key)
                for key, field in tp.model_fields.items() if field.is_required()}
    return {str: "x", int: 1, float: 1.0, bool: True, object: {}}.get(tp, "x")


def kinds(cls: Any) -> tuple[str, ...]:
    """The `type` (or `role`) literals a TypedDict or model declares (one class may declare several)."""
    hints = _hints(cls) if typing_extensions.is_typeddict(cls) else {k: f.annotation for k, f in
                                                                     cls.model_fields.items()}
    return typing.get_args(_strip(hints.get("type") or hints["role"]))


def by_kind(classes: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for cls in classes:
        for name in kinds(cls):
            found.setdefault(name, cls)
    return found


def instance(cls: Any, name: str) -> dict[str, Any]:
    """A minimal instance of CLS whose `type` (or `role`) is NAME."""
    value = minimal(cls)
    value["type" if "type" in value else "role"] = name
    return value  # type: ignore[no-any-return]


def content_members(message_class: type) -> list[Any]:
    """The block/part types a message class's `content` list may hold."""
    lists = [member for member in variants(_hints(message_class)["content"])
             if typing.get_origin(member) is not None and typing.get_args(member)]
    return [member for listed in lists for member in variants(typing.get_args(listed)[0])]


# --- what the installed SDKs define ----------------------------------------------------------

ANTHROPIC_MESSAGES = by_kind(variants(MessageParam))
ANTHROPIC_BLOCKS = by_kind([member for cls in ANTHROPIC_MESSAGES.values() for member in content_members(cls)])
ANTHROPIC_TOOL_RESULT_BLOCKS = by_kind(content_members(ANTHROPIC_BLOCKS["tool_result"]))
OPENAI_MESSAGES = by_kind(variants(ChatCompletionMessageParam))
OPENAI_PARTS = {(role, name): part for role, cls in OPENAI_MESSAGES.items() if "content" in _hints(cls)
                for name, part in by_kind(content_members(cls)).items()}
OPENAI_TOOL_CALLS = by_kind(variants(typing.get_args(_strip(_hints(OPENAI_MESSAGES["assistant"])["tool_calls"]))[0]))


def test_the_enumeration_finds_what_the_sdks_are_known_to_define():
    assert {"user", "assistant", "system"} <= ANTHROPIC_MESSAGES.keys()
    assert {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
            "server_tool_use", "search_result"} <= ANTHROPIC_BLOCKS.keys()
    assert {"system", "developer", "user", "assistant", "tool", "function"} <= OPENAI_MESSAGES.keys()
    assert {("user", "text"), ("user", "image_url"), ("user", "input_audio"), ("user", "file"),
            ("assistant", "refusal"), ("tool", "text")} <= OPENAI_PARTS.keys()
    assert {"function", "custom"} <= OPENAI_TOOL_CALLS.keys()


# --- Anthropic Messages ----------------------------------------------------------------------

def anthropic_body(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 64, "messages": list(messages)}


def anthropic_turns(block: dict[str, Any]) -> list[dict[str, Any]]:
    """BLOCK in the conversation where it belongs: a call before its result, a result after its call."""
    call = {"type": "tool_use", "id": "call_1", "name": "x", "input": {}}
    if block["type"] == "tool_result":
        return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [call]},
                {"role": "user", "content": [block]}]
    if block["type"] == "tool_use":
        return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [block]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"]}]}]
    return [{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}]


def assert_carried_or_listed(src: str, with_it: dict[str, Any], without_it: dict[str, Any] | None) -> None:
    for dst in TARGETS[src]:
        translated = translate_request(src, dst, with_it, RequestOptions("up", False, **LENIENT))
        if without_it is not None:
            baseline = translate_request(src, dst, without_it, RequestOptions("up", False, **LENIENT))
            if translated.body == baseline.body:
                assert set(translated.dropped) - set(baseline.dropped), f"{dst} lost it without listing it"


@pytest.mark.parametrize("role", sorted(ANTHROPIC_MESSAGES))
def test_every_anthropic_message_role_is_accepted(role: str):
    message = instance(ANTHROPIC_MESSAGES[role], role)
    body = anthropic_body(*([message, {"role": "user", "content": "hi"}] if role != "user" else [message]))
    validate_request(body)
    assert_carried_or_listed("anthropic", body, None)


@pytest.mark.parametrize("block_type", sorted(ANTHROPIC_BLOCKS))
def test_every_anthropic_content_block_is_accepted(block_type: str):
    block = instance(ANTHROPIC_BLOCKS[block_type], block_type)
    body = anthropic_body(*anthropic_turns(block))
    validate_request(body)
    plain = None if block_type in ("tool_use", "tool_result") else anthropic_body(
        {"role": "user", "content": [{"type": "text", "text": "hi"}]})
    assert_carried_or_listed("anthropic", body, plain)


@pytest.mark.parametrize("block_type", sorted(ANTHROPIC_TOOL_RESULT_BLOCKS))
def test_every_block_a_tool_result_may_hold_is_accepted(block_type: str):
    result = {"type": "tool_result", "tool_use_id": "call_1",
              "content": [{"type": "text", "text": "ok"}, instance(ANTHROPIC_TOOL_RESULT_BLOCKS[block_type], block_type)]}
    body = anthropic_body(*anthropic_turns(result))
    validate_request(body)
    plain = copy.deepcopy(body)
    plain["messages"][-1]["content"][0]["content"] = [{"type": "text", "text": "ok"}]
    assert_carried_or_listed("anthropic", body, None if block_type == "text" else plain)


# --- OpenAI Chat Completions -----------------------------------------------------------------

def openai_body(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages)}


def openai_turns(message: dict[str, Any]) -> list[dict[str, Any]]:
    """MESSAGE in the conversation where it belongs (a tool message after the call it answers)."""
    hi = {"role": "user", "content": "hi"}
    if message["role"] == "tool":
        call = {"id": "call_1", "type": "function", "function": {"name": "x", "arguments": "{}"}}
        return [hi, {"role": "assistant", "tool_calls": [call]}, message]
    return [message, hi] if message["role"] in ("system", "developer") else [hi, message]


@pytest.mark.parametrize("role", sorted(OPENAI_MESSAGES))
def test_every_openai_message_role_is_accepted(role: str):
    body = openai_body(*openai_turns(instance(OPENAI_MESSAGES[role], role)))
    validate_chat_request(body)
    assert_carried_or_listed("openai", body, None)


@pytest.mark.parametrize(("role", "part_type"), sorted(OPENAI_PARTS))
def test_every_openai_content_part_is_accepted_in_every_role_that_takes_it(role: str, part_type: str):
    part = instance(OPENAI_PARTS[role, part_type], part_type)
    message = {**instance(OPENAI_MESSAGES[role], role), "content": [part]}
    body = openai_body(*openai_turns(message))
    validate_chat_request(body)
    plain = openai_body(*openai_turns({**message, "content": [{"type": "text", "text": "hi"}]}))
    assert_carried_or_listed("openai", body, None if part_type == "text" else plain)


@pytest.mark.parametrize("call_type", sorted(OPENAI_TOOL_CALLS))
def test_every_openai_tool_call_type_is_accepted_in_history(call_type: str):
    call = instance(OPENAI_TOOL_CALLS[call_type], call_type)
    body = openai_body({"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [call]},
                       {"role": "tool", "tool_call_id": call["id"], "content": "ok"})
    validate_chat_request(body)
    assert_carried_or_listed("openai", body, None)
