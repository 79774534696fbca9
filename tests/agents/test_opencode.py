"""opencode (pinned, real) completes a shell tool round trip through the gateway to every provider kind.

opencode is configured as its users configure it for a gateway: its built-in `anthropic` provider with
the gateway as base URL (Anthropic Messages), or a provider of its own on `@ai-sdk/openai-compatible`
(Chat Completions). Each run also makes a title request: with the built-in provider on a small Claude
model the gateway serves by alias, with a provider of its own on the model it runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.agents.agents import CLIENT_KEY, Workspace, opencode
from tests.agents.conftest import Upstreams
from tests.agents.upstream import MODELS, marker, results_received, shell_round_trip

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

# (opencode's client dialect, the provider kind behind the gateway): each kind once, both dialects.
CASES = [("anthropic", "anthropic"), ("openai", "openai"), ("openai", "gemini")]


def providers(client: str, gateway_url: str, model: str) -> tuple[str, dict[str, Any]]:
    """opencode's `provider` config for the CLIENT dialect, and the "provider/model" to run.

    The built-in provider adds the listed model to the catalogue that ships with opencode (Claude models).
    """
    options = {"baseURL": f"{gateway_url}/v1", "apiKey": CLIENT_KEY}
    models = {model: {"name": model}}
    if client == "anthropic":
        return f"anthropic/{model}", {"anthropic": {"options": options, "models": models}}
    return f"llmswitch/{model}", {"llmswitch": {"npm": "@ai-sdk/openai-compatible", "name": "llmswitch",
                                                "options": options, "models": models}}


@pytest.mark.parametrize(("client", "provider"), CASES, ids=[f"{c}-to-{p}" for c, p in CASES])
def test_opencode_runs_a_shell_tool_through_the_gateway(upstreams: Upstreams, workspace: Workspace,
                                                        client: str, provider: str) -> None:
    word = marker()
    model, config = providers(client, upstreams.gateway.url, MODELS[provider])
    run = opencode(workspace, upstreams.gateway.port, model, config, shell_round_trip("bash", word))
    assert run.finished.returncode == 0 and not run.errors(), run.finished
    [tool] = run.tool_uses()
    assert (tool["tool"], tool["state"]["status"]) == ("bash", "completed")
    assert word.upper() in tool["state"]["output"]
    assert word.upper() in run.texts()[-1]
    assert results_received(upstreams.fake.url, word.upper()), "the tool's output never reached the upstream"
