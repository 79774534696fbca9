"""Whole (non-streaming) answers between Chat Completions and the OpenAI Responses API.

Chat -> Responses builds the complete response object openai-python validates, with the client's
request settings echoed as OpenAI echoes them; Responses -> Chat serves a Chat (and, chained, a
Messages) client from a Responses-only deployment. Both report the client's own model name and
return the normalized usage for accounting.
"""

from __future__ import annotations

from typing import Any

from llmswitch.dialects.responses import (call_extras, call_item, chat_name, client_tools, compacting,
                                          compaction_item, finish_of, new_id, now, reasoning_item, response_object,
                                          status_of, usage_from_responses, usage_to_responses, wants_token)
from llmswitch.dialects.types import ResponseContext
from llmswitch.dialects.usage import Usage, from_openai, to_openai


def chat_to_responses_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    """A chat completion (its first choice) as a Responses response to the request in `ctx.request`.

    Output order is reasoning, message, calls, as OpenAI's reasoning models answer. Reasoning comes
    from `reasoning_content` (Anthropic, DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama) and the
    signed `thinking_blocks` an Anthropic answer carries, which travel in `encrypted_content` with
    the calls' `extra_content` (Gemini's thought signatures; a reasoning item is made for them alone).
    The answer to a compaction request is its text as the one `compaction` item.
    """
    request = ctx.request
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    status, incomplete = status_of(choice.get("finish_reason"))
    usage = from_openai(body.get("usage"))
    created = body.get("created") if isinstance(body.get("created"), int) else now()
    out = response_object(request, new_id("resp"), created, ctx.client_model, status)
    out["incomplete_details"] = incomplete
    out["output"] = output_items(message, request, "completed" if status == "completed" else "incomplete")
    out["usage"] = usage_to_responses(usage)
    if status == "completed":
        out["completed_at"] = now()
    if body.get("service_tier"):
        out["service_tier"] = body["service_tier"]
    return out, usage


def output_items(message: dict[str, Any], request: dict[str, Any], status: str) -> list[dict[str, Any]]:
    if compacting(request):
        return [compaction_item(new_id("cmp"), _text(message.get("content") or ""))]
    items: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    blocks = [block for block in message.get("thinking_blocks") or () if isinstance(block, dict)]
    extras = call_extras(message.get("tool_calls"))
    if reasoning or blocks or (extras and wants_token(request)):
        items.append(reasoning_item(new_id("rs"), reasoning if isinstance(reasoning, str) else "", blocks, request,
                                    extras))
    content: list[dict[str, Any]] = []
    if message.get("content"):
        content.append({"type": "output_text", "text": _text(message["content"]), "annotations": []})
    if message.get("refusal"):
        content.append({"type": "refusal", "refusal": message["refusal"]})
    if content:
        items.append({"id": new_id("msg"), "type": "message", "role": "assistant", "status": status,
                      "content": content})
    tools = client_tools(request)
    for call in message.get("tool_calls") or ():
        if call.get("type") == "custom":  # a Chat server's own custom tool call
            custom = call.get("custom") or {}
            items.append({"id": new_id("ctc"), "type": "custom_tool_call", "call_id": call.get("id") or new_id("call"),
                          "name": custom.get("name") or "", "input": custom.get("input") or ""})
            continue
        function = call.get("function") or {}
        items.append(call_item(tools, call.get("id") or new_id("call"), function.get("name") or "",
                               function.get("arguments") or ""))
    return items


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or "" for part in content if isinstance(part, dict))


def responses_to_chat_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    """A Responses response as a chat completion, for a Chat client of a Responses-only deployment.

    Reasoning summaries (or reasoning text) become `reasoning_content`; items of hosted tools, which
    the translated request never asks for, have no Chat form and are left out. A failed response is
    the upstream's error, raised with the status its code stands for.
    """
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in body.get("output") or ():
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "message":
            for part in item.get("content") or ():
                if part.get("type") == "output_text":
                    texts.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusals.append(part.get("refusal") or "")
        elif kind == "reasoning":
            reasoning += [part.get("text") or "" for key in ("summary", "content") for part in item.get(key) or ()]
        elif kind == "function_call":
            calls.append({"id": item.get("call_id"), "type": "function", "function": {
                "name": chat_name(item.get("name") or "", item.get("namespace")),
                "arguments": item.get("arguments") or "{}"}})
        elif kind == "custom_tool_call":
            calls.append({"id": item.get("call_id"), "type": "custom",
                          "custom": {"name": item.get("name"), "input": item.get("input") or ""}})
    finish = finish_of(body, bool(calls))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None,
                               "refusal": "".join(refusals) or None}
    if calls:
        message["tool_calls"] = calls
    if any(reasoning):
        message["reasoning_content"] = "\n\n".join(text for text in reasoning if text)
    usage = usage_from_responses(body.get("usage"))
    created = body.get("created_at")
    out: dict[str, Any] = {
        "id": f"chatcmpl-{body.get('id') or ctx.request_id}",
        "object": "chat.completion",
        "created": int(created) if isinstance(created, (int, float)) else now(),
        "model": ctx.client_model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    }
    if usage:
        out["usage"] = to_openai(usage)
    if body.get("service_tier"):
        out["service_tier"] = body["service_tier"]
    return out, usage
