"""Three ways to run a fake upstream: as the server process, inside a test's loop, or as a child process.

Tests that only need an upstream use `running_fake` (fast, same loop, direct access to what was
recorded); end-to-end tests that must see a real process, with real sockets and real exits,
use `start_process`.
"""

from __future__ import annotations

import asyncio
import select
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from aiohttp import web

from llmswitch.fake_upstream.options import FakeOptions
from llmswitch.fake_upstream.server import STATE, build_app

READY = "fake upstream listening on "
_SWITCHED_OFF = {"require_auth": "--no-auth", "token_arrays": "--no-token-arrays"}  # boolean options' flags


async def _start(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    return runner, runner.addresses[0][1]


async def serve(host: str, port: int, options: FakeOptions) -> None:
    """Serve until cancelled; print the ready line (with the real port when 0 was asked) for parents."""
    runner, bound = await _start(build_app(options), host, port)
    print(f"{READY}http://{host}:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(host: str = "127.0.0.1", port: int = 8001, **options: Any) -> None:
    """The `llmswitch fake-upstream` command: serve in the foreground until interrupted."""
    settings = FakeOptions.from_kwargs(**options)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        try:
            runner.run(serve(host, port, settings))
        except KeyboardInterrupt:
            pass


class RunningFake:
    """A fake served in the current event loop; reads its recorder directly."""

    def __init__(self, app: web.Application, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self._recorder = app[STATE].recorder

    def requests(self) -> list[dict[str, Any]]:
        return list(self._recorder.requests)

    def clear(self) -> None:
        self._recorder.clear()

    def stats(self) -> dict[str, Any]:
        return self._recorder.stats()


@asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[RunningFake]:
    """Serve a fake on a free port of 127.0.0.1 for the duration of the block."""
    app = build_app(FakeOptions.from_kwargs(**options))
    runner, port = await _start(app, "127.0.0.1", 0)
    try:
        yield RunningFake(app, port)
    finally:
        await runner.cleanup()


class FakeProcess:
    """A fake in its own process (`python -m llmswitch.fake_upstream`); talks to it over HTTP."""

    def __init__(self, process: subprocess.Popen[str], url: str):
        self.process = process
        self.url = url

    def _call(self, method: str, path: str) -> Any:
        with urllib.request.urlopen(urllib.request.Request(self.url + path, method=method), timeout=10) as r:
            data = r.read()
        return orjson.loads(data) if data else None

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_fake/requests")

    def clear(self) -> None:
        self._call("DELETE", "/_fake/requests")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_process(port: int = 0, *, host: str = "127.0.0.1", timeout: float = 15.0,
                  **options: Any) -> FakeProcess:
    """Start a fake as a child process and return once it listens; port 0 picks a free one."""
    FakeOptions.from_kwargs(**options)  # reject a bad option here, not as a child's exit code
    argv = [sys.executable, "-m", "llmswitch.fake_upstream", "--host", host, "--port", str(port)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name in _SWITCHED_OFF:
            argv += [] if value else [_SWITCHED_OFF[name]]
        elif name == "models":
            for model in value:
                argv += ["--model", model]
        else:
            argv += [flag, str(value)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = process.stdout.readline() if ready else ""
        if line.startswith(READY):
            return FakeProcess(process, line[len(READY):].strip())
        if process.poll() is not None:
            break
    FakeProcess(process, "").stop()
    raise RuntimeError(f"fake upstream process did not start within {timeout} s")
