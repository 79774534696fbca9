"""The admin panel in a real browser (Debian's chromium): sign-in, keys, models, requests, dashboard and the
playground against a real gateway process with the fake upstream; screenshots under `.artifacts/ui/`."""

from __future__ import annotations

import http.server
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from playwright.sync_api import expect

from tests.support.processes import start_gateway
from tests.ui.conftest import MASTER, PHONE, SEEDED_KEYS, Panel, admin, in_firefox, panel_config, shot, sign_in

COOKIE = "llmswitch_session"
PAGES = ("dashboard", "keys", "models", "requests", "playground")


def sdk(panel: Panel, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{panel.gateway.url}/v1", api_key=key, max_retries=0, timeout=20)


def chat(panel: Panel, key: str, model: str = "gpt-4o") -> str:
    reply = sdk(panel, key).chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}])
    return reply.choices[0].message.content or ""


def made_key(panel: Panel, **fields: Any) -> dict[str, Any]:
    status, key = admin(panel, "POST", "keys", fields)
    assert status == 201, key
    return key


def keys_page(page: Any) -> None:
    page.get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="Keys")).to_be_visible()


def row_of(page: Any, name: str) -> Any:
    return page.locator("tbody tr", has=page.get_by_text(name, exact=True))


def key_button(page: Any, verb: str, name: str) -> Any:
    """A key's row button, by its accessible name: the verb and the key's name."""
    return page.get_by_role("button", name=f"{verb} {name}", exact=True)


# --- signing in and out -------------------------------------------------------------------------
def test_a_wrong_master_key_is_refused(page: Any, panel: Panel) -> None:
    sign_in(page, panel, key="sk-not-the-master-key")
    expect(page.get_by_role("alert")).to_have_text("Wrong master key.")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    shot(page, "signin-refused")


def test_the_session_cookie_is_httponly_strict_and_hidden_from_scripts(page: Any, context: Any, panel: Panel) -> None:
    page.goto(panel.url)
    expect(page.get_by_label("Master key")).to_be_focused()
    shot(page, "signin")
    sign_in(page, panel)
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin/api"
    assert COOKIE not in page.evaluate("document.cookie")


def test_signing_out_ends_the_session(page: Any, context: Any, panel: Panel) -> None:
    sign_in(page, panel)
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Master key")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == COOKIE]
    status, _ = admin(panel, "GET", "keys", headers={"cookie": f"{COOKIE}={cookie['value']}"})
    assert status == 401
    page.reload()
    expect(page.get_by_label("Master key")).to_be_visible()


def test_an_ended_session_brings_back_the_sign_in_page(page: Any, context: Any, panel: Panel) -> None:
    sign_in(page, panel)
    context.clear_cookies()  # as when the session expires: the gateway no longer knows the caller
    page.get_by_role("link", name="Keys").click()
    expect(page.get_by_role("alert")).to_contain_text("Your session ended")
    expect(page.get_by_label("Master key")).to_be_focused()


def test_a_forged_or_missing_csrf_token_is_refused(page: Any, panel: Panel) -> None:
    sign_in(page, panel)
    statuses = page.evaluate("""async () => {
      const post = (headers) => fetch('/admin/api/keys', {method: 'POST', body: '{"name": "forged-csrf"}',
        headers: {'content-type': 'application/json', ...headers}}).then((r) => r.status);
      return [await post({}), await post({'x-csrf-token': 'forged'}), await post({'x-csrf-token': '0'.repeat(64)})];
    }""")
    assert statuses == [403, 403, 403]
    _, listing = admin(panel, "GET", "keys")
    assert "forged-csrf" not in [k["name"] for k in listing["data"]]


@contextmanager
def other_origin() -> Iterator[str]:
    """A page served from another port of this host: same site (the cookie goes along), another origin."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(b"<p>elsewhere</p>")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_of_another_origin_cannot_act_with_the_session(page: Any, panel: Panel) -> None:
    sign_in(page, panel)
    with other_origin() as elsewhere:
        page.goto(elsewhere)
        sent = page.evaluate("""(url) => fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include'})
          .then((r) => r.type)""", f"{panel.gateway.url}/admin/api/session/playground-key")
    assert sent == "opaque"  # the browser sent it, with the cookie; the gateway refused it
    _, listing = admin(panel, "GET", "keys")
    assert not [k for k in listing["data"] if k["metadata"].get("ui_playground")]


def test_the_panel_works_from_the_keyboard(page: Any, panel: Panel) -> None:
    page.goto(panel.url)
    expect(page.get_by_label("Master key")).to_be_focused()
    page.keyboard.type(MASTER)
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("main")).to_be_focused()  # signed in: at the page's content, the menu just before it
    for _ in range(8):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "Keys":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#/keys$"))
    page.get_by_role("button", name="New key").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New key")
    expect(dialog.get_by_label("Name")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


# --- the whole journey, on the live gateway and its real ledger ----------------------------------------
def sdk_chat(panel: Panel, key: str) -> str:
    """A chat through the `openai` SDK with KEY: the request id the gateway gave it."""
    raw = sdk(panel, key).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    assert raw.parse().choices[0].message.content
    return raw.headers["x-request-id"]


def tile(page: Any, name: str) -> Any:
    return page.locator(f"[data-metric='{name}']")


def test_a_key_made_in_the_panel_serves_the_sdk_shows_in_requests_and_dashboard_and_stops_when_disabled(
        page: Any, context: Any, panel: Panel) -> None:
    readable = not in_firefox(page)  # Firefox grants no clipboard-read permission: it asks the person
    if readable:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=panel.gateway.url)
    sign_in(page, panel)
    keys_page(page)
    page.get_by_role("button", name="New key").click()
    dialog = page.get_by_role("dialog", name="New key")
    dialog.get_by_label("Name").fill("team-ui")
    dialog.get_by_label("Models").fill("gpt-4o, gpt-5")
    dialog.get_by_label("Requests per minute").fill("100")
    dialog.get_by_label("Budget (USD)").fill("5")
    dialog.get_by_label("Budget period").select_option("monthly")
    shot(page, "keys-create")
    dialog.get_by_role("button", name="Create key").click()

    secret = page.get_by_label("The new key").input_value()
    assert secret.startswith("sk-llms-")
    shot(page, "keys-secret")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    if readable:
        assert page.evaluate("navigator.clipboard.readText()") == secret
    page.get_by_role("button", name="Done").click()

    row = row_of(page, "team-ui")
    expect(row).to_contain_text("100 rpm")
    expect(row).to_contain_text("$5.00 (monthly)")
    expect(row.locator("[data-usage]")).to_have_text("none")
    assert secret not in page.content()
    page.reload()
    expect(row).to_be_visible()
    assert secret not in page.content()  # shown once: never again

    # Requests, live, filtered to the new key: its request appears once the ledger has it
    page.get_by_role("link", name="Requests").click()
    _, listing = admin(panel, "GET", "keys")
    [made] = [k for k in listing["data"] if k["name"] == "team-ui"]
    page.get_by_label("Key", exact=True).select_option(made["id"])
    expect(page.get_by_text("No request matches")).to_be_visible()
    page.get_by_label("Live").check()
    first = sdk_chat(panel, secret)
    listed = page.locator(f"tr[data-request-id='{first}']")
    expect(listed).to_be_visible(timeout=20000)
    expect(listed).to_contain_text("team-ui")
    expect(listed).to_contain_text("gpt-4o")
    shot(page, "requests")
    listed.get_by_role("button", name=f"Details of request {first}").click()
    detail = page.get_by_role("dialog", name=f"Request {first}")
    fact = lambda name: detail.locator(f"[data-fact='{name}']")  # noqa: E731
    expect(fact("Key")).to_contain_text("team-ui")
    expect(fact("Deployment")).to_have_text("fake/gpt-4o-2024-08-06#0")
    expect(fact("Attempts")).to_have_text("1")
    expect(fact("Status")).to_have_text("200")
    expect(fact("Output tokens")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(fact("Cost")).to_have_text(re.compile(r"^\$0\.0\d*[1-9]$"))
    expect(fact("Total")).to_have_text(re.compile(r" ms$| s$"))
    expect(detail.get_by_role("region", name="Bodies")).to_contain_text("keeps no request or response bodies")
    shot(page, "requests-detail")
    detail.get_by_role("button", name="Close").click()

    # the dashboard, live: its numbers move with the next request
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("figure.bars", has_text="Top keys")).to_contain_text("team-ui")
    before = int(tile(page, "Requests").inner_text().replace(",", ""))
    page.get_by_label("Live").check()
    sdk_chat(panel, secret)
    expect(tile(page, "Requests")).to_have_text(f"{before + 1:,}", timeout=20000)
    shot(page, "dashboard")

    # the key's own usage, on the keys page
    keys_page(page)
    expect(row.locator("[data-usage]")).to_have_text(re.compile(r"^2 req · \$0\.0\d*[1-9]$"))
    key_button(page, "Usage", "team-ui").click()
    usage = page.get_by_role("dialog", name="Usage of team-ui")
    expect(usage.locator("[data-metric='Requests']")).to_have_text("2")
    shot(page, "keys-usage")
    usage.get_by_role("button", name="Close").click()

    key_button(page, "Disable", "team-ui").click()
    expect(row.locator(".badge")).to_have_text("disabled")
    with pytest.raises(openai.AuthenticationError):
        chat(panel, secret)
    shot(page, "keys")
    key_button(page, "Enable", "team-ui").click()
    expect(row.locator(".badge")).to_have_text("active")
    assert chat(panel, secret)


# --- keys --------------------------------------------------------------------------------------
def test_searching_keys_shows_only_the_matching_ones(page: Any, panel: Panel) -> None:
    made_key(panel, name="search-alpha")
    made_key(panel, name="search-beta")
    sign_in(page, panel)
    keys_page(page)
    page.get_by_label("Search keys").fill("alpha")
    expect(row_of(page, "search-alpha")).to_be_visible()
    expect(row_of(page, "search-beta")).to_have_count(0)
    page.get_by_label("Search keys").fill("no-such-key-anywhere")
    expect(page.get_by_text("No key matches")).to_be_visible()


def test_editing_a_key_changes_its_limits(page: Any, panel: Panel) -> None:
    key = made_key(panel, name="edit-me", rpm=10)
    sign_in(page, panel)
    keys_page(page)
    key_button(page, "Edit", "edit-me").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Requests per minute")).to_have_value("10")
    dialog.get_by_label("Requests per minute").fill("")
    dialog.get_by_label("Tokens per minute").fill("5000")
    dialog.get_by_label("Concurrent requests").fill("3")
    dialog.get_by_role("button", name="Save").click()
    expect(row_of(page, "edit-me")).to_contain_text("5,000 tpm, 3 at once")
    _, stored = admin(panel, "GET", f"keys/{key['id']}")
    assert (stored["rpm"], stored["tpm"], stored["max_concurrent"]) == (None, 5000, 3)


def test_rotating_a_key_shows_the_new_value_once_and_the_old_one_stops(page: Any, panel: Panel) -> None:
    key = made_key(panel, name="rotate-me")
    sign_in(page, panel)
    keys_page(page)
    key_button(page, "Rotate", "rotate-me").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate").click()
    new = page.get_by_label("The new key").input_value()
    assert new.startswith("sk-llms-") and new != key["key"]
    page.get_by_role("button", name="Done").click()
    with pytest.raises(openai.AuthenticationError):
        chat(panel, key["key"])
    assert chat(panel, new)


def test_revoking_a_key_asks_first_then_the_key_stops_working(page: Any, panel: Panel) -> None:
    key = made_key(panel, name="revoke-me")
    sign_in(page, panel)
    keys_page(page)
    page.get_by_role("button", name="Revoke revoke-me", exact=True).click()  # each row's buttons name their key
    dialog = page.get_by_role("dialog", name="Revoke this key?")
    expect(dialog).to_contain_text("cannot be undone")
    shot(page, "keys-revoke-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    assert chat(panel, key["key"])  # cancelled: nothing happened

    key_button(page, "Revoke", "revoke-me").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(row_of(page, "revoke-me")).to_have_count(0)  # revoked keys are listed only on request
    with pytest.raises(openai.AuthenticationError):
        chat(panel, key["key"])
    page.get_by_label("Show revoked").check()
    expect(row_of(page, "revoke-me").locator(".badge")).to_have_text("revoked")


# --- models ------------------------------------------------------------------------------------
def test_the_models_page_shows_each_deployments_health_and_the_stored_upstream_keys(page: Any, panel: Panel) -> None:
    with pytest.raises(openai.APIStatusError):
        chat(panel, MASTER, model="dead-model")  # its only target fails: the circuit opens
    sign_in(page, panel)
    page.get_by_role("link", name="Models").click()
    dead = page.locator("article[data-model='dead-model']")
    expect(dead.locator(".badge")).to_have_text("circuit open")
    expect(dead).to_contain_text("100%")  # error rate
    gpt = page.locator("article[data-model='gpt-4o']")
    expect(gpt.locator(".badge")).to_have_text("healthy")
    expect(gpt).to_contain_text("gpt-5")  # its alias
    expect(gpt).to_contain_text("$2.5 in / $10 out")

    stored = "sk-upstream-stored-value-7f3a"
    page.get_by_label("Provider", exact=True).select_option("fake")
    page.get_by_label("API key", exact=True).fill(stored)
    page.get_by_role("button", name="Store key").click()
    expect(page.get_by_text("…7f3a")).to_be_visible()
    shot(page, "models")
    assert stored not in page.content()  # never shown in clear
    page.locator("tr", has_text="…7f3a").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No stored upstream keys")).to_be_visible()


# --- usage: a gateway that keeps no ledger -------------------------------------------------------
def test_dashboard_requests_and_key_usage_say_so_when_the_gateway_keeps_no_ledger(page: Any, panel: Panel) -> None:
    with tempfile.TemporaryDirectory(prefix="llmswitch-ui-") as tmp:
        database_url = f"sqlite:///{tmp}/keys.db"
        config = {**panel_config(panel.fake.url, database_url), "usage": {"enabled": False}}
        with start_gateway(config) as gateway:
            unledgered = Panel(gateway, panel.fake, database_url)
            made_key(unledgered, name="usage-of-me")
            sign_in(page, unledgered)
            state = page.locator("[data-state='usage-unavailable']")
            expect(state).to_contain_text("Usage API not available")
            expect(state).to_contain_text("usage.enabled is false")
            shot(page, "dashboard-unavailable")
            page.get_by_role("link", name="Requests").click()
            expect(state).to_contain_text("Usage API not available")
            page.get_by_role("link", name="Keys").click()
            expect(row_of(page, "usage-of-me").locator("[data-usage]")).to_have_text("–")
            key_button(page, "Usage", "usage-of-me").click()
            expect(page.get_by_role("dialog").locator("[data-state='usage-unavailable']")).to_be_visible()


# --- playground --------------------------------------------------------------------------------
def test_the_playground_streams_the_answer_and_shows_tokens_and_cost(page: Any, panel: Panel) -> None:
    sign_in(page, panel)
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Model").select_option("gpt-4o")
    words = " ".join(f"word{i}" for i in range(24))
    page.get_by_label("Message").fill(f'Say it. !fake{{"text": "{words}"}}')
    page.evaluate("""() => {
      window.__lengths = [];
      new MutationObserver(() => {
        const answer = document.querySelector('.message.assistant .text');
        if (answer) window.__lengths.push(answer.textContent.length);
      }).observe(document.querySelector('.transcript'), {subtree: true, childList: true, characterData: true});
    }""")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message.assistant .text")).to_have_text(words, timeout=20000)
    expect(page.locator("[data-stat='Output tokens']")).not_to_have_text("–")
    expect(page.locator("[data-stat='Cost (list price)']")).to_have_text(re.compile(r"^\$0\.0\d*[1-9]$"))
    expect(page.locator("[data-stat='Served by']")).to_have_text("fake/gpt-4o-2024-08-06#0")
    expect(page.locator("[data-stat='Request']")).to_have_text(re.compile(r"^playground-[0-9a-f]{24}$"))
    lengths = page.evaluate("window.__lengths")
    assert len({n for n in lengths if 0 < n < len(words)}) >= 3, lengths  # it arrived piece by piece
    shot(page, "playground-streamed")
    request_id = page.locator("[data-stat='Request']").inner_text()
    streamed_tokens = page.locator("[data-stat='Output tokens']").inner_text()
    page.get_by_role("button", name=f"Details of request {request_id}").click()  # its record, from the ledger
    detail = page.get_by_role("dialog", name=f"Request {request_id}")
    expect(detail.locator("[data-fact='Streamed']")).to_have_text("yes")
    expect(detail.locator("[data-fact='Output tokens']")).to_have_text(streamed_tokens)  # the stream's usage
    detail.get_by_role("button", name="Close").click()
    # the playground's key is a real, limited key of this session, revoked at sign-out
    _, listing = admin(panel, "GET", "keys")
    [key] = [k for k in listing["data"] if k["metadata"].get("ui_playground") and not k["revoked_at"]]
    assert key["rpm"] == 60
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Master key")).to_be_visible()
    _, after = admin(panel, "GET", f"keys/{key['id']}")
    assert after["revoked_at"] is not None


# --- every page: screenshots, a phone screen, no layout shift -----------------------------------
def test_every_page_fits_a_phone_screen(browser: Any, panel: Panel) -> None:
    # Firefox has no mobile emulation in Playwright: there the phone is its screen's size alone
    mobile = {} if browser.browser_type.name == "firefox" else {"is_mobile": True, "has_touch": True}
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, **mobile)
    page = context.new_page()
    try:
        sign_in(page, panel)
        for name in PAGES:
            page.get_by_role("button", name="Menu").click()
            page.get_by_role("navigation", name="Main").get_by_role("link", name=name.capitalize()).click()
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow}px wider than a phone"
            shot(page, f"phone-{name}")
    finally:
        context.close()


CLS = """window.__cls = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
}).observe({type: 'layout-shift', buffered: true});"""


def test_no_page_shifts_while_its_data_loads(page: Any, panel: Panel) -> None:
    if in_firefox(page):
        pytest.skip("Firefox does not implement the Layout Instability API (layout-shift entries): "
                    "layout shift is measured in chromium")
    made_key(panel, name="layout-shift")
    page.add_init_script(CLS)
    sign_in(page, panel)
    for name in PAGES:
        page.goto("about:blank")
        page.goto(f"{panel.url}#/{name}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        shift = page.evaluate("window.__cls")
        assert shift < 0.05, f"{name}: cumulative layout shift {shift}"
        shot(page, f"page-{name}")


# --- usage pages over the seeded day of records ----------------------------------------------------
def test_the_dashboard_charts_usage_over_time_with_values_on_hover(page: Any, panel: Panel) -> None:
    sign_in(page, panel)
    expect(tile(page, "Requests")).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(tile(page, "Latency p50 / p95")).to_have_text(re.compile(r"^[\d.]+ ms / [\d.]+ ms$"))
    expect(tile(page, "TTFT p50 / p95")).to_have_text(re.compile(r"^[\d.]+ ms / [\d.]+ ms$"))
    expect(page.locator("figure.chart")).to_have_count(4)
    chart = page.locator("figure.chart", has_text="Requests and errors")
    box = chart.locator("svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(chart.locator(".readout")).to_contain_text("Requests:")
    chart.locator("svg").focus()
    page.keyboard.press("ArrowRight")
    expect(chart.locator(".readout")).to_contain_text("Errors:")
    tops = page.locator("figure.bars", has_text="Top models")
    expect(tops.locator("li").first).to_contain_text("gpt-4o")
    expect(page.locator("figure.bars", has_text="Top keys")).to_contain_text(SEEDED_KEYS[0])


def test_the_request_log_filters_by_status_and_shows_a_refused_request_in_detail(page: Any, panel: Panel) -> None:
    sign_in(page, panel)
    page.get_by_role("link", name="Requests").click()
    expect(page.locator("tr[data-request-id^='seeded-']").first).to_be_visible()
    page.get_by_label("Status").select_option("429")
    expect(page.locator("tbody tr").first).to_be_visible()
    assert set(page.locator("tbody tr .badge").all_inner_texts()) == {"429"}
    refused = page.locator("tr[data-request-id^='seeded-']").first
    request_id = refused.get_attribute("data-request-id")
    refused.get_by_role("button", name=f"Details of request {request_id}").click()
    detail = page.get_by_role("dialog", name=f"Request {request_id}")
    expect(detail.locator("[data-fact='Error']")).to_have_text("rate_limited")
    expect(detail.locator("[data-fact='First token']")).to_have_text("–")
    expect(detail.locator("[data-fact='User agent']")).to_have_text("seeded/1.0")
    shot(page, "requests-refused-detail")
