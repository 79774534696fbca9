"""What recording costs: `make bench`'s gateways with the usage ledger on (as shipped) and off
(`usage.enabled: false`), measured in one run, turn about.

Both gateways of a pair run at once on core 0 (nginx and wrk on core 1, as in bench/bench.py), and each
scenario is loaded on one then the other, ROUNDS times, so that whatever the shared host does to one
run it does to its neighbour (the order alternates from round to round). The runs start SETTLE_S after a
warm-up, once the ledger's start-up work is done. Reported: the median requests/s at 64 connections of
each, the median of each round's ratio, and the gateway's CPU time per request (user + system, which
steal from other tenants does not inflate).
Not a test: nothing here asserts.

    .venv/bin/python bench/ledger_cost.py [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as harness  # noqa: E402  (bench/bench.py: nginx, wrk, the gateway's configs)

UNRECORDED = "usage: {enabled: false}\n"
harness.SETUPS["open-unrecorded"] = harness.SETUPS["open"] + UNRECORDED
harness.SETUPS["keys-memory-unrecorded"] = harness.SETUPS["keys-memory"] + UNRECORDED
PAIRS = {"open": "open-unrecorded", "keys-memory": "keys-memory-unrecorded"}
# In its first second the ledger's writer imports the storage stack (in a thread) and opens the database:
# half a second of CPU, once, not a cost of recording each request; the runs start after it.
SETTLE_S = 3.0
SCENARIOS = [s for s in harness.SCENARIOS if s.setup in PAIRS and "embeddings" not in s.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-ledger-cost-"))
    nginx = harness.start_nginx(tmp)
    rows = []
    try:
        for recorded, unrecorded in PAIRS.items():
            gateways = {name: harness.Gateway(name, harness.NGINX_PORT, port, tmp)
                        for name, port in ((recorded, 18081), (unrecorded, 18082))}
            try:
                for scenario in (s for s in SCENARIOS if s.setup == recorded):
                    runs: dict[str, list[float]] = {name: [] for name in gateways}
                    cpu: dict[str, list[float]] = {name: [] for name in gateways}
                    for name, gateway in gateways.items():  # warm-up
                        harness.wrk(gateway.url + scenario.path, scenario.body, 8, 1, gateway.auth)
                    time.sleep(SETTLE_S)
                    for round_ in range(args.rounds):  # A B, then B A: a drift of the host's load cancels out
                        for name, gateway in list(gateways.items())[::1 if round_ % 2 == 0 else -1]:
                            before = harness.cpu_seconds(gateway.process.pid)
                            result = harness.wrk(gateway.url + scenario.path, scenario.body, args.connections,
                                                 args.seconds, gateway.auth)
                            runs[name].append(result["rps"])
                            cpu[name].append((harness.cpu_seconds(gateway.process.pid) - before)
                                             / max(result["requests"], 1) * 1e6)
                    ratios = [on / off for on, off in zip(runs[recorded], runs[unrecorded])]
                    rows.append((f"{scenario.name} ({recorded})", statistics.median(runs[recorded]),
                                 statistics.median(runs[unrecorded]), statistics.median(ratios),
                                 statistics.median(cpu[recorded]), statistics.median(cpu[unrecorded]),
                                 runs[recorded], runs[unrecorded]))
            finally:
                for gateway in gateways.values():
                    gateway.stop()
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nllmswitch ledger cost: {args.rounds} rounds of {args.seconds:.0f} s at {args.connections} connections, "
          "turn about; python " + sys.version.split()[0])
    print("\n| scenario | req/s recorded | req/s not recorded | recorded / not (median of each round's) | "
          "CPU us/request recorded | not recorded | each round's req/s (recorded; not) |")
    print("|---|---|---|---|---|---|---|")
    for name, on, off, ratio, cpu_on, cpu_off, runs_on, runs_off in rows:
        print(f"| {name} | {on:.0f} | {off:.0f} | {ratio:.1%} | {cpu_on:.0f} | {cpu_off:.0f} | "
              f"{', '.join(f'{r:.0f}' for r in runs_on)}; {', '.join(f'{r:.0f}' for r in runs_off)} |")

if __name__ == "__main__":
    main()
