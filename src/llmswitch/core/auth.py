"""Who is calling: the client's credentials become a `Principal` the rest of the request consults.

This module is the seam for the auth modes (open, keys, passthrough). Open mode accepts any bearer
(or none), which is what a demo and a trusted network need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from llmswitch.config import Config


@dataclass(slots=True)
class Principal:
    """The caller, as far as the gateway's decisions go."""

    kind: str  # "open" | "master" | "key" | "passthrough"
    key_id: str | None = None
    upstream_key: str | None = None  # passthrough: the client's own key, sent upstream
    allowed_models: list[str] = field(default_factory=list)  # empty: every model

    def allows(self, model: str) -> bool:
        return True


class Authenticator:
    def __init__(self, config: Config):
        self.config = config

    async def authenticate(self, request: web.Request) -> Principal:
        return Principal(kind="open")

    async def start(self) -> None:
        """Load caches, subscribe to invalidations; called once at app start-up."""

    async def stop(self) -> None:
        """Release what `start` acquired."""
