"""`GET /metrics` through a real gateway in front of the fake upstream, read with Prometheus's own parser:
each value is the one the requests made.

Each test asks its own models, so the counts one test reads are its own whatever ran before it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import llmswitch

from tests.support.fake import fake_directive
from tests.support.metrics import Page, scrape
from tests.support.processes import Process, start_gateway

PRICE = {"input": 1000.0, "output": 2000.0, "cached_input": 500.0}  # USD per million tokens
USAGE = {"prompt": 100, "completion": 20, "cached": 40, "reasoning": 5}
# At PRICE: 60 uncached input tokens, 40 cached, 20 output.
COST_OF_USAGE = (60 * 1000.0 + 40 * 500.0 + 20 * 2000.0) / 1_000_000
POLL_S = 20.0


def own_models(*names: str) -> dict[str, list[dict[str, Any]]]:
    """One deployment of its own per model: a fault one test causes cools only its own target."""
    return {name: [{"provider": "fake", "model": f"{name}-upstream"}] for name in names}


@pytest.fixture(scope="module")
def gateway(fake: Process) -> Iterator[Process]:
    config = {
        "server": {"keepalive_s": 0.3},
        "providers": {
            "fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["upstream-secret-1"]},
            "nowhere": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]},
        },
        "models": {
            **own_models("counted", "priced", "timed", "failing", "rejected", "cooling", "hanging", "globbed"),
            "failover": [{"provider": "nowhere", "model": "failover-first", "priority": 0},
                         {"provider": "fake", "model": "failover-second", "priority": 1}],
        },
        "aliases": {"globbed-*": "globbed"},
        "prices": {"priced": PRICE},
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="anything", max_retries=0, timeout=20)


def ask(client: openai.OpenAI, model: str, text: str = "hello", **extra: Any) -> Any:
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}], **extra)


def refused(client: openai.OpenAI, model: str, text: str = "hello") -> int:
    """The status of a request the gateway answers with an error."""
    with pytest.raises(openai.APIStatusError) as error:
        ask(client, model, text)
    return error.value.status_code


def test_the_page_parses_and_declares_each_family_with_its_type(gateway: Process, client: openai.OpenAI) -> None:
    ask(client, "counted")
    page = scrape(gateway.url)
    assert page.types == {
        "llmswitch_requests": "counter", "llmswitch_request_duration_seconds": "histogram",
        "llmswitch_time_to_first_token_seconds": "histogram", "llmswitch_tokens": "counter",
        "llmswitch_cost_usd": "counter", "llmswitch_upstream_errors": "counter",
        "llmswitch_upstream_retries": "counter", "llmswitch_rate_limited": "counter",
        "llmswitch_requests_in_flight": "gauge", "llmswitch_target_state": "gauge", "llmswitch_workers": "gauge",
        "process_cpu_seconds": "counter", "process_resident_memory_bytes": "gauge",
        "process_open_fds": "gauge",
    }
    assert page.series("llmswitch_workers") == [{"version": llmswitch.__version__}]
    assert page.value("llmswitch_workers") == 1
    assert page.value("process_resident_memory_bytes") > 0


def test_requests_are_counted_by_model_provider_operation_status_and_error(
        gateway: Process, client: openai.OpenAI) -> None:
    before = scrape(gateway.url)
    for _ in range(3):
        ask(client, "counted")
    assert refused(client, "counted", fake_directive(status=400, message="bad")) == 400
    page = scrape(gateway.url)
    served = {"model": "counted", "provider": "fake", "operation": "chat", "status": "200", "error": ""}
    assert page.value("llmswitch_requests_total", **served) - before.value("llmswitch_requests_total", **served) == 3
    assert page.series("llmswitch_requests_total", model="counted", status="400") == [
        {"model": "counted", "provider": "", "operation": "chat", "status": "400", "error": "invalid_request"}]
    assert page.value("llmswitch_requests_total", model="counted", status="400") == 1


def test_tokens_and_cost_are_the_usage_billed_at_the_configured_prices(gateway: Process, client: openai.OpenAI) -> None:
    answers = [ask(client, "priced", fake_directive(usage=USAGE)) for _ in range(2)]
    answers.append(ask(client, "priced", fake_directive(usage=USAGE), stream=True,
                       stream_options={"include_usage": True}))
    for _chunk in answers[-1]:
        pass
    page = scrape(gateway.url)
    tokens = {kind: page.value("llmswitch_tokens_total", model="priced", type=kind)
              for kind in ("input", "output", "cached", "cache_write", "reasoning")}
    assert tokens == {"input": 300, "output": 60, "cached": 120, "cache_write": 0, "reasoning": 15}
    assert answers[0].usage.prompt_tokens == USAGE["prompt"]  # what the client was told, the metrics counted
    assert page.value("llmswitch_cost_usd_total", model="priced") == pytest.approx(3 * COST_OF_USAGE)


def test_the_latency_histograms_count_each_answer_in_cumulative_buckets(
        gateway: Process, client: openai.OpenAI) -> None:
    for _ in range(2):
        ask(client, "timed")
    for _chunk in ask(client, "timed", stream=True):
        pass
    assert refused(client, "timed", fake_directive(status=400)) == 400  # a failure is no latency sample
    page = scrape(gateway.url)
    for family in ("llmswitch_request_duration_seconds", "llmswitch_time_to_first_token_seconds"):
        buckets = [(float(labels["le"]), page.value(f"{family}_bucket", model="timed", le=labels["le"]))
                   for labels in page.series(f"{family}_bucket", model="timed")]
        counts = [count for _bound, count in sorted(buckets)]
        assert counts == sorted(counts) and counts[-1] == 3, family  # cumulative, +Inf holds all
        assert page.value(f"{family}_count", model="timed") == 3
        assert page.value(f"{family}_sum", model="timed") > 0


def test_model_names_the_config_does_not_know_are_folded_into_one_label(
        gateway: Process, client: openai.OpenAI) -> None:
    names = [f"invented-{uuid.uuid4().hex}" for _ in range(5)]
    for name in names:
        assert refused(client, name) == 404
    ask(client, "globbed-by-a-client")
    page = scrape(gateway.url)
    assert page.value("llmswitch_requests_total", model="unconfigured", status="404") >= 5
    assert not any(name in str(labels) for _n, labels, _v in page.samples for name in names)
    assert page.value("llmswitch_requests_total", model="globbed", status="200") == 1  # its glob alias's model


def test_a_failed_attempt_is_counted_by_reason_and_so_is_the_retry_after_it(
        gateway: Process, client: openai.OpenAI) -> None:
    ask(client, "failover")
    assert refused(client, "failing", fake_directive(status=500)) == 500
    page = scrape(gateway.url)
    first = {"provider": "nowhere", "deployment": "nowhere/failover-first#0", "reason": "connect"}
    assert page.value("llmswitch_upstream_errors_total", **first) == 1
    assert page.value("llmswitch_upstream_retries_total", **first) == 1
    assert page.value("llmswitch_requests_total", model="failover", provider="fake", status="200") == 1
    failing = {"provider": "fake", "deployment": "fake/failing-upstream#0", "reason": "http_500"}
    assert page.value("llmswitch_upstream_errors_total", **failing) == 1
    assert page.value("llmswitch_upstream_retries_total", **failing) == 0  # no other target to move on to


def test_a_target_whose_upstream_key_is_rejected_is_shown_disabled(gateway: Process, client: openai.OpenAI) -> None:
    target = {"model": "rejected", "deployment": "fake/rejected-upstream#0"}
    assert scrape(gateway.url).value("llmswitch_target_state", state="healthy", **target) == 1
    assert refused(client, "rejected", fake_directive(status=401)) == 401
    page = scrape(gateway.url)
    assert page.value("llmswitch_target_state", state="disabled", **target) == 1
    assert page.value("llmswitch_target_state", **target) == 1  # one state at a time


def test_a_429_the_gateway_makes_for_targets_all_cooling_down_is_counted(
        gateway: Process, client: openai.OpenAI) -> None:
    assert refused(client, "cooling", fake_directive(status=429, retry_after=120)) == 429  # the upstream's own
    assert refused(client, "cooling") == 429  # the gateway's: its only target cools down
    page = scrape(gateway.url)
    assert page.value("llmswitch_target_state", model="cooling", state="cooling_down") == 1
    assert page.value("llmswitch_rate_limited_total", scope="targets", reason="cooling_or_capped") == 1
    assert page.value("llmswitch_upstream_errors_total", deployment="fake/cooling-upstream#0",
                      reason="http_429") == 1


def test_in_flight_counts_a_request_while_it_is_served(gateway: Process, client: openai.OpenAI) -> None:
    slow = threading.Thread(target=ask, args=(client, "hanging", fake_directive(hang_s=3)), daemon=True)
    slow.start()
    assert wait_for(gateway, lambda page: page.value("llmswitch_requests_in_flight") == 1)
    slow.join(20)
    assert wait_for(gateway, lambda page: page.value("llmswitch_requests_in_flight") == 0)
    assert scrape(gateway.url).value("llmswitch_requests_total", model="hanging", status="200") == 1


def wait_for(gateway: Process, condition: Any) -> bool:
    """Scrape until CONDITION holds of the page, or POLL_S have gone by."""
    deadline = time.monotonic() + POLL_S
    while time.monotonic() < deadline:
        if condition(scrape(gateway.url)):
            return True
        time.sleep(0.1)  # under the per-address throttle's 20 a second
    return False


def test_metrics_can_be_turned_off(fake: Process) -> None:
    config = {"providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
              "models": own_models("any"), "metrics": {"enabled": False}}
    with start_gateway(config) as gateway:
        with pytest.raises(urllib.error.HTTPError) as error:
            scrape(gateway.url)
        assert error.value.code == 404


def test_with_require_key_only_the_master_key_reads_the_metrics(fake: Process, tmp_path: Any) -> None:
    master = "sk-master-metrics"
    config = {"auth": {"master_key": master, "secret": "metrics-secret"},
              "database_url": f"sqlite:///{tmp_path / 'llmswitch.db'}",
              "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
              "models": own_models("any"), "metrics": {"require_key": True}}
    with start_gateway(config) as gateway:
        for headers in ({}, {"authorization": "Bearer sk-not-the-master"}):
            with pytest.raises(urllib.error.HTTPError) as error:
                scrape(gateway.url, headers)
            assert error.value.code == 401
            assert master not in error.value.read().decode()
        page: Page = scrape(gateway.url, {"authorization": f"Bearer {master}"})
        assert page.value("llmswitch_workers") == 1


def test_a_key_over_its_rate_limit_is_counted_by_scope_and_reason(fake: Process, tmp_path: Any) -> None:
    master = "sk-master-metrics"
    config = {"auth": {"master_key": master, "secret": "metrics-secret"},
              "database_url": f"sqlite:///{tmp_path / 'llmswitch.db'}",
              "providers": {"fake": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["x"]}},
              "models": own_models("limited")}
    with start_gateway(config) as gateway:
        create = urllib.request.Request(f"{gateway.url}/admin/api/keys", data=b'{"rpm": 1}', method="POST",
                                        headers={"authorization": f"Bearer {master}",
                                                 "content-type": "application/json"})
        with urllib.request.urlopen(create, timeout=10) as response:
            key = json.loads(response.read())["key"]
        client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0, timeout=20)
        ask(client, "limited")
        assert refused(client, "limited") == 429
        page = scrape(gateway.url)
        assert page.value("llmswitch_rate_limited_total", scope="key", reason="requests") == 1
        assert page.value("llmswitch_requests_total", model="limited", status="429", error="rate_limited") == 1
