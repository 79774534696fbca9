"""The OpenAI Agents SDK (real, pinned in the dev extra) runs an agent with a function tool through the gateway.

The SDK's default model class for an OpenAI provider is `OpenAIResponsesModel`: every turn is a
Responses API call, streamed when the run is (`Runner.run_streamed`), whole otherwise. The fake calls
the agent's tool with a lower-case marker; the tool upper-cases it, so the upper case shows wherever
the tool's output travelled: to the upstream as a tool result in its own dialect, and back in the
final answer. One OpenAI Responses upstream (a pass-through) and one translated (Anthropic), which the
gateway keeps the responses of, so a run chained by `previous_response_id` goes on from its store.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import Agent, OpenAIProvider, OpenAIResponsesModel, RunConfig, Runner, function_tool
from agents.result import RunResultBase
from openai import AsyncOpenAI

from tests.agents.upstream import results_received
from tests.e2e.matrix_fixtures import Matrix, marker, model, running_matrix, streaming
from tests.support.fake import fake_directive, received


@pytest.fixture(scope="module")
def matrix() -> Iterator[Matrix]:
    with running_matrix() as running:
        yield running


@pytest.fixture
async def provider(matrix: Matrix) -> AsyncIterator[OpenAIProvider]:
    client = AsyncOpenAI(base_url=f"{matrix.gateway_url}/v1", api_key="client-key", max_retries=0, timeout=20)
    yield OpenAIProvider(openai_client=client)
    await client.close()


@function_tool
def shout(text: str) -> str:
    """Say TEXT in capitals."""
    return text.upper()


async def run_agent(provider: OpenAIProvider, model_name: str, prompt: str, stream: bool,
                    **chaining: Any) -> RunResultBase:
    agent = Agent(name="shouter", instructions="Use the shout tool, then say what it said.", tools=[shout],
                  model=model_name)
    config = RunConfig(model_provider=provider, tracing_disabled=True)  # traces would go to OpenAI
    if not stream:
        return await Runner.run(agent, prompt, run_config=config, **chaining)
    result = Runner.run_streamed(agent, prompt, run_config=config, **chaining)
    async for _event in result.stream_events():
        pass
    return result


def test_the_sdks_default_model_class_for_an_openai_provider_is_the_responses_one(
        provider: OpenAIProvider) -> None:
    assert isinstance(provider.get_model(model("openai")), OpenAIResponsesModel)


@streaming
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_an_agent_calls_its_function_tool_and_answers_with_its_output(
        matrix: Matrix, provider: OpenAIProvider, kind: str, stream: bool) -> None:
    word = marker()
    call = {"name": "shout", "arguments": {"text": word}}
    result = await run_agent(provider, model(kind), f"Shout it. {fake_directive(tool_calls=[call])}", stream)
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item", "message_output_item"], kinds
    assert result.new_items[1].output == word.upper()
    assert word.upper() in result.final_output
    assert results_received(matrix.fake_url, word.upper()), "the tool's output never reached the upstream"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_runs_chained_by_previous_response_id_go_on_from_the_stored_conversation(
        matrix: Matrix, provider: OpenAIProvider, kind: str) -> None:
    """`auto_previous_response_id`: each turn sends only its new items, the tool's output among them."""
    word, later = marker(), marker()
    call = {"name": "shout", "arguments": {"text": word}}
    first = await run_agent(provider, model(kind), f"Shout it. {fake_directive(tool_calls=[call])}", False,
                            auto_previous_response_id=True)
    assert word.upper() in first.final_output
    second = await run_agent(provider, model(kind), f"And {later}? {fake_directive(text='done')}", True,
                             previous_response_id=first.last_response_id)
    assert second.final_output == "done"
    [sent] = [request["body"] for request in received(matrix.fake_url, later)]
    if kind == "openai":  # it keeps the conversation itself
        assert sent["previous_response_id"] == first.last_response_id
    else:  # the gateway kept it, and sends it whole
        assert word.upper() in json.dumps(sent)
