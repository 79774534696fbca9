"""The gateway the agents talk to, its provider kinds on one fake upstream, and what the fake saw.

Model names are the ones a user would type (each agent treats names it knows differently), and the small
model an agent uses on its own for chores (opencode's title request) is an alias. Beside the three
dialects there is a fourth kind for Responses clients: an OpenAI-compatible upstream with Chat
Completions only (`responses_api: false`), which a Responses request reaches translated.
"""

from __future__ import annotations

from typing import Any

from llmswitch.fake_upstream.answer import result_text
from tests.e2e.matrix_fixtures import base_url, deployment, marker, matrix_config
from tests.support.fake import fake_directive, received

MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5.4", "gemini": "gemini-2.5-pro"}
# opencode's built-in anthropic provider titles each session on this model, whatever model does the work.
ALIASES = {"claude-haiku-4-5-20251001": "claude-sonnet-4-5"}


THINKING = "Running it."  # what the fake thinks before its call (Anthropic and Gemini sign it)
CHAT_ONLY = "openai-chat"
CHAT_ONLY_MODEL = "qwen3-coder"
RESPONSES_MODELS = {**MODELS, CHAT_ONLY: CHAT_ONLY_MODEL}  # every kind a Responses client can reach


def gateway_config(fake_url: str) -> dict[str, Any]:
    models = {name: deployment(provider, f"up-{provider}") for provider, name in MODELS.items()}
    config = {**matrix_config(fake_url, models), "aliases": ALIASES}
    config["providers"][f"p-{CHAT_ONLY}"] = {"type": "openai", "base_url": base_url("openai", fake_url),
                                             "api_keys": [f"upstream-{CHAT_ONLY}-key"], "responses_api": False}
    config["models"][CHAT_ONLY_MODEL] = [{"provider": f"p-{CHAT_ONLY}", "model": f"up-{CHAT_ONLY}"}]
    return config


def shell_round_trip(tool: str, word: str, argument: str = "command") -> str:
    """A prompt whose directive makes the fake call TOOL with `echo WORD | tr a-z A-Z` as its ARGUMENT.

    WORD is a lower-case marker: its upper case is in no prompt, so wherever it shows, the command ran.
    Once the agent sends the result back, the last turn is that result: the fake answers it with text
    echoing the tool's output, so the conversation ends there.
    """
    call = {"name": tool, "arguments": {argument: f"echo {word} | tr a-z A-Z"}}
    # thinking: Claude Code turns thinking on for Claude models, and the real API then answers with a
    # thinking block first, which the client must replay before its tool result.
    return f"Run the command. {fake_directive(thinking=THINKING, tool_calls=[call])}"


def tool_results(body: dict[str, Any]) -> list[str]:
    """The tool results in the final turn of an upstream request, whichever dialect it is in."""
    if "input" in body:  # OpenAI Responses: the output items after the last item of another kind
        trailing = []
        for item in reversed(body["input"] if isinstance(body["input"], list) else []):
            if item.get("type") not in ("function_call_output", "custom_tool_call_output"):
                break
            trailing.append(result_text(item["output"]))
        return trailing[::-1]
    if "contents" in body:  # Gemini
        return [result_text(part["functionResponse"]["response"]) for part in body["contents"][-1]["parts"]
                if "functionResponse" in part]
    messages = body["messages"]
    if messages[-1]["role"] == "tool":  # OpenAI: the tool messages after the last assistant turn
        trailing = []
        for message in reversed(messages):
            if message["role"] != "tool":
                break
            trailing.append(result_text(message["content"]))
        return trailing[::-1]
    content = messages[-1]["content"]  # Anthropic: tool_result blocks in the last user turn
    if not isinstance(content, list):
        return []
    return [result_text(block.get("content", "")) for block in content if block.get("type") == "tool_result"]


def results_received(fake_url: str, output: str) -> list[str]:
    """Every tool result the fake received that carries OUTPUT."""
    return [text for request in received(fake_url, output) for text in tool_results(request["body"])
            if output in text]
