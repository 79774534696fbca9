"""The core pipeline wired for tests that drive it without the web framework around it."""

from __future__ import annotations

from llmswitch.config import Config
from llmswitch.core.auth import Authenticator
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import Limiter
from llmswitch.core.pipeline import Pipeline
from llmswitch.core.routing import Router
from llmswitch.core.usage import UsageRecorder
from llmswitch.providers.base import Provider


def queued_pipeline(config: Config, providers: dict[str, Provider]) -> Pipeline:
    """A pipeline over PROVIDERS whose usage rows are queued as keys mode queues them, with no database
    to write them to, so a test reads each request's row from the queue."""
    usage = UsageRecorder(config)
    usage.persist = True
    return Pipeline(config, Authenticator(config), Limiter(config), usage, ConcurrencyGate(8),
                    Router(config, providers), providers)
