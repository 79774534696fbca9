"""`POST /v1/embeddings` through the gateway with the official openai SDK, to OpenAI, an
OpenAI-compatible server without token arrays and Gemini, all three the fake upstream (real
processes; keys mode on SQLite). The fake derives each vector from its text alone, so the expected
numbers are computed here with its own `vector()`.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from llmswitch.fake_upstream import start_process
from llmswitch.fake_upstream.embeddings import DEFAULT_DIMENSIONS, vector
from tests.support.fake import fake_directive, received
from tests.support.keys import OpenAIClients as Client
from tests.support.keys import admin_key, openai_clients
from tests.support.processes import Process, free_port, start_fake_upstream, start_gateway

MASTER = "master-embed-0001"
MODELS = {"openai": "embed", "gemini": "embed-gemini", "compat": "embed-compat"}


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[Process, Any]]:
    """The fake serving OpenAI and Gemini, and one that takes no token arrays, as most servers do."""
    with start_fake_upstream(name="embedder") as fake, start_process(token_arrays=False) as compat:
        yield fake, compat


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings") / "gw.db"


@pytest.fixture(scope="module")
def gateway(fakes: tuple[Process, Any], database: Path) -> Iterator[Process]:
    fake, compat = fakes
    config = {
        "auth": {"master_key": MASTER, "secret": "embed-secret-0002"}, "database_url": f"sqlite:///{database}",
        "providers": {
            "openai": {"type": "openai", "base_url": f"{fake.url}/v1", "api_keys": ["openai-embed-0003"]},
            "compat": {"type": "openai", "base_url": f"{compat.url}/v1", "api_keys": ["compat-embed-0004"]},
            "gemini": {"type": "gemini", "base_url": f"{fake.url}/v1beta", "api_keys": ["gemini-embed-0005"]},
            "down": {"type": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_keys": ["k-0006"]},
            "anthropic": {"type": "anthropic", "base_url": fake.url, "api_keys": ["anthropic-embed-0007"]},
        },
        "models": {
            "embed": [{"provider": "openai", "model": "up-embed"}],
            "embed-compat": [{"provider": "compat", "model": "up-embed"}],
            "embed-gemini": [{"provider": "gemini", "model": "up-embed"}],
            "embed-failover": [{"provider": "down", "priority": 0, "model": "up-embed"},
                               {"provider": "openai", "priority": 1, "model": "up-embed"}],
            "claude": [{"provider": "anthropic", "model": "up-claude"}],
        },
        "aliases": {"team-embed": "embed"},
    }
    with start_gateway(config) as process:
        yield process


@pytest.fixture
def client(gateway: Process) -> Client:
    return openai_clients(gateway.url, MASTER, timeout=20)


def expected(text: str, dimensions: int | None = None) -> list[float]:
    return vector(text, DEFAULT_DIMENSIONS, dimensions)


@pytest.mark.parametrize("upstream", list(MODELS))
@pytest.mark.parametrize("encoding", ["base64", "float"])
@pytest.mark.parametrize("dimensions", [None, 4])
def test_each_upstream_gives_the_vectors_of_its_texts_in_either_encoding(
        client: Client, upstream: str, encoding: str, dimensions: int | None) -> None:
    texts = [f"first {uuid.uuid4().hex}", "second"]
    extra = {} if dimensions is None else {"dimensions": dimensions}
    # base64 is what the SDK asks for when the caller names no encoding
    options: dict[str, Any] = {} if encoding == "base64" else {"encoding_format": "float"}
    result = client().embeddings.create(model=MODELS[upstream], input=texts, **extra, **options)
    assert [item.index for item in result.data] == [0, 1]
    for item, text in zip(result.data, texts):
        assert item.embedding == pytest.approx(expected(text, dimensions), abs=1e-6)
    assert result.model == MODELS[upstream]
    assert result.usage.prompt_tokens > 0


def test_the_sdk_gets_the_base64_it_asked_for_packed_from_floats(client: Client) -> None:
    raw = client().embeddings.with_raw_response.create(model="embed-gemini", input="packed")
    assert isinstance(json.loads(raw.text)["data"][0]["embedding"], str)
    assert raw.parse().data[0].embedding == pytest.approx(expected("packed"), abs=1e-6)


def test_one_string_reaches_gemini_as_embed_content_with_its_task_type(client: Client,
                                                                      fakes: tuple[Process, Any]) -> None:
    marker = uuid.uuid4().hex
    client().embeddings.create(model="embed-gemini", input=marker, dimensions=2,
                               extra_body={"task_type": "RETRIEVAL_QUERY"})
    [sent] = received(fakes[0].url, marker)
    assert sent["path"] == "/v1beta/models/up-embed:embedContent"
    assert sent["body"]["taskType"] == "RETRIEVAL_QUERY" and sent["body"]["outputDimensionality"] == 2


def test_token_arrays_reach_openai_which_takes_them(client: Client) -> None:
    result = client().embeddings.create(model="embed", input=[[1, 2, 3], [4]], encoding_format="float")
    assert len(result.data) == 2 and result.usage.prompt_tokens == 4


@pytest.mark.parametrize("model", ["embed-gemini", "embed-compat"])
def test_token_arrays_to_an_upstream_that_takes_none_are_a_400_naming_input(client: Client, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client().embeddings.create(model=model, input=[1, 2, 3])
    assert refused.value.param == "input"


def test_a_bad_request_is_refused_before_any_upstream_call(client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client().embeddings.create(model="embed", input=[])
    assert refused.value.param == "input"
    with pytest.raises(openai.BadRequestError) as refused:
        client().embeddings.create(model="embed", input="x", dimensions=0)
    assert refused.value.param == "dimensions"


def test_a_model_without_an_embeddings_endpoint_is_a_400_naming_the_model(client: Client) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client().embeddings.create(model="claude", input="x")
    assert refused.value.param == "model" and refused.value.code == "unsupported_operation"


def test_the_api_v1_prefix_serves_embeddings_too(client: Client) -> None:
    assert client("/api/v1").embeddings.create(model="embed", input="x").data


def test_a_key_scoped_to_a_model_reaches_it_and_its_alias_and_nothing_else(client: Client) -> None:
    scoped = client(models=["embed"])
    assert scoped.embeddings.create(model="team-embed", input="x").data
    with pytest.raises(openai.PermissionDeniedError):
        scoped.embeddings.create(model="embed-gemini", input="x")


def test_the_third_call_within_a_minute_on_rpm_2_is_refused(client: Client, fakes: tuple[Process, Any]) -> None:
    limited = client(rpm=2)
    marker = uuid.uuid4().hex
    for _ in range(2):
        limited.embeddings.create(model="embed", input=marker)
    with pytest.raises(openai.RateLimitError):
        limited.embeddings.create(model="embed", input=marker)
    assert len(received(fakes[0].url, marker)) == 2


def test_a_spent_token_budget_stops_embeddings(client: Client) -> None:
    with pytest.raises(openai.RateLimitError) as refused:
        client(budget_tokens=0).embeddings.create(model="embed", input="x")
    assert refused.value.code == "insufficient_quota"


def test_a_failed_target_passes_the_call_to_the_next(client: Client) -> None:
    response = client().embeddings.with_raw_response.create(model="embed-failover", input="over")
    assert (response.headers["x-llmswitch-attempts"], response.headers["x-llmswitch-provider"]) == ("2", "openai")
    assert response.parse().data[0].embedding == pytest.approx(expected("over"), abs=1e-6)


def test_an_upstreams_400_is_answered_without_trying_another_target(client: Client, fakes: tuple[Process, Any]) -> None:
    marker = uuid.uuid4().hex
    with pytest.raises(openai.BadRequestError):
        client().embeddings.create(model="embed-failover", input=f"{marker} {fake_directive(status=400)}")
    assert len(received(fakes[0].url, marker)) == 1


def test_each_call_is_recorded_with_its_tokens_and_charged_to_the_key(gateway: Process, database: Path,
                                                                      client: Client) -> None:
    created = admin_key(gateway.url, MASTER, budget_tokens=1_000_000)
    key = created["key"]
    embedder = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
    counted = embedder.embeddings.create(model="embed", input="count these tokens please").usage.prompt_tokens
    estimated = embedder.embeddings.create(model="embed-gemini", input="abcdefgh").usage.prompt_tokens
    assert estimated == 2  # Gemini counts nothing: the gateway's estimate, four bytes a token
    request = urllib.request.Request(f"{gateway.url}/v1/key", headers={"authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["usage"]["budget"]["spent_tokens"] == counted + estimated
    deadline = time.monotonic() + 10
    rows: list[tuple[Any, ...]] = []
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT model, status, input_tokens, output_tokens FROM usage_records "
                                      "WHERE key_id = ? ORDER BY id", (created["id"],)).fetchall()
    assert rows == [("embed", 200, counted, 0), ("embed-gemini", 200, estimated, 0)]
