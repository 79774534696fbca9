"""What the fuzz suite found, each as one focused example through the real processes.

Every test here failed before its fix (a 500, a broken stream or no answer) and names the answer
the gateway now gives instead.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.fuzz.gateways import PROVIDERS, Target
from tests.fuzz.scripted import Script, ScriptedUpstream
from tests.fuzz.test_fuzz_upstream import stream_events, whole_answer
from tests.fuzz.verdict import check, check_error, sse_frames
from tests.fuzz.wire import Answer, request

CHAT = {"model": "m-openai", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {"model": "m-anthropic", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


def post(target: Target, path: str, body: bytes, **headers: str | bytes) -> Answer:
    return request(target.base, "POST", path, body, {"content-type": "application/json", **headers})


def test_a_gzip_content_encoding_over_bytes_that_are_not_gzip_is_a_400(open_gateway: Target) -> None:
    answer = post(open_gateway, "/v1/chat/completions", json.dumps(CHAT).encode(), **{"content-encoding": "gzip"})
    assert answer.status == 400
    assert check_error(answer, "openai")["message"].startswith("The request body is malformed")


def test_a_gzip_content_encoding_over_gzip_still_works(open_gateway: Target) -> None:
    answer = post(open_gateway, "/v1/chat/completions", gzip.compress(json.dumps(CHAT).encode()),
                  **{"content-encoding": "gzip"})
    check(answer, "chat", "/v1/chat/completions", model="m-openai")
    assert answer.status == 200


def test_a_bearer_key_that_is_not_utf8_is_a_401_in_the_routes_dialect(keys_gateway: Target) -> None:
    answer = post(keys_gateway, "/v1/messages", json.dumps(MESSAGE).encode(), authorization=b"Bearer sk-\xff\xfe")
    assert answer.status == 401
    assert "not valid UTF-8" in check_error(answer, "anthropic")["message"]


def test_the_admin_api_refuses_a_master_key_that_is_not_utf8_with_a_401(keys_gateway: Target) -> None:
    answer = request(keys_gateway.base, "GET", "/admin/api/keys", headers={"authorization": b"Bearer \xe9"})
    assert answer.status == 401
    check_error(answer, "openai")


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
def test_an_anthropic_version_that_is_not_utf8_is_a_400_naming_the_header(open_gateway: Target, path: str) -> None:
    answer = post(open_gateway, path, json.dumps(MESSAGE).encode(), **{"anthropic-version": b"2023-\xff"})
    assert answer.status == 400
    assert "anthropic-version" in check_error(answer, "anthropic")["message"]


def test_count_tokens_passes_an_upstream_400_on_as_a_400(open_gateway: Target) -> None:
    # An empty anthropic-version reaches the upstream, which refuses it with a 400.
    answer = post(open_gateway, "/v1/messages/count_tokens", json.dumps(MESSAGE).encode(),
                  **{"anthropic-version": ""})
    assert answer.status == 400
    assert "anthropic-version" in check_error(answer, "anthropic")["message"]


def test_an_anthropic_stream_flag_that_is_not_a_boolean_is_a_400(open_gateway: Target) -> None:
    answer = post(open_gateway, "/v1/messages", json.dumps({**MESSAGE, "stream": -1}).encode())
    assert answer.status == 400
    assert check_error(answer, "anthropic")["message"] == "Invalid type for 'stream': expected a boolean."


# --- upstream answers of the wrong shape ---------------------------------------------------

def _ask(shapes_gateway: Target, scripted: ScriptedUpstream, script: Script, kind: str, client: str,
         stream: bool) -> Answer:
    token = scripted.register(script)
    content = [{"role": "user", "content": f"say {token}"}]
    if client == "openai":
        body: dict[str, Any] = {"model": f"bad-{kind}", "messages": content, "stream": stream}
        return post(shapes_gateway, "/v1/chat/completions", json.dumps(body).encode())
    body = {"model": f"bad-{kind}", "max_tokens": 20, "messages": content, "stream": stream}
    return post(shapes_gateway, "/v1/messages", json.dumps(body).encode())


def _with_usage(kind: str, usage: Any) -> dict[str, Any]:
    answer = whole_answer(kind)
    answer["usageMetadata" if kind == "gemini" else "usage"] = usage
    return answer


@pytest.mark.parametrize("client", ["openai", "anthropic"])
@pytest.mark.parametrize("kind", PROVIDERS)
@pytest.mark.parametrize("usage", ["x", {"prompt_tokens": "3", "input_tokens": "3", "promptTokenCount": "3"},
                                   {"prompt_tokens": -1, "input_tokens": -1, "promptTokenCount": -1},
                                   {"prompt_tokens": 2**40, "input_tokens": 2**40, "promptTokenCount": 2**40}],
                         ids=["string", "count-as-string", "negative", "beyond-the-usage-table"])
def test_an_upstream_usage_that_is_no_usage_is_a_502_in_the_clients_dialect(
        shapes_gateway: Target, scripted: ScriptedUpstream, kind: str, client: str, usage: Any) -> None:
    script = Script(200, "application/json", json.dumps(_with_usage(kind, usage)).encode())
    answer = _ask(shapes_gateway, scripted, script, kind, client, stream=False)
    assert answer.status == 502
    assert "usage" in check_error(answer, client)["message"]


@pytest.mark.parametrize("client", ["openai", "anthropic"])
@pytest.mark.parametrize("kind", PROVIDERS)
def test_an_upstream_stream_whose_usage_is_no_usage_is_a_502_or_ends_in_the_clients_error_event(
        shapes_gateway: Target, scripted: ScriptedUpstream, kind: str, client: str) -> None:
    events = stream_events(kind)
    events[-1]["usageMetadata" if kind == "gemini" else "usage"] = "x"
    if kind == "anthropic":
        events[-2]["usage"] = "x"  # message_delta carries the final counts
    frames = b"".join((b"event: %s\n" % e["type"].encode() if kind == "anthropic" else b"")
                      + b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    answer = _ask(shapes_gateway, scripted, Script(200, "text/event-stream", frames, "chunked"), kind, client, True)
    check(answer, "chat" if client == "openai" else "messages",
          "/v1/chat/completions" if client == "openai" else "/v1/messages", upstream_fault=True)
    if answer.status == 502:  # the bad frame arrived before anything was sent on
        check_error(answer, client)
    else:
        assert "error" in json.loads(sse_frames(answer.body)[-1][1]), answer.body


@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_an_openai_upstream_answering_choices_null_is_a_502(shapes_gateway: Target, scripted: ScriptedUpstream,
                                                            client: str) -> None:
    body = {**whole_answer("openai"), "choices": None}
    answer = _ask(shapes_gateway, scripted, Script(200, "application/json", json.dumps(body).encode()), "openai",
                  client, stream=False)
    assert answer.status == 502
    check_error(answer, client)


@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_an_anthropic_upstream_answering_content_null_is_a_502(shapes_gateway: Target, scripted: ScriptedUpstream,
                                                               client: str) -> None:
    body = {**whole_answer("anthropic"), "content": None}
    answer = _ask(shapes_gateway, scripted, Script(200, "application/json", json.dumps(body).encode()), "anthropic",
                  client, stream=False)
    assert answer.status == 502
    check_error(answer, client)



@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_a_simulated_stream_of_an_upstream_answer_nested_too_deeply_is_a_502(
        shapes_gateway: Target, scripted: ScriptedUpstream, client: str) -> None:
    deep = "[" * 1000 + "]" * 1000  # past the recursion of the whole answer's replay as a stream
    body = json.dumps({**whole_answer("anthropic"), "extra": "DEEP"}).replace('"DEEP"', deep).encode()
    token = scripted.register(Script(200, "application/json", body))
    content = [{"role": "user", "content": f"say {token}"}]
    request_body = {"model": "bad-anthropic-sim", "messages": content, "stream": True, "max_tokens": 20}
    answer = post(shapes_gateway, "/v1/messages" if client == "anthropic" else "/v1/chat/completions",
                  json.dumps(request_body).encode())
    assert answer.status == 502
    check_error(answer, client)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_an_upstream_answer_nested_deeper_than_the_gateway_can_write_is_a_502(
        shapes_gateway: Target, scripted: ScriptedUpstream, stream: bool) -> None:
    deep = "[" * 300 + "]" * 300  # orjson reads 1024 levels but writes only 255
    if stream:
        events = stream_events("openai")
        events[1]["extra"] = "DEEP"
        body = b"".join(b"data: " + json.dumps(e).replace('"DEEP"', deep).encode() + b"\n\n" for e in events)
        script = Script(200, "text/event-stream", body + b"data: [DONE]\n\n", "chunked")
    else:
        script = Script(200, "application/json", json.dumps({**whole_answer("openai"), "extra": "DEEP"})
                        .replace('"DEEP"', deep).encode())
    answer = _ask(shapes_gateway, scripted, script, "openai", "openai", stream)
    if answer.status == 200:  # the stream had started: it ends in its error frame
        assert "error" in json.loads(sse_frames(answer.body)[-1][1]), answer.body
    else:
        assert answer.status == 502
        check_error(answer, "openai")


@pytest.mark.parametrize(("path", "model", "field", "depth"), [
    # 300 levels: read, but more than orjson writes when forwarding the body as it came
    ("/v1/messages/count_tokens", "m-anthropic", "extra", 300), ("/v1/messages", "m-anthropic", "extra", 300),
    ("/v1/chat/completions", "m-openai", "extra", 300),
    # 1000 levels: past what the translations' (and the local estimate's) recursion reaches
    ("/v1/messages/count_tokens", "m-openai", "system", 1000), ("/v1/chat/completions", "m-anthropic", "tools", 1000),
])
def test_a_body_nested_deeper_than_can_be_forwarded_is_a_400(open_gateway: Target, path: str, model: str,
                                                             field: str, depth: int) -> None:
    base = CHAT if path == "/v1/chat/completions" else MESSAGE
    deep = "[" * depth + "]" * depth
    if field == "tools":  # a tool's parameters, which translations copy and rewrite recursively
        deep = '[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": ' \
               + '{"a": ' * depth + "{}" + "}" * depth + "}}}]"
    elif field == "system":
        deep = '[{"type": "text", "text": "x", "citations": ' + deep + "}]"
    body = json.dumps({**base, "model": model, field: "DEEP"}).replace('"DEEP"', deep).encode()
    answer = post(open_gateway, path, body)
    assert answer.status == 400
    check_error(answer, "openai" if path == "/v1/chat/completions" else "anthropic")
