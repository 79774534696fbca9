"""Directives: what a test asks one request's answer to be, read from `!fake{...}` or an `x-fake` header.

The directive rides inside the last user message's text because that is the one thing every
translation through the gateway keeps; the header form is for tests that call the fake directly.
The keys are listed in the package docstring. A malformed directive is the test's own bug, so it
is answered with a 400 naming the problem rather than silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import orjson

MARK = "!fake"

_decoder = json.JSONDecoder()


class DirectiveError(ValueError):
    """A directive that cannot be obeyed; answered as a 400 in the request's dialect."""


@dataclass(frozen=True, slots=True)
class ToolCallSpec:
    name: str
    arguments: dict[str, Any]
    id: str | None = None  # lets a test send an id the gateway must map (e.g. one with dots)


@dataclass(frozen=True, slots=True)
class Directive:
    # what to answer
    text: str | None = None
    tool_calls: tuple[ToolCallSpec, ...] = ()
    thinking: str | None = None
    finish: str | None = None
    usage: dict[str, int] | None = None
    chunks: int | None = None
    blank_frames: int = 0
    # faults
    status: int | None = None
    message: str | None = None
    retry_after: float | None = None
    hang_s: float = 0.0
    delay_ms: float = 0.0
    stall_after: int | None = None
    stall_s: float = 60.0
    reset_after: int | None = None
    error_after: int | None = None
    # fault only on the first N requests with the same key
    fail_first: int | None = None
    key: str | None = None

    def without_faults(self) -> Directive:
        """The same answer with every fault removed: what a retry past `fail_first` gets."""
        return replace(self, status=None, message=None, retry_after=None, hang_s=0.0, stall_after=None,
                       reset_after=None, error_after=None, fail_first=None)


NO_DIRECTIVE = Directive()

_NUMBERS = {"retry_after", "hang_s", "delay_ms", "stall_s"}
_COUNTS = {"chunks", "blank_frames", "status", "stall_after", "reset_after", "error_after", "fail_first"}
_STRINGS = {"text", "thinking", "finish", "message", "key"}
_USAGE_KEYS = {"prompt", "completion", "cached", "reasoning", "cache_write"}


def split_text(text: str) -> tuple[str, dict[str, Any] | None]:
    """The message text with the directive cut out, and the directive's JSON object if there is one."""
    at = text.find(MARK)
    if at < 0:
        return text, None
    try:
        obj, end = _decoder.raw_decode(text, at + len(MARK))
    except json.JSONDecodeError as exc:
        raise DirectiveError(f"fake directive is not valid JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(obj, dict):
        raise DirectiveError("fake directive must be a JSON object")
    return (text[:at] + text[end:]).strip(), obj


def from_header(value: str) -> dict[str, Any]:
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise DirectiveError(f"x-fake header is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DirectiveError("x-fake header must be a JSON object")
    return obj


def parse(raw: dict[str, Any]) -> Directive:
    """Check every key and value; `key` defaults to the directive itself so retries of one request match."""
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _STRINGS:
            _expect(name, value, str)
            values[name] = value
        elif name in _NUMBERS:
            _expect(name, value, (int, float))
            values[name] = float(value)
        elif name in _COUNTS:
            _expect(name, value, int)
            if value < 0:
                raise DirectiveError(f"fake directive key {name!r} must not be negative")
            values[name] = value
        elif name == "usage":
            _expect(name, value, dict)
            if set(value) - _USAGE_KEYS or not all(isinstance(v, int) for v in value.values()):
                raise DirectiveError(f"fake directive 'usage' takes integer {sorted(_USAGE_KEYS)}")
            values[name] = value
        elif name == "tool_calls":
            _expect(name, value, list)
            values[name] = tuple(_tool_call(call) for call in value)
        else:
            raise DirectiveError(f"fake directive has an unknown key {name!r}")
    if "fail_first" in values and "key" not in values:
        values["key"] = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()
    return Directive(**values)


def _tool_call(call: Any) -> ToolCallSpec:
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise DirectiveError("each fake tool call needs a string 'name'")
    arguments = call.get("arguments", {})
    if not isinstance(arguments, dict):
        raise DirectiveError("fake tool call 'arguments' must be an object")
    call_id = call.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise DirectiveError("fake tool call 'id' must be a string")
    return ToolCallSpec(call["name"], arguments, call_id)


def _expect(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DirectiveError(f"fake directive key {name!r} has the wrong type")


class FailureCounter:
    """Counts requests per `key` so only the first `fail_first` of them get the fault."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def apply(self, directive: Directive) -> Directive:
        if directive.fail_first is None:
            return directive
        key = directive.key or ""
        seen = self._seen.get(key, 0) + 1
        self._seen[key] = seen
        return directive if seen <= directive.fail_first else directive.without_faults()
