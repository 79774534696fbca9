"""`llmswitch serve` itself: the built-in demo a newcomer gets, and several worker processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai

from tests.support.processes import free_port, start_gateway


def test_serve_without_a_config_file_answers_the_demo_model() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as empty_dir:
        process = subprocess.Popen([sys.executable, "-m", "llmswitch", "serve", "--port", str(port)], cwd=empty_dir,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
            answer = client.chat.completions.create(model="demo-echo", messages=[{"role": "user", "content": "hi"}])
        finally:
            process.terminate()
            process.wait(10)
    assert answer.choices[0].message.content == "You said: hi"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_workers_option_runs_that_many_processes_on_one_port() -> None:
    config = {"providers": {"demo": {"type": "demo"}}, "models": {"demo-echo": [{"provider": "demo"}]}}
    with start_gateway(config, workers=2) as gateway:
        client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="none", max_retries=0)
        answers = [client.chat.completions.create(model="demo-echo", messages=[{"role": "user", "content": str(i)}])
                   for i in range(10)]
        workers = _children(gateway.process.pid)
    assert len(workers) == 2
    assert [a.choices[0].message.content for a in answers] == [f"You said: {i}" for i in range(10)]


def test_stopping_the_gateway_stops_its_workers() -> None:
    config = {"providers": {"demo": {"type": "demo"}}, "models": {"demo-echo": [{"provider": "demo"}]}}
    with start_gateway(config, workers=2) as gateway:
        workers = _children(gateway.process.pid)
    time.sleep(0.5)
    assert workers and not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
