"""Every input item, content part, tool and tool_choice openai-python's Responses types define is accepted.

The cases are read at test time from the installed SDK's TypedDict unions (`ResponseInputItemParam`,
the message and tool-output content lists, `ToolParam`, the create params' `tool_choice`), each as a
minimal valid instance, so a newer SDK that adds an item type fails here instead of in a user's
request. Accepted means: /v1/responses validation passes it, and the translation towards every
provider dialect (Chat, and through it Anthropic and Gemini) carries it or lists it in
`x-llmswitch-dropped-params`; never an error once the deployment allows dropping what it lacks.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from openai.types.responses import ResponseInputItemParam, ToolParam
from openai.types.responses.easy_input_message_param import EasyInputMessageParam
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from openai.types.responses.response_input_item_param import FunctionCallOutput

from llmswitch.dialects import anthropic_request, gemini
from llmswitch.dialects.chain import chain_requests
from llmswitch.dialects.responses_request import responses_to_chat_request, validate_request
from llmswitch.dialects.types import RequestOptions
from tests.dialects.test_sdk_types import PNG, _hints, _strip, content_members, minimal, variants

TARGETS = {"openai": responses_to_chat_request,
           "anthropic": chain_requests(responses_to_chat_request, anthropic_request.openai_to_anthropic_request),
           "gemini": chain_requests(responses_to_chat_request, gemini.openai_to_gemini_request)}
LENIENT = RequestOptions("up", False, drop_unsupported=True)
# A part the API would refuse without its payload, which the SDK leaves optional (one of several).
PAYLOAD = {"input_image": {"image_url": f"data:image/png;base64,{PNG}"},
           "input_file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}}
HI = {"role": "user", "content": "hi"}


def type_names(cls: Any) -> list[str]:
    """The `type` literals a class may take, an optional `type` (ItemReference's) included."""
    return [name for member in variants(_hints(cls)["type"]) if typing.get_origin(member) is typing.Literal
            for name in typing.get_args(member)]


def cases(classes: list[Any]) -> list[tuple[str, Any]]:
    """(type literal, class) for every class and every `type` it may take; classes sharing a type all count."""
    return [(name, cls) for cls in classes for name in type_names(cls)]


def instance(cls: Any, name: str) -> dict[str, Any]:
    value: dict[str, Any] = minimal(cls)
    value["type"] = name
    value.update(PAYLOAD.get(name, {}))
    return value


def case_id(case: tuple[str, Any]) -> str:
    return f"{case[0]}-{case[1].__name__}"


ITEMS = cases(variants(ResponseInputItemParam))
PARTS = cases(content_members(EasyInputMessageParam))
OUTPUT_PARTS = cases(variants(typing.get_args(variants(_hints(FunctionCallOutput)["output"])[1])[0]))
TOOLS = cases(variants(ToolParam))
CHOICES = [member for member in variants(_hints(ResponseCreateParamsBase)["tool_choice"])]


def test_the_enumeration_finds_what_the_sdk_is_known_to_define():
    assert {"message", "function_call", "function_call_output", "reasoning", "custom_tool_call",
            "custom_tool_call_output", "item_reference", "web_search_call", "compaction"} <= {n for n, _ in ITEMS}
    assert {"input_text", "input_image", "input_file"} <= {n for n, _ in PARTS} & {n for n, _ in OUTPUT_PARTS}
    assert {"function", "custom", "namespace", "web_search", "tool_search", "mcp", "local_shell"} <= {
        n for n, _ in TOOLS}
    assert len(CHOICES) >= 8


def in_context(item: dict[str, Any]) -> list[dict[str, Any]]:
    """ITEM where it belongs: a call before its output, an output after its call."""
    kind = item["type"]
    if kind in ("function_call", "custom_tool_call"):
        output = {"type": f"{kind}_output".replace("function_call_output_output", "function_call_output"),
                  "call_id": item["call_id"], "output": "ok"}
        return [HI, item, output]
    if kind in ("function_call_output", "custom_tool_call_output"):
        call_kind = kind.removesuffix("_output")
        call_id = item.setdefault("call_id", "call_1")
        call = {"type": call_kind, "call_id": call_id, "name": "f",
                **({"input": "x"} if call_kind == "custom_tool_call" else {"arguments": "{}"})}
        return [HI, call, item]
    return [HI, item] if kind != "message" or item.get("role") != "assistant" else [HI, item, HI]


def assert_carried_or_listed(with_it: dict[str, Any], without_it: dict[str, Any] | None) -> None:
    validate_request(with_it)
    for dst, translate in TARGETS.items():
        translated = translate(with_it, LENIENT)
        if without_it is not None:
            baseline = translate(without_it, LENIENT)
            if translated.body == baseline.body:
                assert set(translated.dropped) - set(baseline.dropped), f"{dst} lost it without listing it"


@pytest.mark.parametrize("case", ITEMS, ids=case_id)
def test_every_input_item_type_is_accepted(case: tuple[str, Any]):
    name, cls = case
    body = {"model": "m", "input": in_context(instance(cls, name))}
    assert_carried_or_listed(body, {"model": "m", "input": [HI]})


@pytest.mark.parametrize("case", PARTS, ids=case_id)
def test_every_message_content_part_is_accepted_in_every_role(case: tuple[str, Any]):
    name, cls = case
    for role in typing.get_args(_strip(_hints(EasyInputMessageParam)["role"])):
        part = instance(cls, name)
        body = {"model": "m", "input": [{"role": role, "content": [{"type": "input_text", "text": "hi"}, part]}, HI]}
        plain = {"model": "m", "input": [{"role": role, "content": [{"type": "input_text", "text": "hi"}]}, HI]}
        assert_carried_or_listed(body, None if name == "input_text" else plain)


@pytest.mark.parametrize("case", OUTPUT_PARTS, ids=case_id)
def test_every_part_a_function_call_output_may_hold_is_accepted(case: tuple[str, Any]):
    name, cls = case
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}

    def body(*parts: dict[str, Any]) -> dict[str, Any]:
        return {"model": "m", "input": [HI, call, {"type": "function_call_output", "call_id": "c",
                                                   "output": [{"type": "input_text", "text": "ok"}, *parts]}]}

    assert_carried_or_listed(body(instance(cls, name)), None if name == "input_text" else body())


@pytest.mark.parametrize("case", TOOLS, ids=case_id)
def test_every_tool_type_is_accepted(case: tuple[str, Any]):
    name, cls = case
    assert_carried_or_listed({"model": "m", "input": "hi", "tools": [instance(cls, name)]},
                             {"model": "m", "input": "hi"})


@pytest.mark.parametrize("choice_class", CHOICES, ids=lambda cls: getattr(cls, "__name__", str(cls)))
def test_every_tool_choice_is_accepted(choice_class: Any):
    tools = [{"type": "function", "name": "x"}, {"type": "custom", "name": "x"}]
    if typing.get_origin(choice_class) is typing.Literal:
        choices: list[Any] = list(typing.get_args(choice_class))
    else:
        choices = [instance(choice_class, name) for name in type_names(choice_class)]
    for choice in choices:
        body = {"model": "m", "input": "hi", "tools": tools, "tool_choice": choice}
        validate_request(body)
        for translate in TARGETS.values():
            translate(body, LENIENT)
