"""Usage summed by group: the hourly roll-ups the ledger keeps beside its rows, and the groups a usage
query answers with, in one layout.

A tally is a flat list: the SUMS, then the latency histogram, then the time-to-first-token histogram
(`core.histogram`). The writer counts each record into its hour's tally and adds the tallies to the
roll-up rows; a query sums roll-up rows in the database and counts the few raw rows at the edges of
its range here, with the same `count`, so both kinds of rows add up to the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llmswitch.core.histogram import BUCKETS, bucket, percentile

HOUR = 3600
DAY = 86400
SUMS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens",
        "reasoning_tokens", "audio_seconds", "characters", "cost_usd")
LATENCY = tuple(f"latency_{i:02d}" for i in range(BUCKETS))  # requests per latency bucket
TTFT = tuple(f"ttft_{i:02d}" for i in range(BUCKETS))  # requests per time-to-first-token bucket
MEASURES = SUMS + LATENCY + TTFT
PERCENTILES = tuple(f"{kind}_p{q}_ms" for kind in ("latency", "ttft") for q in (50, 95))
FIELDS = SUMS + PERCENTILES  # what a summary shows
COUNTED = ("status", *SUMS[2:], "latency_ms", "ttft_ms")  # what `count` reads of a record, in order
_LATENCY_AT = len(SUMS)
_TTFT_AT = _LATENCY_AT + BUCKETS
Tally = list[Any]  # ints, and floats for audio_seconds and cost_usd


def tally() -> Tally:
    return [0] * len(MEASURES)


def count(t: Tally, status: int, input_tokens: int, output_tokens: int, cached_tokens: int,
          cache_write_tokens: int, reasoning_tokens: int, audio_seconds: float, characters: int, cost_usd: float,
          latency_ms: float, ttft_ms: float | None) -> None:
    """Count one request (its COUNTED values) into T."""
    t[0] += 1
    if status >= 400:
        t[1] += 1
    t[2] += input_tokens
    t[3] += output_tokens
    t[4] += cached_tokens
    t[5] += cache_write_tokens
    t[6] += reasoning_tokens
    t[7] += audio_seconds
    t[8] += characters
    t[9] += cost_usd
    t[_LATENCY_AT + bucket(latency_ms)] += 1
    if ttft_ms is not None:
        t[_TTFT_AT + bucket(ttft_ms)] += 1


def add(into: Tally, other: Iterable[Any]) -> None:
    for i, value in enumerate(other):
        into[i] += value or 0  # a database's SUM over no row is NULL


def measures_of(fields: Iterable[str]) -> frozenset[str]:
    """The MEASURES a summary of FIELDS is made from (a percentile, from its histogram's buckets)."""
    out: set[str] = set()
    for name in fields:
        out.update(LATENCY if name.startswith("latency_") else TTFT if name.startswith("ttft_") else (name,))
    return frozenset(out)


def summary(t: Tally) -> dict[str, Any]:
    """A tally as the usage API shows it: the sums, and p50/p95 of latency and TTFT (None: none counted)."""
    out: dict[str, Any] = {name: t[i] for i, name in enumerate(SUMS)}
    out["audio_seconds"] = round(float(out["audio_seconds"]), 3)
    out["cost_usd"] = round(float(out["cost_usd"]), 10)
    latency, ttft = t[_LATENCY_AT:_TTFT_AT], t[_TTFT_AT:]
    for name, counts in (("latency", latency), ("ttft", ttft)):
        for q in (50, 95):
            value = percentile(counts, q / 100)
            out[f"{name}_p{q}_ms"] = None if value is None else round(value, 1)
    return out
