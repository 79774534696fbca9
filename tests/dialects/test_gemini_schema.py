"""JSON Schema reduced to the subset Gemini's `Schema` accepts."""

from __future__ import annotations

from llmswitch.dialects.gemini_schema import sanitize_schema


def test_keys_outside_gemini_schema_are_removed():
    schema = {"$schema": "x", "$id": "y", "type": "object", "additionalProperties": False,
              "properties": {"a": {"type": "string", "examples": ["z"]}}}
    assert sanitize_schema(schema) == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_nullable_type_array_becomes_single_type_with_nullable():
    assert sanitize_schema({"type": ["integer", "null"]}) == {"type": "integer", "nullable": True}


def test_anyof_with_a_null_branch_collapses_to_nullable():
    assert sanitize_schema({"anyOf": [{"type": "string"}, {"type": "null"}]}) == {"type": "string",
                                                                                   "nullable": True}


def test_anyof_with_several_branches_is_kept():
    out = sanitize_schema({"anyOf": [{"type": "string"}, {"type": "integer"}]})
    assert out == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_local_refs_are_inlined_from_defs():
    schema = {"type": "object", "properties": {"p": {"$ref": "#/$defs/Point"}},
              "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}}}
    point = sanitize_schema(schema)["properties"]["p"]
    assert point == {"type": "object", "properties": {"x": {"type": "number"}}}


def test_recursive_ref_is_cut_off_instead_of_looping():
    schema = {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
              "$ref": "#/$defs/Node"}
    out = sanitize_schema(schema)
    depth = 0
    while "properties" in out:
        out, depth = out["properties"]["next"], depth + 1
    assert out == {"type": "object"} and depth > 1


def test_const_becomes_a_one_value_enum():
    assert sanitize_schema({"const": "fixed"}) == {"enum": ["fixed"], "type": "string"}


def test_string_format_gemini_rejects_is_dropped_but_date_time_kept():
    assert sanitize_schema({"type": "string", "format": "uri"}) == {"type": "string"}
    assert sanitize_schema({"type": "string", "format": "date-time"})["format"] == "date-time"


def test_required_names_a_property_that_exists():
    out = sanitize_schema({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]})
    assert out["required"] == ["a"]


def test_array_items_are_sanitised():
    out = sanitize_schema({"type": "array", "items": {"type": "object", "additionalProperties": True,
                                                      "properties": {"k": {"type": "string"}}}})
    assert out == {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}}
