"""Stream translation as explicit state machines, and the same-dialect pass-throughs.

A `StreamTranslator` receives the provider's stream events one by one (already decoded from SSE
into dicts, in the provider's dialect) and returns the events to send to the client, in the
client's dialect. It also reads usage on the way, because accounting needs it whatever the
client asked for. Pure: no I/O, so each machine is tested on its own.
"""

from __future__ import annotations

from typing import Any, Protocol

from llmswitch.dialects.chat_chunks import error_frame
from llmswitch.dialects.types import StreamContext
from llmswitch.dialects.usage import Usage, from_openai


class StreamTranslator(Protocol):
    usage: Usage | None
    saw_content: bool  # has anything the client would keep been emitted yet?

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """One provider event in; zero or more client events out. Never an error event: a provider
        raises those as the attempt's failure, which reaches the translator through `fail`."""

    def finish(self) -> list[dict[str, Any]]:
        """The provider's stream ended cleanly; close the client's stream properly."""

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        """The provider failed mid-stream: the client dialect's own error event, the last thing the
        client's stream carries (no finish chunk, `[DONE]` or `message_stop` after it)."""


# Delta fields a client shows or acts on: a role-only first chunk (`"content": ""`) is not content,
# reasoning that OpenAI-compatible servers stream (`reasoning_content`, `reasoning`) is.
SHOWN_DELTA_KEYS = ("content", "tool_calls", "refusal", "function_call", "audio", "reasoning_content", "reasoning")


class OpenAIPassthrough:
    """OpenAI chunks to OpenAI chunks: rewrite `model`, hide the usage chunk unless it was asked for."""

    __slots__ = ("ctx", "usage", "saw_content", "_model")

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._model = ctx.client_model

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if "model" in event:
            event["model"] = self._model
        choices = event.get("choices")
        usage = event.get("usage")
        if usage:
            self.usage = from_openai(usage)
            if not choices:
                return [event] if self.ctx.include_usage else []
            if not self.ctx.include_usage:
                event["usage"] = None
        elif not self.ctx.include_usage and "usage" in event and event["usage"] is None:
            del event["usage"]
        if not self.saw_content and choices:
            self.saw_content = any(choice.get("finish_reason") or any(
                (choice.get("delta") or {}).get(key) for key in SHOWN_DELTA_KEYS) for choice in choices)
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        return [error_frame(status, error_type, message)]
