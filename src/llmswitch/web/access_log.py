"""One line per request, every route's: what was asked, how it ended, how long it took.

The middleware hands each finished request here; what the core knew of it (`core.pipeline.SERVING`: its
operation, model, timeout and where that came from, and its `RequestRecord`: the target's provider,
attempts, tokens, cost, the failure's category) enriches the line when the request went through the
pipeline. A JSON object per line for a log collector, or a plain line for a terminal (`logging.format`).

On every request's path, so built for cost: a small dict, encoded by orjson, queued for the writer
thread (`telemetry.output`); nothing here takes a lock or makes a system call. The path is written
without its query string (where clients put keys), and scrubbed when the route has parts a client chose
(`/v1/responses/{id}`) or matched none; headers are never written. Bodies only with `logging.bodies`:
a JSON or text body, its credential fields' values and anything shaped like a credential redacted,
cut to BODY_LIMIT characters; any other body as its media type and size.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
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


_HEAD = '{"level":"info","logger":"llmswitch.access",'  # what every JSON line starts with
_BOOL = ("false", "true")
MAX_ENCODED = 4096  # paths and models kept encoded (`AccessLog._quoted`); past it they are encoded afresh


class AccessLog:
    """Writes the access line of each request (`line`) to LINES, in STYLE."""

    def __init__(self, config: LoggingConfig, style: Format, lines: Lines = STDERR) -> None:
        self.bodies = config.bodies
        self.text = style == "text"
        self.lines = lines
        self.clock = Clock(utc=False)  # the text lines'; a JSON line's time is unix seconds
        self._encoded: dict[str, str] = {}  # a path or model as its line shows it, JSON-quoted

    def line(self, request: web.Request, request_id: str, at: float, started: float, status: int,
             code: str | None, core: Request | None, overloaded: bool, cancelled: bool,
             response: web.StreamResponse | None) -> None:
        """The line of REQUEST (its id printable ASCII, as the middleware makes sure), begun at AT
        (time.time()) and STARTED (time.perf_counter()), answered STATUS (with the error CODE it was
        given, if any); CORE: what the pipeline knew of it.

        On every request's path, so a JSON line is one f-string: the strings a client chose (the path,
        the model) are JSON-quoted by orjson once and then looked up, the rest are the gateway's own
        words and numbers. (A dict encoded by orjson cost twice as much: every key is ~200
        instructions.) The line says how the request fared; its key, tokens, cost and client are in
        the ledger's row, found by the request id (a line with no row says its client)."""
        path = self._encoded.get(request.path) or self._path(request)
        duration_ms = (time.perf_counter() - started) * 1000.0
        if '"' in request_id or "\\" in request_id:
            quoted_id = orjson.dumps(request_id).decode()
        else:
            quoted_id = f'"{request_id}"'
        record = None if core is None else core.record
        result = error_category(status, code) or "ok" if record is None else record.error or "ok"
        if core is None:
            text = (f'{_HEAD}"time":{at!r},"request_id":{quoted_id},"method":"{request.method}","path":{path},'
                    f'"status":{status},"duration_ms":{duration_ms!r},"result":"{result}",'
                    f'"overloaded":{_BOOL[overloaded]},"cancelled":{_BOOL[cancelled]},'
                    f'"client_ip":{_quoted_ip(request.remote)}')
        else:
            timeouts = getattr(core, "timeouts", None)  # set first thing in `serve`: there unless that raised
            model = self._quoted(core.model_name if record is None else record.model, record is None)
            text = (f'{_HEAD}"time":{at!r},"request_id":{quoted_id},"method":"{request.method}","path":{path},'
                    f'"status":{status},"duration_ms":{duration_ms!r},"operation":"{core.operation.name}",'
                    f'"model":{model},"stream":{_BOOL[core.stream]},'
                    f'"timeout_s":{"null" if timeouts is None else repr(timeouts.total)},'
                    f'"timeout_source":"{core.timeout_source}","timeout_clamped":{_BOOL[core.timeout_clamped]},'
                    f'"attempts":{0 if record is None else record.attempts},"result":"{result}",'
                    f'"overloaded":{_BOOL[overloaded]},"cancelled":{_BOOL[cancelled]}')
            if record is None:  # no ledger row: the caller could not be authenticated
                text += f',"client_ip":{_quoted_ip(request.remote)}'
        if self.bodies:
            text += (f',"request_body":{orjson.dumps(request_body(request)).decode()}'
                     f',"response_body":{orjson.dumps(response_body(response)).decode()}')
        text += "}\n"
        if self.text:
            self.lines.write(_text(orjson.loads(text), self.clock.format(at)))
        else:
            self.lines.write(text.encode())

    def _quoted(self, text: str, scrubbed: bool = False) -> str:
        """TEXT JSON-quoted (SCRUBBED: of credentials first), from what was quoted before when it can be."""
        encoded = self._encoded.get(text)
        if encoded is None:
            if len(self._encoded) >= MAX_ENCODED:
                self._encoded.clear()
            encoded = self._encoded[text] = orjson.dumps(scrub(text) if scrubbed else text).decode()
        return encoded

    def _path(self, request: web.Request) -> str:
        """The path as logged, quoted: as it is when it names a route with no part a client chose (most
        requests: kept, so that it is looked up next time), else scrubbed and cut short."""
        path = request.path
        if type(request.match_info.route.resource) is PlainResource:
            return self._quoted(path)
        return orjson.dumps(scrub(path[:MAX_PATH])).decode()


def _quoted_ip(address: str | None) -> str:
    return "null" if address is None else f'"{address}"'  # an IP address: nothing in it to escape


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


def _text(line: dict[str, Any], when: str) -> bytes:
    """The line for a terminal: the essentials first, then what is worth a glance."""
    parts = [when, "INFO access:", str(line["status"]), line["method"], line["path"],
             f"{line['duration_ms']:.1f}ms", line["request_id"]]
    if "operation" in line:
        parts += [line["operation"], repr(line["model"])]
        if line["stream"]:
            parts.append("stream")
        if line["timeout_s"] is not None:
            clamped = ", clamped" if line["timeout_clamped"] else ""
            parts.append(f"timeout={line['timeout_s']:g}s({line['timeout_source']}{clamped})")
        if line["attempts"] > 1:
            parts.append(f"attempts={line['attempts']}")
    if line["result"] != "ok":
        parts.append(line["result"])
    for flag in ("overloaded", "cancelled"):
        if line[flag]:
            parts.append(flag)
    text = " ".join(parts) + "\n"
    for name in ("request_body", "response_body"):
        if line.get(name) is not None:
            text += f"  {name}: {line[name]}\n"
    return text.encode(errors="replace")
