"""Text answers across the matrix: each SDK client against each provider type, streaming and not."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.e2e.matrix_fixtures import (
    ANTHROPIC_MAX_TOKENS_DEFAULT,
    FINISH,
    Matrix,
    marker,
    matrix_cases,
    model,
    running_matrix,
    streaming,
    system_prompt_sent,
    user_text,
)
from tests.support.fake import fake_directive, received


UPSTREAM_PATHS = {
    ("openai", False): "/v1/chat/completions", ("openai", True): "/v1/chat/completions",
    ("anthropic", False): "/v1/messages", ("anthropic", True): "/v1/messages",
    ("gemini", False): "/v1beta/models/up-gemini:generateContent",
    ("gemini", True): "/v1beta/models/up-gemini:streamGenerateContent",
}


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


@matrix_cases
@streaming
def test_plain_text_comes_back_from_every_provider(matrix: Matrix, client: str, provider: str,
                                                   stream: bool) -> None:
    tag = marker()
    answer = matrix.ask(client, model(provider), stream, messages=user_text(f"hello {tag}"))
    assert answer.text == f"You said: hello {tag}"
    assert answer.finish == FINISH[client]["stop"]


@matrix_cases
@streaming
def test_request_reaches_the_provider_endpoint_of_its_type(matrix: Matrix, client: str, provider: str,
                                                           stream: bool) -> None:
    tag = marker()
    matrix.ask(client, model(provider), stream, messages=user_text(tag))
    assert matrix.sent(tag)["path"] == UPSTREAM_PATHS[provider, stream]


@matrix_cases
@streaming
def test_system_prompt_is_lifted_into_the_upstream_dialect(matrix: Matrix, client: str, provider: str,
                                                           stream: bool) -> None:
    tag = marker()
    system = f"Answer like a pirate. {tag}"
    if client == "openai":
        matrix.ask(client, model(provider), stream,
                   messages=[{"role": "system", "content": system}, *user_text("ahoy")])
    else:
        matrix.ask(client, model(provider), stream, system=system, messages=user_text("ahoy"))
    assert system_prompt_sent(provider, matrix.sent(tag)["body"]) == system


@matrix_cases
@streaming
def test_max_tokens_stop_is_reported_in_the_client_dialect(matrix: Matrix, client: str, provider: str,
                                                           stream: bool) -> None:
    answer = matrix.ask(client, model(provider), stream,
                        messages=user_text(f"long story {fake_directive(text='Once upon', finish='length')}"))
    assert answer.text == "Once upon"
    assert answer.finish == FINISH[client]["length"]


@matrix_cases
@streaming
def test_usage_counts_prompt_completion_and_cached_tokens(matrix: Matrix, client: str, provider: str,
                                                          stream: bool) -> None:
    directive = fake_directive(usage={"prompt": 40, "completion": 12, "cached": 8})
    answer = matrix.ask(client, model(provider), stream, messages=user_text(f"count {directive}"))
    assert (answer.input_tokens, answer.output_tokens, answer.cached_tokens) == (40, 12, 8)


@matrix_cases
def test_stop_sequences_reach_the_upstream_in_its_dialect(matrix: Matrix, client: str, provider: str) -> None:
    tag = marker()
    stop = {"stop": ["END", "FIN"]} if client == "openai" else {"stop_sequences": ["END", "FIN"]}
    matrix.ask(client, model(provider), False, messages=user_text(tag), **stop)
    body = matrix.sent(tag)["body"]
    sent = {"openai": lambda: body["stop"], "anthropic": lambda: body["stop_sequences"],
            "gemini": lambda: body["generationConfig"]["stopSequences"]}[provider]()
    assert sent == ["END", "FIN"]


def test_anthropic_upstream_gets_the_deployment_max_tokens_default(matrix: Matrix) -> None:
    tag = marker()
    matrix.ask("openai", model("anthropic"), False, messages=user_text(tag))
    assert matrix.sent(tag)["body"]["max_tokens"] == ANTHROPIC_MAX_TOKENS_DEFAULT


def test_client_anthropic_beta_header_reaches_an_anthropic_upstream(matrix: Matrix) -> None:
    tag = marker()
    matrix.ask("anthropic", model("anthropic"), False, messages=user_text(tag),
               extra_headers={"anthropic-beta": "tools-2099-01-01"})
    headers = matrix.sent(tag)["headers"]
    assert headers["anthropic-beta"] == "tools-2099-01-01"
    assert headers["x-api-key"] == "upstream-anthropic-key"


def test_client_anthropic_beta_header_stays_away_from_an_openai_upstream(matrix: Matrix) -> None:
    tag = marker()
    matrix.ask("anthropic", model("openai"), False, messages=user_text(tag),
               extra_headers={"anthropic-beta": "tools-2099-01-01"})
    assert "anthropic-beta" not in matrix.sent(tag)["headers"]


def test_count_tokens_is_forwarded_to_an_anthropic_upstream(matrix: Matrix) -> None:
    tag = marker()
    text = f"count these words please {tag}"
    counted = matrix.anthropic.messages.count_tokens(model=model("anthropic"), messages=user_text(text))
    sent = matrix.sent(tag)
    assert sent["path"] == "/v1/messages/count_tokens"
    assert sent["body"]["model"] == "up-anthropic"
    assert counted.input_tokens == len(text) // 4  # the fake's own count: characters / 4


def test_count_tokens_is_estimated_locally_for_an_openai_upstream(matrix: Matrix) -> None:
    tag = marker()
    counted = matrix.anthropic.messages.count_tokens(model=model("openai"),
                                                     messages=user_text(f"estimate me {tag} " * 20))
    assert counted.input_tokens > 0
    assert received(matrix.fake_url, tag) == []


def test_messages_surface_also_answers_under_api_v1(matrix: Matrix) -> None:
    client = anthropic.Anthropic(base_url=f"{matrix.gateway_url}/api", api_key="client-key", max_retries=0)
    message = client.messages.create(model=model("gemini"), max_tokens=64, messages=user_text("prefixed"))
    assert message.content[0].type == "text" and message.content[0].text == "You said: prefixed"


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_beta_query_of_coding_agents_is_accepted_for_every_provider(matrix: Matrix, provider: str) -> None:
    tag = marker()
    message = matrix.anthropic.beta.messages.create(model=model(provider), max_tokens=64, messages=user_text(tag),
                                                    betas=["interleaved-thinking-2025-05-14"],
                                                    extra_query={"beta": "true"})  # as Claude Code sends it
    assert message.stop_reason == "end_turn"
    assert matrix.sent(tag)["query"] == ({"beta": "true"} if provider == "anthropic" else {})


def test_anthropic_to_anthropic_is_byte_for_byte_but_for_the_model(matrix: Matrix) -> None:
    tag = marker()
    body = {
        "max_tokens": 2048,
        "system": [{"type": "text", "text": "cached preamble", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": f"hello {tag}", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "metadata": {"user_id": '{"session": "abc"}'},
    }
    matrix.anthropic.messages.create(model=model("anthropic"), **body,  # type: ignore[arg-type]
                                     extra_body={"vendor_field": {"keep": [1, 2]}})
    assert matrix.sent(tag)["body"] == {"model": "up-anthropic", **body, "vendor_field": {"keep": [1, 2]}}


@pytest.mark.parametrize(("provider", "sent_temperature"), [("anthropic", 1.0), ("gemini", 1.7)])
def test_openai_temperature_is_clamped_only_where_the_range_is_narrower(matrix: Matrix, provider: str,
                                                                       sent_temperature: float) -> None:
    tag = marker()
    matrix.ask("openai", model(provider), False, messages=user_text(tag), temperature=1.7)
    body = matrix.sent(tag)["body"]
    sent = body["temperature"] if provider == "anthropic" else body["generationConfig"]["temperature"]
    assert sent == sent_temperature
