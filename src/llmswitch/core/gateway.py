"""The gateway's parts and their lifecycle: auth, limits, usage, budget alerts, providers, router, pipeline.

What a request goes through is `core.pipeline`; this module builds the parts it uses at start-up
(one upstream client per provider) and stops them in order at shutdown.
"""

from __future__ import annotations

import time
from pathlib import Path

from llmswitch.config import Config
from llmswitch.core.auth import Authenticator
from llmswitch.core.budget_alerts import BudgetWatch
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import Limiter
from llmswitch.core.metrics import Metrics
from llmswitch.core.pipeline import Pipeline
from llmswitch.core.response_store import ResponseStore
from llmswitch.core.routing import Router
from llmswitch.core.usage import UsageRecorder
from llmswitch.providers import build_provider
from llmswitch.providers.base import Provider
from llmswitch.providers.http import HTTPClient
from llmswitch.redact import SECRETS, held_by


class Gateway:
    def __init__(self, config: Config, workers_dir: Path | None = None):
        self.config = config
        self.auth = Authenticator(config)
        self.limiter = Limiter(config)
        self.usage = UsageRecorder(config)
        self.responses = ResponseStore(config)
        self.alerts = BudgetWatch(config, self.auth) if config.alerts is not None else None
        self.concurrency = ConcurrencyGate(config.server.max_concurrency)
        # WORKERS_DIR: where the workers of `serve --workers N` count, so a scrape sees them all
        self.metrics = Metrics(config, workers_dir) if config.metrics.enabled else None
        self.providers: dict[str, Provider] = {}
        self.router: Router | None = None
        self.pipeline: Pipeline | None = None
        self._clients: list[HTTPClient] = []
        self.created = int(time.time())  # reported as every model's `created`

    async def start(self) -> None:
        SECRETS.hold(self, held_by(self.config, self.auth.secret))  # scrubbed from all upstream text
        max_body = int(self.config.server.max_upstream_body_mb * (1 << 20))
        for name, provider_config in self.config.providers.items():
            # keeps no cookies: nothing one client's call got rides on another's
            client = HTTPClient(max_body=max_body)
            self._clients.append(client)
            self.providers[name] = build_provider(name, provider_config, client)
        self.router = Router(self.config, self.providers)
        self.pipeline = Pipeline(self.config, self.auth, self.limiter, self.usage, self.concurrency, self.router,
                                 self.providers)
        self.auth.on_upstream_keys = self.router.use_stored_keys
        if self.metrics is not None:
            await self.metrics.start(self.pipeline, self.router, self.limiter, self.concurrency)
        await self.auth.start()
        await self.limiter.start()
        await self.usage.start()
        if self.alerts is not None:
            self.pipeline.sinks.append(self.alerts.observe)
            await self.alerts.start()
        await self.responses.start()

    def end_in_flight(self) -> None:
        """Shutdown, once the grace is over: every upstream call still running fails at once (503), so
        each request still ends in its dialect (a stream's error event, a 503 error) and is recorded."""
        for client in self._clients:
            client.shut("The gateway is shutting down; retry the request.")

    async def stop(self) -> None:
        await self.responses.stop()  # its background runs end first, so their usage is written
        await self.usage.stop()
        if self.alerts is not None:  # after the background runs: it counts what they spent too
            await self.alerts.stop()
        await self.limiter.stop()
        await self.auth.stop()
        for client in self._clients:
            await client.close()
        if self.metrics is not None:
            await self.metrics.stop()
        SECRETS.release(self)
