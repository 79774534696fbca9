"""Every test session runs in a scratch directory: a gateway built in-process on a config that names no
database keeps its usage ledger where the default says (`./llmswitch.db`, spill files beside it), and
that must be a temporary place, never the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def scratch_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(previous)
