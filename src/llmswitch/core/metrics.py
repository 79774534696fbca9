"""The gateway's Prometheus metrics: what every request, failed attempt and limit refusal counts, and
what is read when a scrape comes (requests in flight, each target's health, the process).

Counting runs on the request path (a pipeline sink, the attempt loop's watch, the limiter's refusal
hook), so it is an index and an addition: a series gets its slots (`core.metric_slots`) the first
time its labels appear, and the tuple of them is kept under the labels' raw values, so label text is
rendered once, never per request. Labels are bounded whatever clients send: a model name that is
neither a configured model nor a plain alias is counted under the model it resolves to (a glob
alias, `default_model`) or as `unconfigured`; the other labels are config names (providers,
deployments) or small fixed vocabularies (operations, statuses, error categories, failure kinds,
limit reasons).

Gauges are set, not counted: with one worker when a scrape comes; with several, each worker also
sets its own every PUBLISH_S so that a scrape landing on another one sees them, and zeroes them when
it stops (a gone worker's gauges are left out anyway: `metric_slots.WorkerSlots.alive`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from bisect import bisect_left
from pathlib import Path
from typing import TYPE_CHECKING

from llmswitch import __version__
from llmswitch.config import Config
from llmswitch.core.attempts import Attempt
from llmswitch.core.exposition import Family, labels, render
from llmswitch.core.health import STATES
from llmswitch.core.metric_slots import Peers, SharedSlots, Slots, WorkerSlots
from llmswitch.core.records import RequestRecord

if TYPE_CHECKING:
    from llmswitch.core.concurrency import ConcurrencyGate
    from llmswitch.core.limits import Limiter
    from llmswitch.core.pipeline import Pipeline
    from llmswitch.core.routing import Router

PUBLISH_S = 1.0
UNCONFIGURED = "unconfigured"  # the model label of every name the config does not know
INF = math.inf
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
                    300.0, INF)
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, INF)
TOKEN_TYPES = ("input", "output", "cached", "cache_write", "reasoning")

REQUESTS = Family("llmswitch_requests_total", "counter",
                  "Requests ended, by public model, provider that answered (empty: none), operation, status and "
                  "error category (empty: none).")
DURATION = Family("llmswitch_request_duration_seconds", "histogram",
                  "Time from a request's start to its end, of the requests that succeeded.", DURATION_BUCKETS)
TTFT = Family("llmswitch_time_to_first_token_seconds", "histogram",
              "Time from a request's start until the first byte of its answer left for the client (a whole "
              "answer: all of it).", TTFT_BUCKETS)
TOKENS = Family("llmswitch_tokens_total", "counter",
                "Tokens billed, by type: input (cached reads and cache writes included), output (reasoning "
                "included), cached (reads), cache_write, reasoning.")
COST = Family("llmswitch_cost_usd_total", "counter", "What the requests cost, in US dollars, at the configured prices.")
UPSTREAM_ERRORS = Family("llmswitch_upstream_errors_total", "counter",
                         "Upstream attempts that failed, by provider, deployment and reason (the failure's kind, "
                         "or http_<status>).")
RETRIES = Family("llmswitch_upstream_retries_total", "counter",
                 "Attempts made after a failed one, by the failed attempt's provider, deployment and reason.")
RATE_LIMITED = Family("llmswitch_rate_limited_total", "counter",
                      "Requests the gateway refused with 429: scope key (its limits; reason requests, tokens, "
                      "concurrency or budget) or targets (every one cooling down or at its cap).")
IN_FLIGHT = Family("llmswitch_requests_in_flight", "gauge", "Requests being served now.")
TARGET_STATE = Family("llmswitch_target_state", "gauge",
                      "Workers that see each deployment (a target: a deployment with one upstream key) in each "
                      "state; with one worker 1 for its state, 0 for the others.")
WORKERS = Family("llmswitch_workers", "gauge", "Worker processes serving, by the gateway's version.")
CPU = Family("process_cpu_seconds_total", "counter", "CPU time the workers used, user and system.")
MEMORY = Family("process_resident_memory_bytes", "gauge", "Resident memory of the workers.")
FDS = Family("process_open_fds", "gauge", "File descriptors the workers hold open.")
FAMILIES = (REQUESTS, DURATION, TTFT, TOKENS, COST, UPSTREAM_ERRORS, RETRIES, RATE_LIMITED, IN_FLIGHT,
            TARGET_STATE, WORKERS, CPU, MEMORY, FDS)
GAUGES = frozenset(family.name for family in FAMILIES if family.kind == "gauge")
DURATION_SUM = len(DURATION_BUCKETS)  # a histogram's last slot holds the sum
TTFT_SUM = len(TTFT_BUCKETS)

RequestKey = tuple[str, str, str, int, str]  # model, provider, operation, status, error
AttemptKey = tuple[str, str, str, int | None]  # provider, deployment, kind, status


class Metrics:
    def __init__(self, config: Config, directory: Path | None = None):
        self.config = config
        self.directory = directory  # where the workers of `serve --workers N` count; None: one worker
        self.slots: Slots = Slots()
        self._peers: Peers | None = None
        self._known = frozenset(config.public_names())
        self._requests: dict[RequestKey, tuple[int, ...]] = {}
        self._groups: dict[tuple[str, str, str], tuple[int, ...]] = {}  # model, provider, operation
        self._failures: dict[AttemptKey, int] = {}
        self._retries: dict[AttemptKey, int] = {}
        self._refusals: dict[tuple[str, str], int] = {}
        self._targets: dict[tuple[str, str], tuple[int, ...]] = {}  # (model, deployment) -> a slot per state
        self._gauges: dict[str, int] = {}
        self._unanswered: tuple[int, ...] = ()  # the group of a request that failed before any target answered
        self._router: Router | None = None
        self._concurrency: ConcurrencyGate | None = None
        self._publisher: asyncio.Task[None] | None = None

    async def start(self, pipeline: Pipeline, router: Router, limiter: Limiter, concurrency: ConcurrencyGate) -> None:
        """Count from now on what PIPELINE, ROUTER's plans and LIMITER report; read CONCURRENCY's in flight."""
        if self.directory is not None:
            pid = os.getpid()
            self.slots = SharedSlots(self.directory, pid)
            self._peers = Peers(self.directory, pid)
            self._publisher = asyncio.get_running_loop().create_task(self._publish())
        for family, series_labels in ((IN_FLIGHT, ""), (WORKERS, labels(version=__version__)), (CPU, ""),
                                      (MEMORY, ""), (FDS, "")):
            self._gauges[family.name] = self.slots.allocate(family.name, series_labels, 1)
        # A request no target answered is counted, and has nothing else to count: its group's slots
        # are a scratch series no family names, so the hot path need not ask.
        scratch = self.slots.allocate("", "", max(DURATION.width, TTFT.width))
        self._unanswered = (scratch, scratch, *(scratch for _ in TOKEN_TYPES), scratch)
        self._router, self._concurrency = router, concurrency
        self.refresh()
        pipeline.sinks.append(self.record)
        router.watch = self
        limiter.on_refusal = self.refused

    async def stop(self) -> None:
        """This worker is done: its gauges no longer count (its counters do)."""
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
        self.refresh()  # its CPU time, to the end
        values = self.slots.values
        for series in self.slots.series:
            if series.family in GAUGES:
                values[series.base] = 0.0

    def exposition(self) -> bytes:
        """The page a scrape reads: every worker's counts added up."""
        self.refresh()
        workers = [WorkerSlots(self.slots.series, self.slots.values, alive=True)]
        if self._peers is not None:
            workers += self._peers.read()
        return render(FAMILIES, workers)

    # --- what requests count (the hot path) -----------------------------------------------------
    def record(self, record: RequestRecord) -> None:
        """A pipeline sink: one request, ended."""
        status = record.status
        key = (record.model, record.provider, record.operation, status, record.error)
        slots = self._requests.get(key)
        if slots is None:
            slots = self._request_slots(key)
        requests, duration, ttft, input_tokens, output_tokens, cached, cache_write, reasoning, cost = slots
        values = self.slots.values
        values[requests] += 1.0
        if status < 400:
            seconds = record.latency_ms * 0.001
            values[duration + bisect_left(DURATION_BUCKETS, seconds)] += 1.0
            values[duration + DURATION_SUM] += seconds
        elif status == 429 and record.error == "unavailable":  # the gateway's: every target cooling or capped
            self._refused("targets", "cooling_or_capped")
        if record.ttft_ms is not None:
            seconds = record.ttft_ms * 0.001
            values[ttft + bisect_left(TTFT_BUCKETS, seconds)] += 1.0
            values[ttft + TTFT_SUM] += seconds
        if record.input_tokens:
            values[input_tokens] += record.input_tokens
        if record.output_tokens:
            values[output_tokens] += record.output_tokens
        if record.cached_tokens:
            values[cached] += record.cached_tokens
        if record.cache_write_tokens:
            values[cache_write] += record.cache_write_tokens
        if record.reasoning_tokens:
            values[reasoning] += record.reasoning_tokens
        if record.cost_usd:
            values[cost] += record.cost_usd

    def failed(self, attempt: Attempt) -> None:
        """`routing.AttemptWatch`: an upstream attempt failed."""
        self._count_attempt(UPSTREAM_ERRORS, self._failures, attempt)

    def retrying(self, failed: Attempt) -> None:
        """`routing.AttemptWatch`: another attempt starts after FAILED."""
        self._count_attempt(RETRIES, self._retries, failed)

    def refused(self, reason: str) -> None:
        """The limiter's refusal hook: a key's limit said no (`counters.Verdict.refused`)."""
        self._refused("key", reason)

    # --- series, made the first time their labels appear -----------------------------------------
    def _fold(self, name: str) -> str:
        """The model label of a name the config does not list: the model serving it, if any."""
        model = self.config.resolve_model(name)
        return model.name if model is not None else UNCONFIGURED

    def _request_slots(self, key: RequestKey) -> tuple[int, ...]:
        """The slots of KEY's series, made if new. Kept under KEY when its model is a configured name;
        any other name is folded each time, so that no name a client invents is kept."""
        model, provider, operation, status, error = key
        if model not in self._known:
            model = self._fold(model)
            key = (model, provider, operation, status, error)
            slots = self._requests.get(key)
            if slots is not None:
                return slots
        group = self._unanswered if not provider and status >= 400 else self._groups.get(key[:3])
        if group is None:
            allocate = self.slots.allocate
            common = labels(model=model, provider=provider, operation=operation)
            group = self._groups[(model, provider, operation)] = (
                allocate(DURATION.name, common, DURATION.width), allocate(TTFT.name, common, TTFT.width),
                *(allocate(TOKENS.name, f'{common},{labels(type=kind)}', 1) for kind in TOKEN_TYPES),
                allocate(COST.name, common, 1))
        requests = self.slots.allocate(REQUESTS.name, labels(model=model, provider=provider, operation=operation,
                                                             status=str(status), error=error), 1)
        slots = self._requests[key] = (requests, *group)
        return slots

    def _count_attempt(self, family: Family, slots: dict[AttemptKey, int], attempt: Attempt) -> None:
        key = (attempt.provider, attempt.target, attempt.kind, attempt.status)
        slot = slots.get(key)
        if slot is None:
            reason = f"http_{attempt.status}" if attempt.kind == "http" else attempt.kind
            slot = slots[key] = self.slots.allocate(
                family.name, labels(provider=attempt.provider, deployment=attempt.target, reason=reason), 1)
        self.slots.values[slot] += 1.0

    def _refused(self, scope: str, reason: str) -> None:
        slot = self._refusals.get((scope, reason))
        if slot is None:
            slot = self._refusals[(scope, reason)] = self.slots.allocate(
                RATE_LIMITED.name, labels(scope=scope, reason=reason), 1)
        self.slots.values[slot] += 1.0

    # --- gauges ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Set this worker's gauges to what they are now."""
        assert self._router is not None and self._concurrency is not None
        values = self.slots.values
        gauges = self._gauges
        values[gauges[IN_FLIGHT.name]] = self._concurrency.in_flight
        values[gauges[WORKERS.name]] = 1.0
        times = os.times()
        values[gauges[CPU.name]] = times.user + times.system
        values[gauges[MEMORY.name]] = _resident_bytes()
        values[gauges[FDS.name]] = _open_fds()
        current: set[tuple[str, str]] = set()
        for model, targets in self._router.targets.items():
            for target in targets:
                key = (model, target.label)
                current.add(key)
                slots = self._targets.get(key)
                if slots is None:
                    common = labels(model=model, deployment=target.label)
                    slots = self._targets[key] = tuple(self.slots.allocate(
                        TARGET_STATE.name, f"{common},{labels(state=state)}", 1) for state in STATES)
                state = target.health.state()
                for slot, name in zip(slots, STATES):
                    values[slot] = 1.0 if name == state else 0.0
        for key, slots in self._targets.items():
            if key not in current:  # its key was replaced (`Router.use_stored_keys`)
                for slot in slots:
                    values[slot] = 0.0

    async def _publish(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_S)
            self.refresh()


def _resident_bytes() -> float:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return float(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _open_fds() -> float:
    try:
        return float(len(os.listdir("/proc/self/fd")))
    except OSError:
        return 0.0
