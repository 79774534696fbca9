"""Requests between OpenAI Chat Completions and Anthropic Messages, and the /v1/messages checks.

Each translation builds a new body from the fields it knows, so an unknown client field never
reaches an upstream that would reject it, and the client's own body is never changed: the same
body may be translated again for a failover attempt on another deployment.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

from llmswitch.dialects.anthropic import DEFAULT_MAX_TOKENS, anthropic_tool_id
from llmswitch.dialects.shapes import Shape, check_fields
from llmswitch.dialects.types import RequestOptions, Translated
from llmswitch.errors import invalid

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_DATA_URL = re.compile(r"^data:([^;,]+)(;base64)?,(.*)$", re.DOTALL)

# OpenAI sampling controls Anthropic has no equivalent for: 400 unless the deployment drops them.
UNSUPPORTED_OPENAI_PARAMS = ("logprobs", "top_logprobs", "logit_bias", "presence_penalty",
                             "frequency_penalty", "seed")

# reasoning_effort -> thinking budget. The budget must be >= 1024 and < max_tokens; OpenAI's
# max_completion_tokens counts reasoning too, so the budget is capped at half of max_tokens.
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768}
MIN_THINKING_BUDGET = 1024

MAX_OPENAI_STOP_SEQUENCES = 4
MAX_OPENAI_USER_CHARS = 64


# --- OpenAI -> Anthropic ---------------------------------------------------------------------

def openai_to_anthropic_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """An OpenAI chat request as an Anthropic Messages request (API-REFERENCE section 3)."""
    dropped = _check_unsupported(body, options)
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid("n > 1 is not supported by this model's provider", param="n")

    system, messages = _split_system(body.get("messages"))
    out: dict[str, Any] = {"model": options.upstream_model,
                           "messages": _anthropic_messages(messages)}
    if system:
        out["system"] = system
    max_tokens = (body.get("max_completion_tokens") or body.get("max_tokens")
                  or options.max_tokens_default or DEFAULT_MAX_TOKENS)
    out["max_tokens"] = max_tokens

    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)

    tools = _anthropic_tools(body.get("tools"))
    if tools:
        out["tools"] = tools
        tool_choice = _anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if tool_choice:
            out["tool_choice"] = tool_choice
    forced_tool = out.get("tool_choice", {}).get("type") in ("any", "tool")

    budget = _thinking_budget(body.get("reasoning_effort"), max_tokens)
    if budget and not forced_tool:
        # Anthropic refuses temperature/top_k and forced tool use with thinking on; a forced
        # tool is a contract the client's code relies on, so it wins over reasoning.
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}
        top_p = body.get("top_p")
        if top_p is not None and top_p >= 0.95:  # the only top_p range thinking allows
            out["top_p"] = top_p
    else:
        temperature = body.get("temperature")
        if temperature is not None:
            # OpenAI allows 0..2, Anthropic 0..1: values above 1 are clamped to 1, not rescaled.
            out["temperature"] = min(max(float(temperature), 0.0), 1.0)
        for key in ("top_p", "top_k"):
            if body.get(key) is not None:
                out[key] = body[key]

    output_format = _output_format(body.get("response_format"))
    if output_format:
        out["output_config"] = {"format": output_format}
    elif (body.get("response_format") or {}).get("type") == "json_object":
        note = "Respond with a single valid JSON object and nothing else."
        out["system"] = _append_system(out.get("system"), note)

    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    if body.get("service_tier") == "auto":
        out["service_tier"] = "auto"
    out["stream"] = options.stream
    return Translated(out, dropped)


def _check_unsupported(body: dict[str, Any], options: RequestOptions) -> list[str]:
    present = [key for key in UNSUPPORTED_OPENAI_PARAMS if body.get(key) not in (None, False, 0, {})]
    if present and not options.drop_unsupported:
        raise invalid(f"{present[0]} is not supported by this model's provider", param=present[0])
    return present


def _split_system(messages: Any) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """Lift every system/developer message into Anthropic's top-level `system`.

    Texts are joined with a blank line; blocks are kept as blocks only when one carries
    `cache_control` (prompt caching would be lost otherwise).
    """
    if not isinstance(messages, list) or not messages:
        raise invalid("messages must be a non-empty list", param="messages")
    blocks: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid("each message must be an object", param=f"messages.{position}")
        if message.get("role") in ("system", "developer"):
            blocks.extend(_text_blocks(message.get("content"), f"messages.{position}.content"))
        else:
            rest.append(message)
    if not blocks:
        return None, rest
    if any("cache_control" in block for block in blocks):
        return blocks, rest
    return "\n\n".join(block["text"] for block in blocks), rest


def _append_system(system: str | list[dict[str, Any]] | None, note: str) -> str | list[dict[str, Any]]:
    if isinstance(system, list):
        return [*system, {"type": "text", "text": note}]
    return f"{system}\n\n{note}" if system else note


def _text_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    """Text parts as Anthropic text blocks, empty ones dropped (Anthropic rejects them)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid("content must be a string or a list of parts", param=param)
    blocks = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
            raise invalid("only text parts are allowed here", param=param)
        text = part.get("text") if part.get("type") == "text" else part.get("refusal")
        if text:
            block: dict[str, Any] = {"type": "text", "text": text}
            if "cache_control" in part:
                block["cache_control"] = copy.deepcopy(part["cache_control"])
            blocks.append(block)
    return blocks


def _anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        role = message.get("role")
        param = f"messages.{position}"
        if role == "user":
            blocks = _user_blocks(message.get("content"), f"{param}.content")
            turn_role = "user"
        elif role == "assistant":
            blocks = _assistant_blocks(message, param)
            turn_role = "assistant"
        elif role in ("tool", "function"):
            blocks = [_tool_result(message, param)]
            turn_role = "user"
        else:
            raise invalid(f"unknown message role {role!r}", param=f"{param}.role")
        if not blocks:
            continue  # an empty turn (e.g. assistant content "" and no calls) carries nothing
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    if not turns:
        raise invalid("at least one user or assistant message is required", param="messages")
    for turn in turns:
        if turn["role"] == "user":
            # Anthropic wants every tool_result first in its user turn; results split by user
            # text (or by separate tool messages) are gathered there, the rest keeps its order.
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def _user_blocks(content: Any, param: str) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return _text_blocks(content, param)
    if not isinstance(content, list):
        raise invalid("content must be a string or a list of parts", param=param)
    blocks: list[dict[str, Any]] = []
    for position, part in enumerate(content):
        part_param = f"{param}.{position}"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.extend(_text_blocks([part], part_param))
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), part_param))
        elif kind == "file":
            blocks.append(_document_block(part.get("file"), part_param))
        else:
            raise invalid(f"content part type {kind!r} is not supported by this model's provider",
                          param=part_param)
    return blocks


def _image_block(image_url: Any, param: str) -> dict[str, Any]:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise invalid("image_url.url is required", param=param)
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    match = _DATA_URL.match(url)
    if not match or not match.group(2):
        raise invalid("image_url must be an http(s) URL or a base64 data URL", param=param)
    media_type = match.group(1).lower()
    if media_type not in IMAGE_MEDIA_TYPES:
        raise invalid(f"image type {media_type} is not supported; use one of "
                      f"{', '.join(IMAGE_MEDIA_TYPES)}", param=param)
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": match.group(3)}}


def _document_block(file: Any, param: str) -> dict[str, Any]:
    data = file.get("file_data") if isinstance(file, dict) else None
    match = _DATA_URL.match(data) if isinstance(data, str) else None
    if not match or match.group(1).lower() != "application/pdf" or not match.group(2):
        raise invalid("file parts must carry a base64 PDF data URL in file_data", param=param)
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                           "data": match.group(3)}}


def _assistant_blocks(message: dict[str, Any], param: str) -> list[dict[str, Any]]:
    # Signed thinking blocks from an earlier Anthropic answer must be replayed verbatim and
    # first, or Anthropic rejects the turn ("Expected thinking...").
    blocks = [copy.deepcopy(block) for block in message.get("thinking_blocks") or []
              if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking")]
    blocks.extend(_text_blocks(message.get("content"), f"{param}.content"))
    for position, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        try:
            arguments = json.loads(arguments) if arguments else {}
        except (TypeError, ValueError):
            raise invalid("tool call arguments must be a JSON object",
                          param=f"{param}.tool_calls.{position}.function.arguments") from None
        if not isinstance(arguments, dict):
            raise invalid("tool call arguments must be a JSON object",
                          param=f"{param}.tool_calls.{position}.function.arguments")
        blocks.append({"type": "tool_use", "id": anthropic_tool_id(str(call.get("id") or "")),
                       "name": function.get("name"), "input": arguments})
    return blocks


def _tool_result(message: dict[str, Any], param: str) -> dict[str, Any]:
    tool_id = message.get("tool_call_id") or message.get("name")
    if not tool_id:
        raise invalid("tool messages need a tool_call_id", param=f"{param}.tool_call_id")
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": anthropic_tool_id(str(tool_id))}
    content = message.get("content")
    if isinstance(content, list):
        texts = _text_blocks(content, f"{param}.content")
        if texts:
            block["content"] = texts
    elif content:
        block["content"] = str(content)
    return block


def _anthropic_tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for position, tool in enumerate(tools or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            raise invalid("only function tools are supported by this model's provider",
                          param=f"tools.{position}")
        entry: dict[str, Any] = {"name": function.get("name"),
                                 "input_schema": copy.deepcopy(function.get("parameters"))
                                 or {"type": "object", "properties": {}}}
        if function.get("description"):
            entry["description"] = function["description"]
        out.append(entry)
    return out


def _anthropic_tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if isinstance(choice, dict) and choice.get("type") == "function":
        out: dict[str, Any] = {"type": "tool", "name": (choice.get("function") or {}).get("name")}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif choice in (None, "auto") or isinstance(choice, dict):  # allowed_tools: the model picks
        out = {"type": "auto"}
    else:
        raise invalid(f"unknown tool_choice {choice!r}", param="tool_choice")
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    elif choice is None:
        return None
    return out


def _thinking_budget(effort: Any, max_tokens: int) -> int | None:
    wanted = THINKING_BUDGETS.get(effort or "")
    if not wanted:
        return None
    budget = min(wanted, max_tokens // 2)
    return budget if budget >= MIN_THINKING_BUDGET else None


def _output_format(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict):
        raise invalid("response_format.json_schema.schema is required",
                      param="response_format.json_schema.schema")
    return {"type": "json_schema", "schema": copy.deepcopy(schema)}


# --- Anthropic -> OpenAI ---------------------------------------------------------------------

def anthropic_to_openai_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """An Anthropic Messages request (an SDK client or Claude Code) as an OpenAI chat request.

    Claude Code's extra fields are handled on purpose: `cache_control` and `defer_loading`
    have no OpenAI meaning and are left out; `thinking`, `output_config.effort` and
    `context_management` are left out too, because an OpenAI-compatible upstream rejects
    `reasoning_effort` on models that do not reason (the deployment's model decides);
    `$schema` is stripped from tool schemas; `metadata.user_id` (a JSON string) becomes `user`.
    """
    messages: list[dict[str, Any]] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        messages.extend(_openai_messages(message))
    out: dict[str, Any] = {"model": options.upstream_model, "messages": messages}
    if body.get("max_tokens"):
        out["max_completion_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    dropped = [key for key in ("top_k", "thinking", "context_management") if key in body]
    stop = body.get("stop_sequences")
    if stop:
        out["stop"] = list(stop[:MAX_OPENAI_STOP_SEQUENCES])
        if len(stop) > MAX_OPENAI_STOP_SEQUENCES:
            dropped.append("stop_sequences")
    tools = [tool for tool in body.get("tools") or [] if "input_schema" in tool]
    if len(tools) != len(body.get("tools") or []):
        dropped.append("tools")  # server tools (web search, code execution) run only at Anthropic
    if tools:
        out["tools"] = [_openai_tool(tool) for tool in tools]
        _openai_tool_choice(body.get("tool_choice"), out)
    output_config = body.get("output_config") or {}
    schema = (output_config.get("format") or {}).get("schema")
    if isinstance(schema, dict):
        out["response_format"] = {"type": "json_schema",
                                  "json_schema": {"name": "response", "schema": _strip_schema(schema)}}
    user_id = (body.get("metadata") or {}).get("user_id")
    if user_id:
        user_id = str(user_id)
        out["user"] = user_id if len(user_id) <= MAX_OPENAI_USER_CHARS else \
            "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()[:48]
    out["stream"] = options.stream
    if options.stream:
        out["stream_options"] = {"include_usage": True}
    return Translated(out, dropped)


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n\n".join(block.get("text", "") for block in system or []
                       if isinstance(block, dict) and block.get("text"))


def _openai_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One Anthropic turn as OpenAI messages: tool results first, as `tool` messages."""
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if role == "assistant":
        return [_openai_assistant(content or [])]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "tool_result":
            out.append({"role": "tool", "tool_call_id": block.get("tool_use_id"),
                        "content": _tool_result_text(block)})
        elif kind == "text" and block.get("text"):
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _source_url(block.get("source") or {})}})
        elif kind == "document":
            parts.append(_openai_document(block.get("source") or {}))
        # thinking, search results and server-tool blocks have no OpenAI form: left out.
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _openai_assistant(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    # Thinking blocks are signed for Anthropic only; an OpenAI upstream cannot use them.
    text = "".join(block.get("text", "") for block in blocks if block.get("type") == "text")
    calls = [{"id": block.get("id"), "type": "function",
              "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input") or {})}}
             for block in blocks if block.get("type") == "tool_use"]
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        content = "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    text = content or ""
    return f"Error: {text}" if block.get("is_error") else text


def _source_url(source: dict[str, Any]) -> str:
    if source.get("type") == "url":
        return str(source.get("url"))
    return f"data:{source.get('media_type')};base64,{source.get('data')}"


def _openai_document(source: dict[str, Any]) -> dict[str, Any]:
    if source.get("type") == "text":
        return {"type": "text", "text": source.get("data", "")}
    return {"type": "file", "file": {"filename": "document.pdf", "file_data": _source_url(source)}}


def _openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.get("name"), "parameters": _strip_schema(tool["input_schema"])}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _strip_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without `$schema`, which several OpenAI-compatible servers reject."""
    return {key: copy.deepcopy(value) for key, value in schema.items() if key != "$schema"}


def _openai_tool_choice(choice: Any, out: dict[str, Any]) -> None:
    if not isinstance(choice, dict):
        return
    kind = choice.get("type")
    if kind == "any":
        out["tool_choice"] = "required"
    elif kind == "tool":
        out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind == "none":
        out["tool_choice"] = "none"
    elif kind == "auto":
        out["tool_choice"] = "auto"
    if choice.get("disable_parallel_tool_use"):
        out["parallel_tool_calls"] = False


# --- Anthropic -> Anthropic ------------------------------------------------------------------

def passthrough_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """Only `model` is rewritten (and a missing max_tokens filled in); the rest stays as sent,
    thinking signatures, cache_control and unknown fields included. `stream` follows the
    deployment when it differs (a `stream: simulate` deployment is asked without streaming)."""
    out = dict(body)
    out["model"] = options.upstream_model
    if "max_tokens" not in out:
        out["max_tokens"] = options.max_tokens_default or DEFAULT_MAX_TOKENS
    if bool(out.get("stream")) != options.stream:
        out["stream"] = options.stream
    return Translated(out)


# --- /v1/messages surface --------------------------------------------------------------------

_NUMBER = (int, float)
# The JSON type of the Messages API's request fields the translations read (anthropic SDK's
# MessageCreateParams; tests/dialects/test_shapes.py holds the table to the SDK's TypedDicts).
REQUEST_SHAPES: dict[str, Shape] = {
    "model": str, "max_tokens": int, "messages": list, "system": (str, [{"type": str, "text": str}]),
    "metadata": {"user_id": str}, "stop_sequences": [str], "stream": bool, "temperature": _NUMBER,
    "top_p": _NUMBER, "top_k": int, "tools": [{"type": str, "name": str, "description": str, "input_schema": dict}],
    "tool_choice": {"type": str, "name": str, "disable_parallel_tool_use": bool},
    "thinking": {"type": str, "budget_tokens": int}, "output_config": {"effort": str, "format": {"schema": dict}},
    "service_tier": str, "container": (str, dict), "cache_control": dict, "inference_geo": str, "speed": str,
}
BLOCK_SHAPES: dict[str, Shape] = {
    "id": str, "name": str, "tool_use_id": str, "is_error": bool, "cache_control": dict, "input": dict,
    "content": (str, [dict]), "source": {"type": str, "media_type": str, "data": (str, list), "url": str},
}

_BLOCK_REQUIRED = {
    "text": ("text", str),
    "image": ("source", dict),
    "document": ("source", dict),
    "tool_use": ("id", str),
    "tool_result": ("tool_use_id", str),
    "thinking": ("thinking", str),
    "redacted_thinking": ("data", str),
}


def validate_request(body: dict[str, Any]) -> None:
    """The checks Anthropic itself makes before work starts, so a bad request fails with a
    400 naming the field instead of reaching (and being billed by) an upstream."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise invalid("model: field required", param="model")
    check_fields(body, REQUEST_SHAPES)
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise invalid("max_tokens: a positive integer is required", param="max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: a non-empty list is required", param="messages")
    for position, message in enumerate(messages):
        param = f"messages.{position}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise invalid(f"{param}.role: must be 'user' or 'assistant'", param=f"{param}.role")
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise invalid(f"{param}.content: a string or a list of blocks is required",
                          param=f"{param}.content")
        for index, block in enumerate(content):
            _validate_block(block, f"{param}.content.{index}")
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not 0 <= temperature <= 1):
        raise invalid("temperature: must be a number between 0 and 1", param="temperature")


def _validate_block(block: Any, param: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise invalid(f"{param}: a content block needs a type", param=param)
    check_fields(block, BLOCK_SHAPES, param + ".")
    required = _BLOCK_REQUIRED.get(block["type"])
    if required and not isinstance(block.get(required[0]), required[1]):
        raise invalid(f"{param}.{required[0]}: field required", param=f"{param}.{required[0]}")
    if block["type"] == "tool_use" and not isinstance(block.get("name"), str):
        raise invalid(f"{param}.name: field required", param=f"{param}.name")


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """A local input-token estimate (characters / 4) for upstreams without count_tokens."""
    chars = _text_chars(body.get("system")) + _text_chars(body.get("messages")) + \
        _text_chars(body.get("tools"))
    return max(1, chars // 4)


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_chars(item) for key, item in value.items() if key != "data")
    if isinstance(value, list):
        return sum(_text_chars(item) for item in value)
    return 0
