"""Server-wide settings of a fake upstream: the CLI flags and `build_app` options are this one record."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class FakeOptions:
    """How the whole server behaves when a request carries no directive saying otherwise.

    `name` comes back in every answer's `x-fake-upstream` header, so a failover test running two
    fakes can tell which one answered. `require_auth` makes each dialect reject a request without
    its API key header, as the real service does, so a provider that forgets the key fails a test.
    """

    name: str = "fake"
    latency_ms: float = 0.0  # wait before the first byte of every answer
    tokens_per_second: float = 0.0  # paces stream chunks by their estimated tokens; 0 = unpaced
    chunks: int = 4  # pieces the answer text is split into when streamed
    require_auth: bool = True
    models: tuple[str, ...] = ("fake-model",)  # listed by the models endpoints
    record_limit: int = 10_000  # recorded requests kept, oldest dropped: memory stays flat
    token_arrays: bool = True  # embeddings take token-id arrays, as OpenAI does; False: refused, as most others do

    @classmethod
    def from_kwargs(cls, **options: Any) -> FakeOptions:
        """Build from keyword options, rejecting unknown names so a typo in a test fails loudly."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown fake upstream option(s): {', '.join(unknown)}")
        if "models" in options:
            options["models"] = tuple(options["models"])
        return cls(**options)
