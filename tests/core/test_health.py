"""One target's health: circuit breaker, Retry-After cool-down, disabled keys, caps, latency, error rate."""

from __future__ import annotations

import pytest

from llmswitch.config import RoutingConfig
from llmswitch.core.health import OutcomeWindow, TargetHealth
from llmswitch.providers.base import UpstreamError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def health(clock: Clock, **caps: int) -> TargetHealth:
    routing = RoutingConfig(circuit_failures=3, circuit_window_s=10.0, circuit_cooldown_s=5.0)
    return TargetHealth(routing, clock=clock, **caps)


def fail(h: TargetHealth, error: UpstreamError) -> None:
    h.begin()
    h.failed(error)


def server_error() -> UpstreamError:
    return UpstreamError("http", "boom", status=500)


def test_circuit_opens_after_n_failures_inside_the_window(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
    assert h.circuit_state() == "open"
    assert h.unavailable() is not None and h.unavailable().reason == "circuit open"


def test_failures_spread_wider_than_the_window_keep_the_circuit_closed(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
        clock.now += 6.0
    assert h.circuit_state() == "closed"


def test_open_circuit_lets_exactly_one_probe_through_after_the_cooldown(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
    clock.now += 5.0
    assert h.unavailable() is None
    h.begin()
    assert h.unavailable() is not None  # a second request must not probe too


def test_successful_probe_closes_the_circuit(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
    clock.now += 5.0
    h.begin()
    h.responded(0.1)
    h.finished()
    assert h.circuit_state() == "closed" and h.unavailable() is None


def test_failed_probe_opens_the_circuit_again(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
    clock.now += 5.0
    fail(h, server_error())
    assert h.circuit_state() == "open"


def test_retry_after_cools_the_target_for_that_long(clock: Clock) -> None:
    h = health(clock)
    fail(h, UpstreamError("http", "slow down", status=429, retry_after=2.0))
    why = h.unavailable()
    assert why is not None and why.rate_limited and why.retry_in == pytest.approx(2.0)
    clock.now += 2.0
    assert h.unavailable() is None


def test_rejected_upstream_key_is_disabled_and_says_why(clock: Clock) -> None:
    h = health(clock)
    fail(h, UpstreamError("http", "invalid key", status=401))
    why = h.unavailable()
    assert why is not None and why.reason == "upstream key rejected (401)" and not why.ejected
    assert h.snapshot()["state"] == "disabled"


def test_rejected_upstream_key_is_probed_after_the_cooldown_and_comes_back_once_it_works(clock: Clock) -> None:
    h = health(clock)
    fail(h, UpstreamError("http", "invalid key", status=403))
    clock.now += 5.0
    assert h.unavailable() is None  # one probe may go
    h.begin()
    assert h.unavailable() is not None  # and only one
    h.responded(0.1)
    h.finished()
    assert h.unavailable() is None and h.snapshot()["state"] == "healthy"


def test_a_probe_meeting_the_same_rejection_disables_the_key_again(clock: Clock) -> None:
    h = health(clock)
    fail(h, UpstreamError("http", "invalid key", status=401))
    clock.now += 5.0
    fail(h, UpstreamError("http", "invalid key", status=401))
    clock.now += 4.0
    assert h.unavailable() is not None and h.snapshot()["state"] == "disabled"


def test_rejected_client_key_does_not_disable_the_target(clock: Clock) -> None:
    h = health(clock)
    h.begin()
    h.failed(UpstreamError("http", "invalid key", status=401), own_key=False)
    assert h.unavailable() is None


@pytest.mark.parametrize("status", [400, 404, 413, 422])
def test_request_errors_do_not_count_against_the_target(clock: Clock, status: int) -> None:
    h = health(clock)
    for _ in range(5):
        fail(h, UpstreamError("http", "bad request", status=status))
    assert h.circuit_state() == "closed" and h.error_rate() == 0.0


@pytest.mark.parametrize("kind", ["body_too_large", "shutdown"])
def test_an_answer_past_the_size_cap_or_our_own_shutdown_does_not_count_against_the_target(
        clock: Clock, kind: str) -> None:
    h = health(clock)
    for _ in range(5):
        fail(h, UpstreamError(kind, "ended by the gateway"))  # type: ignore[arg-type]
    assert h.circuit_state() == "closed" and h.error_rate() == 0.0


def test_timeouts_the_client_caused_do_not_count_against_the_target(clock: Clock) -> None:
    h = health(clock)
    for _ in range(5):
        h.begin()
        h.failed(UpstreamError("first_byte_timeout", "no answer"), by_client=True)
    assert h.circuit_state() == "closed" and h.unavailable() is None


def test_an_open_circuit_is_the_gateways_own_verdict_a_retry_after_is_the_upstreams(clock: Clock) -> None:
    opened, cooled = health(clock), health(clock)
    for _ in range(3):
        fail(opened, server_error())
    fail(cooled, UpstreamError("http", "busy", status=503, retry_after=9.0))
    assert opened.unavailable().ejected  # type: ignore[union-attr]
    assert not cooled.unavailable().ejected  # type: ignore[union-attr]


def test_a_failure_while_the_circuit_is_open_restarts_the_cooldown(clock: Clock) -> None:
    h = health(clock)
    for _ in range(3):
        fail(h, server_error())
    clock.now += 4.0
    fail(h, server_error())  # tried anyway, every target being open
    clock.now += 4.0
    assert h.circuit_state() == "open"


def test_rpm_cap_makes_the_target_unavailable_until_the_next_minute(clock: Clock) -> None:
    clock.now = 6000.0  # the start of a minute
    h = health(clock, rpm=2)
    h.begin()
    h.begin()
    why = h.unavailable()
    assert why is not None and why.rate_limited
    clock.now += 60.0
    assert h.unavailable() is None


def test_tpm_cap_counts_the_real_tokens_once_known(clock: Clock) -> None:
    clock.now = 6000.0
    h = health(clock, tpm=1000)
    h.begin(estimated_tokens=10)
    h.responded(0.1)
    h.finished(tokens=1200, estimated_tokens=10)
    assert h.unavailable() is not None


def test_headroom_is_the_unused_share_of_the_tightest_cap(clock: Clock) -> None:
    clock.now = 6000.0
    h = health(clock, rpm=10, tpm=1000)
    h.begin(estimated_tokens=500)
    assert h.headroom() == pytest.approx(0.5)


def test_latency_is_an_ewma_of_time_to_first_content(clock: Clock) -> None:
    h = health(clock)
    h.begin()
    h.responded(0.100)
    h.begin()
    h.responded(0.200)
    assert h.ttfb_ms == pytest.approx(130.0)


def test_error_rate_covers_the_last_minute(clock: Clock) -> None:
    h = health(clock)
    fail(h, server_error())
    h.begin()
    h.responded(0.1)
    assert h.error_rate() == pytest.approx(0.5)
    clock.now += 61.0
    assert h.error_rate() == 0.0


def test_in_flight_counts_attempts_until_they_finish_or_are_abandoned(clock: Clock) -> None:
    h = health(clock)
    h.begin()
    h.begin()
    h.responded(0.1)
    assert h.in_flight == 2
    h.finished()
    h.abandoned()
    assert h.in_flight == 0


def test_snapshot_reports_cooldown_with_a_wall_clock_deadline(clock: Clock) -> None:
    h = health(clock)
    fail(h, UpstreamError("http", "slow down", status=429, retry_after=30.0))
    snap = h.snapshot()
    assert snap["state"] == "cooling_down" and snap["until"] is not None and snap["error_rate"] == 1.0


def test_the_error_rate_window_keeps_one_bucket_per_second_not_one_entry_per_attempt(clock: Clock) -> None:
    window = OutcomeWindow(60.0)
    for i in range(10_000):
        window.add(clock.now + i / 1000, ok=i % 4 != 0)  # 10,000 attempts over 10 seconds
    assert len(window._buckets) == 10
    assert window.failure_share(clock.now + 10) == pytest.approx(0.25)
    assert window.failure_share(clock.now + 75) == 0.0
