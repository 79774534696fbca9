"""`llmswitch keys create|list|show|update|revoke|rotate`: the admin API's key operations from the shell.

Works on the configured database directly (no running gateway needed) and announces each change
on Redis when `redis_url` is set, so running gateways pick it up at once (else within a second,
by polling).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, TypeVar

import msgspec
import typer

from llmswitch.config import Config, ConfigError, load_config
from llmswitch.core.key_admin import KeyAdmin, KeyNotFound
from llmswitch.core.keys import server_secret

keys_app = typer.Typer(no_args_is_help=True, help="Manage virtual keys.")
T = TypeVar("T")
ConfigOption = typer.Option(None, "--config", "-c", help="YAML config (default: ./llmswitch.yaml)")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _run(config_path: Optional[Path], action: Callable[[KeyAdmin], Awaitable[T]]) -> T:
    try:
        config = load_config(config_path)
    except ConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    secret = server_secret(config)
    if secret is None:
        typer.echo("keys need auth.secret, LLMSWITCH_SECRET or auth.master_key to be set", err=True)
        raise typer.Exit(2)
    return asyncio.run(_with_store(config, secret, action))


async def _with_store(config: Config, secret: bytes, action: Callable[[KeyAdmin], Awaitable[T]]) -> T:
    # imported here, not at the top: every `llmswitch` command (serve included) imports this module
    from llmswitch.core.auth import publish_key_change
    from llmswitch.store import Store

    store = await Store.open(config.database_url)

    async def notify(key_id: str) -> None:
        if config.redis_url:
            await publish_key_change(config.redis_url, key_id)

    try:
        return await action(KeyAdmin(store, secret, config.auth.key_prefix, notify))
    except KeyNotFound as error:
        typer.echo(f"no key with id {error.args[0]!r}", err=True)
        raise typer.Exit(1) from None
    except msgspec.ValidationError as error:
        typer.echo(f"invalid value: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        await store.close()


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _expiry(text: str) -> float:
    """`30d`, `12h`... from now, or an ISO 8601 time."""
    match = DURATION.match(text)
    if match:
        return time.time() + float(match.group(1)) * UNIT_S[match.group(2)]
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise typer.BadParameter(f"expected a duration like 30d or an ISO time, got {text!r}") from None


def _fields(name: Optional[str], model: Optional[list[str]], rpm: Optional[int], tpm: Optional[int],
            max_concurrent: Optional[int], budget_usd: Optional[float], budget_tokens: Optional[int],
            budget_period: Optional[str], expires: Optional[str], disabled: Optional[bool],
            metadata: Optional[list[str]]) -> dict[str, Any]:
    """The options given on the command line (the others are left as they are)."""
    given: dict[str, Any] = {"name": name, "models": model or None, "rpm": rpm, "tpm": tpm,
                             "max_concurrent": max_concurrent, "budget_usd": budget_usd,
                             "budget_tokens": budget_tokens, "budget_period": budget_period,
                             "expires_at": _expiry(expires) if expires else None, "disabled": disabled}
    if metadata:
        pairs = [item.partition("=") for item in metadata]
        if any(not sep for _k, sep, _v in pairs):
            raise typer.BadParameter("metadata must be KEY=VALUE")
        given["metadata"] = {k: v for k, _sep, v in pairs}
    return {k: v for k, v in given.items() if v is not None}


NAME = typer.Option(None, help="A name people recognise")
MODEL = typer.Option(None, "--model", "-m", help="Allowed model or glob (repeat; default: every model)")
RPM = typer.Option(None, help="Requests per minute")
TPM = typer.Option(None, help="Tokens per minute")
CONCURRENT = typer.Option(None, help="Requests in flight at once")
BUDGET_USD = typer.Option(None, help="Budget in USD per period")
BUDGET_TOKENS = typer.Option(None, help="Budget in tokens per period")
PERIOD = typer.Option(None, help="daily, weekly, monthly or total")
EXPIRES = typer.Option(None, help="Expiry: a duration from now (30d, 12h) or an ISO time")
DISABLED = typer.Option(None, "--disabled/--enabled", help="Refuse the key without revoking it")
METADATA = typer.Option(None, "--metadata", help="KEY=VALUE (repeat)")


@keys_app.command()
def create(name: Optional[str] = NAME, model: Optional[list[str]] = MODEL, rpm: Optional[int] = RPM,
           tpm: Optional[int] = TPM, max_concurrent: Optional[int] = CONCURRENT,
           budget_usd: Optional[float] = BUDGET_USD, budget_tokens: Optional[int] = BUDGET_TOKENS,
           budget_period: Optional[str] = PERIOD, expires: Optional[str] = EXPIRES,
           disabled: Optional[bool] = DISABLED, metadata: Optional[list[str]] = METADATA,
           config: Optional[Path] = ConfigOption) -> None:
    """Create a key and print it, with its value (shown this once only)."""
    body = _fields(name, model, rpm, tpm, max_concurrent, budget_usd, budget_tokens, budget_period, expires,
                   disabled, metadata)
    record, key = _run(config, lambda admin: admin.create(body))
    _print({**record.public(), "key": key})


@keys_app.command("list")
def list_keys(include_revoked: bool = typer.Option(False, "--all", help="Include revoked keys"),
              config: Optional[Path] = ConfigOption) -> None:
    """List keys (never their values)."""
    records = _run(config, lambda admin: admin.list(include_revoked))
    _print([r.public() for r in records])


@keys_app.command()
def show(key_id: str, config: Optional[Path] = ConfigOption) -> None:
    """Show one key."""
    _print(_run(config, lambda admin: admin.get(key_id)).public())


@keys_app.command()
def update(key_id: str, name: Optional[str] = NAME, model: Optional[list[str]] = MODEL, rpm: Optional[int] = RPM,
           tpm: Optional[int] = TPM, max_concurrent: Optional[int] = CONCURRENT,
           budget_usd: Optional[float] = BUDGET_USD, budget_tokens: Optional[int] = BUDGET_TOKENS,
           budget_period: Optional[str] = PERIOD, expires: Optional[str] = EXPIRES,
           disabled: Optional[bool] = DISABLED, metadata: Optional[list[str]] = METADATA,
           config: Optional[Path] = ConfigOption) -> None:
    """Change the given fields of a key."""
    patch = _fields(name, model, rpm, tpm, max_concurrent, budget_usd, budget_tokens, budget_period, expires,
                    disabled, metadata)
    _print(_run(config, lambda admin: admin.update(key_id, patch)).public())


@keys_app.command()
def revoke(key_id: str, config: Optional[Path] = ConfigOption) -> None:
    """Revoke a key: it stops working on every gateway."""
    _print(_run(config, lambda admin: admin.revoke(key_id)).public())


@keys_app.command()
def rotate(key_id: str, config: Optional[Path] = ConfigOption) -> None:
    """Give a key a new value (printed once); the old value stops working."""
    record, key = _run(config, lambda admin: admin.rotate(key_id))
    _print({**record.public(), "key": key})
