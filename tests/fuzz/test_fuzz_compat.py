"""Hostile bodies on the body-keyed routes of the proxies we replace (`/openai`, `/chatgpt`,
`/embeddings`, the `/openai2` Responses routes), and hostile ids and queries on `/openai2/{id}`, in
open and keys mode: their own fields (`security_key`, `timeout`, `image`, `project`, `organization`,
`openai_api_key`, `prompt`) as often as the API's. Every answer must be a JSON error in OpenAI's
shape with a 4xx, or the route's correct 2xx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion
from openai.types.responses import InputTokenCountResponse, Response, ResponseItemList
from openai.types.responses.response_create_params import ResponseCreateParamsBase

from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import Target
from tests.fuzz.hostile import HOSTILE_SCALARS, encode, mutated
from tests.fuzz.schema import TypedDictStrategies, typed_dict_fields
from tests.fuzz.tally import observe
from tests.fuzz.test_fuzz_generation import CHAT_BODIES, CONTENT_TYPES, OPENAI
from tests.fuzz.test_fuzz_routes import ODD_IDS
from tests.fuzz.verdict import Violation, check, json_body, sse_frames
from tests.fuzz.wire import Answer, request

COMPAT_FIELDS = ("security_key", "timeout", "image", "project", "organization", "openai_api_key", "prompt")
TIMEOUTS = [500, "1500", "soon", -1, 0, "NaN", 10**12, True, None]
IMAGES = [{"url": "https://example.com/a.png"}, {"base64": "iVBORw0KGgoAAAANSUhEUg=="}, {"base64": ""}, {}, "x"]
ROUTES = ("/openai", "/chatgpt", "/embeddings")
RESPONSE_BODIES = TypedDictStrategies().of(ResponseCreateParamsBase)
RESPONSE_FIELDS = tuple(sorted(typed_dict_fields(ResponseCreateParamsBase)))


def _compaction(body: Any) -> None:
    """The SDK's `CompactedResponse` types `output` as output items only; the API's compaction also
    keeps the conversation's user messages there (`input_text` parts), so only its outline is held."""
    assert body["object"] == "response.compaction" and isinstance(body["output"], list), "a compaction"


def _deletion(body: Any) -> None:
    assert isinstance(body, dict) and body.get("deleted") is True, "a deletion"


RESPONSE_POSTS: dict[str, Callable[[Any], Any]] = {  # path -> what a 2xx must pass
    "/openai2": Response.model_validate, "/openai2/input_tokens": InputTokenCountResponse.model_validate,
    "/openai2/compact": _compaction}
RESPONSE_READS: dict[tuple[str, str], Callable[[Any], Any]] = {  # method, path after the id -> the same
    ("GET", ""): Response.model_validate, ("DELETE", ""): _deletion,
    ("GET", "/input_items"): ResponseItemList.model_validate, ("POST", "/cancel"): Response.model_validate}
INPUTS = ["hello", "", [{"role": "user", "content": "hi"}], [{"type": "input_text", "text": "bare part"}],
          [{"role": "user", "content": [{"type": "input_text", "text": "a"},
                                        {"type": "input_image", "image_url": "https://example.com/a.png"}]}], [1]]
READ_QUERY = {"stream": ["true", "false", "1", ""], "starting_after": ["2", "-1", "x", "99999999999999999999"],
              "include[]": ["reasoning.encrypted_content", "message.output_text.logprobs", "nope"],
              "include": ["reasoning.encrypted_content"], "limit": ["1", "100", "0", "101", "x"],
              "order": ["asc", "desc", "up"], "after": ["msg_x", ""]}


def _keys(target: Target) -> list[Any]:
    """The gateway keys its credentials hold, as a body would carry them."""
    return [value.removeprefix("Bearer ") for headers in target.credentials.values() for value in headers.values()]


def _correct(path: str, answer: Answer) -> None:
    """A 2xx is the route's own answer: what the SDK parses for /openai and /embeddings, the
    `chatgpt` library's message (with the whole completion as `detail`) for /chatgpt."""
    if not 200 <= answer.status < 300:
        return
    if answer.content_type != "application/json":
        raise Violation(f"{path} answered {answer.content_type!r}, not JSON")
    body = json_body(answer)
    try:
        if path == "/openai":
            ChatCompletion.model_validate(body)
        elif path == "/embeddings":
            CreateEmbeddingResponse.model_validate(body)
        else:
            assert isinstance(body["text"], str) and body["role"] == "assistant"
            ChatCompletion.model_validate(body["detail"])
    except Exception as exc:
        raise Violation(f"a 2xx that is not a correct {path} answer: {str(exc)[:600]}") from None


@fuzz_settings(300)
@given(data=st.data())
def test_the_body_keyed_routes_answer_every_body_in_openai_shape(targets: dict[str, Target],
                                                                 data: st.DataObject) -> None:
    target = targets[data.draw(st.sampled_from(sorted(targets)), label="gateway")]
    path = data.draw(st.sampled_from(ROUTES), label="route")
    body = data.draw(CHAT_BODIES, label="generated")
    if isinstance(body, dict):
        body["model"] = data.draw(st.sampled_from(target.models), label="model")
        body["prompt"] = data.draw(st.sampled_from(["hello", "", "x" * 300]), label="prompt")
        body["input"] = data.draw(st.sampled_from(["hello", ["a", "b"], [1, 2]]), label="input")
        body["security_key"] = data.draw(st.sampled_from([*_keys(target), "wrong"]) | st.sampled_from(HOSTILE_SCALARS),
                                         label="security_key")
        body["timeout"] = data.draw(st.sampled_from(TIMEOUTS), label="timeout")
        if data.draw(st.booleans(), label="with image"):
            body["image"] = data.draw(st.sampled_from(IMAGES), label="image")
    sent = data.draw(mutated(st.just(body), fields=(*COMPAT_FIELDS, *OPENAI.field_names())), label="sent")
    headers: dict[str, str | bytes] = {}
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content-type")
    if content_type:
        headers["content-type"] = content_type

    def judge(answer: Answer) -> None:
        check(answer, "compat", path)
        _correct(path, answer)

    observe(f"POST {path}", lambda: request(target.base, "POST", path, encode(sent), headers), judge)


def _security_key(data: st.DataObject, target: Target) -> Any:
    return data.draw(st.sampled_from([*_keys(target), "wrong"]) | st.sampled_from(HOSTILE_SCALARS),
                     label="security_key")


def _responses_correct(answer: Answer, correct: Callable[[Any], Any], what: str) -> None:
    """A 2xx of an /openai2 route: a stream framed as those proxies framed it (`data:` lines, then
    `[DONE]` unless it broke), or JSON that CORRECT passes."""
    if not 200 <= answer.status < 300:
        return
    if answer.content_type == "text/event-stream":
        if b"\nevent:" in b"\n" + answer.body:
            raise Violation(f"{what} streamed `event:` lines")
        frames = sse_frames(answer.body)
        if frames[-1][1] != "[DONE]" and '"response.failed"' not in frames[-1][1]:
            raise Violation(f"{what}: a stream that did not fail ended without [DONE]")
        return
    body = json_body(answer)
    try:
        correct(body)
    except Exception as exc:
        raise Violation(f"a 2xx that is not a correct {what} answer: {str(exc)[:600]}") from None


@fuzz_settings(300)
@given(data=st.data())
def test_the_openai2_posts_answer_every_body_in_openai_shape(targets: dict[str, Target], data: st.DataObject) -> None:
    target = targets[data.draw(st.sampled_from(sorted(targets)), label="gateway")]
    path = data.draw(st.sampled_from(sorted(RESPONSE_POSTS)), label="route")
    body = data.draw(RESPONSE_BODIES, label="generated")
    body["model"] = data.draw(st.sampled_from(target.models), label="model")
    body["input"] = data.draw(st.sampled_from(INPUTS), label="input")
    body["security_key"] = _security_key(data, target)
    body["timeout"] = data.draw(st.sampled_from(TIMEOUTS), label="timeout")
    for flag in ("stream", "background"):
        body.pop(flag, None)
        choice = data.draw(st.sampled_from([None, True, False]), label=flag)
        if choice is not None:
            body[flag] = choice
    sent = data.draw(mutated(st.just(body), fields=(*COMPAT_FIELDS, *RESPONSE_FIELDS)), label="sent")
    # A background run's failure is an answer of its own: the response it streams says it failed.
    ran_apart = isinstance(sent, dict) and sent.get("background") is True

    def judge(answer: Answer) -> None:
        check(answer, "responses", path, upstream_fault=ran_apart)
        _responses_correct(answer, RESPONSE_POSTS[path], path)

    observe(f"POST {path}", lambda: request(target.base, "POST", path, encode(sent),
                                            {"content-type": "application/json"}), judge)


def _made(target: Target, model: str, background: bool) -> str | None:
    """The id of a response made through /openai2 by the target's first key, if it made one."""
    keys = _keys(target)
    body = {"model": model, "input": "to be read", "background": background,
            **({"security_key": keys[0]} if keys else {})}
    answer = request(target.base, "POST", "/openai2", encode(body), {"content-type": "application/json"})
    made = json_body(answer) if answer.status == 200 else None
    return made.get("id") if isinstance(made, dict) else None


@fuzz_settings(200)
@given(data=st.data())
def test_the_openai2_reads_answer_every_id_and_query_in_openai_shape(targets: dict[str, Target],
                                                                     data: st.DataObject) -> None:
    target = targets[data.draw(st.sampled_from(sorted(targets)), label="gateway")]
    method, tail = data.draw(st.sampled_from(sorted(RESPONSE_READS)), label="route")
    if data.draw(st.booleans(), label="an id it made"):
        model = data.draw(st.sampled_from(["m-openai", "m-anthropic", "m-gemini"]), label="made by")
        response_id = _made(target, model, data.draw(st.booleans(), label="in the background")) or "resp_none"
    else:
        response_id = data.draw(st.sampled_from(ODD_IDS) | st.text(min_size=1, max_size=20).map(
            lambda text: quote(text, safe="")), label="id")
    fields: dict[str, Any] = {"security_key": _security_key(data, target),
                              "timeout": data.draw(st.sampled_from(TIMEOUTS), label="timeout")}
    for name in data.draw(st.lists(st.sampled_from(sorted(READ_QUERY)), unique=True, max_size=3), label="query"):
        fields[name] = data.draw(st.sampled_from(READ_QUERY[name]), label=name)
    path, body = f"/openai2/{response_id}{tail}", None
    if method == "POST":  # a cancel: the compat fields in its body, mutated
        body = encode(data.draw(mutated(st.just(fields), fields=COMPAT_FIELDS), label="body"))
    else:
        pairs = [(name, value) for name, value in fields.items() if value is not None]
        path += "?" + "&".join(f"{quote(name)}={quote(str(value), safe='')}" for name, value in pairs)
    label = f"{method} /openai2/{{id}}{tail}"

    def judge(answer: Answer) -> None:
        check(answer, "responses", path, upstream_fault=True)  # a background run may fail, and say so
        _responses_correct(answer, RESPONSE_READS[(method, tail)], label)

    observe(label, lambda: request(target.base, method, path, body, {"content-type": "application/json"}), judge)
