"""The attempt loop tells a plan's watch (the metrics) of each failed attempt and of each retry after one."""

from __future__ import annotations

import pytest

from llmswitch.core.attempts import Attempt, run_attempts
from llmswitch.errors import GatewayError
from llmswitch.providers.base import UpstreamError
from tests.core.test_attempts import http, plan, scripted


class Watch:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def failed(self, attempt: Attempt) -> None:
        self.events.append(("failed", attempt.provider, attempt.kind))

    def retrying(self, failed: Attempt) -> None:
        self.events.append(("retrying", failed.provider, failed.kind))


async def test_each_failure_and_each_attempt_after_one_is_told_in_order() -> None:
    watch = Watch()
    watched = plan("m")
    watched.watch = watch
    calls: list[str] = []
    outcome = await run_attempts(watched, scripted({"a": UpstreamError("connect", "refused"), "b": http(503)}, calls))
    assert outcome.value == "c"
    assert watch.events == [("failed", "a", "connect"), ("retrying", "a", "connect"),
                            ("failed", "b", "http"), ("retrying", "b", "http")]


async def test_the_last_failure_is_no_retry() -> None:
    watch = Watch()
    watched = plan("careful")
    watched.watch = watch
    with pytest.raises(GatewayError):
        await run_attempts(watched, scripted({"a": http(400)}, []))  # the client's fault: no other target tried
    assert watch.events == [("failed", "a", "http")]
