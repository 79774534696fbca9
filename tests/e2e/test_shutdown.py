"""SIGTERM with requests in flight, through real processes: the gateway stops accepting, lets what
finishes within `server.shutdown_grace_s` finish, ends the rest in their dialect (a stream's error
event, a 503 error body) and records every request in the usage table before it exits."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.fake import fake_directive, fake_get
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-shutdown"
GRACE_S = 4.0  # requests in flight are ended 1 s before it runs out


@dataclass(frozen=True)
class Case:
    """One request of the batch: its route's dialect, whether it streams, whether it outlives the grace,
    and for a slow stream whether its answer has begun (its headers and first content sent) by then."""

    dialect: str  # "openai" | "anthropic"
    stream: bool
    slow: bool
    begun: bool = True

    def body(self, request_id: str) -> dict[str, Any]:
        if self.stream and self.begun:  # 2.5 s of frames, or 60 s of them, one a second
            directive = fake_directive(text=" ".join(["word"] * 60), chunks=60, delay_ms=1000 if self.slow else 40)
        else:  # the upstream is silent until the whole answer is ready
            directive = fake_directive(hang_s=60 if self.slow else 2.5)
        body: dict[str, Any] = {"model": "gpt-4o", "stream": self.stream,
                                "messages": [{"role": "user", "content": f"{request_id} {directive}"}]}
        if self.dialect == "anthropic":
            body["max_tokens"] = 100
        return body


@dataclass
class Result:
    case: Case
    request_id: str
    status: int
    text: str


# 100 requests: every dialect x streaming or not x fast or slow, and slow streams that never began.
CASES = [Case(dialect, stream, slow) for dialect in ("openai", "anthropic") for stream in (False, True)
         for slow in (False, True)] * 12 + [Case(dialect, True, True, begun=False)
                                            for dialect in ("openai", "anthropic") for _ in range(2)]


@pytest.fixture(scope="module")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="fake-shutdown") as process:
        yield process


def config(fake_url: str, database: Path) -> dict[str, Any]:
    return {
        "server": {"shutdown_grace_s": GRACE_S, "keepalive_s": 0.5},
        "auth": {"master_key": MASTER, "secret": "shutdown-secret"},
        "database_url": f"sqlite:///{database}",
        "providers": {"fake": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["k"]}},
        "models": {"gpt-4o": [{"provider": "fake"}]},
    }


async def send(session: aiohttp.ClientSession, url: str, case: Case, request_id: str) -> Result:
    path = "/v1/messages" if case.dialect == "anthropic" else "/v1/chat/completions"
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": request_id}
    try:
        async with session.post(url + path, json=case.body(request_id), headers=headers) as response:
            return Result(case, request_id, response.status, (await response.read()).decode())
    except aiohttp.ClientError as error:  # cut: the connection closed before the answer ended
        return Result(case, request_id, 0, repr(error))


async def in_flight_at_upstream(fake: Process, count: int) -> None:
    """Until the fake upstream holds COUNT requests of this test at once."""
    deadline = time.monotonic() + 30
    while fake_get(fake.url, "/_fake/stats")["in_flight"] < count:
        assert time.monotonic() < deadline, "the requests never all reached the upstream"
        await asyncio.sleep(0.05)


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def usage_rows(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {request_id: status for request_id, status in db.execute("SELECT request_id, status FROM usage_records")}


def finished_normally(result: Result) -> bool:
    if result.status != 200 or not result.text:
        return False
    if not result.case.stream:
        body = json.loads(result.text)
        return bool(body.get("choices") or body.get("content"))
    done = "data: [DONE]" if result.case.dialect == "openai" else "event: message_stop"
    return done in result.text and "error" not in result.text


def ended_by_shutdown(result: Result) -> bool:
    """A stream ended with its dialect's error event; a non-streaming answer, or a stream that had not
    begun, a 503 in its dialect's shape."""
    if result.status == 0:
        return False
    if result.case.stream and result.case.begun:
        if result.case.dialect == "openai":
            events = [json.loads(line[6:]) for line in result.text.splitlines() if line.startswith("data: {")]
            return result.status == 200 and "error" in events[-1] and "[DONE]" not in result.text
        return result.status == 200 and "event: error\n" in result.text and "message_stop" not in result.text
    body = json.loads(result.text)
    if result.case.dialect == "anthropic":
        return result.status == 503 and body["type"] == "error" and "shutting down" in body["error"]["message"]
    return result.status == 503 and "shutting down" in body["error"]["message"]


@dataclass
class Shutdown:
    results: list[Result]
    accepting: bool  # did the port take a new connection half a second after SIGTERM?
    exit_code: int
    stopped_after: float  # seconds from SIGTERM to the process's exit


async def sigterm_with_requests_in_flight(fake: Process, gateway: Process, prefix: str) -> Shutdown:
    """Send every CASE, SIGTERM the gateway once they all reached the upstream, collect what each got."""
    baseline = fake_get(fake.url, "/_fake/stats")["in_flight"]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=90)) as session:
        sending = [asyncio.create_task(send(session, gateway.url, case, f"{prefix}-{i:03d}"))
                   for i, case in enumerate(CASES)]
        await in_flight_at_upstream(fake, baseline + len(CASES))
        await asyncio.sleep(0.5)  # fast requests (2.5 s) are still running; slow streams' content comes at 1 s
        signalled = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        accepting = accepts_connections(gateway.port)
        results = await asyncio.gather(*sending)
        exit_code = await asyncio.to_thread(gateway.process.wait, 90)
        return Shutdown(results, accepting, exit_code, time.monotonic() - signalled)


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_finishes_what_fits_in_the_grace_ends_the_rest_in_dialect_and_records_all(
        fake: Process, tmp_path: Path, workers: int) -> None:
    database = tmp_path / "usage.db"
    with start_gateway(config(fake.url, database), workers=workers) as gateway:
        shutdown = await sigterm_with_requests_in_flight(fake, gateway, f"req-{workers}")

    results = shutdown.results
    assert not shutdown.accepting
    assert shutdown.exit_code == 0, gateway.log()
    assert shutdown.stopped_after < GRACE_S + 2
    assert [r.request_id for r in results if not r.case.slow and not finished_normally(r)] == []
    assert [r.request_id for r in results if r.case.slow and not ended_by_shutdown(r)] == []
    rows = usage_rows(database)
    assert sorted(rows) == sorted(r.request_id for r in results)  # one row per request, none lost
    assert {rows[r.request_id] for r in results if r.case.slow} == {503}
    assert {rows[r.request_id] for r in results if not r.case.slow} == {200}
