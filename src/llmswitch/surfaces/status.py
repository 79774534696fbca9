"""`GET /health/ready`: every deployment and upstream key, and whether it can serve right now; and
`GET /`, the same for a person, as a small HTML page.

Load balancers read the status code (200 while every model has a target it may try, 503 when some
model has none) and the overall `status`, which anyone may read. The detail (every model, target,
provider and its health; what `llmswitch status` shows) maps the deployment, so it needs the
master key when one is configured; in open mode without one, where anyone may use every model
anyway, it is shown to all. Keys are named by their index, never shown.

The page at `/` shows the version, the uptime and the overall status to anyone; the public model
names to whoever may list them without a key (open mode); each model's targets and their health
only to the holder of the master key, in open mode too. Both are throttled per client address
(`web.throttle`).
"""

from __future__ import annotations

import hmac
import time
from html import escape
from typing import Any

from aiohttp import web

from llmswitch import __version__
from llmswitch.config import Config
from llmswitch.core.auth import presented_key
from llmswitch.web.context import GATEWAY
from llmswitch.core.routing import Router, Target


def target_status(target: Target) -> dict[str, Any]:
    """One target as `GET /health/ready` and `GET /admin/api/models` show it (its key by index only)."""
    return {"target": target.label, "provider": target.provider.name, "upstream_model": target.deployment.model,
            "key": target.key_index, "priority": target.deployment.priority, **target.health.snapshot()}


def readiness(router: Router) -> dict[str, Any]:
    """{"status": "ready"|"degraded", "models": {name: [target, ...]}} with each target's health."""
    models: dict[str, list[dict[str, Any]]] = {}
    ready = True
    for name, targets in router.targets.items():
        rows = [target_status(t) for t in targets]
        ready = ready and any(row["state"] in ("healthy", "circuit_half_open") for row in rows)
        models[name] = rows
    return {"status": "ready" if ready else "degraded", "models": models}


def may_see_detail(config: Config, request: web.Request) -> bool:
    if not config.auth.master_key:
        return config.auth.effective_mode == "open"
    return presents_master_key(config, request)


def presents_master_key(config: Config, request: web.Request) -> bool:
    master = config.auth.master_key
    if not master:
        return False
    token = presented_key(request.headers)
    return token is not None and hmac.compare_digest(token.encode(), master.encode())


async def health_ready(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    router = gateway.router
    report = readiness(router) if router is not None else {"status": "starting", "models": {}}
    if not may_see_detail(gateway.config, request):
        report = {"status": report["status"]}
    return web.json_response(report, status=200 if report["status"] == "ready" else 503)


def _uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0 s"


def status_page(config: Config, report: dict[str, Any], uptime_s: int, detail: bool) -> str:
    """The HTML of `/` for REPORT (`readiness`); DETAIL: the models' targets too."""
    rows = []
    if detail:
        for name, targets in report["models"].items():
            for t in targets:
                rows.append(f"<tr><td>{escape(name)}</td><td>{escape(t['target'])}</td><td>{escape(t['provider'])}"
                            f"</td><td>{escape(str(t['upstream_model']))}</td><td>{escape(t['state'])}</td></tr>")
        models = ("<table><tr><th>model</th><th>target</th><th>provider</th><th>upstream model</th><th>state</th>"
                  f"</tr>{''.join(rows)}</table>")
    elif config.auth.effective_mode == "open":
        models = "<ul>" + "".join(f"<li>{escape(name)}</li>" for name in config.public_names()) + "</ul>"
    else:
        models = f"<p>{len(config.public_names())} models; the master key shows them.</p>"
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>llmswitch</title></head><body>"
            f"<h1>llmswitch</h1><p>version {escape(__version__)} &middot; up {_uptime(uptime_s)} &middot; "
            f"{escape(report['status'])}</p><h2>Models</h2>{models}</body></html>")


async def home(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    router = gateway.router
    report = readiness(router) if router is not None else {"status": "starting", "models": {}}
    page = status_page(gateway.config, report, max(0, int(time.time()) - gateway.created),
                       presents_master_key(gateway.config, request))
    return web.Response(text=page, content_type="text/html", headers={"cache-control": "no-store"})
