"""`make bench`: requests/s and added latency of the gateway against a fixed-answer upstream.

nginx (one worker, core 1) serves fixed OpenAI (chat, embeddings, Responses) and Anthropic answers, so the numbers
measure the gateway (pinned to core 0) rather than a Python fake. wrk (core 1) loads it: requests/s at 64
connections, and p50/p99 at one connection, each next to the same load sent straight to nginx.
Not a test: nothing here asserts; it prints a table to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
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
RESPONSES_INPUT = [{"role": "user", "content": "Say something short."}]  # the same turn as Responses input
EMBED_INPUT = "Embed something short."
EMBED_DIMENSIONS = 128  # the answer's vector (the size of earlier runs, so that their rows compare)


def _compact(obj: object) -> str:
    """nginx caps a `return` literal at 4 KB: the fixed answers are written compactly."""
    return json.dumps(obj, separators=(",", ":"))


def _openai_completion() -> str:
    return _compact({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "up-model",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hello! " * 20, "refusal": None}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52}})


def _openai_embeddings() -> str:
    vector = [round((i % 17 - 8) / 100, 4) for i in range(EMBED_DIMENSIONS)]
    return _compact({"object": "list", "model": "up-embed", "data": [{"object": "embedding", "index": 0,
                                                                      "embedding": vector}],
                     "usage": {"prompt_tokens": 5, "total_tokens": 5}})


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
    return _event_stream(events)


def _event_stream(events: list[dict]) -> str:
    """Named SSE events (`event:` then `data:`), as Anthropic and the Responses API send them."""
    return "".join(f"event: {e['type']}\ndata: {_compact(e)}\n\n" for e in events)


# The Responses API's ids are a prefix and 48 hex digits, a new one each answer: nginx's ${request_id}
# (32 random hex digits, the same in every event of one answer) and 16 more.
REQUEST_ID = "${request_id}"
RESPONSE_ID = f"resp_{REQUEST_ID}0b5e0b5e0b5e0b5e"
MESSAGE_ID = f"msg_{REQUEST_ID}0b5e0b5e0b5e0b5f"


def _responses_object(status: str, text: str | None) -> dict:
    """A `response` as OpenAI's API answers one (openai-python's `Response`, the OpenAPI spec's example):
    every setting echoed, one message item (none while in progress), usage once complete."""
    done = status == "completed"
    output = [{"id": MESSAGE_ID, "type": "message", "status": "completed", "role": "assistant",
               "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}] if done else []
    return {
        "id": RESPONSE_ID, "object": "response", "created_at": 1, "status": status, "background": False,
        "completed_at": 2 if done else None, "error": None, "incomplete_details": None, "instructions": None,
        "max_output_tokens": None, "max_tool_calls": None, "model": "up-model", "output": output,
        "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
        "prompt_cache_retention": None, "reasoning": {"effort": None, "summary": None}, "safety_identifier": None,
        "service_tier": "default", "store": True, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto", "tools": [],
        "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": 40, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": 52} if done else None,
        "user": None, "metadata": {}}


def _responses_answer() -> str:
    return _compact(_responses_object("completed", "Hello! " * 20))


def _responses_stream(deltas: int = 20) -> str:
    """A Responses stream as OpenAI sends one: lifecycle events carrying the response, the message item
    and its text part opened empty, the text in DELTAS pieces (each with its `obfuscation` padding, on
    by default), then each closed and `response.completed` with the whole response."""
    text = "word " * deltas
    where = {"item_id": MESSAGE_ID, "output_index": 0, "content_index": 0}
    opening = _responses_object("in_progress", None)
    events: list[dict] = [
        {"type": "response.created", "response": opening},
        {"type": "response.in_progress", "response": opening},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"id": MESSAGE_ID, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}},
        {"type": "response.content_part.added", **where,
         "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}}]
    events += [{"type": "response.output_text.delta", **where, "delta": "word ", "logprobs": [],
                "obfuscation": "Xq3vT8dLm2k"} for _ in range(deltas)]
    final = _responses_object("completed", text)
    final["usage"]["output_tokens"], final["usage"]["total_tokens"] = deltas, 12 + deltas
    message = final["output"][0]
    events += [{"type": "response.output_text.done", **where, "text": text, "logprobs": []},
               {"type": "response.content_part.done", **where, "part": message["content"][0]},
               {"type": "response.output_item.done", "output_index": 0, "item": message},
               {"type": "response.completed", "response": final}]
    return _event_stream([{"type": e["type"], "sequence_number": n, **e} for n, e in enumerate(events)])


NGINX_TOKEN = 3000  # nginx reads a config token into a 4 KB buffer: longer answers are cut into pieces


def _nginx_return(name: str, text: str) -> str:
    """The directives answering TEXT: one `return` of a literal, or for an answer over nginx's 4 KB
    token, `set` pieces joined by the `return` (each piece cut before a `REQUEST_ID`, never inside one)."""
    assert "$" not in text.replace(REQUEST_ID, ""), "nginx would read it as a variable"
    if len(text) <= NGINX_TOKEN:
        return f"return 200 {_nginx_literal(text)};"
    pieces, start = [], 0
    while start < len(text):
        end = min(start + NGINX_TOKEN, len(text))
        cut = text.rfind(REQUEST_ID, start, end + len(REQUEST_ID) - 1)
        if cut > start and cut + len(REQUEST_ID) > end:
            end = cut
        pieces.append(text[start:end])
        start = end
    sets = " ".join(f"set ${name}{i} {_nginx_literal(piece)};" for i, piece in enumerate(pieces))
    return sets + " return 200 \"" + "".join(f"${name}{i}" for i in range(len(pieces))) + "\";"


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
    listen 127.0.0.1:{port} backlog=4096;
    location = /json/v1/chat/completions {{ default_type application/json; {json} }}
    location = /json/v1/embeddings {{ default_type application/json; {embeddings} }}
    location = /json/v1/responses {{ default_type application/json; {responses} }}
    location = /sse/v1/chat/completions {{ default_type text/event-stream; {sse} }}
    location = /sse/v1/responses {{ default_type text/event-stream; {responses_sse} }}
    location = /anthropic/v1/messages {{ default_type text/event-stream; {anthropic} }}
  }}
}}
"""


@dataclass
class Scenario:
    key: str  # its name on the command line of ab.py and instructions.py
    name: str
    setup: str  # which gateway config (see SETUPS)
    path: str  # gateway route
    body: dict
    direct_path: str | None  # the same load straight to nginx, for comparison


CHAT = {"model": "bench-json", "messages": MESSAGES}
STREAM = {"messages": MESSAGES, "stream": True}
RESPONSE = {"model": "bench-json", "input": RESPONSES_INPUT}
RESPONSES_STREAM = {"input": RESPONSES_INPUT, "stream": True}
EMBED = {"model": "bench-embed", "input": EMBED_INPUT, "encoding_format": "float"}
RELAYS = (("relay-aiohttp", "aiohttp client"), ("relay-llmswitch", "llmswitch's HTTP client"))
RELAYED = (("", "non-streaming", "/v1/chat/completions", CHAT), ("-embeddings", "embeddings", "/v1/embeddings", EMBED),
           ("-responses", "Responses", "/v1/responses", RESPONSE))
SCENARIOS = [
    *(Scenario(setup + suffix, f"reference: bare relay, aiohttp server + {client}, {what}", setup, path, body, None)
      for setup, client in RELAYS for suffix, what, path, body in RELAYED),
    Scenario("chat", "chat, non-streaming", "open", "/v1/chat/completions", CHAT, "/json/v1/chat/completions"),
    Scenario("chat-unrecorded", "chat, non-streaming, usage ledger off (what recording costs: beside `chat`)",
             "open-unrecorded", "/v1/chat/completions", CHAT, None),
    Scenario("embeddings", "embeddings", "open", "/v1/embeddings", EMBED, "/json/v1/embeddings"),
    Scenario("chat-stream", "chat, streaming (20 chunks)", "open", "/v1/chat/completions",
             {"model": "bench-sse", **STREAM}, "/sse/v1/chat/completions"),
    Scenario("chat-anthropic-stream", "chat -> anthropic upstream, streaming (translated)", "open",
             "/v1/chat/completions", {"model": "bench-anthropic", **STREAM}, "/anthropic/v1/messages"),
    Scenario("responses", "responses, non-streaming (pass-through)", "open", "/v1/responses", RESPONSE,
             "/json/v1/responses"),
    Scenario("responses-stream", "responses, streaming (20 deltas, pass-through)", "open", "/v1/responses",
             {"model": "bench-sse", **RESPONSES_STREAM}, "/sse/v1/responses"),
    Scenario("responses-chat", "responses -> chat upstream, non-streaming (translated)", "open", "/v1/responses",
             {"model": "bench-chat-json", "input": RESPONSES_INPUT}, "/json/v1/chat/completions"),
    Scenario("responses-chat-stream", "responses -> chat upstream, streaming (20 chunks, translated)", "open",
             "/v1/responses", {"model": "bench-chat-sse", **RESPONSES_STREAM}, "/sse/v1/chat/completions"),
    Scenario("keys-memory", "chat, non-streaming, keys + rpm/tpm (memory)", "keys-memory", "/v1/chat/completions",
             CHAT, None),
    Scenario("keys-redis", "chat, non-streaming, keys + rpm/tpm (redis)", "keys-redis", "/v1/chat/completions",
             CHAT, None),
]
BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}
MASTER_KEY = "sk-bench-master"
SETUPS = {
    "relay-aiohttp": "",
    "relay-llmswitch": "",
    "open": "",
    "open-unrecorded": "usage: {enabled: false}\n",
    "keys-memory": f"auth: {{master_key: {MASTER_KEY}, secret: bench-secret}}\ndatabase_url: sqlite:///{{tmp}}/bench.db\n",
    "keys-redis": f"auth: {{master_key: {MASTER_KEY}, secret: bench-secret}}\ndatabase_url: sqlite:///{{tmp}}/bench.db\n"
                  "redis_url: redis://127.0.0.1:6379/0\n",
}


def gateway_config(nginx_port: int, setup: str, tmp: Path) -> str:
    up = f"http://127.0.0.1:{nginx_port}"
    return SETUPS[setup].replace("{tmp}", str(tmp)) + f"""
server: {{max_concurrency: 4096}}
providers:
  json: {{type: openai, base_url: "{up}/json/v1", api_keys: ["k"]}}
  sse: {{type: openai, base_url: "{up}/sse/v1", api_keys: ["k"]}}
  anthropic: {{type: anthropic, base_url: "{up}/anthropic", api_keys: ["k"]}}
  chat-json: {{type: openai, base_url: "{up}/json/v1", api_keys: ["k"], responses_api: false}}
  chat-sse: {{type: openai, base_url: "{up}/sse/v1", api_keys: ["k"], responses_api: false}}
models:
  bench-json: [{{provider: json, model: up-model}}]
  bench-sse: [{{provider: sse, model: up-model}}]
  bench-anthropic: [{{provider: anthropic, model: up-model, max_tokens_default: 256}}]
  bench-embed: [{{provider: json, model: up-embed}}]
  bench-chat-json: [{{provider: chat-json, model: up-model}}]
  bench-chat-sse: [{{provider: chat-sse, model: up-model}}]
"""


def create_key(gateway_url: str, limits: bool = True) -> str:
    """A virtual key with rpm/tpm limits high enough never to trip, so the checks run on every request
    (or, with `limits` False, a key without any)."""
    caps = {"rpm": 10**9, "tpm": 10**9} if limits else {}
    request = urllib.request.Request(
        gateway_url + "/admin/api/keys", method="POST",
        data=json.dumps({"name": "bench", **caps}).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {MASTER_KEY}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["key"])


def wrk(url: str, body: dict, connections: int, seconds: float, auth: str = "Bearer bench") -> dict[str, float]:
    env = {**os.environ, "BODY": json.dumps(body), "AUTH": auth}
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "-s", str(ROOT / "bench" / "post.lua"), url]
    run = subprocess.run(command, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}: {run.stderr.strip()[-300:]}")
    out = run.stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
              "requests": float(re.search(r"(\d+) requests in", out).group(1))}  # type: ignore[union-attr]
    for label, key in (("50%", "p50"), ("99%", "p99")):
        match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
        if match:
            value, unit = float(match.group(1)), match.group(2)
            result[key] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = float(errors.group(1)) if errors else 0.0
    return result


def median_run(url: str, body: dict, args: argparse.Namespace, auth: str,
               pid: int | None = None) -> dict[str, float]:
    """Throughput is noisy on a shared VM: the run with the median requests/s of `--repeat` runs, and
    with PID, the median of that process's CPU time per request (`cpu_us`), which stolen CPU does not skew."""
    runs, cpu = [], []
    for _ in range(args.repeat):
        before = cpu_seconds(pid) if pid else 0.0
        runs.append(wrk(url, body, args.connections, args.seconds, auth))
        if pid:
            cpu.append((cpu_seconds(pid) - before) / max(runs[-1]["requests"], 1) * 1e6)
    median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    if cpu:
        median["cpu_us"] = sorted(cpu)[len(cpu) // 2]
    return median


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: unlike requests/s, not skewed by CPU the host steals."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def free_port() -> int:
    """A loopback port nothing listens on now. Fixed ports are not safe on a shared host: another
    worktree's bench on the same port answers in place of ours (its gateway behind our health check)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NGINX_PORT = free_port()


def start_nginx(tmp: Path) -> subprocess.Popen[bytes]:
    """nginx on core 1 serving the fixed upstream answers; returns once it answers."""
    answers = {"json": _openai_completion(), "sse": _openai_stream(), "anthropic": _anthropic_stream(),
               "embeddings": _openai_embeddings(), "responses": _responses_answer(),
               "responses_sse": _responses_stream()}
    (tmp / "nginx.conf").write_text(NGINX_CONF.format(
        tmp=tmp, port=NGINX_PORT, **{name: _nginx_return(name, text) for name, text in answers.items()}))
    nginx = subprocess.Popen(["taskset", "-c", "1", NGINX, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)])
    wait_ready(f"http://127.0.0.1:{NGINX_PORT}/json/v1/chat/completions")
    return nginx


class Gateway:
    """One gateway process pinned to core 0, started on a config setup."""

    def __init__(self, setup: str, nginx_port: int, port: int, tmp: Path):
        if setup.startswith("relay-"):
            command = [str(ROOT / ".venv/bin/python"), str(ROOT / "bench" / "relay.py"), str(port),
                       f"http://127.0.0.1:{nginx_port}/json/v1", "--client", setup.removeprefix("relay-")]
        else:
            config = tmp / f"{setup}.yaml"
            config.write_text(gateway_config(nginx_port, setup, tmp))
            command = [str(ROOT / ".venv/bin/llmswitch"), "serve", "--config", str(config), "--port", str(port)]
        started = time.monotonic()
        self.process = subprocess.Popen(["taskset", "-c", "0", *command], stderr=subprocess.DEVNULL,
                                        cwd=tmp)  # its default files (the usage ledger's llmswitch.db) go there
        self.url = f"http://127.0.0.1:{port}"
        wait_ready(self.url + "/health")
        self.start_s = time.monotonic() - started
        self.auth = f"Bearer {create_key(self.url)}" if setup.startswith("keys") else "Bearer bench"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs per row (the median is kept)")
    parser.add_argument("--soak", type=int, default=0, help="also send this many requests and report RSS after")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="llmswitch-bench-"))
    gateway_port = free_port()
    nginx = start_nginx(tmp)
    up = f"http://127.0.0.1:{NGINX_PORT}"
    nginx_port = NGINX_PORT
    rows, notes = [], []
    measured: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for setup in dict.fromkeys(s.setup for s in SCENARIOS):
            gateway = Gateway(setup, nginx_port, gateway_port, tmp)
            try:
                rss_start = rss_mb(gateway.process.pid)
                for scenario in (s for s in SCENARIOS if s.setup == setup):
                    url = gateway.url + scenario.path
                    wrk(url, scenario.body, 8, 1, gateway.auth)  # warm-up
                    row = {"name": scenario.name,
                           "gw": median_run(url, scenario.body, args, gateway.auth, gateway.process.pid),
                           "gw1": wrk(url, scenario.body, 1, args.seconds / 2, gateway.auth)}
                    if scenario.direct_path:
                        row.update(direct(up + scenario.direct_path, scenario.body, args, measured))
                    rows.append(row)
                if setup == "open" and args.soak:
                    soak(gateway, args.soak, notes)
                notes.append(f"{setup}: start-up to /health {gateway.start_s * 1000:.0f} ms; RSS {rss_start:.0f} MB "
                             f"-> {rss_mb(gateway.process.pid):.0f} MB")
            finally:
                gateway.stop()
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, notes)


def direct(url: str, body: dict, args: argparse.Namespace,
           measured: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The same load straight to nginx, measured once per URL in a run (nginx answers whatever the body)."""
    if url not in measured:
        measured[url] = {"up": median_run(url, body, args, "Bearer bench"), "up1": wrk(url, body, 1, args.seconds / 2)}
    return measured[url]


def soak(gateway: Gateway, count: int, notes: list[str]) -> None:
    """Send COUNT non-streaming requests and note RSS along the way (it must stay flat)."""
    scenario = next(s for s in SCENARIOS if s.setup == "open")
    seconds = 30
    sent, samples = 0, []
    while sent < count:
        result = wrk(gateway.url + scenario.path, scenario.body, 64, seconds, gateway.auth)
        sent += int(result["rps"] * seconds)
        samples.append(f"{sent // 1000}k: {rss_mb(gateway.process.pid):.0f} MB")
    notes.append("soak RSS " + ", ".join(samples))


def report(rows: list[dict], notes: list[str]) -> None:
    print(f"\nllmswitch bench: gateway on core 0 (1 worker), nginx + wrk on core 1; python {sys.version.split()[0]}")
    for note in notes:
        print(note)
    print("\n| scenario | gateway req/s @64 | gateway CPU us/request @64 | upstream req/s @64 "
          "| gateway p50/p99 @1 (ms) | upstream p50/p99 @1 (ms) | added p50/p99 (ms) | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        gw, gw1 = row["gw"], row["gw1"]
        up, up1 = row.get("up"), row.get("up1")
        upstream = f"{up['rps']:.0f}" if up else "-"
        upstream1 = f"{up1['p50']:.2f} / {up1['p99']:.2f}" if up1 else "-"
        added = f"{gw1['p50'] - up1['p50']:.2f} / {gw1['p99'] - up1['p99']:.2f}" if up1 else "-"
        print(f"| {row['name']} | {gw['rps']:.0f} | {gw['cpu_us']:.0f} | {upstream} "
              f"| {gw1['p50']:.2f} / {gw1['p99']:.2f} | {upstream1} | {added} | {int(gw['errors'] + gw1['errors'])} |")


if __name__ == "__main__":
    main()
