"""Real processes on loopback for end-to-end tests: the gateway and the fake upstream.

Each helper is a context manager that picks a free port, starts the process, waits until it
answers, and always stops it, so no test leaves a server behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _wait_ready(proc: Process, path: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"process exited with {proc.process.returncode}:\n{proc.log()}")
        try:
            with urllib.request.urlopen(proc.url + path, timeout=1) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.05)
    proc.stop()
    raise RuntimeError(f"process did not become ready in {STARTUP_TIMEOUT_S}s:\n{proc.log()}")


@contextmanager
def _spawn(args: list[str], port: int, ready_path: str, env: dict[str, str] | None,
           workdir: Path) -> Iterator[Process]:
    log_path = workdir / "process.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                 env={**os.environ, **(env or {})})
    proc = Process(f"http://127.0.0.1:{port}", port, popen, log_path)
    try:
        _wait_ready(proc, ready_path)
        yield proc
    finally:
        proc.stop()


@contextmanager
def start_gateway(config: dict[str, Any] | str, env: dict[str, str] | None = None,
                  workers: int = 1, port: int | None = None) -> Iterator[Process]:
    """Run `llmswitch serve` on CONFIG (a dict or YAML text) in its own temporary directory."""
    with tempfile.TemporaryDirectory(prefix="llmswitch-test-") as tmp:
        workdir = Path(tmp)
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
        (workdir / "llmswitch.yaml").write_text(text)
        port = port or free_port()
        args = [sys.executable, "-m", "llmswitch", "serve", "--config", "llmswitch.yaml",
                "--port", str(port), "--workers", str(workers)]
        with _spawn(args, port, "/health", env, workdir) as proc:
            yield proc


@contextmanager
def start_fake_upstream(**options: Any) -> Iterator[Process]:
    """Run `llmswitch fake-upstream` as a real process; OPTIONS are its CLI flags (latency_ms=50...)."""
    with tempfile.TemporaryDirectory(prefix="llmswitch-fake-") as tmp:
        port = free_port()
        args = [sys.executable, "-m", "llmswitch", "fake-upstream", "--port", str(port)]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        with _spawn(args, port, "/_fake/stats", None, Path(tmp)) as proc:
            yield proc
