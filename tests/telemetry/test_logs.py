"""Log records as lines: redacted, in the access lines' format."""

from __future__ import annotations

import json
import logging
import os
import pty
from collections.abc import Iterator

import pytest

from llmswitch.redact import SECRETS
from llmswitch.telemetry.logs import Clock, LineHandler, resolve_format
from tests.telemetry.test_output import Recording

HELD = "held-Qz81-c0nf1gured"


@pytest.fixture
def held() -> Iterator[object]:
    owner = object()
    SECRETS.hold(owner, [HELD])
    yield owner
    SECRETS.release(owner)


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("llmswitch.test", logging.WARNING, __file__, 1, message, args, info)


def emitted(style: str, entry: logging.LogRecord) -> str:
    lines = Recording()
    LineHandler(style, lines).emit(entry)  # type: ignore[arg-type]
    lines.close()
    return b"".join(lines.writes).decode()


def test_a_json_record_is_one_line_with_its_level_logger_and_message() -> None:
    line = json.loads(emitted("json", record("usage write failed for %s", "k1")))
    assert (line["level"], line["logger"], line["message"]) == (
        "warning", "llmswitch.test", "usage write failed for k1")


def test_a_held_credential_in_a_message_is_redacted(held: object) -> None:
    text = emitted("json", record("upstream said: bad key %s", HELD))
    assert HELD not in text and "[redacted]" in text


def test_a_credential_in_a_traceback_is_redacted(held: object) -> None:
    try:
        raise RuntimeError(f"GET https://example.test/v1?key={HELD} failed")
    except RuntimeError as error:
        caught = error
    line = json.loads(emitted("json", record("call failed", exc=caught)))
    assert "RuntimeError" in line["exception"] and "Traceback" in line["exception"]
    assert HELD not in line["exception"]


def test_a_key_shaped_token_is_redacted_even_if_nobody_holds_it() -> None:
    text = emitted("text", record("echoed sk-proj-Ab3dEf6hIj9lMn2pQr5tUv8x"))
    assert "Ab3dEf6hIj9" not in text and text.endswith("echoed [redacted]\n")


def test_a_text_record_reads_as_time_level_logger_message() -> None:
    text = emitted("text", record("ready"))
    assert text.endswith(" WARNING llmswitch.test: ready\n")


def test_auto_is_json_when_stderr_is_not_a_terminal() -> None:
    fd = os.open(os.devnull, os.O_WRONLY)
    try:
        assert resolve_format("auto", fd) == "json"
        assert resolve_format("text", fd) == "text"
    finally:
        os.close(fd)


def test_auto_is_text_on_a_terminal() -> None:
    parent, child = pty.openpty()
    try:
        assert resolve_format("auto", child) == "text"
    finally:
        os.close(parent)
        os.close(child)


def test_timestamps_have_milliseconds_in_utc_for_json() -> None:
    assert Clock(utc=True).format(86_400 + 0.25) == "1970-01-02T00:00:00.250Z"
