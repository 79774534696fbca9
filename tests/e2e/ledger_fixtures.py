"""A gateway in keys mode whose ledger is on real SQLite or real PostgreSQL, providers of every upstream
kind on one fake upstream, and the admin API calls the ledger tests read records with."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.databases import fresh_postgres
from tests.support.processes import Process, start_fake_upstream, start_gateway

MASTER = "sk-master-ledger-0001"
ADMIN = {"authorization": f"Bearer {MASTER}"}
# USD per million tokens, every kind of input token at its own rate
PRICE = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}
ANTHROPIC_MAX_TOKENS = 1024


def database_url(backend: str, stack: ExitStack, directory: Path) -> str:
    return f"sqlite:///{directory}/ledger.db" if backend == "sqlite" else stack.enter_context(fresh_postgres())


def ledger_config(fake_url: str, database: str, **extra: Any) -> dict[str, Any]:
    """Models via-<upstream kind>: openai (Chat Completions), anthropic, gemini, responses (the Responses
    API), chat-only (an OpenAI server without the Responses API); failing-over: a dead target, then openai."""
    def model(provider: str, upstream: str, **settings: Any) -> dict[str, Any]:
        return {"provider": provider, "model": upstream, "price": PRICE, **settings}

    return {
        "server": {"keepalive_s": 5},
        "auth": {"master_key": MASTER, "secret": "ledger-secret-0001"},
        "database_url": database,
        "providers": {
            "p-openai": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["up-openai-key"]},
            "p-chat": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["up-chat-key"],
                       "responses_api": False},
            "p-anthropic": {"type": "anthropic", "base_url": fake_url, "api_keys": ["up-anthropic-key"]},
            "p-gemini": {"type": "gemini", "base_url": f"{fake_url}/v1beta", "api_keys": ["up-gemini-key"]},
            "dead": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]},
        },
        "models": {
            "via-openai": [model("p-openai", "up-openai")],
            "via-chat-only": [model("p-chat", "up-chat")],
            "via-anthropic": [model("p-anthropic", "up-anthropic", max_tokens_default=ANTHROPIC_MAX_TOKENS)],
            "via-gemini": [model("p-gemini", "up-gemini")],
            "via-responses": [model("p-openai", "up-responses", api="responses")],
            "failing-over": [model("dead", "up-dead", priority=0), model("p-openai", "up-openai", priority=1)],
        },
        **extra,
    }


@contextmanager
def ledger_gateway(backend: str, directory: Path, **extra: Any) -> Iterator[Process]:
    with ExitStack() as stack:
        fake = stack.enter_context(start_fake_upstream(name="fake-ledger"))
        database = database_url(backend, stack, directory)
        yield stack.enter_context(start_gateway(ledger_config(fake.url, database, **extra)))


@dataclass
class Reply:
    status: int
    body: Any


def admin(gateway: Process, path: str, **params: Any) -> Reply:
    """GET /admin/api/PATH?PARAMS with the master key: its status and JSON body."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    request = urllib.request.Request(f"{gateway.url}/admin/api/{path}{query}", headers=ADMIN)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return Reply(error.code, json.loads(error.read()))


def record(gateway: Process, request_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """REQUEST_ID's record, once the gateway has accounted for it (a stream is accounted just after its
    last bytes left)."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = admin(gateway, f"requests/{request_id}")
        if reply.status == 200:
            return dict(reply.body)
        assert reply.status == 404 and time.monotonic() < deadline, reply.body
        time.sleep(0.05)


def all_records(gateway: Process, **params: Any) -> list[dict[str, Any]]:
    """Every record in range, page after page."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = admin(gateway, "requests", **params, limit=7, **({"cursor": cursor} if cursor else {})).body
        out += page["data"]
        if not page["has_more"]:
            return out
        cursor = page["next_cursor"]
