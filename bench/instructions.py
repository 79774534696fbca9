"""CPU instructions per request, counted by valgrind: a measure the shared VM's noise cannot move.

Requests/s and CPU time here vary by 25% from one minute to the next (the host steals CPU and
shares caches), which hides differences of a few percent. `valgrind --tool=callgrind` counts the
instructions the gateway process executes; the same build gives the same count to within 0.3%
whatever else the machine does. Instructions are not time (cache misses and system calls are not
in them), so this complements `make bench` rather than replacing it: use it to compare two builds
or two setups. The gateway is started uninstrumented, warmed up (so that lazy imports, the first
usage flush and statement compilation are not counted), then counted over a fixed number of
requests of one setup (`SETUPS`: a route, a body and a config) against nginx's fixed answers.
Only `valgrind` can stop a profile from drifting with the host: to see where a setup's instructions
go, keep the output file (`--keep DIR`) and read it with `callgrind_annotate`.

    .venv/bin/python bench/instructions.py                 # every setup below
    .venv/bin/python bench/instructions.py --requests 4000 open responses-chat
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench import BY_KEY, NGINX_PORT, ROOT, create_key, free_port, gateway_config, start_nginx, wait_ready

PORT = free_port()
# setup -> (the bench scenario it counts, and in keys mode a key with rpm/tpm limits or without)
SETUPS: dict[str, tuple[str, bool | None]] = {
    "open": ("chat", None), "keys": ("keys-memory", False), "keys-limits": ("keys-memory", True),
    **{key: (key, None) for key in ("chat-stream", "chat-anthropic-stream", "responses", "responses-stream",
                                    "responses-chat", "responses-chat-stream")},
}


async def send(url: str, body: dict, count: int, auth: str, connections: int = 8) -> None:
    """Exactly COUNT requests over CONNECTIONS kept-alive connections, each answer read whole."""
    headers = {"content-type": "application/json", "authorization": auth}
    left = count
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.post(url, json=body, headers=headers) as response:
                    answer = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"the gateway answered {response.status}: {answer[:300]!r}")
        await asyncio.gather(*(worker() for _ in range(connections)))


def count(setup: str, requests: int, tmp: Path, keep: Path | None) -> float:
    """Instructions per request of one setup (its callgrind output copied into KEEP, if given)."""
    key, limits = SETUPS[setup]
    chosen = BY_KEY[key]
    config = tmp / f"{setup}.yaml"
    config.write_text(gateway_config(NGINX_PORT, chosen.setup, tmp))
    (tmp / "bench.db").unlink(missing_ok=True)
    out = tmp / f"callgrind.{setup}.out"
    gateway = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         str(ROOT / ".venv/bin/python"), str(ROOT / ".venv/bin/llmswitch"), "serve", "--config", str(config),
         "--port", str(PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{PORT}"
        wait_ready(url + "/health", timeout=120)
        auth = f"Bearer {create_key(url, limits)}" if limits is not None else "Bearer bench"
        asyncio.run(send(url + chosen.path, chosen.body, 3000, auth))
        time.sleep(2.5)  # a usage flush and a key-cache refresh run before counting starts
        subprocess.run(["callgrind_control", "--instr=on", str(gateway.pid)], check=True, capture_output=True)
        asyncio.run(send(url + chosen.path, chosen.body, requests, auth))
        subprocess.run(["callgrind_control", "--instr=off", str(gateway.pid)], check=True, capture_output=True)
    finally:
        gateway.terminate()
        gateway.wait(120)
    # The file's header `summary:` stays 0 when instrumentation starts late; `totals:` has the count.
    totals = [int(line.split()[1]) for line in out.read_text().splitlines() if line.startswith("totals:")]
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, keep / out.name)
    return max(totals) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("setups", nargs="*", metavar="SETUP", help=f"any of {', '.join(SETUPS)} (default: all)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep each setup's callgrind output here")
    args = parser.parse_args()
    unknown = set(args.setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setup(s): {', '.join(sorted(unknown))}")
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed: apt-get install valgrind")
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-instructions-"))
    nginx = start_nginx(tmp)
    try:
        results = {setup: count(setup, args.requests, tmp, args.keep) for setup in args.setups or SETUPS}
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    base = results.get("open")
    print("\n| setup | instructions per request | open / setup |\n|---|---|---|")
    for setup, per_request in results.items():
        ratio = f"{base / per_request:.2f}" if base else "-"
        print(f"| {setup} | {per_request:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
