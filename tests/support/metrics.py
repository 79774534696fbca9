"""Reading `GET /metrics` the way Prometheus does: with the Prometheus project's own parser."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Page:
    """One scrape: every sample, and each family's declared type."""

    samples: list[tuple[str, dict[str, str], float]]
    types: dict[str, str]  # family name (as the parser names it) -> counter, gauge, histogram
    request_id: str  # which worker answered: the id's prefix is the worker's

    def value(self, name: str, **labels: str) -> float:
        """The sum of NAME's samples whose labels include LABELS (0 when none does)."""
        return sum(value for sample, have, value in self.samples
                   if sample == name and all(have.get(k) == v for k, v in labels.items()))

    def series(self, name: str, **labels: str) -> list[dict[str, str]]:
        return [have for sample, have, _ in self.samples
                if sample == name and all(have.get(k) == v for k, v in labels.items())]


def parse(text: str, request_id: str = "") -> Page:
    samples: list[tuple[str, dict[str, str], float]] = []
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        samples += [(s.name, dict(s.labels), s.value) for s in family.samples]
    return Page(samples, types, request_id)


def scrape(url: str, headers: dict[str, str] | None = None) -> Page:
    """`GET URL/metrics` on a connection of its own (so that, with several workers, any may answer)."""
    request = urllib.request.Request(url + "/metrics", headers={"connection": "close", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        return parse(response.read().decode(), response.headers["x-request-id"])
