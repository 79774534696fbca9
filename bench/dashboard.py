"""The admin dashboard's queries over a ledger of 100,000 records, on SQLite and on PostgreSQL.

Seeds the ledger through the writer's own path (`store.usage`: rows and their hourly roll-ups), starts
a gateway on it and times, over HTTP on localhost, what the panel's Dashboard and Requests pages ask
(`GET /admin/api/usage` by hour, model and key; by day over 7 and 30 days; a page of requests; one
request). Two spreads of the same 100,000 records: all in the last 24 hours (the most raw rows at the
edges of the day's range) and over 30 days. The tables are analysed after the load, as PostgreSQL's
autovacuum does within a minute of one (without statistics its planner sorts the whole range for a
page of 50). Not a test: it prints a table for bench/RESULTS.md.

    .venv/bin/python bench/dashboard.py [--rows 100000] [--repeat 15] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from llmswitch.core.records import RequestRecord  # noqa: E402
from llmswitch.store import Store  # noqa: E402

MASTER = "sk-bench-dashboard"
PORT = 18091
PG = "postgresql://postgres@127.0.0.1:5432"
MODELS = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("o4-mini", "openai"), ("claude-sonnet-4", "anthropic"),
          ("claude-haiku-4-5", "anthropic"), ("gemini-2.5-flash", "gemini"), ("gemini-2.5-pro", "gemini"),
          ("text-embedding-3-small", "openai")]
KEYS = [f"key_{i:02d}" for i in range(20)]


def records(count: int, span_s: float, now: float) -> list[RequestRecord]:
    rng = random.Random(42)
    out = []
    for i in range(count):
        model, provider = rng.choice(MODELS)
        status = 200 if rng.random() < 0.95 else rng.choice((429, 500, 502, 499))
        prompt = rng.randrange(10, 8000)
        latency = rng.lognormvariate(6.5, 0.8)
        out.append(RequestRecord(
            request_id=f"req_{i:08x}", at=now - rng.random() * span_s, key_id=rng.choice(KEYS), model=model,
            provider=provider, upstream_model=model, deployment=f"{provider}/{model}#0",
            operation="embeddings" if model.startswith("text-") else rng.choice(("chat",) * 3 + ("count_tokens",)),
            dialect="openai", stream=rng.random() < 0.6, status=status, error="" if status < 400 else "upstream_error",
            input_tokens=prompt, output_tokens=rng.randrange(0, 1500), cached_tokens=rng.randrange(0, prompt // 2 + 1),
            cost_usd=rng.random() / 50, latency_ms=latency, ttft_ms=latency * rng.random(), attempts=1,
            client_ip="127.0.0.1", user_agent="OpenAI/Python 1.0"))
    return out


async def seed(database_url: str, count: int, span_s: float, now: float) -> float:
    store = await Store.open(database_url)
    started = time.monotonic()
    try:
        rows = records(count, span_s, now)
        for start in range(0, count, 5000):
            assert await store.usage.write(f"seed-{start}", rows[start:start + 5000]) == []
        seconds = time.monotonic() - started
        async with store.engine.begin() as connection:  # what PostgreSQL's autovacuum does soon after a load
            await connection.exec_driver_sql("ANALYZE")
    finally:
        await store.close()
    return seconds


async def fresh_postgres(name: str) -> str:
    connection = await asyncpg.connect(f"{PG}/test")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{PG}/{name}"


def get(path: str, params: dict[str, object]) -> float:
    """Milliseconds for one admin API call (its body read whole)."""
    url = f"http://127.0.0.1:{PORT}/admin/api/{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {MASTER}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        json.loads(response.read())
    return (time.perf_counter() - started) * 1000


def queries(now: float) -> list[tuple[str, str, dict[str, object]]]:
    day, week, month = now - 86400, now - 7 * 86400, now - 30 * 86400
    return [
        ("usage 24 h by hour", "usage", {"from": day, "to": now, "group_by": "hour"}),
        ("usage 24 h by model", "usage", {"from": day, "to": now, "group_by": "model"}),
        ("usage 24 h by key", "usage", {"from": day, "to": now, "group_by": "key"}),
        ("usage 7 d by day", "usage", {"from": week, "to": now, "group_by": "day"}),
        ("usage 30 d by day", "usage", {"from": month, "to": now, "group_by": "day"}),
        ("usage 24 h, one key, by hour", "usage", {"from": day, "to": now, "group_by": "hour", "key": "key_07"}),
        ("requests: newest 50 in 24 h", "requests", {"from": day, "to": now, "limit": 50}),
        ("requests: 50 of one model", "requests", {"from": day, "to": now, "limit": 50, "model": "gpt-4o"}),
        ("one request", "requests/req_00001234", {}),
    ]


def measure(database_url: str, repeat: int, now: float) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory(prefix="llmswitch-dashboard-") as tmp:
        config = Path(tmp) / "llmswitch.yaml"
        config.write_text(f"auth: {{master_key: {MASTER}, secret: bench-secret}}\ndatabase_url: {database_url}\n"
                          "providers: {demo: {type: demo}}\nmodels: {m: [{provider: demo}]}\n")
        gateway = subprocess.Popen([str(ROOT / ".venv/bin/llmswitch"), "serve", "--config", str(config), "--port",
                                    str(PORT)], cwd=tmp, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1)
                    break
                except OSError:
                    assert time.monotonic() < deadline and gateway.poll() is None, "the gateway did not start"
                    time.sleep(0.05)
            out = []
            for name, path, params in queries(now):
                get(path, params)  # warm: the first pays for the database's cache
                times = sorted(get(path, params) for _ in range(repeat))
                out.append((name, statistics.median(times), times[-1]))
            return out
        finally:
            gateway.terminate()
            gateway.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    now = time.time()
    results: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
    notes = []
    with tempfile.TemporaryDirectory(prefix="llmswitch-ledger-") as tmp:
        for backend in args.backends.split(","):
            for spread, span_s in (("24 h", 86400.0), ("30 d", 30 * 86400.0)):
                if backend == "sqlite":
                    url = f"sqlite:///{tmp}/{spread.replace(' ', '')}.db"
                else:
                    url = asyncio.run(fresh_postgres(f"llms_bench_dashboard_{spread.replace(' ', '')}"))
                seconds = asyncio.run(seed(url, args.rows, span_s, now))
                notes.append(f"{backend}, {args.rows:,} records over {spread}: seeded in {seconds:.1f} s "
                             f"({args.rows / seconds:,.0f} records/s through the writer's batches)")
                results[(backend, spread)] = measure(url, args.repeat, time.time())
    print(f"\nllmswitch dashboard bench: {args.rows:,} ledger records; median / worst of {args.repeat} calls (ms)")
    for note in notes:
        print(note)
    columns = list(results)
    print("\n| query | " + " | ".join(f"{backend}, over {spread}" for backend, spread in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for i, (name, _, _) in enumerate(next(iter(results.values()))):
        cells = [f"{results[c][i][1]:.1f} / {results[c][i][2]:.1f}" for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
