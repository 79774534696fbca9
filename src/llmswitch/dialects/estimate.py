"""Token estimates made locally, at four bytes of text a token, for whenever the upstream has not
counted (yet): the reservation a request makes against its key's limits before any call, Anthropic's
`count_tokens` towards upstreams that have none, and what a stream had produced when it was cut.

Both inbound dialects keep their prompt in the same fields (`system`, `messages`, `tools`), so one
walk over the parsed body serves both: no re-encoding, and nothing outside those fields is read.
Non-ASCII text counts its UTF-8 bytes, which keeps the estimate from undercounting scripts that take
a token or more per character (a quarter of the characters would reserve a quarter of the tokens).
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.shapes import nested_too_deeply

OTHER_PROMPT_FIELDS = ("system", "tools", "functions")  # besides `messages`
# Payloads that are not text tokens: base64 images, audio and files, and image URLs (an image is
# billed by its size, which the body does not tell).
BINARY_FIELDS = frozenset({"data", "file_data", "image_url"})
OPENAI_DELTA_TEXT = ("content", "reasoning_content", "refusal")
ANTHROPIC_DELTA_TEXT = ("text", "partial_json", "thinking")


def text_bytes(value: Any) -> int:
    """Bytes of the text in a parsed JSON value: its strings, keys and binary payloads left out."""
    if type(value) is str:
        return len(value) if value.isascii() else len(value.encode())
    total = 0
    if type(value) is dict:
        for key, item in value.items():
            if key not in BINARY_FIELDS:
                total += text_bytes(item)
    elif type(value) is list:
        for item in value:
            total += text_bytes(item)
    return total


def tokens(text_size: int) -> int:
    """Tokens for so many bytes of text, rounded up."""
    return (text_size + 3) // 4


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """The prompt tokens of an OpenAI Chat or Anthropic Messages request body; at least one."""
    size = 0
    messages = body.get("messages")
    if type(messages) is list:
        for message in messages:  # on every request: the common shape is read without the walk
            content = message.get("content") if type(message) is dict and len(message) == 2 else None
            size += len(content) if type(content) is str and content.isascii() else text_bytes(message)
    else:
        size += text_bytes(messages)
    if "system" in body or "tools" in body or "functions" in body:
        for field in OTHER_PROMPT_FIELDS:
            size += text_bytes(body.get(field))
    return (size + 3) // 4 or 1


def prompt_estimate(body: dict[str, Any]) -> int:
    """`estimate_input_tokens` of a client's body, whose nesting may be deeper than the walk can go
    (then the client's 400)."""
    try:
        return estimate_input_tokens(body)
    except RecursionError:
        raise nested_too_deeply() from None


def output_bytes(dialect: str, events: list[dict[str, Any]]) -> int:
    """Bytes of generated text (answer, reasoning, tool arguments) in stream events sent to a client
    of `dialect`: what a stream cut short had produced, when no usage came to say it. Same-dialect
    events are the upstream's own, so nothing in them is trusted to have the expected shape."""
    size = 0
    if dialect == "anthropic":
        for event in events:
            delta = event.get("delta")
            if type(delta) is dict and event.get("type") == "content_block_delta":
                for field in ANTHROPIC_DELTA_TEXT:
                    size += text_bytes(delta.get(field))
        return size
    for event in events:
        choices = event.get("choices")
        if type(choices) is not list:
            continue
        for choice in choices:
            delta = choice.get("delta") if type(choice) is dict else None
            if type(delta) is not dict:
                continue
            for field in OPENAI_DELTA_TEXT:
                size += text_bytes(delta.get(field))
            calls = delta.get("tool_calls")
            if calls:
                size += text_bytes(calls)
    return size


def max_output_tokens(body: dict[str, Any]) -> int | None:
    """The output tokens an OpenAI Chat or Anthropic Messages request allows, when it says (OpenAI's
    newer name first)."""
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return value if type(value) is int and value > 0 else None
