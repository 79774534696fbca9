"""Token usage in one normalized form, read from each dialect's own usage object.

Usage is what the bill is made of, so it is read strictly: a usage object that is not an object,
or a count that is not a whole number the usage table can hold, makes the answer `MalformedAnswer`
(a 502 for the client) rather than a wrong bill or a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmswitch.dialects.types import MalformedAnswer

MAX_TOKEN_COUNT = 2**31 - 1  # the usage table's Integer columns (PostgreSQL's int4)


def token_count(usage: dict[str, Any], name: str) -> int:
    """The count `usage[name]` (0 when absent or null); whole floats such as 3.0 are accepted."""
    value = usage.get(name)
    if type(value) is int and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_TOKEN_COUNT:
        raise MalformedAnswer(f"usage field {name!r} is not a token count: {str(value)[:40]!r}")
    return value


def usage_object(value: Any, name: str = "usage") -> dict[str, Any]:
    """A usage object or one of its detail objects; {} when absent or null."""
    if type(value) is dict:
        return value
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{name} is not an object: {str(value)[:40]!r}")
    return value


@dataclass(slots=True)
class Usage:
    """`prompt_tokens` includes cached tokens; `completion_tokens` includes reasoning tokens. Audio
    operations count seconds of audio (transcription, translation) or characters of text (speech).
    `estimated`: the gateway's own count, the upstream having given none (an upload's seconds judged
    by its size)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    audio_seconds: float = 0.0
    characters: int = 0
    cache_write_tokens: int = 0  # of `prompt_tokens`, written to the provider's prompt cache
    estimated: bool = field(default=False, compare=False)  # a mark on the counts, not one of them

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def from_openai(usage: Any) -> Usage | None:
    """Read on every Chat answer: detail objects that are absent cost no calls, and `Usage` is built
    positionally (prompt, completion, cached, reasoning), which costs half a keyword call."""
    usage = usage_object(usage)
    if not usage:
        return None
    prompt_details = usage.get("prompt_tokens_details")
    if prompt_details is not None:  # most answers have none: no calls for them
        prompt_details = usage_object(prompt_details, "prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    if completion_details is not None:
        completion_details = usage_object(completion_details, "completion_tokens_details")
    return Usage(
        token_count(usage, "prompt_tokens"),
        token_count(usage, "completion_tokens"),
        0 if prompt_details is None else token_count(prompt_details, "cached_tokens"),
        0 if completion_details is None else token_count(completion_details, "reasoning_tokens"),
        cache_write_tokens=0 if prompt_details is None else token_count(prompt_details, "cache_write_tokens"),
    )


def to_openai(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage object: the prompt's details only where there are cache reads or writes (the
    OpenAPI spec's `prompt_tokens_details.cache_write_tokens`, which a provider that bills writes fills)."""
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_tokens or usage.cache_write_tokens:
        details = out["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
        if usage.cache_write_tokens:
            details["cache_write_tokens"] = usage.cache_write_tokens
    if usage.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out
