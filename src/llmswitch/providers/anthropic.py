"""Anthropic's Messages API (and servers that speak it)."""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.anthropic import error_status
from llmswitch.providers.base import Provider, load_event
from llmswitch.providers.endpoints import Endpoint


class AnthropicProvider(Provider):
    dialect = "anthropic"
    default_base_url = "https://api.anthropic.com"
    endpoints = (
        Endpoint("chat", "/v1/messages", stream="sse"),
        Endpoint("count_tokens", "/v1/messages/count_tokens"),
    )
    forwards_query = True

    def fixed_headers(self) -> dict[str, str]:
        # The configured version: a client's own anthropic-version (forwarded by the core in
        # call.headers) overrides it, because its body was written for that version.
        return {"anthropic-version": self.config.anthropic_version, **self.config.headers}

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"x-api-key": api_key} if api_key else {}

    def decode_frame(self, event: str | None, data: str) -> dict[str, Any]:
        """`event:` + `data:` frames as event dicts; pings pass through (translators ignore them)."""
        return _event(event, data)

    def stream_error_status(self, event: dict[str, Any]) -> int | None:
        """An `error` event fails the stream with the status Anthropic pairs with its type (e.g. 529
        for overloaded_error), so failover classifies it like that HTTP error."""
        if event.get("type") != "error":
            return None
        error = event["error"]
        return error_status(error.get("type") if isinstance(error, dict) else None)

    def error_message(self, body: dict[str, Any]) -> tuple[str, str | None]:
        """Anthropic errors are `{"type": "error", "error": {"type", "message"}}`."""
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("type") or "error"), error.get("type")
        return super().error_message(body)


def _event(name: str | None, data: str) -> dict[str, Any]:
    event = load_event(data)
    event.setdefault("type", name)
    if event["type"] == "error":
        event.setdefault("error", {})  # an error event reports a failure even when it says nothing more
    return event
