"""Embeddings: OpenAI's through the official openai SDK, Gemini's embedContent / batchEmbedContents over HTTP."""

from __future__ import annotations

import base64
import json
import math
import struct
import urllib.error
import urllib.request

import aiohttp
import openai
import pytest

from llmswitch.fake_upstream import running_fake, start_process
from llmswitch.fake_upstream.embeddings import DEFAULT_DIMENSIONS, vector
from tests.fake_upstream.conftest import say

pytestmark = pytest.mark.timeout(10)

SMALL = "text-embedding-3-small"
GEMINI = {"x-goog-api-key": "k"}


def norm(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values))


async def test_sdk_default_base64_decodes_to_the_text_vector(openai_client):
    reply = await openai_client.embeddings.create(model=SMALL, input="hello")
    assert reply.data[0].embedding == vector("hello", 1536)
    assert (reply.object, reply.data[0].object, reply.data[0].index, reply.model) == ("list", "embedding", 0, SMALL)


async def test_sdk_sends_base64_when_no_encoding_is_given(openai_client, fake):
    await openai_client.embeddings.create(model=SMALL, input="hello")
    assert fake.requests()[-1]["body"]["encoding_format"] == "base64"


async def test_float_and_base64_answers_carry_the_same_numbers(openai_client):
    floats = await openai_client.embeddings.create(model=SMALL, input=["a", "b"], encoding_format="float")
    packed = await openai_client.embeddings.create(model=SMALL, input=["a", "b"])
    assert [d.embedding for d in floats.data] == [d.embedding for d in packed.data]
    assert [d.index for d in floats.data] == [0, 1]


async def test_explicit_base64_is_little_endian_float32(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/v1/embeddings", headers={"authorization": "Bearer x"},
                                json={"model": SMALL, "input": "hi", "encoding_format": "base64"}) as r:
            body = await r.json()
    packed = base64.b64decode(body["data"][0]["embedding"])
    assert list(struct.unpack("<1536f", packed)) == vector("hi", 1536)


@pytest.mark.parametrize("encoding", ["float", "base64"])
async def test_dimensions_keep_the_first_numbers_at_unit_length(openai_client, encoding):
    reply = await openai_client.embeddings.create(model=SMALL, input="hello", dimensions=4,
                                                  **({"encoding_format": "float"} if encoding == "float" else {}))
    values = reply.data[0].embedding
    full = vector("hello", 1536)
    assert len(values) == 4
    assert norm(values) == pytest.approx(1.0, abs=1e-6)
    assert [v / values[0] for v in values] == pytest.approx([v / full[0] for v in full[:4]], rel=1e-5)


async def test_an_unknown_model_has_the_default_size(openai_client):
    reply = await openai_client.embeddings.create(model="my-embedder", input="hello")
    assert len(reply.data[0].embedding) == DEFAULT_DIMENSIONS


async def test_usage_counts_a_quarter_of_each_text(openai_client):
    reply = await openai_client.embeddings.create(model=SMALL, input=["x" * 40, "y" * 8])
    assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (12, 12)


async def test_token_arrays_are_embedded_and_counted_by_ids(openai_client):
    one = await openai_client.embeddings.create(model=SMALL, input=[1, 2, 3])
    many = await openai_client.embeddings.create(model=SMALL, input=[[1, 2, 3], [4]])
    assert one.data[0].embedding == many.data[0].embedding != many.data[1].embedding
    assert (one.usage.prompt_tokens, many.usage.prompt_tokens) == (3, 4)


async def test_token_arrays_are_refused_naming_input_when_the_server_takes_none():
    async with running_fake(token_arrays=False) as fake, \
            openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.embeddings.create(model=SMALL, input=[[1, 2]])
        assert (await client.embeddings.create(model=SMALL, input=["text is fine"])).data
    assert caught.value.body["param"] == "input"


@pytest.mark.parametrize("bad", ["", [], [""], [1, "a"], [[]], {"text": "x"}])
async def test_invalid_input_is_a_400_naming_input(openai_client, bad):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.embeddings.create(model=SMALL, input=bad)
    assert caught.value.body["param"] == "input"


async def test_an_unknown_request_field_is_refused_as_openai_does(openai_client):
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied: taskType"):
        await openai_client.embeddings.create(model=SMALL, input="x", extra_body={"taskType": "CLUSTERING"})


@pytest.mark.parametrize(("model", "dimensions"), [("text-embedding-ada-002", 8), (SMALL, 0), (SMALL, 1537)])
async def test_dimensions_the_model_cannot_give_are_refused(openai_client, model, dimensions):
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.embeddings.create(model=model, input="x", dimensions=dimensions)
    assert caught.value.body["param"] == "dimensions"


async def test_bad_encoding_format_is_refused(openai_client):
    with pytest.raises(openai.BadRequestError, match="'float' and 'base64'"):
        await openai_client.embeddings.create(model=SMALL, input="x", encoding_format="hex")


async def test_directive_in_the_first_input_is_cut_out_before_embedding(openai_client):
    reply = await openai_client.embeddings.create(model=SMALL, input=[say("hello", usage={"prompt": 99}), "b"])
    assert reply.data[0].embedding == vector("hello", 1536)
    assert reply.usage.prompt_tokens == 99


async def test_status_directive_reaches_the_sdk_as_its_error(openai_client):
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.embeddings.create(model=SMALL, input=say(status=429, retry_after=3))
    assert caught.value.response.headers["retry-after"] == "3"


async def test_directive_in_the_x_fake_header_applies_to_token_input(openai_client):
    with pytest.raises(openai.InternalServerError):
        await openai_client.embeddings.create(model=SMALL, input=[1, 2],
                                              extra_headers={"x-fake": json.dumps({"status": 500})})


async def test_fail_first_lets_the_sdk_retry_succeed(fake):
    async with openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=2) as client:
        reply = await client.embeddings.create(model=SMALL, input=say("a", status=503, retry_after=0, fail_first=1))
    assert reply.data[0].embedding == vector("a", 1536)
    assert fake.stats()["paths"]["/v1/embeddings"] == 2


async def test_reset_after_drops_the_connection(openai_client):
    with pytest.raises(openai.APIConnectionError):
        await openai_client.embeddings.create(model=SMALL, input=say(reset_after=0))


async def test_embeddings_are_served_without_v1_and_need_a_key(fake):
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.url + "/embeddings", json={"model": "m", "input": "x"}) as r:
            assert r.status == 401
        async with session.post(fake.url + "/embeddings", json={"model": "m", "input": "x"},
                                headers={"authorization": "Bearer x"}) as r:
            assert (await r.json())["data"][0]["embedding"] == vector("x", DEFAULT_DIMENSIONS)


async def gemini_post(fake, model: str, method: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.url}/v1beta/models/{model}:{method}", json=body,
                                headers=GEMINI if headers is None else headers) as r:
            return r.status, await r.json()


def content(text: str) -> dict:
    return {"parts": [{"text": text}]}


async def test_gemini_embed_content_answers_one_embedding(fake):
    status, body = await gemini_post(fake, "gemini-embedding-001", "embedContent",
                                     {"content": content("hello"), "taskType": "RETRIEVAL_DOCUMENT", "title": "t"})
    assert status == 200
    assert body == {"embedding": {"values": vector("hello", 3072)}}


async def test_gemini_output_dimensionality_cuts_without_normalising(fake):
    _, body = await gemini_post(fake, "gemini-embedding-001", "embedContent",
                                {"content": content("hello"), "outputDimensionality": 4})
    assert body["embedding"]["values"] == vector("hello", 3072)[:4]
    assert norm(body["embedding"]["values"]) < 0.5


async def test_gemini_batch_answers_in_request_order(fake):
    requests = [{"model": "models/text-embedding-004", "content": content(t), "taskType": "CLUSTERING"}
                for t in ("a", "b")]
    status, body = await gemini_post(fake, "text-embedding-004", "batchEmbedContents", {"requests": requests})
    assert status == 200
    assert body == {"embeddings": [{"values": vector("a", 768)}, {"values": vector("b", 768)}]}


async def test_gemini_batch_requests_must_name_the_batch_model(fake):
    status, body = await gemini_post(fake, "text-embedding-004", "batchEmbedContents",
                                     {"requests": [{"model": "models/other", "content": content("a")}]})
    assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("body", [{"content": content("a"), "dimensions": 4}, {"content": content("a"),
                                                                               "taskType": "SUMMARY"},
                                  {"content": {"parts": []}}, {"input": "a"}])
async def test_gemini_refuses_what_the_real_api_refuses(fake, body):
    status, answer = await gemini_post(fake, "gemini-embedding-001", "embedContent", body)
    assert status == 400 and answer["error"]["code"] == 400


async def test_gemini_embedding_needs_a_key(fake):
    status, body = await gemini_post(fake, "gemini-embedding-001", "embedContent", {"content": content("a")}, {})
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"


async def test_gemini_directive_gives_the_google_error_shape(fake):
    status, body = await gemini_post(fake, "gemini-embedding-001", "embedContent",
                                     {"content": content(say(status=429))})
    assert (status, body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")


async def test_gemini_generate_content_is_still_served_beside_embeddings(fake):
    status, body = await gemini_post(fake, "g", "generateContent", {"contents": [{"role": "user",
                                                                                 "parts": [{"text": "hi"}]}]})
    assert status == 200 and body["candidates"][0]["content"]["parts"][0]["text"] == "You said: hi"


def test_the_process_takes_no_token_arrays_as_a_flag():
    with start_process(token_arrays=False) as process:
        request = urllib.request.Request(process.url + "/v1/embeddings", method="POST",
                                         data=json.dumps({"model": "m", "input": [1, 2]}).encode(),
                                         headers={"authorization": "Bearer x", "content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["param"] == "input"
