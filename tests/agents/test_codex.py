"""Codex CLI (pinned, real) completes tool round trips through the gateway's Responses API to every kind.

Codex speaks the Responses API only, so it reaches each kind differently: an OpenAI upstream with the
Responses API gets its request passed through; Anthropic, Gemini and a Chat-Completions-only
OpenAI-compatible upstream get it translated, and their answers come back as Responses events.

What Codex 0.171.0 sends (recorded here, through a provider entry of its own): `POST /v1/responses`,
always streamed, `store: false` with the whole history every turn (no `previous_response_id`), no
`instructions` (its system prompt is the first of two `developer` messages, then two `user` messages:
environment context and the prompt), input items that carry ids (`msg_...`, `fco_...`), reasoning
items replayed with `content: null`, `include: ["reasoning.encrypted_content"]`, `prompt_cache_key`,
and a `client_metadata` map (with a JSON-encoded `x-codex-turn-metadata`, also sent as a header). Its
shell tool is a plain function, `exec_command`, whose argument is `cmd` (not `command`; no
`local_shell` or `shell` tool), and it offers a `namespace` tool (`multi_agent_v1`, five functions)
and a hosted `web_search`. For a model it has no metadata for (any name but its own catalogue's) it
sends `reasoning: {summary: "auto"}` and no effort; for one it knows (`gpt-5.5`) it adds
`reasoning.effort`, `text.verbosity`, `tool_search` (client-executed) and `apply_patch` as a `custom`
tool under a lark grammar, and drops the namespace tool.

On its built-in OpenAI provider (`openai_base_url`; it reads no key from the environment, only one
stored by `codex login`) it differs: it first opens the Responses API's WebSocket mode (`GET
/v1/responses`, upgrading), its items carry `internal_chat_message_metadata_passthrough`, and it
compacts a long session on the server: a create whose input ends in `compaction_trigger`, which must
answer exactly one `compaction` item, replayed after the user messages in the next request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmswitch.dialects.responses_request import COMPACTED_PREFIX, COMPACTION_INSTRUCTION
from llmswitch.fake_upstream.anthropic import signature
from tests.agents.agents import Workspace, codex
from tests.agents.conftest import Upstreams
from tests.agents.upstream import (RESPONSES_MODELS, THINKING, gateway_config, marker, results_received,
                                   shell_round_trip)
from tests.support.fake import fake_directive, received
from tests.support.processes import start_gateway

pytestmark = [pytest.mark.agents, pytest.mark.timeout(300)]

KNOWN_MODEL = "gpt-5.5"  # in Codex 0.171.0's own model catalogue: it sends its full tool set for it
KINDS = sorted(RESPONSES_MODELS)


@pytest.mark.parametrize("provider", KINDS)
def test_codex_runs_a_shell_tool_through_the_gateway(upstreams: Upstreams, workspace: Workspace,
                                                     provider: str) -> None:
    word = marker()
    run = codex(workspace, upstreams.gateway.port, RESPONSES_MODELS[provider],
                shell_round_trip("exec_command", word, argument="cmd"))
    assert run.finished.returncode == 0 and run.turn_ends() == ["turn.completed"], run.finished
    [command] = run.items("command_execution")
    assert command["exit_code"] == 0 and word.upper() in command["aggregated_output"]
    assert word.upper() in run.items("agent_message")[-1]["text"]
    assert results_received(upstreams.fake.url, word.upper()), "the tool's output never reached the upstream"


def patch_prompt(path: str, text: str) -> str:
    """A prompt whose directive makes the fake call Codex's freeform `apply_patch` to add PATH holding TEXT."""
    patch = f"*** Begin Patch\n*** Add File: {path}\n+{text}\n*** End Patch\n"
    return f"Add the file. {fake_directive(tool_calls=[{'name': 'apply_patch', 'arguments': {'input': patch}}])}"


@pytest.mark.parametrize("provider", KINDS)
def test_codex_edits_a_file_with_its_freeform_patch_tool_on_a_model_it_knows(
        upstreams: Upstreams, workspace: Workspace, provider: str) -> None:
    """The custom tool travels to a translated upstream as a function of one string and comes back custom."""
    config = gateway_config(upstreams.fake.url)
    config["models"][KNOWN_MODEL] = config["models"][RESPONSES_MODELS[provider]]
    word = marker()
    with start_gateway(config) as gateway:
        run = codex(workspace, gateway.port, KNOWN_MODEL, patch_prompt(f"{word}.txt", word))
    assert run.finished.returncode == 0 and run.turn_ends() == ["turn.completed"], run.finished
    assert (workspace.project / f"{word}.txt").read_text() == f"{word}\n"
    [change] = run.items("file_change")
    assert change["status"] == "completed", json.dumps(change)
    assert f"{word}.txt" in run.items("agent_message")[-1]["text"]
    assert results_received(upstreams.fake.url, f"{word}.txt"), "the patch's result never reached the upstream"


def test_codex_on_its_builtin_openai_provider_goes_over_http_without_retrying_a_websocket(
        upstreams: Upstreams, workspace: Workspace) -> None:
    """That provider opens the Responses API's WebSocket mode first: the gateway's 426 sends it to HTTP at once."""
    word = marker()
    run = codex(workspace, upstreams.gateway.port, RESPONSES_MODELS["openai"],
                shell_round_trip("exec_command", word, argument="cmd"), builtin=True)
    assert run.finished.returncode == 0 and run.turn_ends() == ["turn.completed"], run.finished
    assert run.errors() == []
    assert not [item for item in run.items("error") if "WebSocket" in item["message"]]
    assert word.upper() in run.items("agent_message")[-1]["text"]


def test_codex_gives_gemini_3_its_own_thought_signature_back_on_the_replayed_call(
        upstreams: Upstreams, workspace: Workspace) -> None:
    """Codex replays a call with its standard fields only: the signature comes back from the reasoning item."""
    config = gateway_config(upstreams.fake.url)
    config["models"]["gemini-3-pro"] = [{**config["models"][RESPONSES_MODELS["gemini"]][0],
                                         "model": "gemini-3-pro-preview"}]
    word = marker()
    with start_gateway(config) as gateway:
        run = codex(workspace, gateway.port, "gemini-3-pro", shell_round_trip("exec_command", word, argument="cmd"))
    assert run.finished.returncode == 0 and run.turn_ends() == ["turn.completed"], run.finished
    [replay] = [r["body"] for r in received(upstreams.fake.url, word.upper()) if "contents" in r["body"]]
    [model_turn] = [content for content in replay["contents"] if content["role"] == "model"]
    assert [part.get("thoughtSignature") for part in model_turn["parts"] if "functionCall" in part] == \
        [signature(THINKING)]


def compaction_asked(body: dict[str, Any]) -> bool:
    """An upstream request that asks for a compaction: OpenAI's trigger item, else the gateway's instruction."""
    if "input" in body:
        return body["input"][-1]["type"] == "compaction_trigger"
    return COMPACTION_INSTRUCTION in json.dumps(body)


def compacted(body: dict[str, Any]) -> bool:
    """An upstream request that goes on from a compaction: OpenAI's item, else the summary the gateway made."""
    if "input" in body:
        return any(item.get("type") == "compaction" for item in body["input"])
    return COMPACTED_PREFIX.rstrip() in json.dumps(body)  # its line breaks are escaped in JSON


@pytest.mark.parametrize("provider", KINDS)
def test_codex_on_its_builtin_openai_provider_compacts_a_long_session_on_any_kind(
        upstreams: Upstreams, workspace: Workspace, provider: str) -> None:
    """That provider compacts with a create ending in `compaction_trigger` and needs one compaction item back.

    Its system prompt alone is past 3,000 tokens, so the resumed session starts with a compaction.
    """
    word = marker()
    model = RESPONSES_MODELS[provider]
    runs = [codex(workspace, upstreams.gateway.port, model, f"Remember {word}.", builtin=True, compact_at=3000),
            codex(workspace, upstreams.gateway.port, model, "What was it?", builtin=True, compact_at=3000,
                  resume=True)]
    for run in runs:
        assert run.finished.returncode == 0 and run.turn_ends() == ["turn.completed"], run.finished
        assert run.errors() == []
    bodies = [request["body"] for request in received(upstreams.fake.url, word)]
    asked = next(i for i, body in enumerate(bodies) if compaction_asked(body))  # the summary may quote it later
    assert not compacted(bodies[asked]) and compacted(bodies[asked + 1])
