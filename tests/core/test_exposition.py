"""The Prometheus text format as `render` writes it, read back with the Prometheus project's own parser."""

from __future__ import annotations

import math

from llmswitch.core.exposition import Family, labels, render
from llmswitch.core.metric_slots import Series, WorkerSlots
from tests.support.metrics import parse

COUNTER = Family("t_requests_total", "counter", "Requests.")
GAUGE = Family("t_in_flight", "gauge", "In flight.")
HISTOGRAM = Family("t_seconds", "histogram", "Seconds.", (0.1, 1.0, math.inf))


def worker(values: list[float], *series: Series, alive: bool = True) -> WorkerSlots:
    return WorkerSlots(list(series), values, alive)


def test_a_label_value_with_quotes_backslashes_and_newlines_reads_back_as_it_was() -> None:
    name = 'a "model"\\ with\na newline'
    text = render([COUNTER], [worker([3.0], Series(COUNTER.name, labels(model=name), 0))]).decode()
    assert parse(text).series("t_requests_total") == [{"model": name}]


def test_a_histogram_shows_cumulative_buckets_its_count_and_its_sum() -> None:
    # per-bucket counts 2, 1, 1 (one above every bound), then the sum
    page = parse(render([HISTOGRAM], [worker([2.0, 1.0, 1.0, 4.5], Series(HISTOGRAM.name, 'm="x"', 0))]).decode())
    assert [page.value("t_seconds_bucket", le=le) for le in ("0.1", "1", "+Inf")] == [2, 3, 4]
    assert (page.value("t_seconds_count"), page.value("t_seconds_sum")) == (4, 4.5)


def test_workers_are_added_up_and_a_gone_workers_gauges_are_left_out() -> None:
    series = (Series(COUNTER.name, "", 0), Series(GAUGE.name, "", 1))
    page = parse(render([COUNTER, GAUGE], [worker([5.0, 2.0], *series), worker([7.0, 3.0], *series),
                                           worker([1.0, 9.0], *series, alive=False)]).decode())
    assert page.value("t_requests_total") == 13
    assert page.value("t_in_flight") == 5


def test_a_series_of_no_known_family_is_not_shown() -> None:
    text = render([COUNTER], [worker([1.0, 2.0], Series(COUNTER.name, "", 0), Series("", "", 1))]).decode()
    assert parse(text).samples == [("t_requests_total", {}, 1.0)]
