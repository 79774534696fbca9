"""Latency percentiles from fixed buckets: every duration has its bucket, and a percentile read from the
counts lies in the bucket of the exact one."""

from __future__ import annotations

import math
import random

import pytest

from llmswitch.core.histogram import BOUNDS_MS, BUCKETS, bucket, percentile


def test_bounds_grow_by_at_most_five_thirds_from_a_millisecond_to_a_thousand_seconds() -> None:
    assert BOUNDS_MS[0] == 1.0 and BOUNDS_MS[-1] == 1_000_000.0 and BUCKETS == len(BOUNDS_MS) + 1
    assert all(1 < high / low <= 5 / 3 + 1e-9 for low, high in zip(BOUNDS_MS, BOUNDS_MS[1:]))


@pytest.mark.parametrize(("ms", "index"), [(0.0, 0), (1.0, 0), (1.2, 1), (1.5, 1), (250.0, 15), (2e6, BUCKETS - 1)])
def test_a_duration_falls_in_the_bucket_whose_bound_it_does_not_exceed(ms: float, index: int) -> None:
    assert bucket(ms) == index


@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_a_percentile_lies_in_the_bucket_of_the_exact_one(q: float) -> None:
    values = [random.Random(q).lognormvariate(6, 1.2) for _ in range(5000)]
    counts = [0] * BUCKETS
    for value in values:
        counts[bucket(value)] += 1
    exact = sorted(values)[math.ceil(q * len(values)) - 1]
    index = bucket(exact)
    estimate = percentile(counts, q)
    assert estimate is not None and (BOUNDS_MS[index - 1] if index else 0) <= estimate <= BOUNDS_MS[index]


def test_nothing_counted_has_no_percentile_and_the_slowest_bucket_answers_its_bound() -> None:
    assert percentile([0] * BUCKETS, 0.5) is None
    assert percentile([0] * (BUCKETS - 1) + [3], 0.95) == BOUNDS_MS[-1]
