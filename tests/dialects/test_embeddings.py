"""Embeddings in the hub form and to Gemini: what reaches each upstream and what comes back."""

from __future__ import annotations

import array
import base64
import math

import pytest

from llmswitch.dialects.embeddings import estimate_input_tokens, pack
from llmswitch.dialects.translate import translate_request, translate_response
from llmswitch.dialects.types import RequestOptions, ResponseContext
from llmswitch.errors import GatewayError

OPTIONS = RequestOptions("up-embed", False)


def floats(encoded: str) -> list[float]:
    return array.array("f", base64.b64decode(encoded)).tolist()


def embed_request(src: str, dst: str, body: dict) -> tuple[dict, list[str]]:
    translated = translate_request(src, dst, body, OPTIONS, operation="embeddings")
    return translated.body, translated.dropped


def embed_response(src: str, body: dict, request: dict) -> tuple[dict, object]:
    return translate_response(src, "openai", body, ResponseContext("client-embed", request=request),
                              operation="embeddings")


def test_the_openai_pass_through_rewrites_the_model_only() -> None:
    body = {"model": "e", "input": [[1, 2], [3]], "dimensions": 8, "encoding_format": "base64", "user": "u",
            "extra": True}
    sent, dropped = embed_request("openai", "openai", body)
    assert sent == {**body, "model": "up-embed"} and dropped == []


def test_geminis_task_type_is_left_out_towards_openai_and_listed() -> None:
    sent, dropped = embed_request("openai", "openai", {"model": "e", "input": "x", "task_type": "RETRIEVAL_QUERY"})
    assert "task_type" not in sent and dropped == ["task_type"]


def test_floats_are_packed_as_little_endian_float32_when_the_client_asked_for_base64() -> None:
    answer = {"object": "list", "model": "up-embed", "usage": {"prompt_tokens": 3, "total_tokens": 3},
              "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.25, 1.0]}]}
    body, usage = embed_response("openai", answer, {"encoding_format": "base64"})
    assert floats(body["data"][0]["embedding"]) == [0.5, -0.25, 1.0]
    assert body["model"] == "client-embed" and usage.prompt_tokens == 3  # type: ignore[attr-defined]


def test_a_base64_answer_and_a_float_request_pass_unchanged() -> None:
    encoded = pack([0.5])
    body, _ = embed_response("openai", {"data": [{"embedding": encoded}]}, {"encoding_format": "base64"})
    assert body["data"][0]["embedding"] == encoded
    body, _ = embed_response("openai", {"data": [{"embedding": [0.5]}]}, {})
    assert body["data"][0]["embedding"] == [0.5]


def test_one_string_becomes_one_gemini_embed_content_request_with_its_settings() -> None:
    sent, dropped = embed_request("openai", "gemini", {"model": "e", "input": "hello", "dimensions": 4,
                                                       "task_type": "RETRIEVAL_DOCUMENT", "user": "u"})
    assert sent == {"model": "models/up-embed", "content": {"parts": [{"text": "hello"}]},
                    "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 4}
    assert dropped == ["user"]


def test_several_strings_become_a_batch() -> None:
    sent, _ = embed_request("openai", "gemini", {"model": "e", "input": ["a", "b"], "taskType": "CLUSTERING"})
    assert sent == {"requests": [
        {"model": "models/up-embed", "content": {"parts": [{"text": "a"}]}, "taskType": "CLUSTERING"},
        {"model": "models/up-embed", "content": {"parts": [{"text": "b"}]}, "taskType": "CLUSTERING"}]}


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_token_arrays_cannot_reach_gemini_and_the_400_names_input(tokens: list) -> None:
    with pytest.raises(GatewayError) as refused:
        embed_request("openai", "gemini", {"model": "e", "input": tokens})
    assert (refused.value.status, refused.value.param) == (400, "input")


def test_gemini_vectors_come_back_in_order_as_openai_embeddings_with_an_estimated_usage() -> None:
    request = {"model": "e", "input": ["abcdefgh", "ijkl"]}
    body, usage = embed_response("gemini", {"embeddings": [{"values": [1.0, 0.0]}, {"values": [0.0, 1.0]}]},
                                 request)
    assert body == {"object": "list", "model": "client-embed", "usage": {"prompt_tokens": 3, "total_tokens": 3},
                    "data": [{"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
                             {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]}]}
    assert usage is None  # the upstream counted nothing: the meter bills the same estimate
    assert estimate_input_tokens(request) == 3


def test_a_shortened_gemini_vector_is_scaled_back_to_unit_length_as_openais_are() -> None:
    body, _ = embed_response("gemini", {"embedding": {"values": [3.0, 4.0]}},
                             {"input": "x", "dimensions": 2, "encoding_format": "base64"})
    values = floats(body["data"][0]["embedding"])
    assert values == pytest.approx([0.6, 0.8]) and math.isclose(sum(v * v for v in values), 1.0, rel_tol=1e-6)
