"""Transport failures become `UpstreamError`s of the kind the failover rules need to tell apart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.providers.base import Timeouts, UpstreamCall, UpstreamError
from llmswitch.providers.http import HTTPClient
from llmswitch.providers.openai import OpenAIProvider


@contextmanager
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: new connections are never completed (SYNs are dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections and reads, but never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


async def send(port: int, timeouts: Timeouts) -> UpstreamError:
    client = HTTPClient()
    provider = OpenAIProvider("p", ProviderConfig(type="openai", base_url=f"http://127.0.0.1:{port}/v1"), client)
    call = UpstreamCall(DeploymentConfig(provider="p", model="m"), {"model": "m"}, False, "k", timeouts)
    try:
        with pytest.raises(UpstreamError) as excinfo:
            await asyncio.wait_for(provider.complete(call), 10)
    finally:
        await client.close()
    return excinfo.value


async def test_connection_never_established_is_a_connect_timeout_and_safe_to_retry() -> None:
    with full_backlog() as port:
        error = await send(port, Timeouts(connect=0.3, first_byte=5, idle=5, total=5))
    assert error.kind == "connect_timeout"
    assert error.not_processed


async def test_no_answer_after_the_body_was_sent_is_a_first_byte_timeout() -> None:
    with silent_server() as port:
        error = await send(port, Timeouts(connect=1, first_byte=0.3, idle=5, total=5))
    assert error.kind == "first_byte_timeout"
    assert not error.not_processed


async def test_no_answer_within_the_whole_timeout_is_a_first_byte_timeout() -> None:
    with silent_server() as port:
        error = await send(port, Timeouts(connect=1, first_byte=0.3, idle=5, total=0.3))
    assert error.kind == "first_byte_timeout"


async def test_refused_connection_is_a_connect_error() -> None:
    with silent_server() as port:
        pass  # closed again: nothing listens on the port now
    error = await send(port, Timeouts(connect=1, first_byte=1, idle=1, total=1))
    assert error.kind == "connect"
    assert error.status is None
