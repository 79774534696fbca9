"""OpenAI's Responses API: the wire facts every Responses translation shares, and the pass-through.

Ids, usage, status and the echoed settings each have one mapping, which requests
(`responses_request.py`), whole answers (`responses_response.py`) and streams
(`responses_stream.py`) import from here so the three can never disagree. Two gateway
conventions live here too:

- Tools the Chat form has no kind for travel as functions and come back as what the client
  declared: a `custom` tool (free-form input, often under a grammar) is a function taking one
  string `input`; each function or custom tool of a `namespace` is a function named
  `<namespace>__<name>`. `ClientTool` and `client_tools` hold that table.
- A reasoning item's `encrypted_content` is the gateway's own opaque token: what the chat-form
  assistant message needs to be replayed (Anthropic's signed `thinking_blocks`; each tool call's
  `extra_content`, where Gemini's thought signature rides, by call id), as base64 JSON behind
  `REASONING_TOKEN_PREFIX`. Responses clients replay a call with its standard fields only (Codex
  keeps no other), so a call's signature travels in the reasoning item before it, one made for
  it if the answer had no reasoning to show. The upstreams check the signatures inside, so the
  token needs no seal of its own; one from another server (OpenAI's) is not ours and cannot be
  replayed here.
- Compaction (a create whose input ends in `compaction_trigger`, how Codex compacts on its built-in
  OpenAI provider) is the model's own summary of the conversation: the answer is one `compaction`
  item whose `encrypted_content` is that summary behind `COMPACTION_TOKEN_PREFIX`, and a later
  request replaying the item gives the model the summary in its place.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from llmswitch.dialects.types import RequestOptions, ResponseContext, Translated
from llmswitch.dialects.usage import Usage, token_count, usage_object
from llmswitch.errors import GatewayError, invalid

NAMESPACE_SEPARATOR = "__"  # Chat function names allow only [a-zA-Z0-9_-]
CUSTOM_INPUT = "input"  # the one string argument of a custom tool seen as a function
REASONING_TOKEN_PREFIX = "llmswitch.reasoning.v1:"
COMPACTION_TOKEN_PREFIX = "llmswitch.compaction.v1:"
ENCRYPTED_REASONING = "reasoning.encrypted_content"  # the `include` value that asks for the token

# finish_reason -> (status, incomplete_details.reason)
FINISH_STATUS: dict[str, tuple[str, str | None]] = {
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
}
# A failed response's `error.code` (a closed list in openai-python's ResponseError) by HTTP status.
FAILURE_CODES = {400: "invalid_prompt", 429: "rate_limit_exceeded"}
FAILURE_STATUSES = {"invalid_prompt": 400, "rate_limit_exceeded": 429}


_KIND = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")  # an item, part or tool type as listed in a header


def listed(kind: Any) -> str:
    """A client-given type as it may appear in `x-llmswitch-dropped-params` (the client's own text)."""
    return kind if isinstance(kind, str) and _KIND.match(kind) else "unknown"


# --- ids -------------------------------------------------------------------------------------

def new_id(prefix: str) -> str:
    """An id in OpenAI's style: `resp_`, `msg_`, `fc_`, `ctc_`, `rs_` or `cmp_` and 32 random hex digits (the
    bytes uuid4 would take, without building a UUID object: a fifth of the time, and a response makes three)."""
    return f"{prefix}_{os.urandom(16).hex()}"


# --- usage -----------------------------------------------------------------------------------

def usage_to_responses(usage: Usage | None) -> dict[str, Any]:
    """Responses' usage object (`input_tokens_details.cache_write_tokens` is required by openai-python's
    ResponseUsage)."""
    usage = usage or Usage()
    return {"input_tokens": usage.prompt_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_tokens,
                                     "cache_write_tokens": usage.cache_write_tokens},
            "output_tokens": usage.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens}


def usage_from_responses(usage: Any) -> Usage | None:
    """Normalized usage; Responses' input_tokens include the cache's reads and writes and output_tokens
    reasoning, as ours. Read as strictly as every dialect's (`dialects.usage.token_count`)."""
    if usage is None:
        return None
    usage = usage_object(usage)
    input_details = usage_object(usage.get("input_tokens_details"), "input_tokens_details")
    output_details = usage_object(usage.get("output_tokens_details"), "output_tokens_details")
    return Usage(prompt_tokens=token_count(usage, "input_tokens"),
                 completion_tokens=token_count(usage, "output_tokens"),
                 cached_tokens=token_count(input_details, "cached_tokens"),
                 reasoning_tokens=token_count(output_details, "reasoning_tokens"),
                 cache_write_tokens=token_count(input_details, "cache_write_tokens"))


# --- status ----------------------------------------------------------------------------------

def status_of(finish: str | None) -> tuple[str, dict[str, Any] | None]:
    """A response's `status` and `incomplete_details` for a Chat finish_reason."""
    status, reason = FINISH_STATUS.get(finish or "", ("completed", None))
    return status, {"reason": reason} if reason else None


def finish_of(response: dict[str, Any], has_tool_calls: bool) -> str:
    """The Chat finish_reason for a finished response; a failed one is the upstream's error."""
    status = response.get("status")
    if status in ("failed", "cancelled"):
        error = response.get("error") if isinstance(response.get("error"), dict) else {}
        code = error.get("code")
        raise GatewayError(FAILURE_STATUSES.get(code, 502), str(error.get("message") or f"the response {status}"),
                           code=code if isinstance(code, str) else None)
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "content_filter" if reason == "content_filter" else "length"
    return "tool_calls" if has_tool_calls else "stop"


FAILED_EVENTS = frozenset({"response.failed", "error"})  # a Responses stream event that ends it in failure


def stream_failure(event: dict[str, Any]) -> tuple[int, str, str | None]:
    """(status, message, code) of a `response.failed` or `error` event: the status its code stands
    for (500 when it names none the table knows), so failover treats it like that HTTP error."""
    if event.get("type") == "response.failed":
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
    else:
        error = event.get("error") if isinstance(event.get("error"), dict) else event
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), str) else None
    return FAILURE_STATUSES.get(code or "", 500), str(error.get("message") or "the response failed"), code


def failure(status: int, message: str) -> dict[str, Any]:
    """A failed response's `error`: its code is one openai-python's closed list names."""
    return {"code": FAILURE_CODES.get(status, "server_error"), "message": message}


# --- tools -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool as the client declared it, behind the function name the Chat form gives it."""

    kind: str  # "function" | "custom"
    name: str
    namespace: str | None = None


def chat_name(name: str, namespace: str | None) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name


def client_tools(request: dict[str, Any]) -> dict[str, ClientTool]:
    """Chat function name -> the client's tool, for each function and custom tool, namespaces flattened."""
    table: dict[str, ClientTool] = {}
    for tool in request.get("tools") or ():
        if not isinstance(tool, dict):
            continue
        members, namespace = ([tool], None) if tool.get("type") != "namespace" else (tool.get("tools") or (),
                                                                                      tool.get("name"))
        for member in members:
            if isinstance(member, dict) and member.get("type") in ("function", "custom") and \
                    isinstance(member.get("name"), str):
                table.setdefault(chat_name(member["name"], namespace),
                                 ClientTool(member["type"], member["name"], namespace))
    return table


def wrap_custom_input(text: str) -> str:
    return json.dumps({CUSTOM_INPUT: text}, ensure_ascii=False)


def unwrap_custom_input(arguments: Any) -> str:
    """A custom tool's input from the arguments of its function; text that is not the wrapper is the input."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except (TypeError, ValueError):
        return str(arguments)
    if isinstance(parsed, dict) and isinstance(parsed.get(CUSTOM_INPUT), str):
        return parsed[CUSTOM_INPUT]
    return str(arguments or "")


def call_item(tools: dict[str, ClientTool], call_id: str, name: str, arguments: str,
              status: str = "completed") -> dict[str, Any]:
    """A Chat tool call as the output item the client's tool declares: function_call or custom_tool_call."""
    tool = tools.get(name)
    if tool is not None and tool.kind == "custom":
        item: dict[str, Any] = {"id": new_id("ctc"), "type": "custom_tool_call", "call_id": call_id,
                                "name": tool.name, "input": unwrap_custom_input(arguments)}
    else:
        item = {"id": new_id("fc"), "type": "function_call", "call_id": call_id,
                "name": tool.name if tool else name, "arguments": arguments or "{}", "status": status}
    if tool is not None and tool.namespace:
        item["namespace"] = tool.namespace
    return item


# --- reasoning carried across turns --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Carried:
    """What a reasoning token of ours carries back to the chat-form assistant turn."""

    thinking_blocks: list[dict[str, Any]]
    call_extras: dict[str, dict[str, Any]]  # call id -> that tool call's `extra_content`


def call_extras(tool_calls: Any) -> dict[str, dict[str, Any]]:
    """The `extra_content` of each chat-form tool call that has one, by call id."""
    return {call["id"]: call["extra_content"] for call in tool_calls or ()
            if isinstance(call, dict) and isinstance(call.get("id"), str)
            and isinstance(call.get("extra_content"), dict) and call["extra_content"]}


def encode_reasoning(thinking_blocks: list[dict[str, Any]], extras: dict[str, dict[str, Any]] | None = None) -> str:
    carried: dict[str, Any] = {"thinking_blocks": thinking_blocks}
    if extras:
        carried["call_extras"] = extras
    payload = json.dumps(carried, ensure_ascii=False, separators=(",", ":"))
    return REASONING_TOKEN_PREFIX + base64.urlsafe_b64encode(payload.encode()).decode()


def decode_reasoning(token: Any, param: str) -> Carried | None:
    """What a token of ours carries; None when it is not ours. A damaged token is a 400."""
    if not isinstance(token, str) or not token.startswith(REASONING_TOKEN_PREFIX):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(token[len(REASONING_TOKEN_PREFIX):].encode()))
    except (ValueError, binascii.Error):
        payload = None
    blocks = payload.get("thinking_blocks") if isinstance(payload, dict) else None
    extras = payload.get("call_extras", {}) if isinstance(payload, dict) else None
    if not isinstance(blocks, list) or not all(isinstance(block, dict) for block in blocks) or \
            not isinstance(extras, dict) or not all(isinstance(extra, dict) for extra in extras.values()):
        raise invalid("The encrypted content of this reasoning item could not be verified.", param=param,
                      code="invalid_encrypted_content")
    return Carried(blocks, extras)


def reasoning_item(item_id: str, text: str, thinking_blocks: list[dict[str, Any]], request: dict[str, Any],
                   extras: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A reasoning output item: its text as a summary when the client asked for one (`reasoning.summary`),
    else as reasoning text; the token (thinking blocks, the EXTRAS of the calls after it) only when
    `include` asks for `reasoning.encrypted_content`."""
    item: dict[str, Any] = {"id": item_id, "type": "reasoning", "summary": [], "status": "completed"}
    if text:
        if wants_summary(request):
            item["summary"] = [{"type": "summary_text", "text": text}]
        else:
            item["content"] = [{"type": "reasoning_text", "text": text}]
    if (thinking_blocks or extras) and wants_token(request):
        item["encrypted_content"] = encode_reasoning(thinking_blocks, extras)
    return item


def wants_summary(request: dict[str, Any]) -> bool:
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    return bool(reasoning.get("summary") or reasoning.get("generate_summary"))


def wants_token(request: dict[str, Any]) -> bool:
    include = request.get("include")
    return isinstance(include, list) and ENCRYPTED_REASONING in include


# --- compaction ------------------------------------------------------------------------------

def compacting(request: dict[str, Any]) -> bool:
    """A create request that asks for a compaction: its input ends in `compaction_trigger`."""
    items = request.get("input")
    return isinstance(items, list) and bool(items) and isinstance(items[-1], dict) and \
        items[-1].get("type") == "compaction_trigger"


def compaction_item(item_id: str, summary: str) -> dict[str, Any]:
    token = COMPACTION_TOKEN_PREFIX + base64.urlsafe_b64encode(summary.encode()).decode()
    return {"id": item_id, "type": "compaction", "encrypted_content": token}


def compaction_summary(token: Any, param: str) -> str | None:
    """The summary a compaction token of ours holds; None when it is not ours. A damaged token is a 400."""
    if not isinstance(token, str) or not token.startswith(COMPACTION_TOKEN_PREFIX):
        return None
    try:
        return base64.b64decode(token[len(COMPACTION_TOKEN_PREFIX):], altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error):
        raise invalid("The encrypted content of this compaction item could not be verified.", param=param,
                      code="invalid_encrypted_content") from None


# --- the response object ---------------------------------------------------------------------

def response_object(request: dict[str, Any], response_id: str, created_at: int, model: str,
                    status: str) -> dict[str, Any]:
    """A response with no output yet and the request's settings echoed, as OpenAI reports them."""
    text = request.get("text") if isinstance(request.get("text"), dict) else {}
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    conversation = request.get("conversation")
    out: dict[str, Any] = {
        "id": response_id, "object": "response", "created_at": created_at, "status": status,
        "background": bool(request.get("background")), "error": None, "incomplete_details": None,
        "instructions": request.get("instructions"), "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": request.get("max_tool_calls"), "model": model, "output": [],
        "parallel_tool_calls": request.get("parallel_tool_calls") is not False,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": request.get("store") is not False,
        "temperature": _number(request.get("temperature"), 1.0), "top_p": _number(request.get("top_p"), 1.0),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity") or "medium"},
        "tool_choice": request.get("tool_choice") or "auto",
        "tools": [_echoed_tool(tool) for tool in request.get("tools") or () if isinstance(tool, dict)],
        "top_logprobs": request.get("top_logprobs") or 0, "truncation": request.get("truncation") or "disabled",
        "usage": None, "metadata": request.get("metadata") or {},
    }
    if conversation:
        out["conversation"] = {"id": conversation} if isinstance(conversation, str) else conversation
    for key in ("user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier"):
        if request.get(key) is not None:
            out[key] = request[key]
    return out


def _number(value: Any, default: float) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A function tool always shows `parameters` and `strict` (null when the client left them out)."""
    if tool.get("type") == "function":
        return {"parameters": None, "strict": None, **tool}
    return tool


def now() -> int:
    return int(time.time())


# --- Responses -> Responses ------------------------------------------------------------------

def passthrough_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """Only `model` is rewritten; `stream` follows the deployment (a simulated stream is asked without)."""
    out = dict(body)
    out["model"] = options.upstream_model
    if bool(out.get("stream")) != options.stream:
        out["stream"] = options.stream
    return Translated(out)


def passthrough_response(body: dict[str, Any], ctx: ResponseContext) -> tuple[dict[str, Any], Usage | None]:
    if "model" in body:
        body["model"] = ctx.client_model
    return body, usage_from_responses(body.get("usage"))
