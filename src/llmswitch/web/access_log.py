"""One line per request, every route's: what was asked, how it ended, how long it took.

The middleware hands each finished request here; what the core knew of it (`core.pipeline.SERVING`: its
operation, model, timeout and where that came from, and its `RequestRecord`: the attempts and the
failure's category) enriches the line when the request went through the pipeline. The rest of such a
request (its key, provider, tokens, cost, client) is its ledger row, found by the request id. A JSON
object per line for a log collector, or a plain line for a terminal (`logging.format`).

On every request's path, so built for cost: a msgspec Struct (`AccessLine`) encoded into the batch of
lines the loop writes (`telemetry.output`); nothing here takes a lock or makes a system call. The path
is written without its query string (where clients put keys), and scrubbed when the route has parts a
client chose (`/v1/responses/{id}`) or matched none; headers are never written. Bodies only with
`logging.bodies`: a JSON or text body, its credential fields' values and anything shaped like a
credential redacted, cut to BODY_LIMIT characters; any other body as its media type and size.
"""

from __future__ import annotations

import re
import time

import msgspec
from aiohttp import web
from aiohttp.web_urldispatcher import PlainResource

from llmswitch.config import LoggingConfig
from llmswitch.core.pipeline import Request
from llmswitch.core.records import error_category
from llmswitch.redact import REDACTED, scrub
from llmswitch.telemetry.logs import Clock, Format
from llmswitch.telemetry.output import STDERR, Lines

BODY_LIMIT = 4096  # characters of a body kept in its line
MAX_PATH = 300  # characters of a path kept
# A JSON member whose name says it holds a credential; its string value goes whole, whatever its shape
# (a short `security_key` has none). Token counts (`max_tokens`, `prompt_tokens`) are not credentials.
_CREDENTIAL_FIELD = re.compile(
    r'(?i)("(?:[a-z0-9_\-]*(?:api[_-]?key|security_key|secret|password|passwd|authorization|cookie|credential'
    r'|access_token|refresh_token|session_token|id_token)[a-z0-9_\-]*|key|token)"\s*:\s*)"(?:[^"\\]|\\.)*"')
_TEXTUAL = ("json", "text/", "x-www-form-urlencoded")


class AccessLine(msgspec.Struct, omit_defaults=True, gc=False):
    """One request's line; an optional field left unset (None) is not written. `time`: its start, unix
    seconds. Made positionally (by keyword it cost twice as much) and encoded by msgspec straight into
    the batch of lines: ~6,000 instructions, where a dict encoded by orjson took ~9,000 (every key ~200)
    and an f-string ~20,000 (Python's float repr alone ~4,000 each)."""

    level: str
    logger: str
    time: float
    request_id: str
    method: str
    path: str
    status: int
    duration_ms: float
    result: str
    overloaded: bool
    cancelled: bool
    operation: str | None = None  # this group: requests the core served
    model: str | None = None
    stream: bool | None = None
    timeout_s: float | None = None
    timeout_source: str | None = None
    timeout_clamped: bool | None = None
    attempts: int | None = None
    client_ip: str | None = None  # when no ledger row has it
    request_body: str | None = None
    response_body: str | None = None


MAX_PATHS = 4096  # paths known to be logged as they are (`AccessLog._path`); past it they are judged afresh


class AccessLog:
    """Writes the access line of each request (`line`) to LINES, in STYLE."""

    def __init__(self, config: LoggingConfig, style: Format, lines: Lines = STDERR) -> None:
        self.bodies = config.bodies
        self.text = style == "text"
        self.lines = lines
        self.clock = Clock(utc=False)  # the text lines'
        self._plain: set[str] = set()  # paths of routes with no part a client chose: logged as they are

    def line(self, request: web.Request, request_id: str, at: float, started: float, status: int,
             code: str | None, core: Request | None, overloaded: bool, cancelled: bool,
             response: web.StreamResponse | None) -> None:
        """The line of REQUEST, begun at AT (time.time()) and STARTED (time.perf_counter()), answered
        STATUS (with the error CODE it was given, if any); CORE: what the pipeline knew of it. The line
        says how the request fared; its key, tokens, cost and client are in the ledger's row, found by
        the request id (a line with no row gives its client)."""
        path = request.path
        if path not in self._plain:
            path = self._path(request)
        duration_ms = (time.perf_counter() - started) * 1000.0
        if core is None:
            line = AccessLine("info", "llmswitch.access", at, request_id, request.method, path, status, duration_ms,
                              error_category(status, code) or "ok", overloaded, cancelled, client_ip=request.remote)
        else:
            record = core.record
            try:
                timeout_s: float | None = core.timeouts.total
            except AttributeError:  # set first thing in `serve`: missing only when that raised (a bad timeout)
                timeout_s = None
            if record is None:  # the caller could not be authenticated: nothing reached the core's exit
                model, attempts, result = scrub(core.model_name), 0, error_category(status, code) or "ok"
            else:
                model, attempts, result = record.model, record.attempts, record.error or "ok"  # model: scrubbed
            line = AccessLine("info", "llmswitch.access", at, request_id, request.method, path, status, duration_ms,
                              result, overloaded, cancelled, core.operation.name, model, core.stream, timeout_s,
                              core.timeout_source, core.timeout_clamped, attempts,
                              request.remote if record is None else None)
        if self.bodies:
            line.request_body, line.response_body = request_body(request), response_body(response)
        if self.text:
            self.lines.write(_text(line, self.clock.format(at)))
        else:
            self.lines.encode(line)

    def _path(self, request: web.Request) -> str:
        """The path as logged: as it is when it names a route with no part a client chose (most
        requests: remembered, so that it is known next time), else scrubbed and cut short."""
        path = request.path
        if type(request.match_info.route.resource) is PlainResource:
            if len(self._plain) >= MAX_PATHS:
                self._plain.clear()
            self._plain.add(path)
            return path
        return scrub(path[:MAX_PATH])


def redacted(text: str) -> str:
    """A body's text without credentials: its credential fields' values, then anything shaped like
    one or held by the gateway (scrubbed whole before it is cut, so no half key escapes the match)."""
    text = _CREDENTIAL_FIELD.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text[:BODY_LIMIT + 1024])
    return scrub(text)[:BODY_LIMIT]


def request_body(request: web.Request) -> str | None:
    """What the handler read of the body (aiohttp keeps it), redacted; a body it did not read as a
    whole (a multipart upload) or not textual, by its media type and size."""
    if not request.body_exists:
        return None
    content_type = request.content_type
    raw = getattr(request, "_read_bytes", None)  # aiohttp's copy of a body read whole; None otherwise
    if raw is None or not any(kind in content_type for kind in _TEXTUAL):
        return f"<{content_type}, {request.content_length if request.content_length is not None else '?'} bytes>"
    return redacted(raw.decode(errors="replace"))


def response_body(response: web.StreamResponse | None) -> str | None:
    if response is None:
        return None
    if type(response) is not web.Response:
        return f"<streamed {response.content_type}>"
    body = response.body
    if not isinstance(body, bytes):
        return None if body is None else f"<{response.content_type}>"
    if not any(kind in response.content_type for kind in _TEXTUAL):
        return f"<{response.content_type}, {len(body)} bytes>"
    return redacted(body.decode(errors="replace"))


def _text(line: AccessLine, when: str) -> bytes:
    """The line for a terminal: the essentials first, then what is worth a glance."""
    parts = [when, "INFO access:", str(line.status), line.method, line.path, f"{line.duration_ms:.1f}ms",
             line.request_id]
    if line.operation is not None:
        parts += [line.operation, repr(line.model)]
        if line.stream:
            parts.append("stream")
        if line.timeout_s is not None:
            clamped = ", clamped" if line.timeout_clamped else ""
            parts.append(f"timeout={line.timeout_s:g}s({line.timeout_source}{clamped})")
        if line.attempts and line.attempts > 1:
            parts.append(f"attempts={line.attempts}")
    if line.result != "ok":
        parts.append(line.result)
    for flag in ("overloaded", "cancelled"):
        if getattr(line, flag):
            parts.append(flag)
    text = " ".join(parts) + "\n"
    for name in ("request_body", "response_body"):
        body = getattr(line, name)
        if body is not None:
            text += f"  {name}: {body}\n"
    return text.encode(errors="replace")
