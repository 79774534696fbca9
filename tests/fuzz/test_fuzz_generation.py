"""Hostile bodies on the generation routes, towards every provider kind, in open and keys mode.

Bodies start from the APIs' own descriptions (the OpenAI OpenAPI schema, the anthropic SDK's
TypedDicts), get a model the gateway serves (or not), then up to three hostile mutations. Every
answer must be a JSON error in the route's dialect with a 4xx, or a correct 2xx.
"""

from __future__ import annotations

from typing import Any

from anthropic.types.message_count_tokens_params import MessageCountTokensParams
from anthropic.types.message_create_params import MessageCreateParamsBase
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from tests.fuzz.budget import fuzz_settings
from tests.fuzz.gateways import Target
from tests.fuzz.hostile import encode, mutated
from tests.fuzz.schema import OpenAPIStrategies, TypedDictStrategies, typed_dict_fields
from tests.fuzz.tally import observe
from tests.fuzz.verdict import check
from tests.fuzz.wire import request

PREFIXES = ("/v1", "/api/v1")
OPENAI = OpenAPIStrategies.vendored("openai_chat_request")
ANTHROPIC = TypedDictStrategies()
CHAT_BODIES = OPENAI.named(OPENAI.root)
MESSAGE_BODIES = ANTHROPIC.of(MessageCreateParamsBase)
COUNT_BODIES = ANTHROPIC.of(MessageCountTokensParams)
FIELDS = {"chat": tuple(OPENAI.field_names()),
          "messages": tuple(sorted(typed_dict_fields(MessageCreateParamsBase))),
          "count_tokens": tuple(sorted(typed_dict_fields(MessageCountTokensParams)))}
CONTENT_TYPES = ["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", None,
                                             "application/x-www-form-urlencoded", "APPLICATION/JSON"]


def _body(data: st.DataObject, bodies: SearchStrategy[Any], target: Target, streams: bool,
          fields: tuple[str, ...]) -> Any:
    """A generated body with a model this gateway knows (most of the time), then mutated."""
    body = data.draw(bodies, label="generated")
    if isinstance(body, dict):
        if data.draw(st.integers(0, 9)) < 8:
            body["model"] = data.draw(st.sampled_from(target.models), label="model")
        if streams:
            choice = data.draw(st.sampled_from(["absent", "true", "false"]), label="stream")
            body.pop("stream", None)
            if choice != "absent":
                body["stream"] = choice == "true"
    return data.draw(mutated(st.just(body), fields=fields), label="sent")


def send(targets: dict[str, Target], data: st.DataObject, route: str, path: str,
         bodies: SearchStrategy[Any], streams: bool) -> None:
    target = targets[data.draw(st.sampled_from(sorted(targets)), label="gateway")]
    full_path = data.draw(st.sampled_from(PREFIXES), label="prefix") + path
    body = _body(data, bodies, target, streams, FIELDS[route])
    headers: dict[str, str | bytes] = dict(target.credentials[data.draw(st.sampled_from(sorted(target.credentials)),
                                                                        label="credential")])
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content-type")
    if content_type:
        headers["content-type"] = content_type
    if route != "chat" and data.draw(st.booleans(), label="anthropic-version"):
        headers["anthropic-version"] = "2023-06-01"
    model = body.get("model") if isinstance(body, dict) and isinstance(body.get("model"), str) else None
    observe(f"POST {full_path}", lambda: request(target.base, "POST", full_path, encode(body), headers),
            lambda answer: check(answer, route, full_path, model=model))


@fuzz_settings(500)
@given(data=st.data())
def test_chat_completions_answers_every_body_in_its_dialect(targets: dict[str, Target], data: st.DataObject) -> None:
    send(targets, data, "chat", "/chat/completions", CHAT_BODIES, streams=True)


@fuzz_settings(500)
@given(data=st.data())
def test_messages_answers_every_body_in_its_dialect(targets: dict[str, Target], data: st.DataObject) -> None:
    send(targets, data, "messages", "/messages", MESSAGE_BODIES, streams=True)


@fuzz_settings(200)
@given(data=st.data())
def test_count_tokens_answers_every_body_in_its_dialect(targets: dict[str, Target], data: st.DataObject) -> None:
    send(targets, data, "count_tokens", "/messages/count_tokens", COUNT_BODIES, streams=False)
