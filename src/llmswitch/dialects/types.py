"""The small records that pass between the core and the dialect translations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmswitch.errors import invalid


@dataclass(slots=True)
class RequestOptions:
    """Per-deployment facts a request translation needs."""

    upstream_model: str
    stream: bool
    max_tokens_default: int | None = None
    drop_unsupported: bool = False
    # The target reads OpenAI's `reasoning_effort` safely: set on the way to the hub when the
    # translation goes on from there to such a dialect (Gemini), see `dialects.translate`.
    reasoning: bool = False


@dataclass(slots=True)
class Translated:
    body: dict[str, Any]
    dropped: list[str] = field(default_factory=list)  # what was left out, for x-llmswitch-dropped-params


@dataclass(slots=True)
class Dropped:
    """What one translation leaves out, each name listed once in `x-llmswitch-dropped-params`.

    Two kinds, because the client loses different things. A hint (a seed, a penalty,
    `parallel_tool_calls: false`, a thinking setting) only nudges how the answer is made: it is
    honoured as far as the target allows and listed, never refused, since mainstream clients send
    such hints by default. A feature the answer's shape depends on (logprobs, audio, custom tools)
    would silently go missing: it is a 400 naming the field unless the deployment sets
    `drop_unsupported`, and then listed like a hint.
    """

    allow_features: bool = False
    names: list[str] = field(default_factory=list)

    def hint(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)

    def feature(self, name: str, message: str, param: str | None = None) -> None:
        """NAME goes in the list; PARAM (default NAME) is where the 400 points when it is refused."""
        if not self.allow_features:
            raise invalid(message, param=param or name)
        self.hint(name)


@dataclass(slots=True)
class ResponseContext:
    client_model: str
    request_id: str = ""
    # the client's body, for answers shaped by what it asked (Responses echoes it, embeddings' encoding)
    request: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RawAnswer:
    """An answer passed on as the upstream's bytes (audio, a transcript), as its response translation
    sees it once it has passed: its media type and, when small enough to have been kept, its bytes."""

    media_type: str
    data: bytes | None  # None: too long to keep


@dataclass(slots=True)
class StreamContext:
    """What a translator needs to know about the client's request."""

    client_model: str  # the model name the client asked for, reported back in every event
    include_usage: bool = False  # OpenAI clients: did they ask for the usage chunk?
    request_id: str = ""
    prompt_estimate: int = 0  # for dialects that must report input tokens before the upstream does
    request: dict[str, Any] = field(default_factory=dict)  # the client's body, for streams that echo it (Responses)
    extra: dict[str, Any] = field(default_factory=dict)


class MalformedAnswer(ValueError):
    """An upstream answer without its dialect's shape where the gateway must read it (a 502)."""


def answer_list(body: dict[str, Any], key: str) -> list[Any]:
    """BODY[KEY], which the dialect requires to be a list (OpenAI's `choices`, Anthropic's `content`)."""
    value = body.get(key)
    if not isinstance(value, list):
        raise MalformedAnswer(f"the answer's {key} is not a list")
    return value
