"""Two bench scenarios measured in alternation, for a ratio the shared VM's noise skews less.

    .venv/bin/python bench/ab.py chat keys-memory                          # keys mode vs open, non-streaming
    .venv/bin/python bench/ab.py chat-stream chat-anthropic-stream         # translated vs pass-through stream
    .venv/bin/python bench/ab.py chat-anthropic-stream responses-chat-stream

Scenarios are bench.py's, by key (`SCENARIOS`). Prints each side's requests/s per round, its gateway's
CPU time per request (which the host's stolen CPU does not skew), and the ratios of the medians (B / A).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import BY_KEY, NGINX_PORT, Gateway, cpu_seconds, free_port, start_nginx, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario_a", choices=BY_KEY, metavar="SCENARIO_A")
    parser.add_argument("scenario_b", choices=BY_KEY, metavar="SCENARIO_B")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    sides = [BY_KEY[args.scenario_a], BY_KEY[args.scenario_b]]
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-ab-"))
    nginx = start_nginx(tmp)
    gateways = [Gateway(side.setup, NGINX_PORT, free_port(), tmp) for side in sides]
    results: list[list[float]] = [[], []]
    cpu_us: list[list[float]] = [[], []]
    try:
        for gateway, side in zip(gateways, sides):
            wrk(gateway.url + side.path, side.body, 8, 1, gateway.auth)  # warm-up
        for _ in range(args.rounds):
            for i, (gateway, side) in enumerate(zip(gateways, sides)):
                before = cpu_seconds(gateway.process.pid)
                run = wrk(gateway.url + side.path, side.body, 64, args.seconds, gateway.auth)
                results[i].append(run["rps"])
                cpu_us[i].append((cpu_seconds(gateway.process.pid) - before) / run["requests"] * 1e6)
    finally:
        for gateway in gateways:
            gateway.stop()
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    for side, runs, cpu in zip(sides, results, cpu_us):
        print(f"{side.key}: req/s {[round(r) for r in runs]} median {statistics.median(runs):.0f}; "
              f"CPU us/request median {statistics.median(cpu):.0f}")
    print(f"req/s ratio B/A {statistics.median(results[1]) / statistics.median(results[0]):.2f}; "
          f"CPU-per-request ratio A/B {statistics.median(cpu_us[0]) / statistics.median(cpu_us[1]):.2f}")


if __name__ == "__main__":
    main()
