"""Hostile bodies on the body-keyed routes of the proxies we replace (`/openai`, `/chatgpt`,
`/embeddings`), in open and keys mode: their own fields (`security_key`, `timeout`, `image`,
`project`, `organization`, `openai_api_key`, `prompt`) as often as the API's. Every answer must be a
JSON error in OpenAI's shape with a 4xx, or the route's correct 2xx.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai.types import CreateEmbeddingResponse
from openai.types.chat import ChatCompletion

from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import Target
from tests.fuzz.hostile import HOSTILE_SCALARS, encode, mutated
from tests.fuzz.tally import observe
from tests.fuzz.test_fuzz_generation import CHAT_BODIES, CONTENT_TYPES, OPENAI
from tests.fuzz.verdict import Violation, check, json_body
from tests.fuzz.wire import Answer, request

COMPAT_FIELDS = ("security_key", "timeout", "image", "project", "organization", "openai_api_key", "prompt")
TIMEOUTS = [500, "1500", "soon", -1, 0, "NaN", 10**12, True, None]
IMAGES = [{"url": "https://example.com/a.png"}, {"base64": "iVBORw0KGgoAAAANSUhEUg=="}, {"base64": ""}, {}, "x"]
ROUTES = ("/openai", "/chatgpt", "/embeddings")


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
