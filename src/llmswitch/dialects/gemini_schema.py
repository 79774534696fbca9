"""JSON Schema (as OpenAI clients write it) reduced to the OpenAPI subset Gemini's `Schema` accepts.

Why `parameters` + this sanitiser rather than `parametersJsonSchema`: `parameters` is accepted by
every Gemini model and API version, while `parametersJsonSchema` is newer and mutually exclusive
with it. Gemini answers 400 for any key outside its `Schema` message (`additionalProperties`,
`$schema`, `$ref`, `const`...: litellm #14330), so this keeps an allowlist instead of chasing a
denylist, inlines local `$ref`s, and rewrites the few constructs that have a Gemini equivalent.
The same reduction serves `response_format.json_schema` (`responseSchema`).
"""

from __future__ import annotations

from typing import Any

# Fields of Gemini's `Schema` message (generativelanguage v1beta) whose values are plain data.
_PLAIN_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern",
    "example", "propertyOrdering", "default", "minimum", "maximum",
})
# For STRING, the Gemini API accepts only these `format`s (others are a 400); numbers keep theirs.
_STRING_FORMATS = frozenset({"enum", "date-time"})
_MAX_REF_DEPTH = 8  # a recursive $ref is cut off here and becomes an untyped object


def sanitize_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A new schema Gemini accepts; the input is left untouched (it may be translated again)."""
    definitions = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}
    return _reduce(schema, definitions, 0)


def _reduce(schema: Any, definitions: dict[str, Any], depth: int) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = definitions.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/") else None
        if target is None or depth >= _MAX_REF_DEPTH:
            return {"type": "object"}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return _reduce({**target, **siblings}, definitions, depth + 1)

    out: dict[str, Any] = {key: schema[key] for key in _PLAIN_KEYS if key in schema}
    if "const" in schema and "enum" not in out:
        out["enum"] = [schema["const"]]
    if isinstance(out.get("enum"), list):
        out["enum"] = [str(value) for value in out["enum"] if value is not None]
        out.setdefault("type", "string")
    _reduce_type(out)
    if out.get("type") == "string" and "format" in out and out["format"] not in _STRING_FORMATS:
        del out["format"]

    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        out["properties"] = {name: _reduce(sub, definitions, depth) for name, sub in properties.items()}
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name in out["properties"]]
    else:
        out.pop("required", None)
        out.pop("propertyOrdering", None)
    if "items" in schema:
        items = schema["items"]
        out["items"] = _reduce(items[0] if isinstance(items, list) and items else items, definitions, depth)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        _reduce_variants(out, [_reduce(v, definitions, depth) for v in variants])
    elif isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part if isinstance(part, dict) else {})
        out.update(_reduce(merged, definitions, depth))
    return out


def _reduce_type(out: dict[str, Any]) -> None:
    """JSON Schema's `type: [x, "null"]` becomes Gemini's single type plus `nullable`."""
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        if kinds:
            out["type"] = kinds[0]
        else:
            del out["type"]


def _reduce_variants(out: dict[str, Any], variants: list[dict[str, Any]]) -> None:
    """`anyOf` with a `{"type": "null"}` branch becomes `nullable`; one branch left is inlined."""
    kept = [v for v in variants if v != {"type": "null"}]
    if len(kept) < len(variants):
        out["nullable"] = True
    if len(kept) == 1:
        for key, value in kept[0].items():
            out.setdefault(key, value)
    elif kept:
        out["anyOf"] = kept
