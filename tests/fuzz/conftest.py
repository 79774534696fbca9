"""The fuzz suite's processes, hypothesis profiles and end-of-session counts.

One fake upstream serves every provider kind; one gateway in open mode and one in keys mode sit in
front of it with a deployment of each kind (streaming and simulated); a third gateway reaches the
scripted upstream, whose answers the upstream-shape tests choose. All are started once per session.

The hypothesis profiles are registered here (see `budget.py` for how a run picks one and scales
the example counts).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.fuzz.budget import PROFILE, SCALE
from tests.fuzz.gateways import MASTER, SPARE_MODEL, Target, config
from tests.fuzz.scripted import ScriptedUpstream, scripted_upstream
from tests.fuzz.tally import KEEP_GOING, TALLY
from tests.support.processes import Process, start_fake_upstream, start_gateway

_COMMON: dict[str, Any] = dict(deadline=None, print_blob=True, suppress_health_check=list(HealthCheck),
                               phases=(Phase.explicit, Phase.generate, Phase.shrink))
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("explore", derandomize=False, database=None, **_COMMON)


def _admin(url: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                     headers={"authorization": f"Bearer {MASTER}",
                                              "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _model_names(cfg: dict[str, Any]) -> list[str]:
    return [*(name for name in cfg["models"] if name != SPARE_MODEL), "alias-x", "no-such-model", ""]


@pytest.fixture(scope="session")
def fake() -> Iterator[Process]:
    with start_fake_upstream(name="fuzz-fake") as process:
        yield process


@pytest.fixture(scope="session")
def open_gateway(fake: Process) -> Iterator[Target]:
    cfg = config(fake.url)
    with start_gateway(cfg) as process:
        yield Target("open", process, {"none": {}, "any-bearer": {"authorization": "Bearer anything"}},
                     _model_names(cfg))
        TALLY.read_log("open", process.log())


@pytest.fixture(scope="session")
def keys_gateway(fake: Process) -> Iterator[Target]:
    cfg = config(fake.url, keys=True)
    with start_gateway(cfg) as process:
        broad = _admin(process.url, "POST", "/admin/api/keys", {"name": "fuzz-broad"})["key"]
        limited = _admin(process.url, "POST", "/admin/api/keys", {
            "name": "fuzz-limited", "models": ["m-*", "org/*"], "rpm": 1_000_000, "tpm": 10**9,
            "max_concurrent": 1000, "budget_usd": 10**6, "budget_period": "daily"})["key"]
        credentials = {
            "none": {}, "master": {"authorization": f"Bearer {MASTER}"},
            "bad-key": {"authorization": "Bearer sk-llms-not-a-key"},
            "key-bearer": {"authorization": f"Bearer {broad}"}, "key-x-api-key": {"x-api-key": broad},
            "key-goog": {"x-goog-api-key": broad}, "limited": {"authorization": f"Bearer {limited}"},
        }
        yield Target("keys", process, credentials, _model_names(cfg))
        TALLY.read_log("keys", process.log())


@pytest.fixture(scope="session")
def targets(open_gateway: Target, keys_gateway: Target) -> dict[str, Target]:
    return {"open": open_gateway, "keys": keys_gateway}


@pytest.fixture(scope="session")
def scripted() -> Iterator[ScriptedUpstream]:
    with scripted_upstream() as upstream:
        yield upstream


@pytest.fixture(scope="session")
def shapes_gateway(scripted: ScriptedUpstream) -> Iterator[Target]:
    cfg = config(scripted.url, prefix="bad")
    with start_gateway(cfg) as process:
        yield Target("shapes", process, {"none": {}}, _model_names(cfg))
        TALLY.read_log("shapes", process.log())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.statuses:
        return
    terminalreporter.section(f"fuzz: requests sent and statuses seen (profile {PROFILE}, scale {SCALE:g})")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
    if TALLY.violations and KEEP_GOING:
        terminalreporter.section("fuzz: first example of each violation")
        for name, example in TALLY.examples.items():
            terminalreporter.write_line(f"--- {name}\n{example}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if KEEP_GOING and TALLY.violations and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
