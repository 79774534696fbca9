"""The process's log records (warnings, errors, tracebacks) on standard error, redacted, in the format of
the access lines: JSON lines for a log collector, plain text on a terminal (`logging.format: auto`).

Every record of every logger (the gateway's, aiohttp's, asyncio's, SQLAlchemy's, Python's warnings) goes
through one handler, which scrubs the finished text, traceback included, of every credential the process
holds and of anything shaped like one (`redact`): an exception's message may quote a URL with `?key=`
or a header an upstream library put in it, and nobody reviews a traceback before it is written.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from types import TracebackType
from typing import Literal

import orjson

from llmswitch.redact import scrub
from llmswitch.telemetry.output import STDERR, Lines

Format = Literal["json", "text"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def resolve_format(configured: str, fd: int = 2) -> Format:
    """`auto`: text when FD is a terminal (someone reads it), JSON lines otherwise (something parses it)."""
    if configured == "auto":
        return "text" if os.isatty(fd) else "json"
    return "text" if configured == "text" else "json"


_MILLISECONDS = [f".{n:03d}" for n in range(1000)]


class Clock:
    """Timestamps for log lines, the date and time part formatted once a second and the milliseconds
    looked up (strftime and a format spec per line were a third of an access line's cost)."""

    __slots__ = ("_zone", "_convert", "_pattern", "_second", "_prefix")

    def __init__(self, utc: bool) -> None:
        # JSON lines: ISO 8601 in UTC; text: local time, as a terminal user reads it
        self._zone = "Z" if utc else ""
        self._convert = time.gmtime if utc else time.localtime
        self._pattern = "%Y-%m-%dT%H:%M:%S" if utc else "%Y-%m-%d %H:%M:%S"
        self._second = -1
        self._prefix = ""

    def format(self, at: float) -> str:
        second = int(at)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime(self._pattern, self._convert(second))
        return self._prefix + _MILLISECONDS[int((at - second) * 1000)] + self._zone


class LineHandler(logging.Handler):
    """Writes each record as one redacted line (JSON) or a few (text with a traceback) to LINES."""

    def __init__(self, style: Format, lines: Lines = STDERR) -> None:
        super().__init__()
        self.style = style
        self.lines = lines
        self.clock = Clock(utc=style == "json")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = scrub(record.getMessage())
            trace = None
            if record.exc_info:
                trace = scrub(logging.Formatter().formatException(record.exc_info))
            elif record.exc_text:
                trace = scrub(record.exc_text)
            when = self.clock.format(record.created)
            level = record.levelname.lower()
            if self.style == "json":
                line: dict[str, object] = {"time": when, "level": level, "logger": record.name, "message": message}
                request_id = getattr(record, "request_id", None)
                if request_id is not None:
                    line["request_id"] = request_id
                if trace is not None:
                    line["exception"] = trace
                self.lines.write(orjson.dumps(line, default=str) + b"\n")
            else:
                text = f"{when} {record.levelname} {record.name}: {message}\n"
                if trace is not None:
                    text += trace + "\n"
                self.lines.write(text.encode(errors="replace"))
        except Exception:  # never let a log line take a request down
            self.handleError(record)


def configure(level: str, style: Format, lines: Lines = STDERR) -> None:
    """Send every log record through one redacting `LineHandler` at LEVEL (`LLMSWITCH_LOG_LEVEL` wins),
    uncaught exceptions and warnings included."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(LineHandler(style, lines))
    chosen = os.environ.get("LLMSWITCH_LOG_LEVEL", level).lower()
    root.setLevel(LEVELS.get(chosen, logging.INFO))
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = lambda args: _uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _uncaught(kind: type[BaseException], error: BaseException | None, trace: TracebackType | None) -> None:
    """An exception nobody caught is logged like any other: redacted, in the same format."""
    if error is None or issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error or kind(), trace)
        return
    logging.getLogger("llmswitch").critical("uncaught exception", exc_info=(kind, error, trace))
    STDERR.flush()
