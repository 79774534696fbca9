"""With `serve --workers 2`, a scrape lands on either worker and reports the sum over both; a worker that
exits leaves its counts in the totals.

Every request and scrape goes on a connection of its own, so the kernel hands each to either worker;
which one served it is read from the request id, whose prefix is the worker's own.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.metrics import Page, scrape
from tests.support.processes import Process, start_gateway

SPREAD_S = 60.0  # requests are sent for at most this long before both workers have served some
EACH = 5  # requests each worker serves at least
SCRAPES = 12  # scrapes, at least, and until each worker answered some


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "server": {"status_rps": 0},  # scrapes come in a quick row: no per-address throttle on /metrics
        "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
        "models": {"shared": [{"provider": "fake", "model": "gpt-4o"}]},
    }
    with start_gateway(config, workers=2) as process:
        # /health answers once one worker listens; the other may still be starting on a loaded host
        deadline = time.monotonic() + SPREAD_S
        while scrape(process.url).value("llmswitch_workers") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield process


def worker_of(request_id: str) -> str:
    return request_id[: len("req_") + 16]  # `web.middleware`: a random prefix per process, then a counter


def chat(gateway: Process, model: str) -> tuple[int, str]:
    """(status, worker) of one chat request on its own connection."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hello"}]}).encode()
    request = urllib.request.Request(f"{gateway.url}/v1/chat/completions", data=body, method="POST",
                                     headers={"content-type": "application/json", "connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, worker_of(response.headers["x-request-id"])
    except urllib.error.HTTPError as error:
        return error.code, worker_of(error.headers["x-request-id"])


def scrapes(gateway: Process) -> list[Page]:
    """SCRAPES scrapes or more, until each worker has answered at least one."""
    pages: list[Page] = []
    while len(pages) < SCRAPES or len({worker_of(p.request_id) for p in pages}) < 2:
        assert len(pages) < 20 * SCRAPES, "every scrape landed on the same worker"
        pages.append(scrape(gateway.url))
    return pages


def workers(gateway: Process) -> list[int]:
    pid = gateway.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_every_scrape_reports_what_both_workers_served(gateway: Process) -> None:
    served: Counter[str] = Counter()
    sent = 0
    deadline = time.monotonic() + SPREAD_S
    while time.monotonic() < deadline and (len(served) < 2 or min(served.values()) < EACH):
        status, worker = chat(gateway, "shared")
        assert status == 200
        served[worker] += 1
        sent += 1
    assert len(served) == 2 and min(served.values()) >= EACH, f"the requests did not spread: {served}"
    unknown = [chat(gateway, "not-configured") for _ in range(4)]
    assert {status for status, _ in unknown} == {404}
    for page in scrapes(gateway):
        assert page.value("llmswitch_requests_total", model="shared", status="200") == sent
        assert page.value("llmswitch_request_duration_seconds_count", model="shared") == sent
        assert page.value("llmswitch_requests_total", model="unconfigured", status="404") == 4
        assert page.value("llmswitch_tokens_total", model="shared", type="output") > 0
        assert page.value("llmswitch_workers") == 2
        assert page.value("llmswitch_target_state", model="shared", state="healthy") == 2  # as each worker sees it


def test_a_worker_that_exits_leaves_its_counts_in_the_totals(gateway: Process) -> None:
    before = scrape(gateway.url)
    total = before.value("llmswitch_requests_total")
    tokens = before.value("llmswitch_tokens_total")
    assert total > 0
    gone = workers(gateway)[0]
    os.kill(gone, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while gone in workers(gateway) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone not in workers(gateway)
    for _ in range(SCRAPES):
        page = scrape(gateway.url)
        assert page.value("llmswitch_requests_total") == total
        assert page.value("llmswitch_tokens_total") == tokens
        assert page.value("llmswitch_workers") == 1
    assert chat(gateway, "shared")[0] == 200
    assert scrape(gateway.url).value("llmswitch_requests_total") == total + 1
