"""Anthropic's Messages API (and servers that speak it)."""

from __future__ import annotations

from typing import Any

from llmswitch.config import ProviderConfig
from llmswitch.dialects.anthropic import error_status
from llmswitch.providers.base import Provider, UpstreamCall, json_object, load_event
from llmswitch.providers.http import HTTPClient

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicProvider(Provider):
    dialect = "anthropic"
    counts_tokens = True

    def __init__(self, name: str, config: ProviderConfig, client: HTTPClient):
        super().__init__(name, config, client)
        # Configured version first: a client's own anthropic-version (forwarded by the core in
        # call.headers) overrides it, because its body was written for that version.
        self.static_headers = {"anthropic-version": config.anthropic_version, **self.static_headers}

    def url(self, call: UpstreamCall) -> str:
        return self._endpoint("/v1/messages", call)

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

    async def count_tokens(self, call: UpstreamCall) -> dict[str, Any]:
        """POST the call's body to count_tokens; returns `{"input_tokens": n}` as Anthropic sent it."""
        response = await self._send(call, self._endpoint("/v1/messages/count_tokens", call))
        return await json_object(response)

    def _endpoint(self, path: str, call: UpstreamCall) -> str:
        url = f"{(self.config.base_url or DEFAULT_BASE_URL).rstrip('/')}{path}"
        return f"{url}?{call.query}" if call.query else url


def _event(name: str | None, data: str) -> dict[str, Any]:
    event = load_event(data)
    event.setdefault("type", name)
    if event["type"] == "error":
        event.setdefault("error", {})  # an error event reports a failure even when it says nothing more
    return event
