"""Translation between two dialects through a third, the hub (OpenAI's form): Anthropic <-> Gemini.

Each leg is an existing, separately tested translation; chaining them keeps one mapping per dialect
and the hub instead of one per pair of dialects. `dialects.translate` derives the chains.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from llmswitch.dialects.streams import StreamTranslator
from llmswitch.dialects.types import RequestOptions, ResponseContext, StreamContext, Translated
from llmswitch.dialects.usage import Usage

RequestFn = Callable[[dict[str, Any], RequestOptions], Translated]
ResponseFn = Callable[[dict[str, Any], ResponseContext], tuple[dict[str, Any], Usage | None]]
StreamFn = Callable[[StreamContext], StreamTranslator]


def chain_requests(first: RequestFn, second: RequestFn, reasoning: bool = False) -> RequestFn:
    """FIRST into the hub, then SECOND out of it; REASONING: the second leg reads `reasoning_effort`
    safely, so the first may write it."""
    def chained(body: dict[str, Any], options: RequestOptions) -> Translated:
        middle = first(body, replace(options, reasoning=True) if reasoning else options)
        last = second(middle.body, options)
        return Translated(last.body, middle.dropped + last.dropped)

    return chained


def chain_responses(first: ResponseFn, second: ResponseFn) -> ResponseFn:
    def chained(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
        middle, usage = first(body, ctx)
        last, _ = second(middle, ctx)
        return last, usage  # usage as the provider reported it, before any re-shaping

    return chained


class ChainedStream:
    """Feeds the first machine's output into the second; the middle stream always carries usage."""

    def __init__(self, first: StreamFn, second: StreamFn, ctx: StreamContext):
        self.first = first(replace(ctx, include_usage=True))
        self.second = second(ctx)

    @property
    def usage(self) -> Usage | None:
        return self.first.usage

    @property
    def saw_content(self) -> bool:
        return self.second.saw_content

    def _through(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for event in events:
            out += self.second.feed(event)
        return out

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        return self._through(self.first.feed(event))

    def finish(self) -> list[dict[str, Any]]:
        return self._through(self.first.finish()) + self.second.finish()

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        return self.second.fail(status, error_type, message)


def chain_streams(first: StreamFn, second: StreamFn) -> StreamFn:
    return lambda ctx: ChainedStream(first, second, ctx)
