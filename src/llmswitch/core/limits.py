"""Admission control per principal: rate limits, concurrency, quotas and budgets.

`Limiter.admit` runs before any upstream call and returns an `Admission` whose `settle` is called
with the real usage afterwards, so reservations made on estimates are corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmswitch.config import Config
from llmswitch.core.auth import Principal
from llmswitch.dialects.usage import Usage


@dataclass(slots=True)
class Admission:
    headers: dict[str, str] = field(default_factory=dict)  # x-ratelimit-* for the response

    async def settle(self, usage: Usage | None, model: str) -> None:
        """Correct the reservation with the real usage (None: the call failed, release it all)."""


class Limiter:
    def __init__(self, config: Config):
        self.config = config

    async def admit(self, principal: Principal, model: str, estimated_tokens: int) -> Admission:
        return Admission()

    async def start(self) -> None:
        """Connect to the shared counter store, if any."""

    async def stop(self) -> None:
        """Release what `start` acquired."""
