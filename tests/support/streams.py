"""A scripted event-stream upstream, and what a provider relays of it, for the provider tests."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from llmswitch.providers.base import Provider, UpstreamCall, UpstreamError


class ScriptedStream:
    """An upstream that answers every POST with 200 and the event-stream bytes a test set in `body`, in
    one write, so a test decides exactly what a provider reads."""

    def __init__(self) -> None:
        self.body = b""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(self.body)
        await response.write_eof()
        return response


async def relayed(provider: Provider, call: UpstreamCall) -> tuple[list[dict[str, Any]], UpstreamError | None]:
    """The events PROVIDER yielded for CALL's stream, and the error it raised after them, if any."""
    events: list[dict[str, Any]] = []
    try:
        async for batch in await provider.stream(call):
            events += batch
    except UpstreamError as error:
        return events, error
    return events, None
