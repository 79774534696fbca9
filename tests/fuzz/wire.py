"""Sending one request and reading its whole answer within a bound, over http.client or raw bytes.

Each request gets a fresh connection: a hostile request may leave the server's side of a kept-alive
connection in any state, and one example must never decide how the next is read.
"""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass, field

ANSWER_BOUND_S = 15.0  # every request gets its whole answer within this, or the example fails
CLOSED = 0  # the status of a raw exchange the server ended by closing the connection, without an answer


class NoAnswer(AssertionError):
    """The gateway did not answer (in time, or at all): always a failure of the property."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    seconds: float
    raw_head: bytes = field(default=b"", repr=False)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def request(base: tuple[str, int], method: str, path: str, body: bytes | None = None,
            headers: dict[str, str | bytes] | None = None) -> Answer:
    """One request with http.client; header values may be bytes (sent as they are)."""
    host, port = base
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=ANSWER_BOUND_S)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("content-length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = _read_within(response, started)
        found = {}
        for name, value in response.getheaders():
            key = name.lower()
            found[key] = f"{found[key]}, {value}" if key in found else value
        return Answer(response.status, found, data, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        raise NoAnswer(f"{method} {path}: no answer ({type(exc).__name__}: {exc})") from None
    finally:
        connection.close()


def _read_within(response: http.client.HTTPResponse, started: float) -> bytes:
    parts = []
    while True:
        if time.monotonic() - started > ANSWER_BOUND_S:
            raise NoAnswer(f"answer not complete within {ANSWER_BOUND_S}s")
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def raw_exchange(base: tuple[str, int], data: bytes, half_close: bool = False) -> Answer:
    """Send DATA as the whole request bytes and read one HTTP response from the socket.

    With HALF_CLOSE the write side is shut after sending, as a client that gives up on its body
    does; the server may then close without answering, which comes back as status CLOSED. Any
    other way of not answering within the bound raises NoAnswer."""
    started = time.monotonic()
    with socket.create_connection(base, timeout=ANSWER_BOUND_S) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close early on a request it refuses; its answer is still read
        if half_close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        received = b""
        try:
            while time.monotonic() - started < ANSWER_BOUND_S:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if _complete(received):
                    break
        except TimeoutError:
            raise NoAnswer(f"no complete answer within {ANSWER_BOUND_S}s to raw request {data[:80]!r}") from None
        except ConnectionResetError:
            pass
    if half_close and not received:
        return Answer(CLOSED, {}, b"", time.monotonic() - started)
    return _parse_raw(received, time.monotonic() - started, data)


def _complete(received: bytes) -> bool:
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(body) >= int(value.strip())
            except ValueError:
                return False
    return False


def _parse_raw(received: bytes, seconds: float, sent: bytes) -> Answer:
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        raise NoAnswer(f"no HTTP answer to raw request {sent[:80]!r}: got {received[:200]!r}")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise NoAnswer(f"not an HTTP status line: {lines[0][:100]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if "chunked" in headers.get("transfer-encoding", ""):
        body = _dechunk(body)
    return Answer(status, headers, body, seconds, head)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out
