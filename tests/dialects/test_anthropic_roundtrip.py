"""Property: an OpenAI conversation sent through Anthropic's form and back keeps its meaning.

Roles (after Anthropic's same-role merging), texts, tool calls with their arguments, and tool
results tied to their calls all survive OpenAI -> Anthropic -> OpenAI.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmswitch.dialects.anthropic_request import anthropic_to_openai_request, openai_to_anthropic_request
from llmswitch.dialects.types import RequestOptions

texts = st.text(min_size=1, max_size=20).filter(str.strip)
names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
tool_ids = st.from_regex(r"[A-Za-z0-9_.:-]{1,12}", fullmatch=True)
arguments = st.dictionaries(names, st.one_of(st.integers(), texts, st.booleans()), max_size=3)


@st.composite
def conversations(draw) -> list[dict[str, Any]]:
    """User turns, and assistant turns that may call tools, each call answered by a tool message."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(texts)}]
    used_ids: set[str] = set()
    for _ in range(draw(st.integers(0, 4))):
        calls = []
        for _ in range(draw(st.integers(0, 3))):
            call_id = draw(tool_ids.filter(lambda i: i not in used_ids))
            used_ids.add(call_id)
            calls.append({"id": call_id, "type": "function",
                          "function": {"name": draw(names), "arguments": json.dumps(draw(arguments))}})
        assistant: dict[str, Any] = {"role": "assistant", "content": draw(st.one_of(st.none(), texts))}
        if calls:
            assistant["tool_calls"] = calls
        elif assistant["content"] is None:
            assistant["content"] = draw(texts)
        messages.append(assistant)
        messages.extend({"role": "tool", "tool_call_id": c["id"], "content": draw(texts)} for c in calls)
        messages.append({"role": "user", "content": draw(texts)})
    return messages


def meaning(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a conversation says, in order: texts by role, calls with parsed arguments, results."""
    out: list[tuple[Any, ...]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part["text"] for part in content)
        if message["role"] == "tool":
            out.append(("result", message["tool_call_id"], content))
            continue
        if content:
            out.append((message["role"], content))
        for call in message.get("tool_calls") or []:
            out.append(("call", call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])))
    return out


def normalized_ids(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Tool ids may be rewritten for Anthropic; only which result answers which call must hold."""
    seen: dict[str, int] = {}
    return [(item[0], seen.setdefault(item[1], len(seen)), *item[2:]) if item[0] in ("call", "result") else item
            for item in items]


def merged_texts(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Consecutive texts of one role read as one (Anthropic merges same-role turns)."""
    out: list[tuple[Any, ...]] = []
    for item in items:
        if out and item[0] in ("user", "assistant") and out[-1][0] == item[0]:
            out[-1] = (item[0], out[-1][1] + item[1])
        else:
            out.append(item)
    return out


@settings(max_examples=150, deadline=None)
@given(conversations())
def test_openai_to_anthropic_and_back_keeps_roles_texts_tool_calls_and_results(messages):
    anthropic = openai_to_anthropic_request({"model": "m", "messages": messages},
                                            RequestOptions("claude", stream=False)).body
    back = anthropic_to_openai_request(anthropic, RequestOptions("gpt", stream=False)).body["messages"]
    assert merged_texts(normalized_ids(meaning(back))) == merged_texts(normalized_ids(meaning(messages)))
