"""Upstream errors across the matrix, in each client's own error shape, and unsupported parameters.

A 429, 401 or 5xx cools down or disables the target that saw it, so every error case gets its
own model: `e<status>-<client>-<provider>-<whole|stream>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from tests.e2e.matrix_fixtures import (
    Matrix,
    PAIRS,
    PROVIDERS,
    deployment,
    marker,
    matrix_cases,
    model,
    running_matrix,
    streaming,
    user_text,
)
from tests.support.fake import fake_directive

MODES = ("whole", "stream")


def error_model(status: int | str, client: str, provider: str, stream: bool) -> str:
    return f"e{status}-{client}-{provider}-{MODES[stream]}"


ERROR_MODELS = {
    error_model(status, client, provider, stream): deployment(provider, f"up-{provider}")
    for status in (429, 400, "mid") for client, provider in PAIRS for stream in (False, True)
} | {
    error_model(529, client, "anthropic", stream): deployment("anthropic", "up-anthropic")
    for client in ("openai", "anthropic") for stream in (False, True)
} | {
    f"m-{provider}-lenient": deployment(provider, f"up-{provider}", drop_unsupported=True) for provider in PROVIDERS
}

# The exception each SDK raises for an upstream status, and the Anthropic error type it carries.
RAISED = {
    "openai": {429: openai.RateLimitError, 400: openai.BadRequestError, 529: openai.InternalServerError},
    "anthropic": {429: anthropic.RateLimitError, 400: anthropic.BadRequestError, 529: anthropic.OverloadedError},
}
ANTHROPIC_TYPE = {429: "rate_limit_error", 400: "invalid_request_error", 529: "overloaded_error"}


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix(ERROR_MODELS) as running:
        yield running


def fail_with(matrix: Matrix, client: str, provider: str, stream: bool, status: int) -> Any:
    """Ask a model whose upstream answers STATUS; returns the SDK exception, checked for its class."""
    message = f"upstream says no {marker()}"
    directive = fake_directive(status=status, message=message)
    with pytest.raises(RAISED[client][status]) as raised:
        matrix.ask(client, error_model(status, client, provider, stream), stream,
                   messages=user_text(f"hi {directive}"))
    assert raised.value.status_code == status
    return raised.value


def assert_client_shape(client: str, error: Any, status: int) -> None:
    """Each SDK parsed the body as its own error shape: OpenAI `{"error": {...}}`, Anthropic `{"type": "error"}`."""
    if client == "openai":
        assert set(error.body) >= {"message", "type", "param", "code"}  # the SDK unwraps `error`
    else:
        assert error.body["type"] == "error"
        assert error.body["error"]["type"] == ANTHROPIC_TYPE[status]


@matrix_cases
@streaming
def test_upstream_429_is_a_rate_limit_error_for_the_client(matrix: Matrix, client: str, provider: str,
                                                           stream: bool) -> None:
    error = fail_with(matrix, client, provider, stream, 429)
    assert_client_shape(client, error, 429)


@matrix_cases
@streaming
def test_upstream_400_is_a_bad_request_error_for_the_client(matrix: Matrix, client: str, provider: str,
                                                            stream: bool) -> None:
    error = fail_with(matrix, client, provider, stream, 400)
    assert_client_shape(client, error, 400)
    assert "upstream says no" in error.message


@pytest.mark.parametrize("client", ["openai", "anthropic"])
@streaming
def test_anthropic_529_overloaded_reaches_the_client_as_529(matrix: Matrix, client: str, stream: bool) -> None:
    error = fail_with(matrix, client, "anthropic", stream, 529)
    if client == "anthropic":
        assert_client_shape(client, error, 529)


@matrix_cases
def test_upstream_failure_after_content_ends_the_stream_with_an_error_event(matrix: Matrix, client: str,
                                                                            provider: str) -> None:
    directive = fake_directive(text="one two three four five six", chunks=6, error_after=4, status=500,
                               message="upstream fell over")
    raised = openai.APIError if client == "openai" else anthropic.APIError
    with pytest.raises(raised, match="upstream fell over"):
        matrix.ask(client, error_model("mid", client, provider, True), True,
                   messages=user_text(f"story {directive}"))


# --- what a provider cannot express ----------------------------------------------------------

@pytest.mark.parametrize(("provider", "params", "param"), [
    ("anthropic", {"n": 2}, "n"),
    ("anthropic", {"logprobs": True}, "logprobs"),
    ("anthropic", {"logit_bias": {"1": 5}}, "logit_bias"),
    ("gemini", {"logprobs": True}, "logprobs"),
])
def test_parameter_the_provider_cannot_express_is_a_400_naming_it(matrix: Matrix, provider: str,
                                                                  params: dict[str, Any], param: str) -> None:
    tag = marker()
    with pytest.raises(openai.BadRequestError) as raised:
        matrix.openai.chat.completions.create(model=model(provider), messages=user_text(tag), **params)
    assert raised.value.param == param
    assert param in raised.value.message


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_lenient_deployment_drops_the_parameter_and_names_it_in_a_header(matrix: Matrix, provider: str) -> None:
    tag = marker()
    raw = matrix.openai.chat.completions.with_raw_response.create(
        model=f"m-{provider}-lenient", messages=user_text(tag), logprobs=True)
    assert raw.headers["x-llmswitch-dropped-params"] == "logprobs"
    assert raw.parse().choices[0].message.content == f"You said: {tag}"
    assert "logprobs" not in matrix.sent(tag)["body"]


def test_lenient_stream_names_dropped_parameters_in_its_headers(matrix: Matrix) -> None:
    tag = marker()
    raw = matrix.openai.chat.completions.with_raw_response.create(
        model="m-anthropic-lenient", messages=user_text(tag), logprobs=True, seed=3, stream=True)
    assert raw.headers["x-llmswitch-dropped-params"] == "logprobs,seed"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    assert text == f"You said: {tag}"


def test_passed_through_request_has_no_dropped_params_header(matrix: Matrix) -> None:
    raw = matrix.openai.chat.completions.with_raw_response.create(
        model=model("openai"), messages=user_text(marker()), logprobs=True, seed=3)
    assert "x-llmswitch-dropped-params" not in raw.headers


def test_anthropic_top_k_towards_openai_is_dropped_and_named(matrix: Matrix) -> None:
    tag = marker()
    raw = matrix.anthropic.messages.with_raw_response.create(
        model=model("openai"), max_tokens=64, messages=user_text(tag), extra_body={"top_k": 5})
    assert raw.headers["x-llmswitch-dropped-params"] == "top_k"
    assert "top_k" not in matrix.sent(tag)["body"]
