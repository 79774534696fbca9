"""Run a command in a network namespace whose only way out is a relay to the gateway's port.

Coding agents call home (telemetry, update checks, model catalogues, package installs) unless every one of
those is switched off, and a new release may add one; turning them off by environment is necessary but not
proof. So an agent under test runs under `unshare --net`: inside there is only a loopback interface, and on
it, at the gateway's own port, a relay that carries each connection through a Unix socket (a file, so it
crosses namespaces) to the real gateway outside. Whatever else the agent tries fails at once, on this
machine, and never leaves it.

This file is also the program that runs inside the namespace (`python sandbox.py SOCKET PORT -- COMMAND`),
so it uses the standard library only.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class Timeout(Exception):
    def __init__(self, seconds: float, stdout: str, stderr: str):
        super().__init__(f"still running after {seconds:.0f}s; stdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}")


def _unshare() -> list[str]:
    """Root makes the namespace directly; anyone else inside a user namespace of their own."""
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]


def isolation_problem() -> str | None:
    """Why commands cannot be isolated here, or None when they can."""
    try:
        done = subprocess.run([*_unshare(), "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot make a network namespace with unshare: {exc}"
    if done.returncode != 0:
        return f"cannot make a network namespace with unshare: {done.stderr.strip()}"
    return None


def run_isolated(command: list[str], *, gateway_port: int, env: dict[str, str], cwd: Path,
                 timeout_s: float, stdin: str = "") -> Finished:
    """Run COMMAND with only 127.0.0.1:GATEWAY_PORT reachable; kill its whole process group on timeout."""
    with tempfile.TemporaryDirectory(prefix="llmswitch-relay-") as tmp:
        path = str(Path(tmp) / "gateway.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(64)
        relay = Relay(listener, lambda: socket.create_connection(("127.0.0.1", gateway_port), timeout=10))
        relay.start()
        args = [*_unshare(), sys.executable, __file__, path, str(gateway_port), "--", *command]
        started = time.monotonic()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(stdin, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise Timeout(timeout_s, stdout, stderr) from None
        except BaseException:  # e.g. pytest-timeout: leave no agent behind
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            relay.close()
        return Finished(proc.returncode, stdout, stderr, time.monotonic() - started)


class Relay(threading.Thread):
    """Accepts on LISTENER and joins each connection to a fresh one from CONNECT, bytes both ways."""

    def __init__(self, listener: socket.socket, connect: Callable[[], socket.socket]):
        super().__init__(daemon=True)
        self.listener = listener
        self.connect = connect

    def run(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = self.connect()
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=pair.pump, args=(source, target), daemon=True).start()

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()


class _Pair:
    """Two joined sockets; each direction ends with a half-close, the last one closes both."""

    def __init__(self, a: socket.socket, b: socket.socket):
        self.sockets = (a, b)
        self.open = 2
        self.lock = threading.Lock()

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            self.open -= 1
            if self.open:
                return
        for sock in self.sockets:
            sock.close()


def _loopback_up() -> None:
    """A new network namespace starts with `lo` down; `ip` may not be installed, the ioctl always is."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def _unix(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return sock


def _inside(path: str, port: int, command: list[str]) -> int:
    _loopback_up()
    Relay(socket.create_server(("127.0.0.1", port)), lambda: _unix(path)).start()
    return subprocess.call(command)


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: sandbox.py SOCKET PORT -- COMMAND...")
    sys.exit(_inside(sys.argv[1], int(sys.argv[2]), sys.argv[4:]))
