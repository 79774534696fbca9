"""The responder a Responses create is answered through: it sees the answer go by, for the store.

It sits in front of the client's own responder (none for a background run, whose client has had
its answer already) and does two things to what passes. Every response object shows `fixed`:
the fields the gateway answers for rather than the upstream (a background run's id and
`background: true`; the `previous_response_id` whose conversation the gateway resolved into the
input). And the `Sink` gets the whole answer, or the stream's events and its end, so the
finished response can be kept. With nothing to fix, a whole answer passes as the bytes it came
as (the sink, if any, reads them parsed).
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from llmswitch.core.pipeline import Responder


class Sink(Protocol):
    def whole(self, response: dict[str, Any]) -> None:
        """The answer was one response object (no stream)."""

    def events(self, events: list[dict[str, Any]]) -> None:
        """Stream events, as the client gets them."""

    def ended(self, complete: bool) -> None:
        """The stream is over (COMPLETE: its last event is the upstream's end, else the gateway's failure)."""


class Capture:
    __slots__ = ("inner", "fixed", "sink")

    def __init__(self, inner: Responder | None, fixed: dict[str, Any], sink: Sink | None):
        self.inner = inner
        self.fixed = fixed
        self.sink = sink

    def answer(self, body: bytes, headers: dict[str, str]) -> None:
        if self.fixed or self.sink is not None:
            response = orjson.loads(body)
            if isinstance(response, dict):
                if self.fixed:  # else the body already says what the response does: not written again
                    response.update(self.fixed)
                    body = orjson.dumps(response)
                if self.sink is not None:
                    self.sink.whole(response)
        if self.inner is not None:
            self.inner.answer(body, headers)

    async def open(self, headers: dict[str, str], media_type: str | None = None) -> None:
        if self.inner is not None:
            await self.inner.open(headers, media_type)

    async def send(self, events: list[dict[str, Any]]) -> None:
        self._see(events)
        if self.inner is not None:
            await self.inner.send(events)

    async def send_bytes(self, data: bytes) -> None:
        if self.inner is not None:
            await self.inner.send_bytes(data)

    async def finish(self, events: list[dict[str, Any]], complete: bool) -> None:
        self._see(events)
        if self.sink is not None:
            self.sink.ended(complete)
        if self.inner is not None:
            await self.inner.finish(events, complete)

    def _see(self, events: list[dict[str, Any]]) -> None:
        if self.fixed:
            for event in events:
                response = event.get("response")
                if isinstance(response, dict):
                    response.update(self.fixed)
        if self.sink is not None:
            self.sink.events(events)


def last_response(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest response object a stream's events carried (the terminal one, once it ended)."""
    for event in reversed(events):
        response = event.get("response")
        if isinstance(response, dict):
            return response
    return None
