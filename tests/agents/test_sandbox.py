"""The sandbox the agents run in: nothing but loopback, the gateway's port relayed, a hard time limit."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.sandbox import Timeout, run_isolated
from tests.support.processes import Process, start_fake_upstream

pytestmark = [pytest.mark.agents, pytest.mark.usefixtures("isolation_ready")]


@pytest.fixture(scope="module")
def server() -> Iterator[Process]:
    with start_fake_upstream(name="sandbox-peer") as process:
        yield process


def python(code: str, server: Process, tmp_path: Path) -> str:
    """What CODE printed, run isolated with SERVER's port relayed."""
    done = run_isolated([sys.executable, "-c", code], gateway_port=server.port, env={"PATH": "/usr/bin:/bin"},
                        cwd=tmp_path, timeout_s=20)
    assert done.returncode == 0, done
    return done.stdout.strip()


def test_an_isolated_command_has_no_interface_but_loopback(server: Process, tmp_path: Path) -> None:
    assert python("import socket; print(socket.if_nameindex())", server, tmp_path) == "[(1, 'lo')]"


def test_an_isolated_command_reaches_the_relayed_port(server: Process, tmp_path: Path) -> None:
    code = f"import urllib.request; print(urllib.request.urlopen('{server.url}/_fake/stats', timeout=5).status)"
    assert python(code, server, tmp_path) == "200"


def test_an_isolated_command_reaches_no_other_port_of_this_machine(server: Process, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        code = ("import socket\n"
                f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
                "except ConnectionRefusedError:\n    print('refused')")
        assert python(code, server, tmp_path) == "refused"


def test_an_isolated_command_past_its_time_is_killed(server: Process, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(Timeout):
        run_isolated(["sleep", "30"], gateway_port=server.port, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
                     timeout_s=1)
    assert time.monotonic() - started < 10
