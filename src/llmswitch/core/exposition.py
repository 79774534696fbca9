"""The Prometheus text exposition format (version 0.0.4): metric families and the page a scrape reads.

A family's series are kept in numbered slots (`core.metric_slots`), one per value: a counter or a
gauge has one, a histogram one per bucket (its own count, not the cumulative one the format shows)
and one for the sum. `render` adds up the slots of every worker and writes each family once, its
samples together, as the format requires.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from llmswitch.core.metric_slots import WorkerSlots

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    kind: Kind
    help: str
    buckets: tuple[float, ...] = ()  # a histogram's upper bounds, ascending, the last one infinite
    width: int = field(init=False)  # slots per series
    _bounds: tuple[str, ...] = field(init=False, repr=False)  # the buckets' `le` labels

    def __post_init__(self) -> None:
        assert (self.kind == "histogram") == bool(self.buckets) and (not self.buckets or self.buckets[-1] == math.inf)
        object.__setattr__(self, "width", len(self.buckets) + 1 if self.buckets else 1)
        object.__setattr__(self, "_bounds", tuple(number(bound) for bound in self.buckets))

    def lines(self, labels: str, values: Sequence[float]) -> list[str]:
        """One series' samples."""
        if self.kind != "histogram":
            return [f"{self.name}{_braces(labels)} {number(values[0])}"]
        prefix = labels + "," if labels else ""
        out: list[str] = []
        count = 0.0
        for bound, in_bucket in zip(self._bounds, values):
            count += in_bucket
            out.append(f'{self.name}_bucket{{{prefix}le="{bound}"}} {number(count)}')
        out.append(f"{self.name}_sum{_braces(labels)} {number(values[-1])}")
        out.append(f"{self.name}_count{_braces(labels)} {number(count)}")
        return out


def labels(**pairs: str) -> str:
    """Label pairs as the format writes them, values escaped."""
    return ",".join(f'{name}="{_escape(value)}"' for name, value in pairs.items())


def render(families: Sequence[Family], workers: Iterable[WorkerSlots]) -> bytes:
    """The page: every family's series, summed over WORKERS (a gauge over the live ones only)."""
    by_name = {family.name: family for family in families}
    totals: dict[str, dict[str, list[float]]] = {family.name: {} for family in families}
    for worker in workers:
        values = worker.values
        for series in worker.series:
            family = by_name.get(series.family)
            if family is None or (family.kind == "gauge" and not worker.alive):
                continue
            width = family.width
            if series.base + width > len(values):
                continue  # named before this reader mapped its slots: counted at the next scrape
            sums = totals[family.name].setdefault(series.labels, [0.0] * width)
            for i in range(width):
                sums[i] += values[series.base + i]
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for series_labels, sums in sorted(totals[family.name].items()):
            lines += family.lines(series_labels, sums)
    return ("\n".join(lines) + "\n").encode()


def number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _braces(labels: str) -> str:
    return f"{{{labels}}}" if labels else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
