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


class AccessLog:
    """Writes the access line of each request (`line`) to LINES, in STYLE."""

    def __init__(self, config: LoggingConfig, style: Format, lines: Lines = STDERR) -> None:
        self.bodies = config.bodies
        self.text = style == "text"
        self.lines = lines
        self.clock = Clock(utc=not self.text)

    def line(self, request: web.Request, request_id: str, at: float, started: float, status: int,
             code: str | None, core: Request | None, overloaded: bool = False, cancelled: bool = False,
             response: web.StreamResponse | None = None) -> None:
        """The line of REQUEST, begun at AT (time.time()) and STARTED (time.perf_counter()), answered
        STATUS (with the error CODE it was given, if any); CORE: what the pipeline knew of it."""
        resource = request.match_info.route.resource
        path = request.path
        if type(resource) is not PlainResource:  # parts of the path are the client's, or no route matched
            path = scrub(path[:MAX_PATH])
        line: dict[str, Any] = {
            "time": self.clock.format(at), "level": "info", "logger": "llmswitch.access", "request_id": request_id,
            "method": request.method, "path": path, "status": status,
            "duration_ms": int((time.perf_counter() - started) * 100_000.0 + 0.5) / 100,  # round() costs more
        }
        if core is None:
            line["result"] = error_category(status, code) or "ok"
        else:
            record = core.record
            line["operation"] = core.operation.name
            line["model"] = scrub(core.model_name) if record is None else record.model  # the record's is scrubbed
            line["stream"] = core.stream
            timeouts = getattr(core, "timeouts", None)  # set first thing in `serve`: there unless it raised
            if timeouts is not None:
                line["timeout_s"] = timeouts.total
                line["timeout_source"] = core.timeout_source
                line["timeout_clamped"] = core.timeout_clamped
            if record is None:  # the caller could not be authenticated: nothing reached the core's exit
                line["result"] = error_category(status, code) or "ok"
            else:
                line["result"] = record.error or "ok"
                line["key_id"] = record.key_id
                line["provider"] = record.provider
                line["attempts"] = record.attempts
                line["input_tokens"] = record.input_tokens
                line["output_tokens"] = record.output_tokens
                line["cost_usd"] = record.cost_usd
        line["overloaded"] = overloaded
        line["cancelled"] = cancelled
        line["client_ip"] = request.remote or ""
        if self.bodies:
            line["request_body"] = request_body(request)
            line["response_body"] = response_body(response)
        if self.text:
            self.lines.write(_text(line))
        else:
            self.lines.write(orjson.dumps(line) + b"\n")


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


def _text(line: dict[str, Any]) -> bytes:
    """The line for a terminal: the essentials first, then what is worth a glance."""
    parts = [line["time"], "INFO access:", str(line["status"]), line["method"], line["path"],
             f"{line['duration_ms']:.1f}ms", line["request_id"]]
    if "operation" in line:
        parts += [line["operation"], repr(line["model"])]
        if line["stream"]:
            parts.append("stream")
    if "timeout_s" in line:
        clamped = ", clamped" if line["timeout_clamped"] else ""
        parts.append(f"timeout={line['timeout_s']:g}s({line['timeout_source']}{clamped})")
    if line.get("attempts", 1) > 1:
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
