"""Reading a gateway process's log lines: its access lines (JSON, as written when stderr is no terminal)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.processes import Process

WAIT_S = 5.0  # lines are written in batches off the event loop: within a fraction of a second


def json_lines(gateway: Process) -> list[dict[str, Any]]:
    """Every line of the log that is a JSON object (the start-up banner and the like are not)."""
    lines = []
    for text in gateway.log().splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    return lines


def access_lines(gateway: Process, request_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The access lines of request REQUEST_ID, once COUNT of them are written."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = [line for line in json_lines(gateway)
                 if line.get("logger") == "llmswitch.access" and line.get("request_id") == request_id]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def access_line(gateway: Process, request_id: str) -> dict[str, Any]:
    """The one access line of request REQUEST_ID."""
    found = access_lines(gateway, request_id)
    assert len(found) == 1, f"{len(found)} access lines for {request_id}:\n{gateway.log()[-3000:]}"
    return found[0]
