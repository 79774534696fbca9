"""The credential scrubber (`llmswitch.redact`): what it removes, and the ordinary text it must keep."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmswitch.config import parse_config
from llmswitch.providers.base import UpstreamError
from llmswitch.redact import REDACTED, SECRETS, Secrets, held_by, scrub_shapes

HELD = "plain-Credential-77"  # no known shape: only the registry knows it is secret


@pytest.fixture
def secrets() -> Secrets:
    registry = Secrets()
    registry.hold("config", [HELD])
    return registry


# --- by value --------------------------------------------------------------------------------------
def test_a_held_credential_goes_whatever_its_shape(secrets: Secrets) -> None:
    assert secrets.scrub(f"key {HELD} was refused") == f"key {REDACTED} was refused"


def test_the_key_an_attempt_sent_goes_though_nobody_registered_it(secrets: Secrets) -> None:
    assert secrets.scrub("you sent client-own-k3y-x", sent_key="client-own-k3y-x") == f"you sent {REDACTED}"


def test_holding_again_replaces_what_the_same_owner_held(secrets: Secrets) -> None:
    secrets.hold("config", ["other-Credential-88"])
    assert secrets.scrub(HELD) == HELD
    assert secrets.scrub("other-Credential-88") == REDACTED


def test_released_credentials_are_no_longer_matched(secrets: Secrets) -> None:
    secrets.release("config")
    assert secrets.scrub(HELD) == HELD


def test_a_longer_credential_containing_a_shorter_one_goes_whole() -> None:
    registry = Secrets()
    registry.hold("a", ["abcdefgh-1", "abcdefgh-1-and-more"])
    assert registry.scrub("x abcdefgh-1-and-more y") == f"x {REDACTED} y"


def test_credentials_too_short_to_protect_do_not_erase_ordinary_words() -> None:
    registry = Secrets()
    registry.hold("config", ["test", "x"])
    assert registry.scrub("this test is fine") == "this test is fine"


def test_json_values_are_scrubbed_and_field_names_kept(secrets: Secrets) -> None:
    body = {"error": {"message": f"bad {HELD}", "details": [{"api_key": HELD}, 3, None]}}
    assert secrets.scrub_value(body) == {"error": {"message": f"bad {REDACTED}",
                                                   "details": [{"api_key": REDACTED}, 3, None]}}


def test_a_config_holds_its_provider_keys_credential_headers_master_key_and_secret() -> None:
    config = parse_config("""
auth: {master_key: master-k3y-0001, secret: server-s3cret-01}
providers:
  p: {type: openai, base_url: "http://x", api_keys: [prov-k3y-000001],
      headers: {Authorization: "Bearer hdr-t0ken-0001", api-key: azure-k3y-0001, x-title: my-app-name}}
""")
    held = held_by(config, b"env-s3cret-0001")
    assert {"master-k3y-0001", "server-s3cret-01", "prov-k3y-000001", "hdr-t0ken-0001", "azure-k3y-0001",
            "env-s3cret-0001"} <= set(held)
    assert "my-app-name" not in held


# --- by shape --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Incorrect API key provided: sk-proj-abcDEF123456ghiJKL789", f"Incorrect API key provided: {REDACTED}"),
    ("Incorrect API key provided: sk-proj-********************abcd", f"Incorrect API key provided: {REDACTED}"),
    ("invalid x-api-key sk-ant-api03-Zx9_yW8-vU7tS6rQ5pO4nM3", f"invalid x-api-key {REDACTED}"),
    ("API key not valid: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", f"API key not valid: {REDACTED}"),
    ("groq gsk_Ab12Cd34Ef56Gh78 refused", f"groq {REDACTED} refused"),
    ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", f"token {REDACTED}"),
    ("Authorization: Bearer my.opaque-t0ken", f"Authorization: Bearer {REDACTED}"),
    ("Incorrect API key provided: Bearer my.opaque-t0ken. See the docs.",
     f"Incorrect API key provided: Bearer {REDACTED}. See the docs."),
    ("got Basic dXNlcjpwYXNzd29yZA==", f"got Basic {REDACTED}"),
    ("GET /v1/models/m:generateContent?alt=sse&key=short&x=1",
     f"GET /v1/models/m:generateContent?alt=sse&key={REDACTED}&x=1"),
    ("https://h/p?api_key=abc", f"https://h/p?api_key={REDACTED}"),
    ('{"api_key": "opaque-v4lue"}', f'{{"api_key": "{REDACTED}"}}'),
    ("x-goog-api-key: opaque-v4lue", f"x-goog-api-key: {REDACTED}"),
    ("session Q2xhdWRlSXNHcmVhdEF0V3JpdGluZ1Rlc3RzMTIz ended", f"session {REDACTED} ended"),
    ("trace 4bf92f3577b34da6a3ce929d0e0e4736 failed", f"trace {REDACTED} failed"),
])
def test_key_shaped_text_goes(text: str, expected: str) -> None:
    assert scrub_shapes(text) == expected


@pytest.mark.parametrize("text", [
    "This model's maximum context length is 128000 tokens. However, you requested 130000 tokens.",
    "Bearer authentication is required; send an API key: missing",
    "The model `claude-3-5-sonnet-20241022` does not exist or you do not have access to it.",
    "models/gemini-1.5-pro-002 is not found for API version v1beta, or is not supported for generateContent",
    "context_length_exceeded_for_the_requested_model_family",
    "POST https://api.openai.com/v1/chat/completions?beta=true&alt=sse",
    "request req_011CSHoEeqs5C35K2UUqR7Fy failed: overloaded_error",
    "Please try again in 6m0s. Visit https://platform.openai.com/account/rate-limits to learn more.",
    "messages.0.content.1.image.source.base64.data: invalid base64 data",
    "the secret: is out",
])
def test_ordinary_error_text_is_kept_as_it_is(text: str) -> None:
    assert scrub_shapes(text) == text


WORDS = st.sampled_from(["the", "model", "request", "tokens", "limit", "of", "4096", "is", "gpt-4o-mini", "invalid",
                         "context", "window", "exceeded", "per", "minute", "retry", "after", "20s", "max_tokens", ":",
                         "API", "key", "provided", "authentication", "v1/chat/completions", "bad", "(400)"])


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, max_size=30))
def test_sentences_of_ordinary_words_survive(words: list[str]) -> None:
    text = " ".join(words)
    assert scrub_shapes(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_a_held_credential_never_survives_whatever_surrounds_it(before: str, after: str) -> None:
    registry = Secrets()
    registry.hold("config", [HELD])
    assert HELD not in registry.scrub(before + HELD + after)


# --- where upstream errors are made ------------------------------------------------------------
def test_an_upstream_error_is_clean_in_its_message_its_str_and_its_body() -> None:
    SECRETS.hold(test_an_upstream_error_is_clean_in_its_message_its_str_and_its_body, [HELD])
    try:
        error = UpstreamError("http", f"Incorrect API key provided: {HELD}", status=401,
                              body={"error": {"message": f"key {HELD}", "key": "passthrough-k3y-1"}},
                              error_type=HELD, sent_key="passthrough-k3y-1")
    finally:
        SECRETS.release(test_an_upstream_error_is_clean_in_its_message_its_str_and_its_body)
    text = f"{error.message} {error} {error.body} {error.error_type} {error.args}"
    assert HELD not in text and "passthrough-k3y-1" not in text
    assert error.message == f"Incorrect API key provided: {REDACTED}"


def test_an_error_raised_without_the_key_is_scrubbed_of_it_once_the_key_is_known() -> None:
    error = UpstreamError("http", "stream failed for passthrough-k3y-1", status=500)
    assert error.scrubbed("passthrough-k3y-1").message == f"stream failed for {REDACTED}"
