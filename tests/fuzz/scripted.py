"""A scripted upstream: it answers each request with exactly the bytes a test registered for it.

Tests register a `Script` under a token and put the token in the prompt; the upstream finds it in
the raw request body (every translation keeps the prompt's text), so one server serves any dialect
and any number of examples, each with its own answer, framing included. A plain threading server
in the test process: no event loop to share with the synchronous hypothesis tests.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = re.compile(rb"fz[0-9a-f]{16}")


@dataclass(frozen=True)
class Script:
    status: int
    content_type: str
    body: bytes
    framing: str = "length"  # length | chunked | close (no length, ends with the connection) | short

    def wire(self) -> bytes:
        head = f"HTTP/1.1 {self.status} Scripted\r\ncontent-type: {self.content_type}\r\n"
        if self.framing == "length":
            return f"{head}content-length: {len(self.body)}\r\n\r\n".encode() + self.body
        if self.framing == "short":  # promises more than it sends, then closes
            return f"{head}content-length: {len(self.body) + 100}\r\n\r\n".encode() + self.body
        if self.framing == "chunked":
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in _pieces(self.body) if piece)
            return f"{head}transfer-encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n"
        return f"{head}connection: close\r\n\r\n".encode() + self.body


def _pieces(body: bytes, size: int = 64) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


class ScriptedUpstream:
    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.scripts: dict[bytes, Script] = {}
        self.url = f"http://127.0.0.1:{server.server_address[1]}"

    def register(self, script: Script) -> str:
        token = f"fz{secrets.token_hex(8)}"
        self.scripts[token.encode()] = script
        return token


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: ScriptedUpstream

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's naming)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        found = TOKEN.search(body)
        script = self.upstream.scripts.pop(found.group(), None) if found else None
        if script is None:
            script = Script(418, "application/json", b'{"error": {"message": "no script for this request"}}')
        self.wfile.write(script.wire())
        self.wfile.flush()
        if script.framing in ("close", "short"):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def scripted_upstream() -> Iterator[ScriptedUpstream]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    upstream = ScriptedUpstream(server)
    handler.upstream = upstream
    thread = threading.Thread(target=server.serve_forever, name="scripted-upstream", daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
