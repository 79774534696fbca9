"""`llmswitch status`: a running gateway's deployments and keys, read from its `/health/ready`.

It asks the gateway rather than reading the config, because health (cool-downs, open circuits,
latency) only exists in the running process. The gateway shows that detail only to the master key
(when one is configured), so the command sends it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional

import typer

from llmswitch.cli_table import aligned

COLUMNS = ("MODEL", "TARGET", "STATE", "UNTIL", "LATENCY", "ERRORS", "IN FLIGHT")


def fetch(url: str, master_key: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """The readiness report; a 503 still carries it (the gateway is up but degraded)."""
    headers = {"authorization": f"Bearer {master_key}"} if master_key else {}
    request = urllib.request.Request(url.rstrip("/") + "/health/ready", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def rows(report: dict[str, Any], now: float) -> list[tuple[str, ...]]:
    out = []
    for model, targets in report.get("models", {}).items():
        for t in targets:
            until = f"{max(0.0, t['until'] - now):.0f}s" if t.get("until") else ""
            latency = f"{t['latency_ms']:.0f}ms" if t.get("latency_ms") is not None else "-"
            state = t["state"] + (f" ({t['reason']})" if t.get("reason") and t["state"] != "healthy" else "")
            out.append((model, t["target"], state, until, latency, f"{t['error_rate'] * 100:.0f}%",
                        str(t["in_flight"])))
    return out


def render(report: dict[str, Any], now: float) -> str:
    head = f"gateway: {report.get('status')}\n"
    if "models" not in report:
        return head + "(the deployments are shown to the master key: --master-key or LLMSWITCH_MASTER_KEY)"
    return head + aligned([COLUMNS, *rows(report, now)])


def status(
    url: str = typer.Option("http://127.0.0.1:4000", envvar="LLMSWITCH_URL", help="The running gateway"),
    as_json: bool = typer.Option(False, "--json", help="Print the raw /health/ready report"),
    master_key: Optional[str] = typer.Option(None, envvar="LLMSWITCH_MASTER_KEY",
                                             help="The gateway's master key, which its deployments' detail needs"),
) -> None:
    """Show every deployment and upstream key of a running gateway: healthy, cooling down, open circuit,
    latency and error rate. Exit code 0 when ready, 1 when degraded, 2 when unreachable."""
    try:
        report = fetch(url, master_key)
    except (OSError, ValueError) as error:
        typer.echo(f"cannot read {url}/health/ready: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(report, indent=2) if as_json else render(report, time.time()))
    if report.get("status") != "ready":
        raise typer.Exit(1)
