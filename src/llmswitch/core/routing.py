"""Which deployments, and in which order, serve a request for a public model.

A `Target` is one unit of selection: a deployment with one of its provider's upstream keys.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from llmswitch.config import Config, DeploymentConfig, Model
from llmswitch.providers.base import Provider


@dataclass(slots=True, eq=False)
class Target:
    model: Model
    deployment: DeploymentConfig
    provider: Provider
    api_key: str | None
    key_index: int

    @property
    def label(self) -> str:
        """How response headers and attempt lists name this target (never the key itself)."""
        return f"{self.provider.name}/{self.deployment.model}#{self.key_index}"


class Router:
    def __init__(self, config: Config, providers: dict[str, Provider]):
        self.config = config
        self.providers = providers
        self._targets: dict[str, list[Target]] = {}
        for model in config.models.values():
            targets = []
            for deployment in model.deployments:
                provider = providers[deployment.provider]
                keys: list[str | None] = list(provider.config.api_keys) or [None]
                targets += [Target(model, deployment, provider, key, i) for i, key in enumerate(keys)]
            self._targets[model.name] = targets

    def candidates(self, model: Model) -> list[Target]:
        """Targets in the order to try them: lower priority tier first, weighted random inside a tier."""
        targets = self._targets[model.name]
        if len(targets) == 1:
            return targets
        ordered: list[Target] = []
        for tier in sorted({t.deployment.priority for t in targets}):
            pool = [t for t in targets if t.deployment.priority == tier]
            while pool:
                pick = random.choices(pool, weights=[t.deployment.weight for t in pool])[0]
                pool.remove(pick)
                ordered.append(pick)
        return ordered
