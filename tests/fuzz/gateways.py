"""The gateways the fuzz suite drives: their configuration and the credentials a request may present."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import Process

MASTER = "sk-fuzz-master"
PROVIDERS = ("openai", "anthropic", "gemini")
ANTHROPIC_MAX_TOKENS_DEFAULT = 256
SPARE_MODEL = "admin-spare"


def base_url(provider: str, url: str) -> str:
    return {"openai": f"{url}/v1", "anthropic": url, "gemini": f"{url}/v1beta"}[provider]


def config(upstream_url: str, prefix: str = "m", keys: bool = False) -> dict[str, Any]:
    """Providers of every kind at UPSTREAM_URL; for each, model `{prefix}-{kind}` streams and
    `{prefix}-{kind}-sim` simulates its streams from a whole answer. The circuit breaker is set
    out of reach: examples are independent, and one that made the upstream fail must not turn
    the next into a 503."""
    models: dict[str, Any] = {}
    for kind in PROVIDERS:
        extra = {"max_tokens_default": ANTHROPIC_MAX_TOKENS_DEFAULT} if kind == "anthropic" else {}
        models[f"{prefix}-{kind}"] = [{"provider": f"p-{kind}", "model": f"up-{kind}", **extra}]
        models[f"{prefix}-{kind}-sim"] = [{"provider": f"p-{kind}", "model": f"up-{kind}", "stream": "simulate",
                                          **extra}]
    settings_: dict[str, Any] = {
        "server": {"keepalive_s": 5, "max_body_mb": 1},
        "providers": {f"p-{kind}": {"type": kind, "base_url": base_url(kind, upstream_url),
                                    "api_keys": [f"upstream-{kind}-key"]} for kind in PROVIDERS},
        "models": {**models, "org/slashed-model": [{"provider": "p-openai", "model": "up-openai"}]},
        "aliases": {"alias-*": f"{prefix}-openai"},
        "routing": {"circuit_failures": 1_000_000_000},
    }
    if keys:
        settings_["auth"] = {"mode": "keys", "master_key": MASTER, "secret": "fuzz-secret"}
        settings_["database_url"] = "sqlite:///fuzz.db"
        # Upstream keys stored through the admin API join this provider only, so a hostile one
        # reaches no model the other tests use.
        settings_["providers"]["p-spare"] = {"type": "openai", "base_url": base_url("openai", upstream_url),
                                            "api_keys": ["upstream-spare-key"]}
        settings_["models"][SPARE_MODEL] = [{"provider": "p-spare", "model": "up-openai"}]
    else:
        settings_["auth"] = {"mode": "open"}
    return settings_


@dataclass
class Target:
    """A running gateway and the credentials a request may present to it."""

    name: str
    process: Process
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)

    @property
    def base(self) -> tuple[str, int]:
        return "127.0.0.1", self.process.port
