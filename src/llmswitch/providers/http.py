"""The upstream HTTP/1.1 client: kept-alive connections per origin, answers read as they arrive.

Why not aiohttp's ClientSession (the server side stays aiohttp): in `bench/`, the same bare relay
spent 209 us of CPU per request with ClientSession as its upstream client and 84 us with this
design. ClientSession's per-request machinery (URL objects, cookie and redirect handling, trace
hooks, a timer per phase, a stream reader) is work an upstream call never needs: it sends one body
on a pooled connection and reads the answer. Here the request line's path and Host header are
formatted once per URL, the answer is parsed in C by httptools (llhttp, the parser Node.js uses),
and one timer guards each wait. Every transport failure is a `TransportError` whose `kind` tells
failover what happened.

A request has any method and a body of bytes (a JSON body, already encoded), none, or `Streamed`
chunks (a multipart upload read from the client as it is sent): those go out as they come, with
the connection's write buffer drained between them, so an upload never sits whole in memory.

Reading pauses once PAUSE_AT bytes wait unread, so a stream relayed to a slow client holds little
memory. An answer read whole (`Response.read`) is buffered to its end instead. Either way no more
than the client's `max_body` bytes ever wait unread (decompressed, so a small gzip body cannot
unpack to gigabytes): past that the answer is a `body_too_large` error at once, never a read that
waits for the idle timeout.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

TransportKind = Literal["connect", "connect_timeout", "first_byte_timeout", "idle_timeout", "reset", "protocol",
                        "body_too_large", "shutdown"]

PAUSE_AT = 1 << 20  # bytes buffered but not yet read: stop reading the socket until they are
KEEPALIVE_S = 60.0  # an idle pooled connection older than this is closed, not reused
MAX_BODY = 64 << 20  # bytes that may wait unread, by default: server.max_upstream_body_mb
_TARGET_CACHE = 512  # distinct URLs whose parsed form is kept


@dataclass(slots=True)
class Timeouts:
    """Limits of one upstream call, in seconds: `total` bounds everything from the first byte sent."""

    connect: float
    first_byte: float
    idle: float
    total: float


@dataclass(slots=True)
class Streamed:
    """A request body sent as it is produced: `length` bytes in all when known (Content-Length),
    else chunked transfer encoding."""

    chunks: AsyncIterable[bytes]
    length: int | None = None


Body = bytes | Streamed | None


class Mark(Protocol):
    """Whatever wants to know when an answer is done with (`telemetry.tracing.CallMark`)."""

    def done(self) -> None: ...


class TransportError(Exception):
    """The call failed below HTTP; `kind` says at which step (and so whether the upstream saw it)."""

    def __init__(self, kind: TransportKind, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True, frozen=True)
class _Target:
    """A URL taken apart once: the pool it draws from and the start of every request head."""

    origin: tuple[str, str, int]  # scheme, host, port: one pool each
    head: bytes  # the request line after its method (` /path HTTP/1.1`) and the Host header

    @property
    def host(self) -> str:
        return self.origin[1]

    @property
    def port(self) -> int:
        return self.origin[2]

    @property
    def tls(self) -> bool:
        return self.origin[0] == "https"


class _Connection(asyncio.Protocol):
    """One upstream connection; parses what arrives and wakes the one reader waiting on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: tuple[str, str, int],
                 registry: set[_Connection], max_body: int):
        self.loop = loop
        self.origin = origin
        self.max_body = max_body
        self._stream_pause = min(PAUSE_AT, max_body // 2)  # a stream pauses well before the cap
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.in_use = True
        self.idle_since = 0.0
        self._registry = registry  # the client's open connections, closed with it
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None  # set while the socket's write buffer is full
        self.reset()

    def reset(self) -> None:
        """Ready for the next exchange on this connection."""
        self.status = 0
        self.reason = ""
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.error: TransportError | None = None
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._framed = False  # the body's end is marked by Content-Length or chunked encoding
        self._encoding = b"identity"
        self._chunks: list[bytes] = []
        self._buffered = 0  # body bytes not yet taken
        self._pause_at = self._stream_pause
        self._length: bytes | None = None  # the Content-Length header's value
        self._until_eof = False
        self._decoder: zlib._Decompress | None = None
        self.cut_short = False  # a streamed body was not sent whole: the connection cannot be reused

    # --- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._registry.add(self)

    def data_received(self, data: bytes) -> None:
        if not self.in_use:  # nothing was asked: a pooled connection must not carry a stale answer
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            self.error = cause if isinstance(cause, TransportError) else TransportError(
                "protocol", f"upstream sent malformed HTTP: {exc}")
            self.close()
        if self._buffered > self._pause_at and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def pause_writing(self) -> None:
        self._drained = self.loop.create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def drain(self, until: float) -> None:
        """Wait until the socket takes more of a streamed body (raised: a break, or `until` passed)."""
        if self.error is not None:
            raise self.error
        if self.closed:
            raise TransportError("reset", "upstream closed the connection while the request was sent")
        drained = self._drained
        if drained is None:
            return
        timer = self.loop.call_at(until, _expire, drained)
        try:
            await drained
        except TimeoutError:
            raise TransportError("idle_timeout", "upstream stopped reading the request body") from None
        finally:
            timer.cancel()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._registry.discard(self)
        self.resume_writing()  # a body being sent stops at once (drain sees the close)
        if self.complete or self.error is not None:
            pass
        elif self.headers_done and self._until_eof:
            self.complete = True  # a body without length or chunks ends where the connection does
        else:
            self.error = TransportError("reset", "upstream closed the connection before its answer ended")
        self._wake()

    # --- httptools callbacks --------------------------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))
        if len(name) in (14, 16, 17):  # maybe Content-Length, Content-Encoding or Transfer-Encoding
            lowered = name.lower()
            if lowered == b"content-length":
                self._framed = True
                self._length = value
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                self._framed = True
            elif lowered == b"content-encoding":
                self._encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.status < 200:
            return  # an interim answer (100 Continue): its message ends at once, the real one follows
        self.headers_done = True
        self._until_eof = not self._framed and self.status not in (204, 304)
        if self._encoding in (b"gzip", b"deflate", b"x-gzip"):
            self._decoder = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib framing, told apart by header
        elif self._encoding != b"identity":
            encoding = self._encoding.decode("latin-1")
            raise TransportError("protocol", f"upstream used an unsupported content-encoding {encoding!r}")

    def on_body(self, body: bytes) -> None:
        if self._decoder is not None:
            try:  # decoded no further than the cap: a small compressed body may unpack to gigabytes
                body = self._decoder.decompress(body, self.max_body - self._buffered + 1)
            except zlib.error as exc:
                raise TransportError("protocol", f"upstream sent an undecodable compressed body: {exc}") from None
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > self.max_body:
            raise _too_large(self.max_body)

    def on_message_complete(self) -> None:
        if self.status < 200:
            self.reset()
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # only known here: llhttp forgets it after

    # --- used by Response ---------------------------------------------------------------------
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, until: float, kind: TransportKind, message: str) -> None:
        """Sleep until something arrives, the connection breaks (raised), or `until` (raised as `kind`)."""
        if self.error is not None:
            raise self.error
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_at(until, _expire, waiter)
        try:
            await waiter
        except TimeoutError:
            raise TransportError(kind, message) from None
        finally:
            timer.cancel()
            self._waiter = None
        if self.error is not None:
            raise self.error

    def buffer_whole(self) -> None:
        """The reader takes the body only once it is complete: keep reading the socket until then
        (on_body refuses it past `max_body`), unless it says at once that it will be longer."""
        if self._length is not None and self._decoder is None and int(self._length) > self.max_body:
            raise _too_large(self.max_body)  # refused before a byte of it is read
        self._pause_at = self.max_body
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def take(self) -> bytes:
        """Every body byte that arrived since the last call, as one piece."""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._buffered = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    @property
    def has_data(self) -> bool:
        return bool(self._chunks)

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and not self.cut_short

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def fail(self, error: TransportError) -> None:
        """End the exchange now: its reader gets `error` instead of what the upstream would still send."""
        self.error = error
        self.close()
        self._wake()


def _too_large(limit: int) -> TransportError:
    return TransportError("body_too_large", f"upstream answer is larger than the gateway accepts "
                                            f"({limit / (1 << 20):g} MiB: server.max_upstream_body_mb)")


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Response:
    """An upstream answer whose headers have arrived; read its body, then `release` (or `close`)."""

    __slots__ = ("status", "reason", "mark", "_raw_headers", "_headers", "_conn", "_client", "_idle", "_deadline")

    def __init__(self, conn: _Connection, client: HTTPClient, idle: float, deadline: float):
        self.status = conn.status
        self.reason = conn.reason
        self.mark: Mark | None = None  # told when the answer is done with (a trace's mark of the call)
        self._raw_headers = conn.raw_headers
        self._headers: CIMultiDictProxy[str] | None = None
        self._conn: _Connection | None = conn
        self._client = client
        self._idle = idle
        self._deadline = deadline

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        """Built on first use: most answers are relayed without anyone reading their headers."""
        if self._headers is None:
            self._headers = CIMultiDictProxy(CIMultiDict(
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in self._raw_headers))
        return self._headers

    async def read(self) -> bytes:
        """The whole body (up to the client's `max_body`); the connection goes back to the pool once it is read."""
        conn = self._live()
        try:
            if not conn.complete:
                conn.buffer_whole()
                while not conn.complete:
                    await self._next(conn)
            return conn.take()
        except BaseException:
            self.close()
            raise
        finally:
            self.release()

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: whatever came in together since the last chunk, in one piece."""
        conn = self._live()
        try:
            while True:
                if conn.has_data:
                    yield conn.take()
                elif conn.complete:
                    break
                else:
                    await self._next(conn)
        except BaseException:
            self.close()
            raise
        self.release()

    def release(self) -> None:
        """Done with this answer: its connection is pooled if the answer was read to its end, else closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self.mark is not None:
            self.mark.done()
        if conn.reusable:
            self._client.put(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Drop the connection at once: the upstream sees the close and can stop working."""
        conn, self._conn = self._conn, None
        if conn is not None:
            if self.mark is not None:
                self.mark.done()
            conn.close()

    def _live(self) -> _Connection:
        if self._conn is None:
            raise TransportError("protocol", "the answer was already released")
        return self._conn

    async def _next(self, conn: _Connection) -> None:
        until = min(conn.loop.time() + self._idle, self._deadline)
        await conn.wait(until, "idle_timeout", "upstream went silent while sending its answer")


class HTTPClient:
    """Pooled HTTP/1.1 connections to any number of origins (one client per provider)."""

    def __init__(self, keepalive_s: float = KEEPALIVE_S, max_body: int = MAX_BODY):
        self._keepalive_s = keepalive_s
        self.max_body = max_body  # bytes of an answer that may wait unread: all of one read whole
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._targets: dict[str, _Target] = {}
        self._open: set[_Connection] = set()
        self._tls: ssl.SSLContext | None = None
        self._shut: str | None = None  # why every call fails now: the client was shut

    async def request(self, method: bytes, url: str, body: Body, headers: Mapping[str, str],
                      timeouts: Timeouts) -> Response:
        """Send METHOD (b"POST", b"GET"...) to `url` with `body` and return once the answer's status and
        headers have arrived. A streamed body's time to first byte counts from its last chunk."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeouts.total
        target = self._target(url)
        conn = self._pooled(target.origin) or await self._connect(loop, target, timeouts.connect)
        transport = conn.transport
        assert transport is not None
        try:
            if type(body) is bytes:
                transport.write(method + target.head + _header_lines(headers, len(body)) + body)
            elif body is None:
                transport.write(method + target.head + _header_lines(headers, None))
            else:
                assert isinstance(body, Streamed)
                await _send_streamed(conn, method + target.head, headers, body, deadline)
                started = loop.time()
            until = min(started + timeouts.first_byte, deadline)
            while not conn.headers_done:
                await conn.wait(until, "first_byte_timeout", "upstream did not answer in time")
        except BaseException:
            conn.close()
            raise
        return Response(conn, self, timeouts.idle, deadline)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], timeouts: Timeouts) -> Response:
        """POST `body` to `url` (see `request`)."""
        return await self.request(b"POST", url, body, headers, timeouts)

    def put(self, conn: _Connection) -> None:
        """Pool a connection whose answer was read to the end; also retire the stalest idle one."""
        now = conn.loop.time()
        conn.idle_since = now
        conn.in_use = False
        conn.reset()
        idle = self._idle.setdefault(conn.origin, deque())
        idle.append(conn)
        if idle[0].closed or now - idle[0].idle_since > self._keepalive_s:
            idle.popleft().close()

    async def close(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    def shut(self, message: str) -> None:
        """Fail every call in progress, and every later one, as `shutdown`: each caller still answers its
        client (a 503, a stream's error event) instead of being cut off with the process."""
        self._shut = message
        self._idle.clear()  # a call now finds no pooled connection, and _connect refuses a new one
        for conn in list(self._open):
            conn.fail(TransportError("shutdown", message))

    def _pooled(self, origin: tuple[str, str, int]) -> _Connection | None:
        """The most recently used live connection to `origin`, if any."""
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.loop.time() - conn.idle_since <= self._keepalive_s:
                conn.in_use = True
                return conn
            conn.close()
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop, target: _Target, timeout: float) -> _Connection:
        if self._shut is not None:
            raise TransportError("shutdown", self._shut)
        tls = self._tls_context() if target.tls else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, target.origin, self._open, self.max_body), target.host, target.port,
                    ssl=tls, server_hostname=target.host if tls else None)
        except TimeoutError:
            raise TransportError("connect_timeout", "could not connect to the upstream in time") from None
        except OSError as exc:  # refused, unreachable, DNS (gaierror) and TLS (SSLError) failures
            raise TransportError("connect", f"cannot reach the upstream: {type(exc).__name__}") from None
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()  # the system's CAs; built once, it is slow
        return self._tls

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            if len(self._targets) >= _TARGET_CACHE:
                self._targets.clear()
            target = self._targets[url] = _parse_target(url)
        return target


def _parse_target(url: str) -> _Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError("connect", f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in path for c in " \r\n\t"):
        raise TransportError("connect", "the upstream URL's path holds whitespace")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if port == (443 if tls else 80) else f"{host}:{port}"
    head = f" {path} HTTP/1.1\r\nHost: {authority}\r\n".encode()
    return _Target((parts.scheme, parts.hostname, port), head)


def _header_lines(headers: Mapping[str, str], length: int | None) -> bytes:
    """Header lines, the body's length (none: no body; -1: chunked) and the blank line; a CR or LF
    inside a name or value (header injection) is refused."""
    text = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if text.count("\n") != len(headers) or text.count("\r") != len(headers):
        raise TransportError("protocol", "a header for the upstream holds a line break")
    if length is None:
        return f"{text}\r\n".encode()
    if length < 0:
        return f"{text}Transfer-Encoding: chunked\r\n\r\n".encode()
    return f"{text}Content-Length: {length}\r\n\r\n".encode()


async def _send_streamed(conn: _Connection, head: bytes, headers: Mapping[str, str], body: Streamed,
                         deadline: float) -> None:
    """Write the head, then each chunk as it comes (chunk-framed when the length is unknown), waiting
    for the socket to drain between them; an upstream that answers early (a 413) stops the upload."""
    transport = conn.transport
    assert transport is not None
    chunked = body.length is None
    transport.write(head + _header_lines(headers, -1 if chunked else body.length))
    sent = 0
    async for chunk in body.chunks:
        if conn.headers_done or conn.closed:
            conn.cut_short = True  # the answer came before the whole body: it is the answer
            return
        if not chunk:
            continue
        sent += len(chunk)
        if chunked:
            transport.write(b"%x\r\n" % len(chunk))
            transport.write(chunk)
            transport.write(b"\r\n")
        else:
            transport.write(chunk)
        await conn.drain(deadline)
    if chunked:
        transport.write(b"0\r\n\r\n")
    elif sent != body.length:
        raise TransportError("protocol", f"the request body had {sent} bytes, not the {body.length} announced")
