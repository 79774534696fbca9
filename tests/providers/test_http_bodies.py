"""The upstream client's methods and bodies: none, bytes, streamed (with a length or chunked) and
multipart, checked against aiohttp's own server-side parsing, and an upload that never outruns
what the upstream reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from llmswitch.providers.http import HTTPClient, Streamed, Timeouts
from llmswitch.providers.multipart import FilePart, FormField, Multipart
from tests.support.servers import serve_app

LIMITS = Timeouts(connect=2, first_byte=5, idle=5, total=20)


async def pieces(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await asyncio.sleep(0)
        yield chunk


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """An aiohttp upstream recording each request's method, headers and body as aiohttp parsed it."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        entry: dict[str, Any] = {"method": request.method, "headers": dict(request.headers)}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            entry["form"] = {name: (value.filename, value.file.read()) if isinstance(value, web.FileField)
                             else value for name, value in form.items()}
        else:
            entry["body"] = await request.read()
        seen.append(entry)
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serve_app(app) as url:
        yield url, seen


@pytest.mark.parametrize("method", [b"GET", b"DELETE"])
async def test_a_request_without_a_body_says_no_length(client: HTTPClient, recorder: Any, method: bytes) -> None:
    url, seen = recorder
    response = await client.request(method, f"{url}/v1/responses/resp_1", None, {"x-k": "v"}, LIMITS)
    assert (response.status, await response.read()) == (200, b'{"ok": true}')
    assert seen[0]["method"] == method.decode() and seen[0]["body"] == b""
    assert "Content-Length" not in seen[0]["headers"] and "Transfer-Encoding" not in seen[0]["headers"]


async def test_a_streamed_body_of_known_length_is_sent_with_content_length(client: HTTPClient, recorder: Any) -> None:
    url, seen = recorder
    response = await client.request(b"POST", url, Streamed(pieces(b"ab", b"", b"cde"), 5), {}, LIMITS)
    await response.read()
    assert seen[0]["body"] == b"abcde" and seen[0]["headers"]["Content-Length"] == "5"


async def test_a_streamed_body_of_unknown_length_is_sent_chunked(client: HTTPClient, recorder: Any) -> None:
    url, seen = recorder
    response = await client.request(b"POST", url, Streamed(pieces(b"x" * 70_000, b"y")), {}, LIMITS)
    await response.read()
    assert seen[0]["body"] == b"x" * 70_000 + b"y" and seen[0]["headers"]["Transfer-Encoding"] == "chunked"


async def test_a_connection_that_sent_a_streamed_body_is_pooled_for_the_next_call(client: HTTPClient) -> None:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"peer": request.transport.get_extra_info("peername")[1]})  # type: ignore[union-attr]

    app = web.Application()
    app.router.add_post("/", handle)
    async with serve_app(app) as url:
        peers = set()
        for _ in range(3):
            response = await client.request(b"POST", url + "/", Streamed(pieces(b"a", b"b")), {}, LIMITS)
            peers.add(await response.read())
    assert len(peers) == 1


async def test_a_multipart_form_reaches_the_upstream_as_fields_and_a_file(client: HTTPClient, recorder: Any) -> None:
    url, seen = recorder
    audio = b"RIFF" + bytes(range(256)) * 300
    form = Multipart([FormField("model", "whisper-1"), FormField("language", "fr"),
                      FilePart("file", 'take "one".wav', "audio/wav", pieces(audio[:1000], audio[1000:]), len(audio))])
    body = form.body()
    response = await client.request(b"POST", url, body, {"content-type": form.content_type}, LIMITS)
    await response.read()
    assert seen[0]["form"] == {"model": "whisper-1", "language": "fr", "file": ('take %22one%22.wav', audio)}
    assert seen[0]["headers"]["Content-Length"] == str(body.length)


async def test_a_multipart_form_with_a_file_of_unknown_size_is_sent_chunked(client: HTTPClient, recorder: Any) -> None:
    url, seen = recorder
    form = Multipart([FilePart("file", "a.mp3", "audio/mpeg", pieces(b"ID3", b"rest")), FormField("model", "m")])
    response = await client.request(b"POST", url, form.body(), {"content-type": form.content_type}, LIMITS)
    await response.read()
    assert seen[0]["form"] == {"file": ("a.mp3", b"ID3rest"), "model": "m"}
    assert seen[0]["headers"]["Transfer-Encoding"] == "chunked"


async def test_an_upload_is_read_from_its_source_no_faster_than_the_upstream_takes_it(client: HTTPClient) -> None:
    """50 MB offered, an upstream that reads nothing for a while: the client pulls only what the
    socket buffers hold, then the rest as the upstream reads."""
    pulled = 0
    chunk = b"z" * (64 << 10)
    total = 50 << 20
    reading = asyncio.Event()

    async def source() -> AsyncIterator[bytes]:
        nonlocal pulled
        while pulled < total:
            pulled += len(chunk)
            yield chunk

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        await reading.wait()
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                     .split(b":")[1])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        call = asyncio.create_task(client.request(b"POST", f"http://127.0.0.1:{port}/", Streamed(source(), total),
                                                  {}, LIMITS))
        await asyncio.sleep(0.5)
        held = pulled
        reading.set()
        response = await call
        assert (response.status, await response.read()) == (200, b"{}")
    finally:
        server.close()
    assert held < 16 << 20 and pulled == total


async def test_an_answer_before_the_whole_upload_ends_it_and_the_connection_is_not_reused(client: HTTPClient) -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.01)
            yield b"a" * 1024

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    try:
        for _ in range(2):
            response = await client.request(b"POST", url, Streamed(endless()), {}, LIMITS)
            assert (response.status, await response.read()) == (413, b"{}")
    finally:
        server.close()
    assert connections == 2
