"""Breaking valid-looking JSON: wrong types in any field, NaN and huge numbers, deep nesting,
unknown keys, empty strings, bytes that are not UTF-8, and the encoding that puts them on the wire.

A mutation picks any node of the tree (the root included) and replaces, wraps, deletes or extends
it. Values JSON cannot carry as Python objects (NaN, 1e400, raw invalid bytes, nesting deeper than
the recursion limit) travel as `Raw` tokens that `encode` writes verbatim.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy


@dataclass(frozen=True)
class Raw:
    """Bytes written into the JSON text as they are."""

    text: bytes


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> Raw:
    return Raw(opener * depth + closer * depth)


HOSTILE_SCALARS: list[Any] = [
    None, True, False, 0, -1, 1, 1.5, -0.0, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30,
    1e303, -1e303, 1e308, 5e-324, math.nan, math.inf, -math.inf, Raw(b"1e400"), Raw(b"-1e400"), Raw(b"1" * 400),
    "", " ", "x", "user", "null", "true", "0", "NaN", "\x00", "\u202e\u200b", "\U0001f600" * 3, "a" * 5000,
    "\ud800", Raw(b'"\xff\xfe\xfd"'), Raw(b'"\xc3\x28"'), Raw(b'"\\ud800"'),
    [], {}, [[]], [None], [{}], {"": None}, {"type": None}, ["user"], {"role": "user"},
    nested(200), nested(900), nested(2000), nested(200, b'{"a":', b"}"),
]
UNKNOWN_KEYS = ["", " ", "x", "__proto__", "constructor", "type", "role", "content", "model", "stream", "usage",
                "\x00", "\u00e9", "a" * 300, "cache_control", "extra_headers", "$ref"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node's path, the root `()` first."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _get(root, path[:-1])[path[-1]] = new
    return root


def _delete(root: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return root
    parent = _get(root, path[:-1])
    del parent[path[-1]]
    return root


def _restructured(value: Any, how: str) -> Any:
    if how == "wrap_list":
        return [value]
    if how == "wrap_object":
        return {"value": value}
    if how == "stringify":
        return json.dumps(value, default=lambda raw: "raw")
    if how == "repeat":
        return [copy.deepcopy(value) for _ in range(20)]
    if isinstance(value, dict):  # as_other: an object becomes the list of its values
        return list(value.values())
    if isinstance(value, list):
        return {str(i): item for i, item in enumerate(value)}
    return {"type": value}


@st.composite
def mutated(draw: st.DrawFn, base: SearchStrategy[Any], max_mutations: int = 3,
            fields: tuple[str, ...] = ()) -> Any:
    """A value of BASE with up to MAX_MUTATIONS hostile changes (none at all now and then, so
    the valid path keeps being exercised too). FIELDS are names the API knows: setting one of them,
    on any object, to a hostile value reaches the code that reads it far more often than breaking
    a random node of a large body. The drawn value is copied first: `st.just` hands out the same
    object every time, and a mutation must never reach the next example."""
    value = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(0, max_mutations))):
        if fields and draw(st.booleans()):
            objects = [path for path in _paths(value) if isinstance(_get(value, path), dict)]
            if objects:
                node = _get(value, objects[draw(st.integers(0, len(objects) - 1))])
                node[draw(st.sampled_from(fields))] = copy.deepcopy(draw(st.sampled_from(HOSTILE_SCALARS)))
                continue
        paths = _paths(value)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        node = _get(value, path)
        kind = draw(st.sampled_from(["replace", "replace", "replace", "restructure", "delete", "add_key"]))
        if kind == "replace":
            value = _set(value, path, copy.deepcopy(draw(st.sampled_from(HOSTILE_SCALARS))))
        elif kind == "restructure":
            how = draw(st.sampled_from(["wrap_list", "wrap_object", "stringify", "as_other", "repeat"]))
            value = _set(value, path, _restructured(node, how))
        elif kind == "delete":
            value = _delete(value, path)
        elif isinstance(node, dict):
            node[draw(st.sampled_from(UNKNOWN_KEYS))] = copy.deepcopy(draw(st.sampled_from(HOSTILE_SCALARS)))
    return value


def encode(value: Any) -> bytes:
    """JSON text of VALUE, with NaN/Infinity as the bare tokens some encoders emit, lone
    surrogates as invalid UTF-8 (surrogatepass) and `Raw` tokens verbatim."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (encode(str(k)) + b":" + encode(v) for k, v in value.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(encode(v) for v in value) + b"]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()
