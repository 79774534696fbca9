"""Hypothesis strategies for request bodies, from the two APIs' own descriptions.

OpenAI bodies come from the vendored OpenAPI schema (`data/openai_chat_request.json`), Anthropic
bodies from the installed `anthropic` SDK's TypedDicts (`MessageCreateParams` and what it refers
to). Both generators give *valid-looking* bodies; `hostile.py` then breaks them. Each keeps the
bodies small (a few optional fields per object, short lists, bounded depth) so that one example
costs milliseconds and the suite's example count buys breadth rather than size.

The schema walker is written here rather than taken from `hypothesis-jsonschema`: that library
canonicalises and merges whole schemas up front, which on this spec's 59 mutually referencing
schemas (OpenAPI 3.1 `nullable`, `discriminator`, deep `allOf`) costs seconds per strategy, and
the suite needs none of its exactness since every body is mutated afterwards.
"""

from __future__ import annotations

import collections.abc
import json
import types
import typing
from pathlib import Path
from typing import Any

import typing_extensions
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

DATA = Path(__file__).parent / "data"
MAX_DEPTH = 5  # below this, objects carry only their required fields and lists are as short as allowed
MAX_OPTIONAL = 4  # optional fields drawn per object
MAX_ITEMS = 3

text = st.text(max_size=12)
json_scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(-1e6, 1e6) | text
any_json: SearchStrategy[Any] = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6)


@st.composite
def _object(draw: st.DrawFn, required: dict[str, SearchStrategy[Any]], optional: dict[str, SearchStrategy[Any]],
            max_optional: int) -> dict[str, Any]:
    """Every required field and a few of the optional ones (fixed_dictionaries would draw about
    half of the 40 optional top-level fields of a chat request on every example)."""
    out = {name: draw(strategy) for name, strategy in required.items()}
    names = draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=max_optional)) if optional else []
    for name in names:
        out[name] = draw(optional[name])
    return out


def _lists(items: SearchStrategy[Any], min_size: int, max_size: int) -> SearchStrategy[list[Any]]:
    return st.lists(items, min_size=min_size, max_size=max(min_size, max_size))


class OpenAPIStrategies:
    """Strategies for the schemas of one OpenAPI `components.schemas` mapping (`$ref`s resolve in it)."""

    def __init__(self, schemas: dict[str, Any], root: str = ""):
        self.schemas = schemas
        self.root = root
        self._cache: dict[tuple[str, int], SearchStrategy[Any]] = {}

    @classmethod
    def vendored(cls, name: str) -> OpenAPIStrategies:
        """The schemas of `data/NAME.json`, whose `root` names the request body's schema."""
        document = json.loads((DATA / f"{name}.json").read_text())
        return cls(document["schemas"], document["root"])

    def field_names(self) -> list[str]:
        """Every property name any of the schemas declares, for mutations that set a known field."""
        return sorted({name for schema in self.schemas.values() for name in _property_names(schema)})

    def named(self, name: str, depth: int = 0) -> SearchStrategy[Any]:
        key = (name, depth)
        if key not in self._cache:
            self._cache[key] = st.deferred(lambda: self.build(self.schemas[name], depth))
        return self._cache[key]

    def build(self, schema: dict[str, Any], depth: int) -> SearchStrategy[Any]:
        deeper = depth + 1
        if "$ref" in schema:
            return self.named(schema["$ref"].rsplit("/", 1)[-1], depth)
        if "allOf" in schema:
            return self.build(self._merged(schema["allOf"]), depth)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            strategy = st.one_of([self.build(branch, depth) for branch in branches])
            return st.none() | strategy if schema.get("nullable") else strategy
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of([self.build({**schema, "type": k}, depth) for k in kind])
        strategy = self._typed(schema, kind, deeper)
        return st.none() | strategy if schema.get("nullable") else strategy

    def _typed(self, schema: dict[str, Any], kind: str | None, deeper: int) -> SearchStrategy[Any]:
        if kind == "string":
            return st.text(max_size=min(schema.get("maxLength", 16), 16))
        if kind == "integer":
            low, high = schema.get("minimum"), schema.get("maximum")
            return st.integers(int(low) if low is not None else -10, int(high) if high is not None else 5000)
        if kind == "number":
            return st.floats(schema.get("minimum", -10.0), schema.get("maximum", 10.0))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            items = self.build(schema.get("items", {}), deeper)
            low = schema.get("minItems", 0)
            return _lists(items, low, low if deeper > MAX_DEPTH else min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS))
        if kind == "object" or "properties" in schema:
            return self._object(schema, deeper)
        return any_json  # no type: any JSON value

    def _object(self, schema: dict[str, Any], deeper: int) -> SearchStrategy[Any]:
        properties = schema.get("properties") or {}
        if not properties:
            extra = schema.get("additionalProperties")
            values = self.build(extra, deeper) if isinstance(extra, dict) else any_json
            return st.dictionaries(text, values, max_size=0 if deeper > MAX_DEPTH else MAX_ITEMS)
        required = set(schema.get("required", ()))
        fields = {name: self.build(sub, deeper) for name, sub in properties.items()}
        return _object({n: s for n, s in fields.items() if n in required},
                       {n: s for n, s in fields.items() if n not in required},
                       0 if deeper > MAX_DEPTH else MAX_OPTIONAL + (2 if deeper == 1 else 0))

    def _merged(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """allOf of object schemas as one object schema (the only use this spec makes of it)."""
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in parts:
            while "$ref" in part:
                part = self.schemas[part["$ref"].rsplit("/", 1)[-1]]
            if "allOf" in part:
                part = self._merged(part["allOf"])
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged


def _property_names(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(_property_names(item) for item in schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    names = set(schema.get("properties") or ())
    for value in schema.values():
        names |= _property_names(value)
    return names


# --- Anthropic: the SDK's TypedDicts ---------------------------------------------------------

_SEQUENCES = (collections.abc.Iterable, collections.abc.Sequence, list, tuple)
_WRAPPERS = (typing_extensions.Required, typing_extensions.NotRequired, typing_extensions.ReadOnly)


class TypedDictStrategies:
    """Strategies for the anthropic SDK's request TypedDicts, read with get_type_hints/get_args."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, int], SearchStrategy[Any]] = {}

    def of(self, annotation: Any, depth: int = 0) -> SearchStrategy[Any]:
        key = (annotation, depth)
        try:
            cached = self._cache.get(key)
        except TypeError:  # an unhashable annotation: build it each time
            return self._build(annotation, depth)
        if cached is None:
            cached = self._cache[key] = st.deferred(lambda: self._build(annotation, depth))
        return cached

    def _build(self, annotation: Any, depth: int) -> SearchStrategy[Any]:
        origin, args = typing_extensions.get_origin(annotation), typing_extensions.get_args(annotation)
        if origin in _WRAPPERS or origin is typing.Annotated:
            return self.of(args[0], depth)
        if origin in (typing.Literal, typing_extensions.Literal):
            return st.sampled_from(args)
        if origin in (typing.Union, types.UnionType):
            return st.one_of([self.of(arg, depth) for arg in args])
        if typing_extensions.is_typeddict(annotation):
            return self._typed_dict(annotation, depth + 1)
        if origin in _SEQUENCES or _named(annotation) == "SequenceNotStr" or _named(origin) == "SequenceNotStr":
            items = self.of(args[0], depth + 1) if args else any_json
            return st.lists(items, max_size=0 if depth > MAX_DEPTH else MAX_ITEMS)
        if origin in (dict, collections.abc.Mapping) or annotation is dict:
            values = self.of(args[1], depth + 1) if len(args) == 2 else any_json
            return st.dictionaries(text, values, max_size=0 if depth > MAX_DEPTH else MAX_ITEMS)
        simple = {str: text, int: st.integers(0, 5000), float: st.floats(0, 2), bool: st.booleans(),
                  type(None): st.none(), object: any_json}
        if annotation in simple:
            return simple[annotation]
        if annotation is typing.Any:
            return any_json
        if annotation is bytes:
            return st.binary(max_size=8).map(lambda b: b.hex())
        # Response models the SDK also accepts as params (a Message's blocks sent back) and file
        # objects: the TypedDict branches beside them already say what goes on the wire.
        return st.nothing()

    def _typed_dict(self, cls: type, depth: int) -> SearchStrategy[dict[str, Any]]:
        hints = typing_extensions.get_type_hints(cls, include_extras=True)
        total = getattr(cls, "__total__", True)
        required: dict[str, SearchStrategy[Any]] = {}
        optional: dict[str, SearchStrategy[Any]] = {}
        for name, hint in hints.items():
            origin = typing_extensions.get_origin(hint)
            is_required = origin is typing_extensions.Required or (
                total and origin is not typing_extensions.NotRequired)
            (required if is_required else optional)[name] = self.of(hint, depth)
        return _object(required, optional, 0 if depth > MAX_DEPTH else MAX_OPTIONAL)


def typed_dict_fields(annotation: Any, seen: set[Any] | None = None) -> set[str]:
    """Every key of every TypedDict reachable from ANNOTATION, for mutations that set a known field."""
    seen = set() if seen is None else seen
    try:
        if annotation in seen:
            return set()
        seen.add(annotation)
    except TypeError:
        pass
    names: set[str] = set()
    if typing_extensions.is_typeddict(annotation):
        hints = typing_extensions.get_type_hints(annotation, include_extras=True)
        names |= set(hints)
        children = list(hints.values())
    else:
        children = list(typing_extensions.get_args(annotation))
    for child in children:
        names |= typed_dict_fields(child, seen)
    return names


def _named(thing: Any) -> str:
    return getattr(thing, "__name__", "") or ""
