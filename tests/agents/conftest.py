"""Fixtures for the agent tests: the pinned agents, one gateway and fake upstream, a workspace per test.

Without the agents (npm registry unreachable) or without a way to isolate them, the tests skip and say
why in capitals; under CI (CI=true) they fail instead, so a green CI run always ran them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agents.agents import Workspace, install_problem
from tests.agents.sandbox import isolation_problem
from tests.agents.upstream import gateway_config
from tests.support.processes import Process, start_fake_upstream, start_gateway


@dataclass(frozen=True)
class Upstreams:
    fake: Process
    gateway: Process


def _require(problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the coding agents cannot run under CI: {problem}")
    pytest.skip(f"AGENT TESTS SKIPPED (they run under CI): {problem}")


@pytest.fixture(scope="session")
def isolation_ready() -> None:
    _require(isolation_problem())


@pytest.fixture(scope="session")
def agents_ready(isolation_ready: None) -> None:
    _require(install_problem())


@pytest.fixture(scope="session")
def upstreams(agents_ready: None) -> Iterator[Upstreams]:
    with start_fake_upstream(name="agents-fake") as fake:
        with start_gateway(gateway_config(fake.url)) as gateway:
            yield Upstreams(fake, gateway)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.under(tmp_path)
