"""The admin panel's Dashboard page over a ledger of 100,000 records, loaded in headless chromium.

`bench/dashboard.py` times the admin API's queries alone; this times what a person waits for: from
navigation to `/ui/#/dashboard` (a signed-in session, the page's files revalidated by ETag as on any
visit) until its seven numbers, four charts and two top lists are drawn and the next frame has been
painted, read with `performance.now()` in the page (its origin is the navigation's start), so
Playwright's own round trips are not counted. Each load is split with the Resource Timing entries:
the page and its modules until the first usage query leaves, the admin API calls (three usage queries
and the key list, in parallel), and the drawing after the last answer. The same seeded ledgers as
`bench/dashboard.py` (its records and its writer path): 100,000 records within the last 24 hours (the
dashboard's default range holds all of them) and over 30 days, on SQLite and PostgreSQL. Median and
worst of the loads after one warm-up load. Not a test: it prints tables for bench/RESULTS.md.

    .venv/bin/python bench/dashboard_page.py [--rows 100000] [--loads 15] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from playwright.sync_api import sync_playwright

from dashboard import MASTER, ROOT, fresh_postgres, seed

sys.path.insert(0, str(ROOT))
from tests.support.processes import start_gateway  # noqa: E402  (a gateway process on a free port, always stopped)

CHROMIUM = "/usr/bin/chromium"
SPREADS = (("24 h", 86400.0), ("30 d", 30 * 86400.0))

# Installed before the page's own scripts: resolves window.__dashboard once the dashboard is drawn
# (7 tiles, 4 charts with their SVG, 2 top lists) and a frame has been painted after that, with the
# times in ms since navigation and the admin API calls' Resource Timing.
DRAWN = """
window.__dashboard = new Promise((resolve) => {
  const drawn = () => document.querySelectorAll(".tiles .tile-value").length === 7
    && document.querySelectorAll("figure.chart .plot svg").length === 4
    && document.querySelectorAll("figure.bars").length === 2;
  const observer = new MutationObserver(() => {
    if (!drawn()) return;
    observer.disconnect();
    const drawnAt = performance.now();
    requestAnimationFrame(() => setTimeout(() => {  // the frame's paint runs between the two
      const api = performance.getEntriesByType("resource").filter((e) => e.name.includes("/admin/api/")
        && !e.name.includes("/admin/api/session"));
      resolve({drawn: drawnAt, painted: performance.now(),
        apiStart: Math.min(...api.map((e) => e.startTime)), apiEnd: Math.max(...api.map((e) => e.responseEnd)),
        calls: api.length});
    }, 0));
  });
  observer.observe(document, {subtree: true, childList: true});
});
"""


def load_times(url: str, loads: int) -> list[dict[str, float]]:
    """One warm-up load and LOADS timed loads of the dashboard, each a fresh navigation."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 860})
            page = context.new_page()
            page.goto(f"{url}/ui/")
            page.get_by_label("Master key").fill(MASTER)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="Sign out").wait_for()
            page.add_init_script(DRAWN)
            out = []
            for _ in range(loads + 1):
                page.goto("about:blank")
                page.goto(f"{url}/ui/#/dashboard")
                timing: dict[str, Any] = page.evaluate("window.__dashboard")
                assert timing["calls"] == 4, timing  # three usage queries and the key list
                out.append(timing)
            return out[1:]
        finally:
            browser.close()


def measure(database_url: str, loads: int) -> list[dict[str, float]]:
    config = {"auth": {"master_key": MASTER, "secret": "bench-secret"}, "database_url": database_url,
              "providers": {"demo": {"type": "demo"}}, "models": {"m": [{"provider": "demo"}]}}
    with start_gateway(config) as gateway:
        return load_times(gateway.url, loads)


def summary(times: list[dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Median and worst, in ms, of each part of a load."""
    parts = {
        "painted": [t["painted"] for t in times],
        "page and modules": [t["apiStart"] for t in times],
        "admin API calls": [t["apiEnd"] - t["apiStart"] for t in times],
        "drawing": [t["drawn"] - t["apiEnd"] for t in times],
    }
    return {name: (statistics.median(values), max(values)) for name, values in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    chromium = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--version"], capture_output=True, text=True)
    results: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="llmswitch-ledger-") as tmp:
        for backend in args.backends.split(","):
            for spread, span_s in SPREADS:
                name = spread.replace(" ", "")
                url = (f"sqlite:///{tmp}/{name}.db" if backend == "sqlite"
                       else asyncio.run(fresh_postgres(f"llms_bench_dashboard_page_{name}")))
                asyncio.run(seed(url, args.rows, span_s, time.time()))
                results[(backend, spread)] = summary(measure(url, args.loads))
    print(f"\nllmswitch Dashboard page: {args.rows:,} ledger records, {chromium.stdout.strip()} headless; "
          f"median / worst of {args.loads} loads (ms)")
    columns = list(results)
    print("\n| part of a load | " + " | ".join(f"{backend}, over {spread}" for backend, spread in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for part in next(iter(results.values())):
        label = "**navigation to painted**" if part == "painted" else part
        cells = [f"{results[c][part][0]:.0f} / {results[c][part][1]:.0f}" for c in columns]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
