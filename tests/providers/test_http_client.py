"""The upstream HTTP/1.1 client against raw sockets that answer exactly what each test scripts."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import trustme

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers.base import UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient, Timeouts, TransportError
from llmswitch.providers.openai import OpenAIProvider

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
LIMITS = Timeouts(connect=2, first_byte=2, idle=2, total=5)
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Upstream"], Awaitable[None]]
MiB = 1 << 20


@dataclass
class Upstream:
    port: int
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed_by_client: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/chat/completions?beta=true"


async def read_request(reader: asyncio.StreamReader, upstream: Upstream) -> bytes:
    """One request (head and Content-Length body), recorded; b'' once the client has closed."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        upstream.closed_by_client.set()
        return b""
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    request = head + await reader.readexactly(length)
    upstream.requests.append(request)
    return request


async def answer_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
    """A well-behaved keep-alive upstream: OK to every request until the client closes."""
    while await read_request(reader, upstream):
        writer.write(OK)


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
    """Starts a chunked answer and never ends it; returns once the client closes."""
    await read_request(reader, upstream)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n")
    await read_request(reader, upstream)


@asynccontextmanager
async def upstream_server(script: Script = answer_each, tls: ssl.SSLContext | None = None) -> AsyncIterator[Upstream]:
    upstream = Upstream(port=0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream.connections += 1
        try:
            await script(reader, writer, upstream)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()


@pytest.fixture
async def client() -> AsyncIterator[HTTPClient]:
    http = HTTPClient()
    yield http
    await http.close()


async def post(client: HTTPClient, upstream: Upstream, headers: dict[str, str] | None = None,
               timeouts: Timeouts = LIMITS) -> bytes:
    response = await client.post(upstream.url, b'{"a":1}', headers or {"content-type": "application/json"}, timeouts)
    return await response.read()


async def test_the_request_carries_path_query_host_with_port_headers_and_body(client: HTTPClient) -> None:
    async with upstream_server() as upstream:
        await post(client, upstream, {"x-api-key": "k"})
    request = upstream.requests[0]
    assert request.startswith(b"POST /v1/chat/completions?beta=true HTTP/1.1\r\n")
    assert f"\r\nHost: 127.0.0.1:{upstream.port}\r\n".encode() in request
    assert b"\r\nx-api-key: k\r\n" in request
    assert request.endswith(b"\r\nContent-Length: 7\r\n\r\n{\"a\":1}")


async def test_answer_headers_are_read_case_insensitively_with_repeats_kept(client: HTTPClient) -> None:
    async def headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(OK.replace(b"\r\n\r\n", b"\r\nRetry-After: 7\r\nX-Tag: a\r\nx-tag: b\r\n\r\n", 1))

    async with upstream_server(headers) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        await response.read()
    assert response.headers["retry-after"] == "7"
    assert response.headers.getall("X-TAG") == ["a", "b"]


async def test_answers_read_to_the_end_reuse_one_connection(client: HTTPClient) -> None:
    async with upstream_server() as upstream:
        assert [await post(client, upstream) for _ in range(3)] == [b"{}"] * 3
    assert upstream.connections == 1


async def test_an_answer_saying_connection_close_is_not_reused(client: HTTPClient) -> None:
    async def close_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))

    async with upstream_server(close_each) as upstream:
        await post(client, upstream)
        await post(client, upstream)
    assert upstream.connections == 2


async def test_a_pooled_connection_the_upstream_closed_is_replaced_without_an_error(client: HTTPClient) -> None:
    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(OK)  # keep-alive answer, then the upstream drops the idle connection

    async with upstream_server(answer_once) as upstream:
        await post(client, upstream)
        await asyncio.sleep(0.05)
        assert await post(client, upstream) == b"{}"
    assert upstream.connections == 2


async def test_a_pooled_connection_carrying_unrequested_bytes_is_not_reused(client: HTTPClient) -> None:
    async def then_babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(OK)
        await asyncio.sleep(0.02)
        writer.write(OK)  # an answer nobody asked for must never be taken for the next one's
        await answer_each(reader, writer, upstream)

    async with upstream_server(then_babble) as upstream:
        await post(client, upstream)
        await asyncio.sleep(0.1)
        await post(client, upstream)
    assert upstream.connections == 2


async def test_a_body_without_length_ends_where_the_connection_does(client: HTTPClient) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"long\":")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"true}")

    async with upstream_server(until_close) as upstream:
        assert await post(client, upstream) == b'{"long":true}'


async def test_a_chunked_body_is_handed_over_as_each_piece_arrives(client: HTTPClient) -> None:
    second_may_go = asyncio.Event()

    async def two_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst \r\n")
        await second_may_go.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")
        await answer_each(reader, writer, upstream)

    async with upstream_server(two_chunks) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        chunks = []
        async for chunk in response.iter_chunks():
            chunks.append(chunk)
            second_may_go.set()
        assert chunks == [b"first ", b"second"]
        await post(client, upstream)
    assert upstream.connections == 1


async def test_a_gzip_body_is_decoded(client: HTTPClient) -> None:
    packed = gzip.compress(b'{"zipped":true}')

    async def zipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed) + packed)

    async with upstream_server(zipped) as upstream:
        assert await post(client, upstream) == b'{"zipped":true}'


async def test_a_body_larger_than_the_read_buffer_arrives_whole(client: HTTPClient) -> None:
    big = b"x" * (3 << 20)  # past the point where the client pauses reading the socket

    async def large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
        await writer.drain()
        await answer_each(reader, writer, upstream)

    async with upstream_server(large) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        received = b""
        async for chunk in response.iter_chunks():
            received += chunk
            await asyncio.sleep(0)  # a slow reader
        assert received == big
        assert await post(client, upstream) == b"{}"


async def test_an_interim_100_continue_is_skipped_for_the_real_answer(client: HTTPClient) -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK.replace(b"200 OK", b"201 Created"))

    async with upstream_server(interim) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        assert (response.status, response.reason, await response.read()) == (201, "Created", b"{}")


async def test_a_header_holding_a_line_break_is_refused_before_anything_is_sent(client: HTTPClient) -> None:
    async with upstream_server() as upstream:
        with pytest.raises(TransportError) as excinfo:
            await post(client, upstream, {"x-evil": "a\r\nx-injected: 1"})
    assert excinfo.value.kind == "protocol"
    assert upstream.requests == []


@pytest.mark.parametrize("answer, words", [
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}", "content-encoding"),
    (b"HTTP/1.1 abc nonsense\r\n\r\n", "malformed HTTP"),
])
async def test_an_answer_that_is_not_usable_http_is_a_protocol_error(client: HTTPClient, answer: bytes,
                                                                      words: str) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(answer)
        await asyncio.sleep(1)

    async with upstream_server(broken) as upstream:
        with pytest.raises(TransportError) as excinfo:
            await post(client, upstream)
    assert excinfo.value.kind == "protocol"
    assert words in excinfo.value.message


async def test_a_body_that_stops_arriving_is_an_idle_timeout(client: HTTPClient) -> None:
    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"")
        await asyncio.sleep(2)

    async with upstream_server(stalls) as upstream:
        with pytest.raises(TransportError) as excinfo:
            await post(client, upstream, timeouts=Timeouts(connect=1, first_byte=1, idle=0.2, total=5))
    assert excinfo.value.kind == "idle_timeout"


async def test_the_total_limit_ends_a_body_that_keeps_trickling(client: HTTPClient) -> None:
    async def trickles(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await asyncio.sleep(0.05)

    async with upstream_server(trickles) as upstream:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TransportError) as excinfo:
            await post(client, upstream, timeouts=Timeouts(connect=1, first_byte=1, idle=1, total=0.4))
    assert excinfo.value.kind == "idle_timeout"
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_connection_broken_mid_body_is_a_reset(client: HTTPClient) -> None:
    async def breaks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\"")

    async with upstream_server(breaks) as upstream:
        with pytest.raises(TransportError) as excinfo:
            await post(client, upstream)
    assert excinfo.value.kind == "reset"


async def test_a_cancelled_read_closes_the_connection_so_the_upstream_can_stop(client: HTTPClient) -> None:
    async with upstream_server(endless) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        reading = asyncio.create_task(response.read())
        await asyncio.sleep(0.05)
        reading.cancel()
        await asyncio.wait_for(upstream.closed_by_client.wait(), 2)


async def test_an_answer_released_before_its_end_is_not_pooled(client: HTTPClient) -> None:
    async def long_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        if upstream.connections == 1:
            await read_request(reader, upstream)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await answer_each(reader, writer, upstream)

    async with upstream_server(long_answer) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        response.release()
        await post(client, upstream)
    assert upstream.connections == 2


async def test_tls_that_cannot_be_negotiated_is_a_connect_error(client: HTTPClient) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")  # plain HTTP to a TLS hello

    async with upstream_server(plain) as upstream:
        with pytest.raises(TransportError) as excinfo:
            await client.post(upstream.url.replace("http://", "https://"), b"{}", {}, LIMITS)
    assert excinfo.value.kind == "connect"


@pytest.fixture
def tls_upstream(tmp_path, monkeypatch: pytest.MonkeyPatch) -> tuple[ssl.SSLContext, trustme.CA]:
    """A server certificate for `localhost` from a CA of the test's own, and that CA made the one
    the system trusts (the client's default context reads SSL_CERT_FILE when it is built)."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return server_context, ca


async def test_https_verifies_the_upstream_certificate_for_its_host_name(
        client: HTTPClient, tls_upstream: tuple[ssl.SSLContext, trustme.CA]) -> None:
    async with upstream_server(tls=tls_upstream[0]) as upstream:
        url = f"https://localhost:{upstream.port}/v1/chat/completions"
        response = await client.post(url, b"{}", {}, LIMITS)
        assert (response.status, await response.read()) == (200, b"{}")
    assert f"\r\nHost: localhost:{upstream.port}\r\n".encode() in upstream.requests[0]


async def test_https_refuses_a_certificate_not_issued_for_the_host(
        client: HTTPClient, tls_upstream: tuple[ssl.SSLContext, trustme.CA]) -> None:
    async with upstream_server(tls=tls_upstream[0]) as upstream:
        with pytest.raises(TransportError) as excinfo:
            await client.post(f"https://127.0.0.1:{upstream.port}/v1", b"{}", {}, LIMITS)  # cert names localhost
    assert excinfo.value.kind == "connect"
    assert "CertVerification" in excinfo.value.message


async def test_the_wait_for_the_answer_is_bounded_by_the_first_byte_limit_not_the_idle_one(
        client: HTTPClient) -> None:
    async def thinks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        await asyncio.sleep(0.4)  # a non-streaming answer is silent until the model is done
        writer.write(OK)

    async with upstream_server(thinks) as upstream:
        assert await post(client, upstream, timeouts=Timeouts(connect=1, first_byte=2, idle=0.2, total=5)) == b"{}"


def chunked(body: bytes, piece: int = 256 << 10) -> bytes:
    """BODY in chunked transfer encoding, PIECE bytes a chunk, with the final empty chunk."""
    out = [b"%x\r\n%s\r\n" % (len(body[at:at + piece]), body[at:at + piece]) for at in range(0, len(body), piece)]
    return b"".join(out) + b"0\r\n\r\n"


def answering(head: bytes, body: bytes, stall: bool = False) -> Script:
    """An upstream answering the first request with HEAD and BODY, OK after; with STALL it sends
    nothing more after BODY and waits (5 s at most) for the client to close the connection."""
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        if not stall:
            writer.write(head + body)
            await answer_each(reader, writer, upstream)
            return
        with contextlib.suppress(TimeoutError):
            try:
                writer.write(head + body)
                await writer.drain()
                await asyncio.wait_for(reader.read(), 5)
            except ConnectionError:
                pass  # the client closed with our bytes unread: a reset
            upstream.closed_by_client.set()
    return script


def framed(body: bytes, framing: str, status: bytes = b"200 OK") -> tuple[bytes, bytes]:
    if framing == "chunked":
        return b"HTTP/1.1 %s\r\nTransfer-Encoding: chunked\r\n\r\n" % status, chunked(body)
    return b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n" % (status, len(body)), body


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("size", [3 * MiB, 20 * MiB])
async def test_an_answer_read_whole_arrives_whatever_its_size_below_the_cap(client: HTTPClient, size: int,
                                                                            framing: str) -> None:
    big = b"x" * size  # past the 1 MiB where a stream's reading pauses until its reader catches up
    async with upstream_server(answering(*framed(big, framing))) as upstream:
        assert await post(client, upstream) == big  # within the 2 s idle limit, not after it
        assert await post(client, upstream) == b"{}"
    assert upstream.connections == 1


async def test_an_answer_of_exactly_the_cap_is_accepted() -> None:
    client = HTTPClient(max_body=MiB)
    try:
        async with upstream_server(answering(*framed(b"x" * MiB, "chunked"))) as upstream:
            assert len(await post(client, upstream)) == MiB
    finally:
        await client.close()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_answer_past_the_cap_is_refused_at_once_and_its_connection_closed(framing: str) -> None:
    client = HTTPClient(max_body=MiB)
    head, body = framed(b"x" * (3 * MiB), framing)
    try:
        async with upstream_server(answering(head, body[:2 * MiB], stall=True)) as upstream:
            with pytest.raises(TransportError) as excinfo:  # not an idle timeout: the upstream stalls after 2 MiB
                await post(client, upstream)
            await asyncio.wait_for(upstream.closed_by_client.wait(), 2)
    finally:
        await client.close()
    assert excinfo.value.kind == "body_too_large"
    assert "server.max_upstream_body_mb" in excinfo.value.message


async def test_a_content_length_past_the_cap_is_refused_before_the_body_is_read() -> None:
    client = HTTPClient(max_body=MiB)
    try:
        async with upstream_server(answering(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MiB + 1), b"",
                                             stall=True)) as upstream:
            with pytest.raises(TransportError) as excinfo:  # no byte of the body ever comes
                await post(client, upstream)
    finally:
        await client.close()
    assert excinfo.value.kind == "body_too_large"


async def test_a_compressed_answer_unpacking_past_the_cap_is_refused() -> None:
    packed = gzip.compress(b"\0" * (64 * MiB))  # 64 KiB on the wire
    client = HTTPClient(max_body=MiB)
    try:
        async with upstream_server(answering(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d"
                                             b"\r\n\r\n" % len(packed), packed)) as upstream:
            with pytest.raises(TransportError) as excinfo:
                await post(client, upstream)
    finally:
        await client.close()
    assert excinfo.value.kind == "body_too_large"


async def test_a_compressed_stream_unpacking_past_the_cap_in_one_piece_is_refused() -> None:
    packed = gzip.compress(b"\0" * (64 * MiB))
    client = HTTPClient(max_body=MiB)
    try:
        async with upstream_server(answering(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked"
                                             b"\r\n\r\n", chunked(packed))) as upstream:
            with pytest.raises(TransportError) as excinfo:  # as the headers arrive, or as the stream is read
                response = await client.post(upstream.url, b"{}", {}, LIMITS)
                async for _ in response.iter_chunks():
                    pass
    finally:
        await client.close()
    assert excinfo.value.kind == "body_too_large"


async def test_a_stream_longer_than_the_cap_is_relayed_whole() -> None:
    client = HTTPClient(max_body=MiB)
    long = b"data: {}\n\n" * (3 * MiB // 10)
    try:
        async with upstream_server(answering(*framed(long, "chunked"))) as upstream:
            response = await client.post(upstream.url, b"{}", {}, LIMITS)
            assert b"".join([chunk async for chunk in response.iter_chunks()]) == long
    finally:
        await client.close()


def provider_call(client: HTTPClient, upstream: Upstream, stream: bool = False) -> tuple[OpenAIProvider, UpstreamCall]:
    provider = OpenAIProvider("p", ProviderConfig(type="openai", base_url=f"http://127.0.0.1:{upstream.port}/v1"),
                              client)
    return provider, UpstreamCall(DeploymentConfig(provider="p", model="m"), {"model": "m"}, stream, "k", LIMITS)


@pytest.mark.parametrize("status", [b"400 Bad Request", b"500 Internal Server Error"])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_an_error_body_larger_than_the_read_buffer_is_read_for_its_message(
        client: HTTPClient, status: bytes, framing: str) -> None:
    error_body = b'{"error": {"message": "too long: %s", "type": "invalid_request_error"}}' % (b"y" * (3 * MiB))
    async with upstream_server(answering(*framed(error_body, framing, status))) as upstream:
        provider, call = provider_call(client, upstream)
        with pytest.raises(UpstreamError) as excinfo:
            await provider.complete(call)
    assert (excinfo.value.kind, excinfo.value.status) == ("http", int(status[:3]))
    assert excinfo.value.message.startswith("too long: yyy")


async def test_an_error_body_past_the_cap_still_reports_the_upstream_status_at_once() -> None:
    client = HTTPClient(max_body=MiB)
    head, body = framed(b'{"error": {"message": "%s"}}' % (b"y" * (3 * MiB)), "chunked", b"503 Service Unavailable")
    try:
        async with upstream_server(answering(head, body[:2 * MiB], stall=True)) as upstream:
            provider, call = provider_call(client, upstream)
            with pytest.raises(UpstreamError) as excinfo:
                await provider.complete(call)
    finally:
        await client.close()
    assert (excinfo.value.kind, excinfo.value.status) == ("http", 503)  # not an idle timeout


async def test_a_non_streaming_answer_past_the_cap_is_a_body_too_large_upstream_error_that_was_processed() -> None:
    client = HTTPClient(max_body=MiB)
    try:
        async with upstream_server(answering(*framed(b"x" * (2 * MiB), "content-length"))) as upstream:
            provider, call = provider_call(client, upstream)
            with pytest.raises(UpstreamError) as excinfo:
                await provider.complete(call)
    finally:
        await client.close()
    error = excinfo.value
    assert (error.kind, error.client_status, error.not_processed) == ("body_too_large", 502, False)


async def test_a_stream_event_past_the_cap_is_a_protocol_error() -> None:
    client = HTTPClient(max_body=MiB)
    events = b'data: {"a": 1}\n\ndata: "' + b"x" * (2 * MiB) + b'"\n\n'
    try:
        async with upstream_server(answering(*framed(events, "chunked"))) as upstream:
            provider, call = provider_call(client, upstream, stream=True)
            stream = await provider.stream(call)
            seen = []
            with pytest.raises(UpstreamError) as excinfo:
                async for batch in stream:
                    seen += batch
    finally:
        await client.close()
    assert seen == [{"a": 1}]
    assert excinfo.value.kind == "protocol"
    assert "larger than" in excinfo.value.message


async def test_shutting_the_client_ends_a_call_in_progress_and_refuses_later_ones(client: HTTPClient) -> None:
    async with upstream_server(endless) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        reading = asyncio.create_task(response.read())
        await asyncio.sleep(0.05)
        client.shut("stopping")
        with pytest.raises(TransportError) as during:
            await reading
        with pytest.raises(TransportError) as after:
            await post(client, upstream)
        await asyncio.wait_for(upstream.closed_by_client.wait(), 2)
    assert (during.value.kind, during.value.message) == ("shutdown", "stopping")
    assert after.value.kind == "shutdown"
    assert upstream.connections == 1


async def test_a_body_ending_with_its_connection_is_not_complete_when_the_client_shut_it(client: HTTPClient) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        await read_request(reader, upstream)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: {}\n\n")
        await read_request(reader, upstream)

    async with upstream_server(until_close) as upstream:
        response = await client.post(upstream.url, b"{}", {}, LIMITS)
        chunks = response.iter_chunks()
        assert await anext(chunks) == b"data: {}\n\n"
        client.shut("stopping")
        await asyncio.sleep(0.05)  # the connection is gone: had it ended the body, the stream would look whole
        with pytest.raises(TransportError) as excinfo:
            await anext(chunks)
    assert excinfo.value.kind == "shutdown"
