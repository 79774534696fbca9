"""The compat routes' own rules, as pure functions: the lenient timeout, the `image` field, the
`/chatgpt` answer."""

from __future__ import annotations

from typing import Any

import pytest

from llmswitch.config import ServerConfig
from llmswitch.errors import GatewayError
from llmswitch.surfaces.compat.chat import attach_image, chatgpt_answer, image_part
from llmswitch.surfaces.compat.keyed import timeout_rule, without_compat

SERVER = ServerConfig(timeout_s=600.0, max_timeout_s=900.0)
LOW_CAP = ServerConfig(timeout_s=600.0, max_timeout_s=300.0)


@pytest.mark.parametrize(("raw", "server", "expected"), [
    (None, SERVER, (600.0, "missing")),
    (30_000, SERVER, (30.0, "asked")),
    (1.5, SERVER, (0.0015, "asked")),
    ("45000", SERVER, (45.0, "asked")),
    (" 2.5e3 ", SERVER, (2.5, "asked")),
    ("abc", SERVER, (600.0, "invalid")),
    ("", SERVER, (600.0, "invalid")),
    ("1_000", SERVER, (600.0, "invalid")),  # Python's float() takes it; no JSON or JS number is written so
    ("NaN", SERVER, (600.0, "invalid")),
    ("Infinity", SERVER, (600.0, "invalid")),
    ("1e999", SERVER, (600.0, "invalid")),
    (float("nan"), SERVER, (600.0, "invalid")),
    (float("inf"), SERVER, (600.0, "invalid")),
    (0, SERVER, (600.0, "invalid")),
    (-5, SERVER, (600.0, "invalid")),
    ("-5", SERVER, (600.0, "invalid")),
    (True, SERVER, (600.0, "invalid")),
    ([1000], SERVER, (600.0, "invalid")),
    ({"ms": 1}, SERVER, (600.0, "invalid")),
    (900_000, SERVER, (900.0, "asked")),
    (900_001, SERVER, (900.0, "clamped")),
    ("1e12", SERVER, (900.0, "clamped")),
    (10_000_000, LOW_CAP, (600.0, "clamped")),  # a cap below the default: the default is the cap
    (400_000, LOW_CAP, (400.0, "asked")),
    (None, LOW_CAP, (600.0, "missing")),
])
def test_the_compat_timeout_rules(raw: Any, server: ServerConfig, expected: tuple[float, str]) -> None:
    seconds, rule = timeout_rule(raw, server)
    assert (seconds, rule) == (pytest.approx(expected[0]), expected[1])


def test_an_image_url_becomes_an_image_part() -> None:
    assert image_part({"url": "https://example.com/a.png"}) == {"type": "image_url",
                                                                 "image_url": {"url": "https://example.com/a.png"}}


@pytest.mark.parametrize(("data", "media"), [("iVBORw0KGgoAAAANS", "image/png"), ("/9j/4AAQSkZJRg", "image/jpeg"),
                                             ("R0lGODlhAQABAIAAAP", "image/gif"), ("UklGRiQAAABXRUJQ", "image/webp"),
                                             ("AAAAIGZ0eXBhdmlm", "image/png")])
def test_bare_base64_becomes_a_data_url_of_its_own_type(data: str, media: str) -> None:
    assert image_part({"base64": data})["image_url"]["url"] == f"data:{media};base64,{data}"


def test_a_base64_data_url_is_kept_as_sent() -> None:
    url = "data:image/jpeg;base64,/9j/4AAQ"
    assert image_part({"base64": url})["image_url"]["url"] == url


@pytest.mark.parametrize("image", [{}, {"url": ""}, {"url": 5}, {"base64": None}, "https://x/a.png", [], None])
def test_an_image_without_url_or_base64_is_a_400_naming_image(image: Any) -> None:
    with pytest.raises(GatewayError) as refused:
        image_part(image)
    assert refused.value.status == 400 and refused.value.param == "image"


PART = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}


@pytest.mark.parametrize(("last", "expected"), [
    ({"role": "user", "content": "what is this?"},
     [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, PART]}]),
    ({"role": "user", "content": [{"type": "text", "text": "and this?"}]},
     [{"role": "user", "content": [{"type": "text", "text": "and this?"}, PART]}]),
    ({"role": "user"}, [{"role": "user", "content": [PART]}]),
    ({"role": "assistant", "content": "hello"},
     [{"role": "assistant", "content": "hello"}, {"role": "user", "content": [PART]}]),
])
def test_the_image_joins_the_last_user_message_or_comes_after_in_its_own(last: dict[str, Any],
                                                                         expected: list[dict[str, Any]]) -> None:
    messages = [{"role": "system", "content": "be brief"}, last]
    attach_image(messages, PART)
    assert messages == [{"role": "system", "content": "be brief"}, *expected]


def test_the_chatgpt_answer_is_the_reply_text_model_and_usage_beside_the_whole_answer() -> None:
    completion = {"id": "chatcmpl-1", "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi there"}}]}
    assert chatgpt_answer(completion) == {"id": "chatcmpl-1", "role": "assistant", "text": "hi there", "model": "m",
                                          "usage": {"prompt_tokens": 3, "completion_tokens": 2}, "detail": completion}


def test_a_chatgpt_answer_without_text_has_empty_text() -> None:
    completion = {"id": "c", "model": "m", "choices": [{"message": {"role": "assistant", "content": None,
                                                                    "tool_calls": []}}]}
    assert chatgpt_answer(completion)["text"] == ""


@pytest.mark.parametrize(("query", "forwarded"), [
    ("", ""),
    ("security_key=k&include[]=a&timeout=5", "include[]=a"),
    ("include%5B%5D=a&%73ecurity_key=k&project=p&organization=o&openai_api_key=x&limit=2", "include%5B%5D=a&limit=2"),
    ("stream=true&starting_after=3", "stream=true&starting_after=3"),
    ("Security_Key=k&a=1", "a=1"),  # not read as the key, but never sent on either
])
def test_a_forwarded_query_keeps_everything_but_the_compat_fields_as_sent(query: str, forwarded: str) -> None:
    assert without_compat(query) == forwarded
