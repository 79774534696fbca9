"""Talking to the body-keyed compat routes as their clients do: raw HTTP, JSON or not, and the
gateway's log line for a request's effective timeout."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from tests.support.processes import Process


def call(url: str, body: Any = None, *, method: str = "POST", headers: dict[str, str] | None = None,
         raw: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    """(status, headers with lower-case names, the body: parsed when JSON, else text)."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, head, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, head, text = error.code, dict(error.headers), error.read()
    head = {k.lower(): v for k, v in head.items()}
    return status, head, json.loads(text) if "json" in head.get("content-type", "") else text.decode()


def timeout_line(gateway: Process, request_id: str) -> str:
    """The gateway's log line giving the effective timeout of request REQUEST_ID (its debug log)."""
    for _ in range(50):
        for line in gateway.log().splitlines():
            if f"(request {request_id})" in line and "timeout_s=" in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no timeout line for {request_id}")
