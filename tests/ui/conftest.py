"""Fixtures for the panel's browser tests: every test runs in Debian's chromium and in Debian's Firefox
ESR, both driven by Playwright, against a real gateway in keys mode with the fake upstream behind it
and its ledger seeded with a day of records; screenshots of each page under `.artifacts/ui/<browser>/`.

Playwright's own browser builds are never downloaded. Chromium is driven over CDP; Debian's Firefox is
not Playwright's patched build, so Playwright drives it over WebDriver BiDi (its `moz-firefox` channel),
which needs a Playwright that asks no more of the protocol than Firefox ESR implements (pyproject.toml).
Without a browser (scripts/install-browser.sh could not install it) its tests skip and say why in
capitals; under CI (CI=true) they fail instead, so a green CI run always ran them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmswitch.core.records import RequestRecord
from llmswitch.store import Store
from tests.support.databases import run_async
from tests.support.processes import Process, start_fake_upstream, start_gateway

BROWSERS = {"chromium": "/usr/bin/chromium", "firefox": "/usr/bin/firefox-esr"}
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "ui"
MASTER = "sk-master-panel-e2e"
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}
HOUR = 3600
SEEDED_KEYS = ("key_seeded_a", "key_seeded_b")  # ids of keys the key store does not have: shown as ids


def browser_problem(name: str) -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    check = subprocess.run([str(ROOT / "scripts" / "install-browser.sh"), "--check", name], capture_output=True,
                           text=True)
    return None if check.returncode == 0 else (check.stdout + check.stderr).strip()


def launch(playwright: Any, name: str) -> Any:
    if name == "chromium":
        return playwright.chromium.launch(executable_path=BROWSERS[name], args=["--headless", "--no-sandbox"])
    return playwright.firefox.launch(executable_path=BROWSERS[name], channel="moz-firefox", headless=True)


# not longer than a module: sync Playwright's event loop would be running under the async tests
@pytest.fixture(scope="module", params=sorted(BROWSERS))
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    problem = browser_problem(request.param)
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the panel's browser tests cannot run under CI in {request.param}: {problem}")
        pytest.skip(f"BROWSER TESTS SKIPPED in {request.param} (they run under CI): {problem}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright, request.param)
        yield launched
        launched.close()


def in_firefox(page: Any) -> bool:
    return bool(page.context.browser.browser_type.name == "firefox")


@dataclass(frozen=True)
class Panel:
    gateway: Process
    fake: Process
    database_url: str

    @property
    def url(self) -> str:
        return f"{self.gateway.url}/ui/"


def panel_config(fake_url: str, database_url: str) -> dict[str, Any]:
    return {
        "server": {"keepalive_s": 0.3},
        "auth": {"master_key": MASTER, "secret": "panel-e2e-secret"},
        "database_url": database_url,
        "providers": {"fake": {"type": "openai", "base_url": f"{fake_url}/v1", "api_keys": ["upstream-secret-1"]},
                      "nowhere": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_keys": ["x"]}},
        "models": {"gpt-4o": [{"provider": "fake", "model": "gpt-4o-2024-08-06"}],
                   "claude-sonnet": [{"provider": "fake", "model": "claude-sonnet-4-5"}],
                   "dead-model": [{"provider": "nowhere"}]},
        "aliases": {"gpt-5": "gpt-4o"},
        "routing": {"circuit_failures": 1, "circuit_cooldown_s": 600},
    }


def seeded_records(now: float) -> list[RequestRecord]:
    """The 24 hours before NOW: 5 to 27 requests an hour, most of them gpt-4o, every seventh refused
    with a 429, by two keys."""
    records = []
    for hour in range(24):
        start = (int(now // HOUR) - 23 + hour) * HOUR
        for i in range(5 + (hour * 7) % 23):
            model = "gpt-4o" if i % 3 else "claude-sonnet"
            status = 429 if i % 7 == 6 else 200
            records.append(RequestRecord(
                request_id=f"seeded-{hour:02d}-{i:02d}", at=min(start + 60.0 * i + 7, now - 1),
                key_id=SEEDED_KEYS[i % 2], model=model, provider="fake", upstream_model=model,
                deployment=f"fake/{model}#0", operation="chat", dialect="openai", stream=bool(i % 2), status=status,
                error="rate_limited" if status == 429 else "", input_tokens=120 + i, output_tokens=40 if status == 200
                else 0, cached_tokens=10, cost_usd=0.0021 if status == 200 else 0.0, latency_ms=180.0 + 10 * i,
                ttft_ms=90.0 + i if status == 200 else None, attempts=1, client_ip="127.0.0.1",
                user_agent="seeded/1.0"))
    return records


def seed_ledger(database_url: str, records: list[RequestRecord]) -> None:
    """Write RECORDS with the ledger's own writer, before the gateway starts."""
    async def write() -> None:
        store = await Store.open(database_url)
        try:
            assert await store.usage.write("seeded", records) == []
        finally:
            await store.close()
    run_async(write())


@pytest.fixture(scope="module")
def panel(browser: Any) -> Iterator[Panel]:
    with tempfile.TemporaryDirectory(prefix="llmswitch-ui-") as tmp:
        database_url = f"sqlite:///{tmp}/panel.db"
        seed_ledger(database_url, seeded_records(time.time()))
        with start_fake_upstream(name="panel-fake", chunks=8, tokens_per_second=12) as fake:
            with start_gateway(panel_config(fake.url, database_url)) as gateway:
                yield Panel(gateway, fake, database_url)


# Playwright's screenshots in Firefox (over BiDi) add `<style>body {}</style>` for a moment, to line up
# animations; the panel's Content-Security-Policy refuses it (as it should) and Firefox reports that as a
# page error. Only that refusal, recognised by the style's hash, is not the panel's.
SCREENSHOT_STYLE = base64.b64encode(hashlib.sha256(b"body {}").digest()).decode()


def panel_error(error: str) -> bool:
    return SCREENSHOT_STYLE not in error


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    errors = [error for error in errors if panel_error(error)]
    assert not errors, f"script errors on the page: {errors}"


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact (look at them: they are how the panel looks)."""
    folder = ARTIFACTS / page.context.browser.browser_type.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, panel: Panel, key: str = MASTER) -> None:
    page.goto(panel.url)
    page.get_by_label("Master key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    if key == MASTER:
        page.get_by_role("button", name="Sign out").wait_for()


def admin(panel: Panel, method: str, path: str, body: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Call the admin API with the master key (or HEADERS instead): (status, JSON body)."""
    request = urllib.request.Request(f"{panel.gateway.url}/admin/api/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers=headers if headers is not None else {
                                         "authorization": f"Bearer {MASTER}", "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
