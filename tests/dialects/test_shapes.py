"""Field shapes of requests: a field of the wrong type is a 400 naming it, and the tables of shapes
say what the OpenAI OpenAPI spec and the anthropic SDK say."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typing_extensions
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming, MessageCreateParamsStreaming

from llmswitch.surfaces.anthropic_messages import REQUEST_SHAPES, validate_request
from llmswitch.dialects.shapes import check_fields, check_shape
from llmswitch.errors import GatewayError
from llmswitch.surfaces.openai_chat import PARAM_SHAPES, validate_chat_request

SPEC = json.loads((Path(__file__).parents[1] / "fuzz" / "data" / "openai_chat_request.json").read_text())
JSON_TYPES = {str: {"string"}, int: {"integer"}, float: {"number"}, bool: {"boolean"}, dict: {"object"},
              list: {"array"}}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def refused(call: Any, *args: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        call(*args)
    assert caught.value.status == 400
    return caught.value


# --- check_shape -----------------------------------------------------------------------------
def test_a_value_of_the_wrong_type_is_a_400_naming_its_dotted_path() -> None:
    error = refused(check_shape, {"function": "x"}, {"function": {"name": str}}, "tool_choice")
    assert error.param == "tool_choice.function"
    assert error.message == "Invalid type for 'tool_choice.function': expected an object."


def test_array_items_are_named_by_index() -> None:
    assert refused(check_shape, ["a", 5], [str], "stop").param == "stop[1]"


def test_null_and_unlisted_keys_are_left_alone() -> None:
    check_shape({"function": None, "other": 5}, {"function": {"name": str}}, "tool_choice")


def test_a_boolean_is_not_an_integer() -> None:
    refused(check_shape, True, int, "n")
    check_shape(True, bool, "stream")


def test_either_of_two_shapes_will_do() -> None:
    for value in ("auto", {"type": "function", "function": {"name": "f"}}):
        check_shape(value, (str, {"function": {"name": str}}), "tool_choice")
    assert "a string or an object" in refused(check_shape, 5, (str, {"x": str}), "tool_choice").message


def test_check_fields_looks_only_at_the_fields_it_knows() -> None:
    check_fields({"unknown": object(), "n": 2}, {"n": int})


# --- the surfaces refuse what would have crashed a translation ---------------------------------
@pytest.mark.parametrize(("field", "value"), [
    ("stream_options", "x"), ("response_format", "x"), ("response_format", {"json_schema": "x"}),
    ("tool_choice", {"type": "function", "function": "x"}), ("tools", ["x"]), ("tools", [{"function": "x"}]),
    ("parallel_tool_calls", "yes"), ("user", 5), ("n", True),
])
def test_chat_fields_of_the_wrong_type_are_refused(field: str, value: Any) -> None:
    assert refused(validate_chat_request, {**CHAT, field: value}).param.startswith(field)


@pytest.mark.parametrize("message", [
    {"role": ["user"], "content": "hi"}, {"role": {"x": 1}, "content": "hi"},
    {"role": "user", "content": [{"type": ["text"], "text": "hi"}]},
    {"role": "assistant", "content": None, "tool_calls": ["x"]},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": "x"}]},
    {"role": "tool", "tool_call_id": 5, "content": "x"},
])
def test_chat_messages_of_the_wrong_shape_are_refused(message: dict[str, Any]) -> None:
    assert refused(validate_chat_request, {**CHAT, "messages": [message]}).param.startswith("messages[0]")


@pytest.mark.parametrize(("field", "value"), [
    ("stream", -1), ("system", [5]), ("system", [{"type": "text", "text": 5}]), ("tools", [{"input_schema": "x"}]),
    ("tool_choice", "auto"), ("metadata", "x"), ("stop_sequences", "STOP"), ("output_config", {"format": "x"}),
])
def test_message_fields_of_the_wrong_type_are_refused(field: str, value: Any) -> None:
    assert refused(validate_request, {**MESSAGE, field: value}).param.startswith(field)


@pytest.mark.parametrize("block", [
    {"type": "tool_result", "tool_use_id": "t", "content": [5]},
    {"type": "image", "source": {"type": "url", "url": 5}},
    {"type": "tool_use", "id": "t", "name": "f", "input": "x"},
])
def test_message_blocks_of_the_wrong_shape_are_refused(block: dict[str, Any]) -> None:
    body = {**MESSAGE, "messages": [{"role": "user", "content": [block]}]}
    assert refused(validate_request, body).param.startswith("messages.0.content.0")


# --- the tables say what the APIs say -------------------------------------------------------
def _spec_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a spec schema allows (null left out: every shape allows it)."""
    while "$ref" in schema:
        schema = SPEC["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return set().union(*(_spec_types(part) for part in schema[key]))
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        kind = {type(v).__name__.replace("str", "string") for v in schema["enum"] if v is not None}
    kinds = set(kind) if isinstance(kind, list) else ({kind} if isinstance(kind, str) else set(kind or ()))
    if "number" in kinds:
        kinds.add("integer")  # a JSON number may be written as an integer
    return kinds - {"null"}


def _shape_types(shape: Any) -> set[str]:
    options = shape if isinstance(shape, tuple) else (shape,)
    out: set[str] = set()
    for option in options:
        out |= {"object"} if isinstance(option, dict) else {"array"} if isinstance(option, list) else JSON_TYPES[option]
    return out


def _spec_properties() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for part in SPEC["schemas"][SPEC["root"]]["allOf"]:
        while "$ref" in part:
            part = SPEC["schemas"][part["$ref"].rsplit("/", 1)[-1]]
        for sub in part.get("allOf", [part]):
            while "$ref" in sub:
                sub = SPEC["schemas"][sub["$ref"].rsplit("/", 1)[-1]]
            properties.update(sub.get("properties", {}))
    return properties


def test_every_chat_parameter_of_the_spec_has_the_specs_json_type() -> None:
    properties = _spec_properties()
    assert set(PARAM_SHAPES) == set(properties)
    for name, schema in properties.items():
        assert _shape_types(PARAM_SHAPES[name]) == _spec_types(schema), name


def _sdk_types(annotation: Any) -> set[str]:
    origin, args = typing_extensions.get_origin(annotation), typing_extensions.get_args(annotation)
    if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Annotated):
        return _sdk_types(args[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_sdk_types(arg) for arg in args))
    if origin in (typing.Literal, typing_extensions.Literal):
        return {"string" if isinstance(v, str) else "boolean" if isinstance(v, bool) else "integer" for v in args}
    if annotation is type(None):
        return set()
    if typing_extensions.is_typeddict(annotation) or origin is dict or annotation is dict:
        return {"object"}
    if annotation is float:
        return {"number", "integer"}
    if annotation in JSON_TYPES:
        return JSON_TYPES[annotation]
    return {"array"}  # Iterable, Sequence, SequenceNotStr


# Sampling fields the installed SDK no longer declares; clients of older SDKs still send them.
OLDER_SDK_FIELDS = {"temperature": {"number", "integer"}, "top_p": {"number", "integer"}, "top_k": {"integer"}}


def test_every_message_field_shape_is_the_sdks_json_type() -> None:
    hints = {**typing_extensions.get_type_hints(MessageCreateParamsNonStreaming, include_extras=True),
             **typing_extensions.get_type_hints(MessageCreateParamsStreaming, include_extras=True)}
    for name, shape in REQUEST_SHAPES.items():
        expected = _sdk_types(hints[name]) if name in hints else OLDER_SDK_FIELDS[name]
        assert _shape_types(shape) == expected, name
