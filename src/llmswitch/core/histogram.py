"""Fixed latency buckets, so percentiles come from counts that add up.

A percentile of raw rows needs every row (an earlier dashboard took 10.8 s over 100,000 of them on
SQLite); counts per bucket can be summed by the database over hourly roll-ups, any hours, any
filter, and a percentile read from the sum. Bounds run 1-1.5-2-3-5-7 per decade from 1 ms to
1,000 s (38 buckets, the last for anything slower): neighbouring bounds are at most 1.67x apart, and
interpolating within a bucket keeps a percentile within that bucket's width of the exact one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

BOUNDS_MS: tuple[float, ...] = (*(m * 10.0**e for e in range(6) for m in (1, 1.5, 2, 3, 5, 7)), 1_000_000.0)
BUCKETS = len(BOUNDS_MS) + 1  # bucket i holds values up to BOUNDS_MS[i]; the last, those above them all


def bucket(ms: float) -> int:
    """The bucket of a duration in milliseconds."""
    return bisect_left(BOUNDS_MS, ms)


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The Q-quantile (0 < Q < 1) of the durations counted in COUNTS (one count per bucket), in ms,
    interpolated within its bucket: linearly in the first, geometrically above (bounds grow by a
    ratio); the slowest bucket has no upper bound, so its lower one is the answer. None: nothing counted."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            if index >= len(BOUNDS_MS):
                return BOUNDS_MS[-1]
            fraction = (rank - below) / count
            upper = BOUNDS_MS[index]
            if index == 0:
                return upper * fraction
            lower = BOUNDS_MS[index - 1]
            return lower * (upper / lower) ** fraction
        below += count
    return BOUNDS_MS[-1]
