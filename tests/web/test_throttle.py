"""The status routes' token buckets, per address, on a clock the test moves."""

from __future__ import annotations

import pytest

from llmswitch.web import throttle
from llmswitch.web.throttle import TokenBuckets


def test_an_address_gets_its_burst_at_once_then_waits_for_the_next_token() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("a", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 100.0) == pytest.approx(0.5)
    assert buckets.take("a", 100.5) == 0.0
    assert buckets.take("a", 100.5) == pytest.approx(0.5)


def test_addresses_have_buckets_of_their_own() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1)
    assert buckets.take("a", 0.0) == 0.0
    assert buckets.take("a", 0.0) > 0
    assert buckets.take("b", 0.0) == 0.0


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    buckets = TokenBuckets(rate=10.0, burst=2)
    buckets.take("a", 0.0)
    assert [buckets.take("a", 1000.0) for _ in range(3)][2] > 0


def test_past_the_address_cap_full_buckets_are_forgotten_and_busy_ones_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_ADDRESSES", 4)
    buckets = TokenBuckets(rate=1.0, burst=2)
    buckets.take("busy", 10.0)
    buckets.take("busy", 10.0)
    for address in ("idle-1", "idle-2", "idle-3"):
        buckets.take(address, 0.0)
    buckets.take("new", 10.0)  # the idle ones have refilled by now
    assert buckets.take("busy", 10.0) > 0  # still empty: its bucket was kept
    assert set(buckets._buckets) == {"busy", "new"}


def test_a_flood_of_addresses_keeps_memory_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MAX_ADDRESSES", 100)
    buckets = TokenBuckets(rate=0.001, burst=5)
    for i in range(1000):
        buckets.take(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(buckets._buckets) <= 100
