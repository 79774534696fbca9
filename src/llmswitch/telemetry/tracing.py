"""What a trace is made of, marked as the request goes: its attempts and their upstream calls.

Tracing is off unless `otel.endpoint` is set (`telemetry.otel` then turns it on): every hook here is
guarded by the module's `ON`, one global lookup, so the hot path pays nothing else and OpenTelemetry is
never imported. When on, the request's web middleware opens a `Trace` (`begin`), the core marks each
attempt (`traced`, around `core.attempts.run_attempts`' call) and the provider each upstream call
(`call`, with its status, its answer's model and its end, which for a stream is when the stream
closes); once the request has ended, `finish` hands the whole timeline to the exporter, which makes the
spans with their real start and end times. Building the spans once the request is over keeps the SDK
off the request's path until its answer is out, and gives every span its attributes at creation
(the tokens are known only at the end).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from llmswitch.core.routing import Target

T = TypeVar("T")
ON = False  # `otel.start` turns it on
log = logging.getLogger("llmswitch.tracing")


@dataclass(slots=True)
class CallMark:
    """One upstream HTTP call: `ended` is when its answer was read or its connection let go."""

    method: str
    host: str
    port: int
    started: int  # time.time_ns()
    ended: int = 0
    status: int | None = None  # the upstream's HTTP status; None: no answer (a transport failure)
    error: str | None = None  # error.type: the transport failure's kind, or the error status
    response_model: str | None = None

    def failed(self, kind: str) -> None:
        self.error = kind
        self.ended = time.time_ns()

    def answered(self, status: int) -> None:
        self.status = status
        if status >= 400:
            self.error = str(status)

    def done(self) -> None:
        if not self.ended:
            self.ended = time.time_ns()


@dataclass(slots=True)
class AttemptMark:
    """One attempt at one target: its translation, its call and reading its answer up to what the
    pipeline needs (a stream's first content)."""

    provider: str  # the configured provider's name
    provider_type: str  # openai, anthropic, gemini, demo
    deployment: str  # the target's label
    model: str  # the upstream model asked
    started: int
    ended: int = 0
    error: str | None = None
    calls: list[CallMark] = field(default_factory=list)


@dataclass(slots=True)
class Trace:
    """One request's timeline."""

    started: int = field(default_factory=time.time_ns)
    attempts: list[AttemptMark] = field(default_factory=list)


CURRENT: ContextVar[Trace | None] = ContextVar("llmswitch_trace", default=None)
Exporter = Callable[..., None]  # (trace, request facts...) -> None: makes and exports the spans
EXPORTER: Exporter | None = None


def begin() -> Trace:
    """The timeline of the request this task serves (one task per web request)."""
    trace = Trace()
    CURRENT.set(trace)
    return trace


def traced(attempt: Callable[[Target], Awaitable[T]]) -> Callable[[Target], Awaitable[T]]:
    """ATTEMPT, marked on the current trace (as it is when there is none: a background run)."""
    trace = CURRENT.get()
    if trace is None:
        return attempt

    async def marked(target: Target) -> T:
        deployment = target.deployment
        mark = AttemptMark(target.provider.name, target.provider.config.type, target.label,
                           deployment.model or "", time.time_ns())
        trace.attempts.append(mark)
        try:
            value = await attempt(target)
        except BaseException as error:
            mark.error = _error_type(error)
            raise
        finally:
            mark.ended = time.time_ns()
        return value

    return marked


def call(method: bytes, url: str) -> CallMark | None:
    """A mark for an upstream call about to be sent, in the current attempt (None outside one)."""
    trace = CURRENT.get()
    if trace is None or not trace.attempts:
        return None
    parts = urlsplit(url)
    mark = CallMark(method.decode(), parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80),
                    time.time_ns())
    trace.attempts[-1].calls.append(mark)
    return mark


def saw_answer(mark: CallMark | None, body: Any) -> None:
    """The model an answer (or a stream's event) says produced it, if MARK has none yet."""
    if mark is not None and mark.response_model is None and isinstance(body, dict):
        mark.response_model = model_of(body)


async def watch(mark: CallMark | None, batches: AsyncIterator[list[dict[str, Any]]]
                ) -> AsyncIterator[list[dict[str, Any]]]:
    """A stream's batches as they come, read for the model that produced them."""
    async for batch in batches:
        if mark is not None and mark.response_model is None:
            for event in batch:
                saw_answer(mark, event)
        yield batch


def model_of(body: dict[str, Any]) -> str | None:
    """The model an answer names: OpenAI's `model`, Gemini's `modelVersion`, Anthropic's
    `message_start.message.model`, the Responses API's `response.model`."""
    for holder in (body, body.get("message"), body.get("response")):
        if isinstance(holder, dict):
            model = holder.get("model") or holder.get("modelVersion")
            if isinstance(model, str) and model:
                return model
    return None


def finish(trace: Trace, **facts: Any) -> None:
    """The request is over: its spans are made and queued for export (never raising into it)."""
    exporter = EXPORTER
    if exporter is None:
        return
    try:
        exporter(trace, **facts)
    except Exception:  # a tracing bug must not fail requests; say so once in a while
        log.warning("could not record a trace", exc_info=True)


def _error_type(error: BaseException) -> str:
    kind = getattr(error, "kind", None)  # an UpstreamError
    if kind == "http":
        return str(getattr(error, "status", "") or "http")
    return kind if isinstance(kind, str) else type(error).__qualname__
