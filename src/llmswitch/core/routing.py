"""Which targets, and in which order, serve a request for a public model.

A `Target` is one unit of selection: a deployment with one of its provider's upstream keys (from
the config, or stored through the admin API: `use_stored_keys`), each with its own health and
limits. A request gets a `Plan`: the model's available targets, lower priority tiers first and
ordered inside a tier by the model's strategy, then the targets of its `fallbacks` models; a
`context_window_fallbacks` chain is kept aside for a prompt that is too long.

Targets the gateway ejected itself (open circuit) are left out of a plan but not given up on:
when nothing else can be tried, `best_ejected` picks one to try anyway, as Envoy's panic
threshold does, because a breaker that refuses the last target turns an upstream's brief trouble
into the gateway's own outage. What the upstream asked for (`Retry-After`, a rejected key) and the
operator's rpm/tpm caps are never overridden.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from llmswitch.config import Config, DeploymentConfig, Model
from llmswitch.core.health import TargetHealth, Unavailable
from llmswitch.providers.base import Provider

if TYPE_CHECKING:
    from llmswitch.core.attempts import Attempt

StoredKeys = dict[str, list[tuple[str, str]]]  # provider -> [(stored key id, key in clear)], oldest first


@dataclass(slots=True, eq=False)
class Target:
    model: Model
    deployment: DeploymentConfig
    provider: Provider
    api_key: str | None = field(repr=False)  # never in a repr, hence never in a log line
    key_index: int
    health: TargetHealth
    key_ref: str = ""  # the key's position among the configured keys, or its stored key's id
    label: str = field(init=False)  # how headers, attempt lists and usage name it (never the key itself)

    def __post_init__(self) -> None:
        self.key_ref = self.key_ref or str(self.key_index)
        self.label = f"{self.provider.name}/{self.deployment.model}#{self.key_ref}"


@dataclass(frozen=True, slots=True)
class Skipped:
    target: Target
    why: Unavailable


class AttemptWatch(Protocol):
    """Told of every failed attempt and of every attempt made after one (the metrics)."""

    def failed(self, attempt: Attempt) -> None: ...

    def retrying(self, failed: Attempt) -> None: ...


@dataclass(slots=True)
class Plan:
    """The targets one request may try, in order, and those left out because they are unavailable."""

    targets: list[Target]
    skipped: list[Skipped] = field(default_factory=list)
    max_attempts: int = 5
    retry_unsafe: bool = True  # the routing default; a deployment or model setting overrides it
    overflow: Callable[[], Plan] | None = None  # the context-window fallback chain, if any
    watch: AttemptWatch | None = None


def best_ejected(skipped: list[Skipped]) -> Skipped | None:
    """The ejected target to try when nothing else can be: of the first model that has one (the
    plan lists the requested model before its fallbacks), the preferred tier, then the lowest
    error rate, then the one whose circuit would have reopened first."""
    ejected = [s for s in skipped if s.why.ejected]
    if not ejected:
        return None
    model = ejected[0].target.model
    return min((s for s in ejected if s.target.model is model),
               key=lambda s: (s.target.deployment.priority, s.target.health.error_rate(), s.why.retry_in or 0.0))


def weighted_order(pool: list[Target], rng: random.Random) -> list[Target]:
    """Weighted random order without replacement: the first pick matches the weights."""
    pool = list(pool)
    ordered: list[Target] = []
    while pool:
        pick = rng.choices(pool, weights=[max(t.deployment.weight, 0.0) or 1e-9 for t in pool])[0]
        pool.remove(pick)
        ordered.append(pick)
    return ordered


def least_busy_order(pool: list[Target], rng: random.Random) -> list[Target]:
    """Fewest attempts in flight first; ties broken at random so equals share the load."""
    return sorted(pool, key=lambda t: (t.health.in_flight, rng.random()))


def headroom_order(pool: list[Target], rng: random.Random) -> list[Target]:
    """Most unused rpm/tpm first, so capped deployments are spared before they hit their cap."""
    return sorted(pool, key=lambda t: (-t.health.headroom(), rng.random()))


def latency_order(pool: list[Target], rng: random.Random, exploration: float) -> list[Target]:
    """Lowest EWMA time to first content first. A target never measured goes first (it must be
    measured once), and a share `exploration` of requests takes the weighted order instead, so a
    deployment that was slow and has recovered gets new samples and wins its traffic back."""
    if rng.random() < exploration:
        return weighted_order(pool, rng)
    return sorted(pool, key=lambda t: (t.health.ttfb_ms if t.health.ttfb_ms is not None else -1.0,
                                       rng.random()))


class Router:
    def __init__(self, config: Config, providers: dict[str, Provider], rng: random.Random | None = None):
        self.config = config
        self.providers = providers
        self.rng = rng or random.Random()
        self.targets: dict[str, list[Target]] = {}
        self.watch: AttemptWatch | None = None  # handed to every plan
        self.use_stored_keys({})

    def use_stored_keys(self, stored: StoredKeys) -> None:
        """(Re)build every model's targets: each deployment with each of its provider's configured
        keys, then each key stored through the admin API, one target apiece (no key at all when
        there are neither). A target that remains keeps its health; each model's list is replaced
        whole, so plans already made are unaffected."""
        known = {(id(t.deployment), t.key_ref): t for targets in self.targets.values() for t in targets}
        rebuilt: dict[str, list[Target]] = {}
        for model in self.config.models.values():
            targets: list[Target] = []
            for deployment in model.deployments:
                provider = self.providers[deployment.provider]
                keys: list[tuple[str, str | None]] = [(str(i), k) for i, k in enumerate(provider.config.api_keys)]
                keys += stored.get(provider.name, [])
                for index, (ref, key) in enumerate(keys or [("0", None)]):
                    target = known.get((id(deployment), ref))
                    if target is None or target.api_key != key:
                        target = Target(model, deployment, provider, key, index,
                                        TargetHealth(self.config.routing, rpm=deployment.rpm, tpm=deployment.tpm),
                                        key_ref=ref)
                    target.key_index = index
                    targets.append(target)
            rebuilt[model.name] = targets
        self.targets = rebuilt

    def plan(self, model: Model, requested: str | None = None, allows: Callable[[str], bool] | None = None) -> Plan:
        """The plan for a request naming `requested` (an alias or the model's own name). `allows`
        keeps of its fallback models those the caller may be served by (None: every one)."""
        names = [model.name, *self._chain(self.config.fallbacks, model, requested, allows)]
        overflow_chain = self._chain(self.config.context_window_fallbacks, model, requested, allows)
        plan = self._plan_for(names)
        if overflow_chain:
            plan.overflow = lambda: self._plan_for(overflow_chain)
        return plan

    def _plan_for(self, names: list[str]) -> Plan:
        routing = self.config.routing
        plan = Plan([], max_attempts=routing.max_attempts, retry_unsafe=routing.retry_unsafe, watch=self.watch)
        seen: set[str] = set()
        for name in names:
            resolved = self.config.resolve_model(name)
            if resolved is None or resolved.name in seen:
                continue
            seen.add(resolved.name)
            available, skipped = self._split(self.targets[resolved.name])
            plan.targets += self._order(resolved, available)
            plan.skipped += skipped
        return plan

    @staticmethod
    def _split(targets: list[Target]) -> tuple[list[Target], list[Skipped]]:
        available: list[Target] = []
        skipped: list[Skipped] = []
        for target in targets:
            why = target.health.unavailable()
            if why is None:
                available.append(target)
            else:
                skipped.append(Skipped(target, why))
        return available, skipped

    def _order(self, model: Model, targets: list[Target]) -> list[Target]:
        """Lower priority tier first; inside a tier, the model's strategy decides."""
        if len(targets) <= 1:
            return list(targets)
        strategy = model.strategy or self.config.routing.strategy
        ordered: list[Target] = []
        for tier in sorted({t.deployment.priority for t in targets}):
            pool = [t for t in targets if t.deployment.priority == tier]
            if len(pool) == 1:
                ordered += pool
            elif strategy == "least_busy":
                ordered += least_busy_order(pool, self.rng)
            elif strategy == "latency":
                ordered += latency_order(pool, self.rng, self.config.routing.latency_exploration)
            elif strategy == "headroom":
                ordered += headroom_order(pool, self.rng)
            else:
                ordered += weighted_order(pool, self.rng)
        return ordered

    def _chain(self, chains: dict[str, list[str]], model: Model, requested: str | None,
               allows: Callable[[str], bool] | None) -> list[str]:
        chain = chains[requested] if requested is not None and requested in chains else chains.get(model.name, [])
        return chain if allows is None else [name for name in chain if allows(name)]
