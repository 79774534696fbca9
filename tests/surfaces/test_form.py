"""A client's multipart form read as it arrives (`surfaces.form`): what is read before the request is
routed, the file passed on (and again, whole, for another attempt), the fields after it, and the
413/408/400 of a bad upload. A gateway-side handler reads the form and sends it on with the upstream
client to a recorder that parses it with aiohttp's own multipart reader."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from llmswitch.errors import GatewayError, invalid
from llmswitch.providers.http import HTTPClient, Timeouts
from llmswitch.surfaces.form import ClientForm, read_form
from tests.support.servers import serve_app

LIMITS = Timeouts(connect=2, first_byte=5, idle=5, total=20)
CAP = 1 << 20
AUDIO = os.urandom(600_000)

Inspect = Callable[[ClientForm, HTTPClient, str], Awaitable[dict[str, Any]]]


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[list[tuple[str, Any]]]]]:
    """Records each form as aiohttp parses it: (name, value) in order, a file as (filename, bytes)."""
    seen: list[list[tuple[str, Any]]] = []

    async def handle(request: web.Request) -> web.Response:
        fields = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            data = bytes(await part.read())
            fields.append((part.name, (part.filename, data) if part.filename else data.decode()))
        seen.append(fields)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/", handle)
    async with serve_app(app) as url:
        yield url, seen


async def send(form: ClientForm, client: HTTPClient, url: str, model: str = "up-model") -> int:
    multipart = form.for_model(model)
    response = await client.request(b"POST", url, multipart.body(), {"content-type": multipart.content_type}, LIMITS)
    await response.read()
    return response.status


@pytest.fixture
async def gateway(upstream: tuple[str, Any]) -> AsyncIterator[Callable[[Inspect], Awaitable[str]]]:
    """A handler that reads the form and hands it to the test's INSPECT; its answer is what INSPECT
    returns, or the GatewayError raised, as JSON."""
    client = HTTPClient()
    inspect: list[Inspect] = []

    async def handle(request: web.Request) -> web.Response:
        try:
            form = await read_form(request, CAP, float(request.query.get("timeout", "5")))
            try:
                return web.json_response(await inspect[0](form, client, upstream[0] + "/"))
            finally:
                form.close()
        except GatewayError as error:
            return web.json_response(error.openai_body(), status=error.status)

    app = web.Application()
    app.router.add_post("/", handle)
    async with serve_app(app) as url:
        async def use(check: Inspect) -> str:
            inspect[:] = [check]
            return url + "/"
        yield use
    await client.close()


def fields(*pairs: tuple[str, Any]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in pairs:
        if isinstance(value, bytes):
            data.add_field(name, value, filename="take.wav", content_type="audio/wav")
        else:
            data.add_field(name, value)
    return data


async def post(url: str, data: Any, **kwargs: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, data=data, **kwargs) as response:
        return response.status, orjson.loads(await response.read())


async def test_with_model_first_the_form_is_routed_before_the_file_arrives_and_the_file_passes_whole(
        gateway: Any, upstream: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        routed = {"model": form.value("model"), "whole": form.upload.whole}  # type: ignore[union-attr]
        await send(form, client, url)
        return {**routed, "size": form.file_size, "seconds": form.estimate.audio_seconds}

    status, seen = await post(await gateway(check), fields(("model", "whisper-1"), ("language", "fr"),
                                                           ("file", AUDIO)))
    assert (status, seen["model"], seen["whole"], seen["size"]) == (200, "whisper-1", False, len(AUDIO))
    assert seen["seconds"] > 0  # the estimate is filled in once the file is whole
    assert upstream[1] == [[("model", "up-model"), ("language", "fr"), ("file", ("take.wav", AUDIO))]]


async def test_another_attempt_sends_the_whole_file_again_even_after_one_cut_short(gateway: Any, upstream: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        first = aiter(form.upload)  # type: ignore[arg-type]
        await anext(first)  # an attempt that read one piece and gave up
        await send(form, client, url, "second")
        await send(form, client, url, "third")  # from the spool alone, its length now known
        return {}

    await post(await gateway(check), fields(("model", "m"), ("file", AUDIO), ("response_format", "srt")))
    assert upstream[1] == [[("model", name), ("file", ("take.wav", AUDIO)), ("response_format", "srt")]
                           for name in ("second", "third")]


async def test_with_the_file_first_it_is_spooled_and_sent_with_its_length_after_the_fields(
        gateway: Any, upstream: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        whole = form.upload.whole  # type: ignore[union-attr]
        length = form.for_model("x").length()
        await send(form, client, url)
        return {"whole": whole, "length": length}

    status, seen = await post(await gateway(check), fields(("file", AUDIO), ("model", "whisper-1"), ("prompt", "hi")))
    assert (status, seen["whole"], seen["length"] is not None) == (200, True, True)
    assert upstream[1] == [[("model", "up-model"), ("prompt", "hi"), ("file", ("take.wav", AUDIO))]]


async def test_a_field_after_a_passed_on_file_is_checked_when_it_arrives(gateway: Any, upstream: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        def refuse(late: list[tuple[str, str]]) -> None:
            if ("temperature", "3") in late:
                raise invalid("Invalid 'temperature'", param="temperature")
        form.check_late = refuse
        await send(form, client, url)
        return {}

    status, body = await post(await gateway(check), fields(("model", "m"), ("file", AUDIO), ("temperature", "3")))
    assert (status, body["error"]["param"]) == (400, "temperature")
    assert upstream[1] == []  # the upstream never got a whole form


async def test_a_declared_length_past_the_cap_is_refused_before_anything_is_read(gateway: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        raise AssertionError("never read")

    status, body = await post(await gateway(check), fields(("model", "m"), ("file", os.urandom(CAP + 1))))
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert "1 MB (server.max_body_mb)" in body["error"]["message"]


async def chunked(*pieces: bytes, pause: float = 0.0) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
        await asyncio.sleep(pause)


def raw_form(file_first: bool, size: int) -> list[bytes]:
    model = b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n'
    file = [b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n\r\n',
            *[b"x" * 65536] * (size // 65536), b"\r\n"]
    return ([*file, model] if file_first else [model, *file]) + [b"--B--\r\n"]


@pytest.mark.parametrize("file_first", [False, True])
async def test_an_undeclared_length_past_the_cap_is_refused_when_it_passes(gateway: Any, upstream: Any,
                                                                           file_first: bool) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        await send(form, client, url)
        return {}

    status, body = await post(await gateway(check), chunked(*raw_form(file_first, CAP + 65536)),
                              headers={"content-type": "multipart/form-data; boundary=B"})
    assert (status, body["error"]["code"]) == (413, "request_too_large")
    assert upstream[1] == []


async def test_a_client_that_stops_sending_gets_a_408(gateway: Any) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        raise AssertionError("never routed")

    pieces = raw_form(True, 65536)
    url = await gateway(check) + "?timeout=0.3"
    status, body = await post(url, chunked(*pieces[:2], pieces[2], pause=1.0),
                              headers={"content-type": "multipart/form-data; boundary=B"})
    assert (status, body["error"]["code"]) == (408, "body_timeout")


@pytest.mark.parametrize("data, message", [
    (b"--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--B\r\nbroken", "not a valid multipart form"),
    (b'--B\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--B--\r\n', "must be a file upload"),
    (b'--B\r\nContent-Disposition: form-data; name="other"; filename="b.mp3"\r\n\r\nx\r\n--B--\r\n',
     "Only one file"),
    (b'--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n', "needs a name"),
])
async def test_a_malformed_form_is_a_400_naming_what_is_wrong(gateway: Any, data: bytes, message: str) -> None:
    async def check(form: ClientForm, client: HTTPClient, url: str) -> dict[str, Any]:
        return {}

    status, body = await post(await gateway(check), data, headers={"content-type": "multipart/form-data; boundary=B"})
    assert status == 400 and message in body["error"]["message"]
