"""The fake as a separate process: `python -m llmswitch.fake_upstream` with its flags."""

from __future__ import annotations

import json
import urllib.request

import pytest

from llmswitch.fake_upstream import start_process

pytestmark = pytest.mark.timeout(30)


def post_chat(url: str, text: str) -> tuple[dict, dict]:
    request = urllib.request.Request(url + "/v1/chat/completions", method="POST",
                                     data=json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read()), dict(r.headers)


def test_process_answers_with_its_flags_applied():
    with start_process(0, name="proc-a", require_auth=False) as fake:
        body, headers = post_chat(fake.url, "hi")
        assert body["choices"][0]["message"]["content"] == "You said: hi"
        assert headers["x-fake-upstream"] == "proc-a"
        assert fake.stats()["paths"] == {"/v1/chat/completions": 1}
        assert fake.requests()[0]["body"]["messages"][0]["content"] == "hi"


def test_process_stops_when_asked():
    fake = start_process(0)
    fake.stop()
    assert fake.process.returncode is not None


def test_unknown_option_is_refused_before_starting():
    with pytest.raises(TypeError, match="colour"):
        start_process(0, colour="red")
