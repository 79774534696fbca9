"""A real Prometheus server (Debian's `prometheus`, installed by scripts/install-prometheus.sh) scrapes the
gateway on loopback every second, and a PromQL `rate()` over its HTTP API sees the requests made.

Both servers listen on free ports; Prometheus keeps its data in the test's temporary directory. The
waits are for events (a first sample stored, a rate computed), each bounded by WAIT_S.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from tests.support.processes import Process, _spawn, free_port, start_gateway

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = "/usr/bin/prometheus"
WAIT_S = 45.0


def installed() -> None:
    """Skip loudly, naming why, when Prometheus cannot run here; with CI=true fail instead."""
    check = subprocess.run([str(ROOT / "scripts/install-prometheus.sh"), "--check"], capture_output=True, text=True)
    if check.returncode == 0:
        return
    why = f"Prometheus is not available: {check.stdout.strip() or check.stderr.strip()}"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def prometheus(tmp_path: Path, gateway: Process) -> Iterator[Process]:
    installed()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "llmswitch", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{gateway.port}"]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    args = [PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with _spawn(args, port, "/-/ready", None, tmp_path) as process:
        yield process


@pytest.fixture
def gateway(fake: Process) -> Iterator[Process]:
    config = {"providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
              "models": {"scraped": [{"provider": "fake", "model": "gpt-4o"}]}}
    with start_gateway(config) as process:
        yield process


def query(prometheus: Process, promql: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    url = f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def until(prometheus: Process, promql: str) -> list[dict[str, Any]]:
    """PROMQL's result once it is not empty (or empty after WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    result = query(prometheus, promql)
    while not result and time.monotonic() < deadline:
        time.sleep(0.25)
        result = query(prometheus, promql)
    return result


def test_prometheus_scrapes_the_gateway_and_computes_a_rate_of_its_requests(
        gateway: Process, prometheus: Process) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="anything", max_retries=0, timeout=20)

    def send(count: int) -> None:
        for _ in range(count):
            client.chat.completions.create(model="scraped", messages=[{"role": "user", "content": "hello"}])

    send(5)
    assert until(prometheus, 'llmswitch_requests_total{model="scraped"}'), "no sample was stored"
    send(5)
    rate = until(prometheus, 'sum(rate(llmswitch_requests_total{model="scraped",status="200"}[30s])) > 0')
    assert rate and float(rate[0]["value"][1]) > 0
    assert float(query(prometheus, 'up{job="llmswitch"}')[0]["value"][1]) == 1
    stored = query(prometheus, 'llmswitch_request_duration_seconds_count{model="scraped"}')
    assert stored and float(stored[0]["value"][1]) > 0  # the histogram is read as one too
