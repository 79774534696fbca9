"""`llmswitch usage`: the usage ledger summed over a time range, as a terminal table (or the JSON of
`GET /admin/api/usage`).

It reads the configured database directly, through the same query as the admin API
(`core.usage_query`), so the numbers are the same: it works in every auth mode (open mode, which
records usage too, has no admin API), with no gateway running and no master key to hand. What a
running gateway has not written yet (at most its last second) is not in it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Optional

import typer

from llmswitch.cli_table import aligned
from llmswitch.config import ConfigError, load_config
from llmswitch.errors import GatewayError

COLUMNS = ("GROUP", "REQUESTS", "ERRORS", "INPUT", "OUTPUT", "CACHED", "CACHE WRITE", "COST USD",
           "LATENCY P50/P95", "TTFT P50/P95")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def row(name: str, group: dict[str, Any]) -> tuple[str, ...]:
    return (name, str(group["requests"]), str(group["errors"]), str(group["input_tokens"]),
            str(group["output_tokens"]), str(group["cached_tokens"]), str(group["cache_write_tokens"]),
            f"{group['cost_usd']:.6f}", f"{_ms(group['latency_p50_ms'])}/{_ms(group['latency_p95_ms'])} ms",
            f"{_ms(group['ttft_p50_ms'])}/{_ms(group['ttft_p95_ms'])} ms")


def render(answer: dict[str, Any]) -> str:
    lines = [COLUMNS, *(row("(no key)" if g["key"] is None else str(g["key"]), g) for g in answer["groups"]),
             row("TOTAL", answer["totals"])]
    return aligned(lines, right=frozenset(range(1, len(COLUMNS))))


async def _query(database_url: str, params: dict[str, str]) -> dict[str, Any]:
    from llmswitch.core.usage_query import usage  # imported here: every `llmswitch` command loads this module
    from llmswitch.store import Store

    store = await Store.open(database_url)
    try:
        return await usage(store.usage, params, time.time())
    finally:
        await store.close()


def usage(
    since: Optional[str] = typer.Option(None, "--from",
                                        help="Start: unix seconds or ISO 8601 (default: 24 h before --to)"),
    until: Optional[str] = typer.Option(None, "--to", help="End, excluded: unix seconds or ISO 8601 (default: now)"),
    group_by: str = typer.Option("day", "--group-by", "-g", help="hour, day, model, key or provider"),
    key: Optional[str] = typer.Option(None, help="Only this key's requests (its id)"),
    model: Optional[str] = typer.Option(None, help="Only this public model's"),
    provider: Optional[str] = typer.Option(None, help="Only this provider's"),
    operation: Optional[str] = typer.Option(None, help="Only this operation's (chat, embeddings...)"),
    as_json: bool = typer.Option(False, "--json", help="Print GET /admin/api/usage's JSON"),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (default: ./llmswitch.yaml)"),
) -> None:
    """Show requests, errors, tokens, cost, latency and TTFT from the usage ledger, grouped."""
    try:
        settings = load_config(config)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    given = {"from": since, "to": until, "group_by": group_by, "key": key, "model": model, "provider": provider,
             "operation": operation}
    try:
        answer = asyncio.run(_query(settings.database_url, {k: v for k, v in given.items() if v is not None}))
    except GatewayError as error:
        option = {"from": "--from", "to": "--to", "group_by": "--group-by"}.get(error.param or "", error.param)
        typer.echo(f"{option}: {error.message}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(answer, indent=2) if as_json else render(answer))
