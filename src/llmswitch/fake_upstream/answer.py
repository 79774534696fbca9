"""The answer, decided once in dialect-neutral terms; each dialect module only renders it.

Keeping the decision here means the three dialects cannot disagree about what a directive means,
and a test that goes OpenAI -> gateway -> Anthropic fake sees the same text and usage as one that
goes straight to an OpenAI fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from llmswitch.fake_upstream.directives import Directive


@dataclass(slots=True)
class Prompt:
    """What a dialect module read from the request: the last user turn and the size of the input."""

    text: str  # text of the final user turn, directive still in it
    tool_results: list[str]  # tool results in the final turn, as text
    chars: int  # characters of all input text, for the prompt token estimate
    model: str


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    arguments_json: str  # "{}" for no arguments, never ""


@dataclass(slots=True)
class Usage:
    """`prompt` includes `cached` (read from the prompt cache) and `cache_write` (written to it);
    `completion` includes `reasoning` (OpenAI's convention)."""

    prompt: int
    completion: int
    cached: int = 0
    reasoning: int = 0
    cache_write: int = 0


@dataclass(slots=True)
class Answer:
    text: str
    pieces: list[str]  # `text` split for streaming
    thinking: str
    thinking_pieces: list[str]
    tool_calls: list[ToolCall]
    finish: str  # OpenAI vocabulary (stop, length, tool_calls, content_filter) or a dialect's own value
    usage: Usage
    blank_frames: int = 0  # stream frames before the first content that carry nothing a client shows


def tokens(chars: int) -> int:
    """The deterministic estimate used everywhere: a quarter of the characters, at least one."""
    return max(1, chars // 4)


def split(text: str, count: int) -> list[str]:
    """Cut `text` into at most `count` non-empty pieces of near-equal length."""
    if not text:
        return []
    count = max(1, min(count, len(text)))
    size, extra = divmod(len(text), count)
    pieces, start = [], 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def echo_text(prompt: Prompt, stripped_text: str) -> str:
    if stripped_text:
        return f"You said: {stripped_text}"
    if prompt.tool_results:
        return "Tool results: " + " | ".join(prompt.tool_results)
    return "You said nothing."


def build(prompt: Prompt, stripped_text: str, directive: Directive, chunks: int,
          tool_id_prefix: str) -> Answer:
    """Decide text, thinking, tool calls, finish reason and usage for one request.

    Call ids are `tool_id_prefix` + position; an empty prefix means the dialect sends no ids.
    """
    if directive.text is not None:
        text = directive.text
    elif directive.tool_calls:
        text = ""
    else:
        text = echo_text(prompt, stripped_text)
    thinking = directive.thinking or ""
    calls = [
        ToolCall(spec.id or (f"{tool_id_prefix}{i}" if tool_id_prefix else ""), spec.name, spec.arguments,
                 orjson.dumps(spec.arguments).decode())
        for i, spec in enumerate(directive.tool_calls)
    ]
    count = directive.chunks or chunks
    finish = directive.finish or ("tool_calls" if calls else "stop")
    reasoning = tokens(len(thinking)) if thinking else 0
    completion_chars = len(text) + sum(len(c.name) + len(c.arguments_json) for c in calls)
    usage = Usage(tokens(prompt.chars), tokens(completion_chars) + reasoning, 0, reasoning)
    if directive.usage:
        usage = Usage(directive.usage.get("prompt", usage.prompt),
                      directive.usage.get("completion", usage.completion),
                      directive.usage.get("cached", 0), directive.usage.get("reasoning", usage.reasoning),
                      directive.usage.get("cache_write", 0))
    return Answer(text, split(text, count), thinking, split(thinking, count), calls, finish, usage,
                  directive.blank_frames)


def result_text(value: Any) -> str:
    """A tool result as text, whether the dialect carried it as a string, blocks or an object."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [b.get("text", "") for b in value if isinstance(b, dict) and b.get("type") == "text"]
        if texts:
            return "".join(texts)
    return orjson.dumps(value).decode()
