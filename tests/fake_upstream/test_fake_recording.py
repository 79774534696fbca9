"""What the fake records and counts, for tests that assert on what the gateway sent."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from llmswitch.fake_upstream import running_fake
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

AUTH = {"Authorization": "Bearer x"}


def chat(text: str, **extra) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}], **extra}


async def post(fake, body: dict, path: str = "/v1/chat/completions") -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + path + "?beta=true", json=body, headers=AUTH) as r:
            await r.read()
            return r


async def wait_for(condition, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_each_request_is_recorded_with_lower_cased_headers_and_parsed_body(fake):
    await post(fake, chat("hi"))
    [recorded] = fake.requests()
    assert (recorded["method"], recorded["path"], recorded["query"]) == ("POST", "/v1/chat/completions",
                                                                        {"beta": "true"})
    assert recorded["headers"]["authorization"] == "Bearer x"
    assert recorded["body"] == chat("hi")


async def test_requests_come_back_over_http_in_arrival_order(fake):
    await post(fake, chat("one"))
    await post(fake, chat("two"))
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.url + "/_fake/requests") as r:
            recorded = await r.json()
    assert [r["body"]["messages"][0]["content"] for r in recorded] == ["one", "two"]


async def test_delete_clears_the_record(fake):
    await post(fake, chat("hi"))
    async with aiohttp.ClientSession() as session:
        async with session.delete(fake.url + "/_fake/requests") as r:
            assert r.status == 204
    assert fake.requests() == [] and fake.stats()["total"] == 0


async def test_record_keeps_only_the_most_recent_requests():
    async with running_fake(record_limit=2) as fake:
        for text in ("a", "b", "c"):
            await post(fake, chat(text))
        assert [r["body"]["messages"][0]["content"] for r in fake.requests()] == ["b", "c"]
        assert fake.stats()["total"] == 3


async def test_stats_count_requests_per_path(fake):
    await post(fake, chat("a"))
    await post(fake, chat("b"))
    await post(fake, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "c"}]}, "/v1/messages")
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.url + "/_fake/stats") as r:
            stats = await r.json()
    assert stats["paths"] == {"/v1/chat/completions": 2, "/v1/messages": 1}


async def test_stats_count_a_request_in_flight(fake):
    task = asyncio.create_task(post(fake, chat(say(hang_s=0.5))))
    await wait_for(lambda: fake.stats()["in_flight"] == 1)
    await task
    assert fake.stats()["in_flight"] == 0


async def test_client_leaving_mid_stream_is_counted_as_a_disconnect(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/chat/completions", headers=AUTH,
                                json=chat(say(delay_ms=200, chunks=10), stream=True)) as r:
            await r.content.readline()
    await wait_for(lambda: fake.stats()["disconnects"] == 1)
    assert fake.stats()["in_flight"] == 0


async def test_client_leaving_during_a_hang_is_counted_as_a_disconnect(fake):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.post(fake.url + "/v1/chat/completions", headers=AUTH, json=chat(say(hang_s=5)))
    await wait_for(lambda: fake.stats()["disconnects"] == 1)


async def test_a_reset_by_the_fake_is_not_a_client_disconnect(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/chat/completions", headers=AUTH,
                                json=chat(say(reset_after=1), stream=True)) as r:
            with pytest.raises(aiohttp.ClientPayloadError):
                await r.read()
    await wait_for(lambda: fake.stats()["in_flight"] == 0)
    assert fake.stats()["disconnects"] == 0


async def test_every_answer_names_the_fake_that_gave_it():
    async with running_fake(name="fake-b") as fake:
        response = await post(fake, chat("hi"))
        errored = await post(fake, chat(say(status=500)))
    assert response.headers["x-fake-upstream"] == errored.headers["x-fake-upstream"] == "fake-b"
