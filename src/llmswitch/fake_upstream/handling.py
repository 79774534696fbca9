"""What every operation's handler does around its answer: the server state, the directive, faults before it.

Chat, embeddings, audio and responses all read their directive and obey the faults that come
before the first byte (fail_first, latency, hang, Retry-After, an HTTP status) the same way; only
the error shape differs, so the handlers pass their dialect's error renderer in.
"""

from __future__ import annotations

import asyncio
import http
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from llmswitch.fake_upstream.directives import NO_DIRECTIVE, Directive, FailureCounter, from_header, parse, split_text
from llmswitch.fake_upstream.options import FakeOptions
from llmswitch.fake_upstream.recorder import Recorder

BODY = web.RequestKey("fake_upstream.body", object)
RECORD = web.RequestKey("fake_upstream.record", dict)  # the recorded entry, for handlers that read the body late
JSON = "application/json"
SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


@dataclass(slots=True)
class State:
    options: FakeOptions
    recorder: Recorder
    failures: FailureCounter = field(default_factory=FailureCounter)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    extensions: dict[str, Any] = field(default_factory=dict)  # per-operation state (e.g. stored responses)


STATE = web.AppKey("fake_upstream.state", State)

ErrorRenderer = Callable[[int, str], bytes]


def error(render: ErrorRenderer, status: int, message: str, headers: dict[str, str]) -> web.Response:
    return web.Response(status=status, body=render(status, message), content_type=JSON, headers=headers)


def directive_of(request: web.Request, text: str) -> tuple[str, Directive]:
    """The text without its directive, and the directive from the text and the `x-fake` header.

    Raises `DirectiveError` for a malformed one; the text's keys win over the header's.
    """
    stripped, raw = split_text(text)
    header = request.headers.get("x-fake")
    if header:
        raw = {**from_header(header), **(raw or {})}
    return stripped.strip(), parse(raw) if raw else NO_DIRECTIVE


def default_message(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else f"Error {status}"


async def before_answer(request: web.Request, directive: Directive, headers: dict[str, str],
                        render: ErrorRenderer) -> tuple[Directive, web.Response | None]:
    """Obey what comes before the first byte; the directive left to obey, and the error answer if any.

    `fail_first` is counted here, so a retry past it gets the same answer without the faults.
    """
    state = request.app[STATE]
    directive = state.failures.apply(directive)
    wait = state.options.latency_ms / 1000 + directive.hang_s
    if wait:
        await asyncio.sleep(wait)
    if directive.retry_after is not None:
        headers["retry-after"] = f"{directive.retry_after:g}"
    if directive.status and directive.error_after is None:
        return directive, error(render, directive.status, directive.message or default_message(directive.status),
                                headers)
    return directive, None
