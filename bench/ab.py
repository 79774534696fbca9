"""Two gateway setups measured in alternation, for a ratio the shared VM's noise skews less.

    .venv/bin/python bench/ab.py open keys-memory               # keys mode vs open, non-streaming
    .venv/bin/python bench/ab.py open open bench-sse bench-anthropic   # translated vs pass-through stream

Setups and models are those of bench.py. Prints each side's requests/s per round and the ratio of
the medians (B / A).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import MESSAGES, NGINX_PORT, Gateway, start_nginx, wrk


def body(model: str) -> dict:
    return {"model": model, "messages": MESSAGES, **({} if model == "bench-json" else {"stream": True})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("setup_a")
    parser.add_argument("setup_b")
    parser.add_argument("model_a", nargs="?", default="bench-json")
    parser.add_argument("model_b", nargs="?", default="bench-json")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-ab-"))
    nginx = start_nginx(tmp)
    sides = [(args.setup_a, body(args.model_a)), (args.setup_b, body(args.model_b))]
    gateways = [Gateway(setup, NGINX_PORT, 18200 + i, tmp) for i, (setup, _) in enumerate(sides)]
    results: list[list[float]] = [[], []]
    try:
        for gateway, (_, request) in zip(gateways, sides):
            wrk(gateway.url + "/v1/chat/completions", request, 8, 1, gateway.auth)  # warm-up
        for _ in range(args.rounds):
            for i, (gateway, (_, request)) in enumerate(zip(gateways, sides)):
                results[i].append(wrk(gateway.url + "/v1/chat/completions", request, 64, args.seconds,
                                      gateway.auth)["rps"])
    finally:
        for gateway in gateways:
            gateway.stop()
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    for (setup, request), runs in zip(sides, results):
        print(f"{setup} {request['model']}: {[round(r) for r in runs]} median {statistics.median(runs):.0f}")
    print(f"ratio B/A {statistics.median(results[1]) / statistics.median(results[0]):.2f}")


if __name__ == "__main__":
    main()
