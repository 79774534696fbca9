"""`make bench`: requests/s and added latency of the gateway against a fixed-answer upstream.

nginx (one worker, core 1) serves fixed OpenAI and Anthropic answers, so the numbers measure the
gateway (pinned to core 0) rather than a Python fake. wrk (core 1) loads it: requests/s at 64
connections, and p50/p99 at one connection, each next to the same load sent straight to nginx.
Not a test: nothing here asserts; it prints a table to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MESSAGES = [{"role": "user", "content": "Say something short."}]


def _compact(obj: object) -> str:
    """nginx caps a `return` literal at 4 KB: the fixed answers are written compactly."""
    return json.dumps(obj, separators=(",", ":"))


def _openai_completion() -> str:
    return _compact({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "up-model",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hello! " * 20, "refusal": None}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52}})


def _openai_stream(chunks: int = 20) -> str:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "up-model"}
    frames = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    frames += [{**base, "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}]}
               for _ in range(chunks)]
    frames.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    frames.append({**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": chunks,
                                                    "total_tokens": 12 + chunks}})
    return "".join(f"data: {_compact(f)}\n\n" for f in frames) + "data: [DONE]\n\n"


def _anthropic_stream(chunks: int = 20) -> str:
    events = [{"type": "message_start", "message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "content": [], "model": "up-model",
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "word "}}
               for _ in range(chunks)]
    events += [{"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": chunks}},
               {"type": "message_stop"}]
    return "".join(f"event: {e['type']}\ndata: {_compact(e)}\n\n" for e in events)


def _nginx_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /json/v1/chat/completions {{ default_type application/json; return 200 {json}; }}
    location = /sse/v1/chat/completions {{ default_type text/event-stream; return 200 {sse}; }}
    location = /anthropic/v1/messages {{ default_type text/event-stream; return 200 {anthropic}; }}
  }}
}}
"""


@dataclass
class Scenario:
    name: str
    path: str  # gateway route
    body: dict
    direct_path: str | None  # the same load straight to nginx, for comparison
    config: str = "open"


SCENARIOS = [
    Scenario("chat, non-streaming", "/v1/chat/completions", {"model": "bench-json", "messages": MESSAGES},
             "/json/v1/chat/completions"),
    Scenario("chat, streaming (20 chunks)", "/v1/chat/completions",
             {"model": "bench-sse", "messages": MESSAGES, "stream": True}, "/sse/v1/chat/completions"),
]


def gateway_config(nginx_port: int) -> str:
    up = f"http://127.0.0.1:{nginx_port}"
    return f"""
server: {{max_concurrency: 4096}}
providers:
  json: {{type: openai, base_url: "{up}/json/v1", api_keys: ["k"]}}
  sse: {{type: openai, base_url: "{up}/sse/v1", api_keys: ["k"]}}
  anthropic: {{type: anthropic, base_url: "{up}/anthropic", api_keys: ["k"]}}
models:
  bench-json: [{{provider: json, model: up-model}}]
  bench-sse: [{{provider: sse, model: up-model}}]
  bench-anthropic: [{{provider: anthropic, model: up-model, max_tokens_default: 256}}]
"""


def wrk(url: str, body: dict, connections: int, seconds: float) -> dict[str, float]:
    env = {**os.environ, "BODY": json.dumps(body)}
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                          "-s", str(ROOT / "bench" / "post.lua"), url], env=env, capture_output=True, text=True,
                         check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for label, key in (("50%", "p50"), ("99%", "p99")):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            result[key] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_ready(url: str, timeout: float = 20) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput run")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-bench-"))
    nginx_port, gateway_port = 18080, 18081
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(
        tmp=tmp, port=nginx_port, json=_nginx_literal(_openai_completion()), sse=_nginx_literal(_openai_stream()),
        anthropic=_nginx_literal(_anthropic_stream())))
    (tmp / "llmswitch.yaml").write_text(gateway_config(nginx_port))
    nginx = subprocess.Popen(["taskset", "-c", "1", NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)])
    started = time.monotonic()
    gateway = subprocess.Popen(["taskset", "-c", "0", str(ROOT / ".venv/bin/llmswitch"), "serve", "--config",
                                str(tmp / "llmswitch.yaml"), "--port", str(gateway_port)], stderr=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{gateway_port}/health")
        start_s = time.monotonic() - started
        wait_ready(f"http://127.0.0.1:{nginx_port}/json/v1/chat/completions")
        gw, up = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{nginx_port}"
        rows = []
        rss_start = rss_mb(gateway.pid)
        for scenario in SCENARIOS:
            wrk(gw + scenario.path, scenario.body, 8, 1)  # warm-up
            row = {"name": scenario.name,
                   "gw": wrk(gw + scenario.path, scenario.body, args.connections, args.seconds),
                   "gw1": wrk(gw + scenario.path, scenario.body, 1, args.seconds / 2)}
            if scenario.direct_path:
                row["up"] = wrk(up + scenario.direct_path, scenario.body, args.connections, args.seconds)
                row["up1"] = wrk(up + scenario.direct_path, scenario.body, 1, args.seconds / 2)
            rows.append(row)
        rss_end = rss_mb(gateway.pid)
    finally:
        gateway.terminate()
        nginx.terminate()
        gateway.wait(10)
        nginx.wait(10)
    print(f"\nllmswitch bench: gateway on core 0 (1 worker), nginx + wrk on core 1; python {sys.version.split()[0]}")
    print(f"start-up to /health: {start_s * 1000:.0f} ms; RSS {rss_start:.0f} MB -> {rss_end:.0f} MB\n")
    print("| scenario | gateway req/s @64 | upstream req/s @64 | gateway p50/p99 @1 (ms) | upstream p50/p99 @1 (ms) "
          "| added p50/p99 (ms) | errors |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        gw, gw1 = row["gw"], row["gw1"]
        up, up1 = row.get("up", {}), row.get("up1", {})
        added = (f"{gw1['p50'] - up1['p50']:.2f} / {gw1['p99'] - up1['p99']:.2f}" if up1 else "-")
        print(f"| {row['name']} | {gw['rps']:.0f} | {up.get('rps', 0):.0f} | {gw1['p50']:.2f} / {gw1['p99']:.2f} "
              f"| {up1.get('p50', 0):.2f} / {up1.get('p99', 0):.2f} | {added} | {int(gw['errors'] + gw1['errors'])} |")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
