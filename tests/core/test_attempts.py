"""The failover rules: which failures move on, what the client gets when none answers."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from llmswitch.config import parse_config
from llmswitch.core.attempts import Deadline, is_context_overflow, run_attempts
from llmswitch.core.routing import Plan, Router, Target
from llmswitch.errors import GatewayError
from llmswitch.providers import build_provider
from llmswitch.providers.base import UpstreamError
from llmswitch.providers.http import Timeouts

CONFIG = """
providers:
  a: {type: openai, base_url: "http://a.invalid/v1", api_keys: [ka]}
  b: {type: openai, base_url: "http://b.invalid/v1", api_keys: [kb]}
  c: {type: openai, base_url: "http://c.invalid/v1", api_keys: [kc]}
models:
  m:
    - {provider: a, priority: 0}
    - {provider: b, priority: 1}
    - {provider: c, priority: 2}
  careful:
    retry_unsafe: false
    deployments: [{provider: a, priority: 0}, {provider: b, priority: 1}]
  mixed:
    retry_unsafe: false
    deployments: [{provider: a, priority: 0, retry_unsafe: true}, {provider: b, priority: 1}]
  big: [{provider: c}]
context_window_fallbacks: {m: [big]}
"""


def make_router(extra: str = "") -> Router:
    config = parse_config(CONFIG + extra)
    providers = {name: build_provider(name, cfg, None) for name, cfg in config.providers.items()}  # type: ignore[arg-type]
    return Router(config, providers, rng=random.Random(1))


def plan(model: str = "m", extra: str = "") -> Plan:
    r = make_router(extra)
    return r.plan(r.config.models[model])


Script = dict[str, UpstreamError]


def scripted(errors: Script, calls: list[str]) -> Callable[[Target], object]:
    """An attempt that fails with ERRORS[provider] and otherwise answers with the provider's name."""
    async def attempt(target: Target) -> str:
        calls.append(target.provider.name)
        if target.provider.name in errors:
            raise errors[target.provider.name]
        return target.provider.name
    return attempt


def http(status: int, message: str = "error", retry_after: float | None = None) -> UpstreamError:
    return UpstreamError("http", message, status=status, retry_after=retry_after)


@pytest.mark.parametrize("error", [
    UpstreamError("connect", "refused"), UpstreamError("connect_timeout", "slow connect"),
    http(429), http(503), http(529), http(401), http(403),
], ids=lambda e: f"{e.kind}-{e.status}")
async def test_not_processed_failures_always_move_on(error: UpstreamError) -> None:
    calls: list[str] = []
    outcome = await run_attempts(plan("careful"), scripted({"a": error}, calls))
    assert outcome.value == "b" and calls == ["a", "b"] and outcome.count == 2


@pytest.mark.parametrize("error", [
    UpstreamError("first_byte_timeout", "no answer"), UpstreamError("reset", "broke"),
    UpstreamError("idle_timeout", "stalled"), http(500), http(502), http(504),
], ids=lambda e: f"{e.kind}-{e.status}")
async def test_maybe_processed_failures_move_on_by_default(error: UpstreamError) -> None:
    calls: list[str] = []
    outcome = await run_attempts(plan(), scripted({"a": error}, calls))
    assert outcome.value == "b"


@pytest.mark.parametrize("error", [UpstreamError("first_byte_timeout", "no answer"), http(500)],
                         ids=lambda e: f"{e.kind}-{e.status}")
async def test_maybe_processed_failures_come_back_when_retry_unsafe_is_false(error: UpstreamError) -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan("careful"), scripted({"a": error}, calls))
    assert calls == ["a"] and caught.value.status == error.client_status


async def test_the_deployment_setting_wins_over_the_models() -> None:
    calls: list[str] = []
    outcome = await run_attempts(plan("mixed"), scripted({"a": http(500)}, calls))
    assert outcome.value == "b"


async def test_callers_default_applies_when_nothing_more_specific_is_set() -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError):
        await run_attempts(plan(), scripted({"a": http(500)}, calls), retry_unsafe=False)
    assert calls == ["a"]


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_request_errors_go_back_at_once(status: int) -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), scripted({"a": http(status, "bad field")}, calls))
    assert calls == ["a"] and caught.value.status == status and caught.value.message == "bad field"


async def test_a_rejected_client_key_goes_back_at_once() -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), scripted({"a": http(401)}, calls), own_keys=False)
    assert calls == ["a"] and caught.value.status == 401


@pytest.mark.parametrize("message", [
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
    "prompt is too long: 208310 tokens > 200000 maximum",
    "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000",
    "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
])
def test_context_overflow_is_recognised_in_each_providers_words(message: str) -> None:
    assert is_context_overflow(http(400, message))


def test_context_overflow_is_recognised_by_openai_code() -> None:
    error = UpstreamError("http", "too big", status=400,
                          body={"error": {"message": "too big", "code": "context_length_exceeded"}})
    assert is_context_overflow(error)


def test_an_ordinary_bad_request_is_not_a_context_overflow() -> None:
    assert not is_context_overflow(http(400, "Invalid 'temperature': must be between 0 and 2"))


async def test_context_overflow_switches_to_the_context_window_chain() -> None:
    calls: list[str] = []
    outcome = await run_attempts(plan(), scripted({"a": http(400, "prompt is too long: 9 > 8")}, calls))
    assert calls == ["a", "c"] and outcome.target.model.name == "big"


async def test_context_overflow_without_a_chain_goes_back_at_once() -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan("careful"), scripted({"a": http(400, "prompt is too long: 9 > 8")}, calls))
    assert calls == ["a"] and caught.value.status == 400


async def test_when_every_candidate_fails_differently_the_client_gets_502_with_the_attempts() -> None:
    errors = {"a": UpstreamError("connect", "refused"), "b": http(500, "oops"), "c": http(503, "busy")}
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), scripted(errors, []))
    error = caught.value
    assert error.status == 502 and error.headers["x-llmswitch-attempts"] == "3"
    assert [(a["provider"], a["status"], a["reason"]) for a in error.extra["attempts"]] == [
        ("a", None, "refused"), ("b", 500, "oops"), ("c", 503, "busy")]
    assert all(a["duration_ms"] >= 0 for a in error.extra["attempts"])


async def test_when_every_candidate_is_rate_limited_the_client_gets_429_with_the_shortest_wait() -> None:
    errors = {"a": http(429, retry_after=30), "b": http(429, retry_after=4.2), "c": http(429)}
    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), scripted(errors, []))
    assert caught.value.status == 429 and caught.value.headers["retry-after"] == "5"


async def test_retry_after_cools_the_target_so_the_next_plan_skips_it() -> None:
    r = make_router()
    await run_attempts(r.plan(r.config.models["m"]), scripted({"a": http(429, retry_after=30)}, []))
    assert [t.provider.name for t in r.plan(r.config.models["m"]).targets] == ["b", "c"]


async def test_targets_cooling_on_the_upstreams_retry_after_give_503_at_once_passing_it_on() -> None:
    r = make_router()
    for t in r.targets["careful"]:
        t.health.begin()
        t.health.failed(http(503, retry_after=30))
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(r.plan(r.config.models["careful"]), scripted({}, calls))
    assert caught.value.status == 503 and "503 with retry-after" in caught.value.message
    assert caught.value.headers["retry-after"] == "30" and calls == []


async def test_targets_whose_upstream_key_was_rejected_give_503_at_once() -> None:
    r = make_router()
    for t in r.targets["careful"]:
        t.health.begin()
        t.health.failed(http(401))
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(r.plan(r.config.models["careful"]), scripted({}, calls))
    assert caught.value.status == 503 and "upstream key rejected" in caught.value.message and calls == []


def open_every_circuit(r: Router, model: str) -> None:
    for t in r.targets[model]:
        t.health.begin()
        t.health.failed(http(500))


async def test_when_every_circuit_is_open_the_best_target_is_tried_anyway_and_answers() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    open_every_circuit(r, "careful")
    calls: list[str] = []
    outcome = await run_attempts(r.plan(r.config.models["careful"]), scripted({}, calls))
    assert calls == ["a"] and outcome.value == "a"  # the preferred tier, once
    assert outcome.target.health.circuit_state() == "closed"


async def test_when_every_circuit_is_open_the_tried_targets_real_failure_comes_back() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    open_every_circuit(r, "m")
    calls: list[str] = []
    with pytest.raises(GatewayError) as caught:
        await run_attempts(r.plan(r.config.models["m"]),
                           scripted({"a": UpstreamError("first_byte_timeout", "no answer")}, calls))
    assert calls == ["a"] and caught.value.status == 504  # only the best one: a dead model costs one try
    assert [s["target"] for s in caught.value.extra["skipped"]] == ["b/m#0", "c/m#0"]


async def test_an_open_circuit_is_tried_before_a_retry_after_cool_down_is_overridden() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    cooled, opened = r.targets["careful"]
    for target, error in ((cooled, http(429, retry_after=60)), (opened, http(500))):
        target.health.begin()
        target.health.failed(error)
    calls: list[str] = []
    await run_attempts(r.plan(r.config.models["careful"]), scripted({}, calls))
    assert calls == ["b"]


async def test_only_rate_limited_targets_give_429() -> None:
    r = make_router()
    for t in r.targets["careful"]:
        t.health.begin()
        t.health.failed(http(429, retry_after=12))
    with pytest.raises(GatewayError) as caught:
        await run_attempts(r.plan(r.config.models["careful"]), scripted({}, []))
    assert caught.value.status == 429 and caught.value.headers["retry-after"] == "12"


def deadline_in(seconds: float, shortened: bool = False) -> Deadline:
    return Deadline(time.perf_counter() + seconds, shortened)


async def test_no_attempt_starts_once_the_requests_time_is_up_and_the_last_failure_comes_back() -> None:
    calls: list[str] = []
    deadline = deadline_in(0.05)

    async def slow_failure(target: Target) -> str:
        calls.append(target.provider.name)
        await asyncio.sleep(0.06)
        raise UpstreamError("first_byte_timeout", "no answer")

    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), slow_failure, deadline=deadline)
    assert calls == ["a"] and caught.value.status == 504
    assert "timeout ran out after 1 upstream attempts" in caught.value.message


async def test_when_time_runs_out_the_last_failure_decides_the_status_not_a_502() -> None:
    deadline = deadline_in(0.05)

    async def failing(target: Target) -> str:
        if target.provider.name == "a":
            raise http(500)
        await asyncio.sleep(0.06)
        raise UpstreamError("first_byte_timeout", "no answer")

    with pytest.raises(GatewayError) as caught:
        await run_attempts(plan(), failing, deadline=deadline)
    assert caught.value.status == 504 and len(caught.value.extra["attempts"]) == 2


def test_an_attempt_gets_what_is_left_of_the_request_clipped_to_the_deployments_timeout() -> None:
    configured = Timeouts(connect=10, first_byte=60, idle=300, total=600)
    assert deadline_in(5).bound(configured).total == pytest.approx(5, abs=0.05)
    bounded = deadline_in(5).bound(configured)
    assert (bounded.connect, bounded.first_byte, bounded.idle) == (bounded.total,) * 3
    assert deadline_in(500).bound(configured, cap=30) == Timeouts(10, 30, 30, 30)
    assert deadline_in(-1).bound(configured).total == 0.0


async def test_a_timeout_at_the_clients_own_shorter_deadline_does_not_count_against_the_target() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    deadline = deadline_in(0.0, shortened=True)
    with pytest.raises(GatewayError):
        await run_attempts(r.plan(r.config.models["careful"]),
                           scripted({"a": UpstreamError("first_byte_timeout", "no answer")}, []), deadline=deadline)
    assert all(t.health.circuit_state() == "closed" for t in r.targets["careful"])


async def test_a_timeout_before_the_clients_deadline_counts_against_the_target() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    calls: list[str] = []
    await run_attempts(r.plan(r.config.models["m"]),
                       scripted({"a": UpstreamError("first_byte_timeout", "no answer")}, calls),
                       deadline=deadline_in(30, shortened=True))
    assert calls == ["a", "b"] and r.targets["m"][0].health.circuit_state() == "open"


async def test_a_stream_cut_at_the_clients_own_deadline_does_not_count_against_the_target() -> None:
    r = make_router("routing: {circuit_failures: 1}\n")
    outcome = await run_attempts(r.plan(r.config.models["m"]), scripted({}, []),
                                 deadline=deadline_in(0.0, shortened=True))
    outcome.finish(None, UpstreamError("idle_timeout", "the deadline"))
    assert outcome.target.health.circuit_state() == "closed"


async def test_attempts_stop_at_max_attempts() -> None:
    calls: list[str] = []
    with pytest.raises(GatewayError):
        await run_attempts(plan(extra="routing: {max_attempts: 2}\n"), scripted({"a": http(500), "b": http(500)},
                                                                                  calls))
    assert calls == ["a", "b"]


async def test_a_successful_attempt_stays_in_flight_until_finished() -> None:
    p = plan()
    outcome = await run_attempts(p, scripted({}, []))
    assert outcome.target.health.in_flight == 1
    outcome.finish(None)
    outcome.finish(None)
    assert outcome.target.health.in_flight == 0


async def test_a_cancelled_attempt_leaves_no_target_in_flight() -> None:
    p = plan()

    async def cancelled(target: Target) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await run_attempts(p, cancelled)
    assert all(t.health.in_flight == 0 for t in p.targets)
