"""The core pipeline wired for tests that drive it without the web framework around it."""

from __future__ import annotations

from llmswitch.config import Config
from llmswitch.core.auth import Authenticator
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import Limiter
from llmswitch.core.pipeline import Pipeline
from llmswitch.core.records import RequestRecord
from llmswitch.core.routing import Router
from llmswitch.core.usage import UsageRecorder
from llmswitch.providers.base import Provider


class Records(list[RequestRecord]):
    """The records a pipeline made, in order (one of its sinks)."""

    def __call__(self, record: RequestRecord) -> None:
        self.append(record)


def recording_pipeline(config: Config, providers: dict[str, Provider]) -> Pipeline:
    """A pipeline over PROVIDERS that keeps each request's record, for `records_of`."""
    pipeline = Pipeline(config, Authenticator(config), Limiter(config), UsageRecorder(config), ConcurrencyGate(8),
                        Router(config, providers), providers)
    pipeline.sinks.append(Records())
    return pipeline


def records_of(pipeline: Pipeline) -> Records:
    return next(sink for sink in pipeline.sinks if isinstance(sink, Records))
