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
from llmswitch.dialects.openai import CUSTOM_TOOLS_MESSAGE, tools_and_choice, unsupported_fields
from llmswitch.dialects.types import Dropped, RequestOptions, Translated
from llmswitch.errors import invalid

IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_DATA_URL = re.compile(r"^data:([^;,]+)(;base64)?,(.*)$", re.DOTALL)

# OpenAI parameters Anthropic has no equivalent for. Features change what the answer holds: a 400
# unless the deployment drops them. Hints only nudge sampling: always dropped and listed.
UNSUPPORTED_OPENAI_FEATURES = ("logprobs", "top_logprobs", "logit_bias")
UNSUPPORTED_OPENAI_HINTS = ("presence_penalty", "frequency_penalty", "seed")

# reasoning_effort -> thinking budget. The budget must be >= 1024 and < max_tokens; OpenAI's
# max_completion_tokens counts reasoning too, so the budget is capped at half of max_tokens.
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768, "max": 65536}
MIN_THINKING_BUDGET = 1024

MAX_OPENAI_STOP_SEQUENCES = 4
MAX_OPENAI_USER_CHARS = 64

# Anthropic request fields no OpenAI field expresses: left out and listed as dropped.
UNMAPPED_ANTHROPIC_FIELDS = ("top_k", "context_management", "container", "inference_geo", "speed", "service_tier")
ANTHROPIC_EFFORTS = ("low", "medium", "high", "xhigh", "max")  # OpenAI's reasoning_effort has the same names
# A manual thinking budget -> the smallest effort whose Gemini thinking budget (gemini_request) covers it.
EFFORT_BUDGETS = ((1024, "low"), (8192, "medium"), (24576, "high"))
_BLOCK_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # block types listed in a header: a client's own text


# --- OpenAI -> Anthropic ---------------------------------------------------------------------

def openai_to_anthropic_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """An OpenAI chat request as an Anthropic Messages request (API-REFERENCE section 3)."""
    dropped = unsupported_fields(body, options, UNSUPPORTED_OPENAI_FEATURES, UNSUPPORTED_OPENAI_HINTS,
                                 "{} is not supported by this model's provider", unset=(None, False, 0, {}))
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid("n > 1 is not supported by this model's provider", param="n")

    system, messages = _split_system(body.get("messages"))
    turns = _anthropic_messages(messages, dropped)
    if not turns:
        if not system:
            raise invalid("at least one user or assistant message is required", param="messages")
        # Only instructions: OpenAI answers them, Anthropic needs a turn, so they become the turn.
        turns = [{"role": "user", "content": [{"type": "text", "text": system}] if isinstance(system, str)
                  else system}]
        system = None
    out: dict[str, Any] = {"model": options.upstream_model, "messages": turns}
    if system:
        out["system"] = system
    max_tokens = (body.get("max_completion_tokens") or body.get("max_tokens")
                  or options.max_tokens_default or DEFAULT_MAX_TOKENS)
    out["max_tokens"] = max_tokens

    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)

    declared, choice = tools_and_choice(body)
    tools = _anthropic_tools(declared, dropped)
    if tools:
        out["tools"] = tools
        tool_choice = _anthropic_tool_choice(choice, body.get("parallel_tool_calls"))
        if tool_choice:
            out["tool_choice"] = tool_choice
    forced_tool = out.get("tool_choice", {}).get("type") in ("any", "tool")

    budget = _thinking_budget(body.get("reasoning_effort"), max_tokens)
    if budget and _tool_loop_lacks_thinking(turns):
        dropped.hint("reasoning_effort")
        budget = None
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

    response_format = body["response_format"] if isinstance(body.get("response_format"), dict) else {}
    output_format = _output_format(response_format)
    if output_format:
        out["output_config"] = {"format": output_format}
    elif response_format.get("type") in ("json_object", "json_schema"):  # json_schema may omit its schema
        note = "Respond with a single valid JSON object and nothing else."
        out["system"] = _append_system(out.get("system"), note)

    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    if body.get("service_tier") == "auto":
        out["service_tier"] = "auto"
    out["stream"] = options.stream
    return Translated(out, dropped.names)


def _tool_loop_lacks_thinking(turns: list[dict[str, Any]]) -> bool:
    """Whether the tool loop in progress replays a tool call without the thinking it came with.

    To Anthropic a tool loop is one assistant turn: with thinking on, its final assistant message
    must start with the signed thinking it was produced with ("Expected `thinking`..."). From the
    last user turn holding no tool result on, every assistant turn that called tools is checked.
    OpenAI clients replay tool calls with the standard fields only, so the thinking is gone unless
    they kept `thinking_blocks`; such a request goes with thinking off (Anthropic's documented way
    out) rather than failing, and thinking returns with the next user message.
    """
    for turn in reversed(turns):
        blocks = turn["content"]
        if turn["role"] == "user":
            if not any(block["type"] == "tool_result" for block in blocks):
                return False
        elif any(block["type"] == "tool_use" for block in blocks) and \
                blocks[0]["type"] not in ("thinking", "redacted_thinking"):
            return True
    return False


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


def _anthropic_messages(messages: list[dict[str, Any]], dropped: Dropped) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    skipped: set[str] = set()  # ids of calls left out (custom tools), whose results go too
    for position, message in enumerate(messages):
        role = message.get("role")
        param = f"messages.{position}"
        if role == "user":
            blocks = _user_blocks(message.get("content"), f"{param}.content", dropped)
            turn_role = "user"
        elif role == "assistant":
            blocks = _assistant_blocks(message, param, dropped, skipped)
            turn_role = "assistant"
        elif role == "tool":
            if message.get("tool_call_id") in skipped:
                continue
            blocks = [_tool_result(message, param)]
            turn_role = "user"
        elif role == "function":
            continue  # legacy function calling, refused or dropped by unsupported_fields
        else:
            raise invalid(f"unknown message role {role!r}", param=f"{param}.role")
        if not blocks:
            continue  # an empty turn (e.g. assistant content "" and no calls) carries nothing
        if turns and turns[-1]["role"] == turn_role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": turn_role, "content": blocks})
    for turn in turns:
        if turn["role"] == "user":
            # Anthropic wants every tool_result first in its user turn; results split by user
            # text (or by separate tool messages) are gathered there, the rest keeps its order.
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def _user_blocks(content: Any, param: str, dropped: Dropped) -> list[dict[str, Any]]:
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
            document = _document_block(part.get("file"))
            if document:
                blocks.append(document)
            else:
                dropped.feature("messages.content.file", "file parts must carry a base64 PDF data URL in "
                                "file_data for this model's provider", param=part_param)
        elif kind == "input_audio":
            dropped.feature("messages.content.input_audio", "audio input is not supported by this model's "
                            "provider", param=part_param)
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


def _document_block(file: Any) -> dict[str, Any] | None:
    """A base64 PDF as a document block; None for what Anthropic cannot read (a `file_id`, other types)."""
    data = file.get("file_data") if isinstance(file, dict) else None
    match = _DATA_URL.match(data) if isinstance(data, str) else None
    if not match or match.group(1).lower() != "application/pdf" or not match.group(2):
        return None
    return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                           "data": match.group(3)}}


def _assistant_blocks(message: dict[str, Any], param: str, dropped: Dropped,
                      skipped: set[str]) -> list[dict[str, Any]]:
    # Signed thinking blocks from an earlier Anthropic answer must be replayed verbatim and
    # first, or Anthropic rejects the turn ("Expected thinking...").
    blocks = [copy.deepcopy(block) for block in message.get("thinking_blocks") or []
              if isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking")]
    blocks.extend(_text_blocks(message.get("content"), f"{param}.content"))
    for position, call in enumerate(message.get("tool_calls") or []):
        if call.get("type") == "custom":
            dropped.feature("messages.tool_calls.custom", CUSTOM_TOOLS_MESSAGE, param=f"{param}.tool_calls.{position}")
            skipped.add(call.get("id"))
            continue
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
    tool_id = message.get("tool_call_id")
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


def _anthropic_tools(tools: list[Any], dropped: Dropped) -> list[dict[str, Any]]:
    out = []
    for position, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            dropped.feature(f"tools.{position}", CUSTOM_TOOLS_MESSAGE)
            continue
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
    elif choice in (None, "auto") or isinstance(choice, dict):  # a named custom tool is not sent: the model picks
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


def _output_format(response_format: dict[str, Any]) -> dict[str, Any] | None:
    """Anthropic's output format for a json_schema response_format that carries its schema."""
    if response_format.get("type") != "json_schema":
        return None
    schema = (response_format.get("json_schema") or {}).get("schema")
    return {"type": "json_schema", "schema": copy.deepcopy(schema)} if isinstance(schema, dict) else None


# --- Anthropic -> OpenAI ---------------------------------------------------------------------

def anthropic_to_openai_request(body: dict[str, Any], options: RequestOptions, *,
                                reasoning: bool = False) -> Translated:
    """An Anthropic Messages request (an SDK client or Claude Code) as an OpenAI chat request.

    Claude Code's extra fields are handled on purpose. Left out and listed as dropped:
    `context_management`, `top_k`, `container`, `speed`, `inference_geo`, `service_tier`, content
    blocks OpenAI has no form for (thinking, server-tool blocks, Files API references) and server
    tools. Left out unlisted, because nothing the answer depends on is lost: `cache_control`
    (OpenAI and Gemini cache prompt prefixes by themselves), `defer_loading` (the tool is simply
    offered at once), `thinking.display` (no thinking reaches an Anthropic client from a
    non-Anthropic upstream), `$schema` in tool schemas (several OpenAI-compatible servers reject
    it). `metadata.user_id`, a JSON string from Claude Code, becomes `user` (hashed when long).
    `output_config.format` becomes `response_format`.

    REASONING (or `options.reasoning`) says whether the target reads `reasoning_effort` safely.
    Gemini does (its thinking models take a budget), so on the way there `thinking` and
    `output_config.effort` become an effort. An OpenAI-compatible upstream rejects `reasoning_effort` on models that do not reason,
    which only the deployment's model decides, so towards OpenAI both are left out and listed.
    """
    dropped = Dropped()
    messages: list[dict[str, Any]] = []
    system = _system_text(body.get("system"))
    if system:
        messages.append({"role": "system", "content": system})
    for message in body.get("messages") or []:
        messages.extend(_openai_messages(message, dropped))
    out: dict[str, Any] = {"model": options.upstream_model, "messages": messages}
    max_tokens = body.get("max_tokens")
    if max_tokens:
        out["max_completion_tokens"] = max_tokens
    elif max_tokens == 0:  # Anthropic's cache pre-warm asks for no answer; OpenAI's least is one token
        out["max_completion_tokens"] = 1
        dropped.hint("max_tokens")
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    for key in UNMAPPED_ANTHROPIC_FIELDS:
        if body.get(key) is not None:
            dropped.hint(key)
    _reasoning(body, out, dropped, reasoning or options.reasoning)
    stop = body.get("stop_sequences")
    if stop:
        out["stop"] = list(stop[:MAX_OPENAI_STOP_SEQUENCES])
        if len(stop) > MAX_OPENAI_STOP_SEQUENCES:
            dropped.hint("stop_sequences")
    tools = [tool for tool in body.get("tools") or [] if "input_schema" in tool]
    if len(tools) != len(body.get("tools") or []):
        dropped.hint("tools")  # server tools (web search, code execution) run only at Anthropic
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
    return Translated(out, dropped.names)


def anthropic_to_reasoning_openai_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """The OpenAI form with `reasoning_effort`, for a target known to read it (the way to Gemini)."""
    return anthropic_to_openai_request(body, options, reasoning=True)


def _reasoning(body: dict[str, Any], out: dict[str, Any], dropped: Dropped, reasoning: bool) -> None:
    """`thinking` and `output_config.effort` as `reasoning_effort`, or listed as dropped.

    An explicit effort keeps its name (OpenAI has the same five levels); a manual budget takes
    the effort whose Gemini budget covers it; adaptive thinking is the target's default already.
    `thinking: disabled` is listed: not every Gemini model may stop thinking.
    """
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    effort = (body.get("output_config") or {}).get("effort")
    if reasoning and effort in ANTHROPIC_EFFORTS:
        out["reasoning_effort"] = effort
    elif effort is not None:
        dropped.hint("output_config.effort")
    kind = thinking.get("type")
    budget = thinking.get("budget_tokens")
    if reasoning and kind == "enabled" and isinstance(budget, int) and "reasoning_effort" not in out:
        out["reasoning_effort"] = next((name for limit, name in EFFORT_BUDGETS if budget <= limit), "xhigh")
    elif "thinking" in body and not (reasoning and kind in ("enabled", "adaptive")):
        dropped.hint("thinking")


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n\n".join(block.get("text", "") for block in system or []
                       if isinstance(block, dict) and block.get("text"))


def _openai_messages(message: dict[str, Any], dropped: Dropped) -> list[dict[str, Any]]:
    """One Anthropic turn as OpenAI messages, in order.

    Tool results come first, as `tool` messages (OpenAI wants them right after the calls); the
    images and documents they hold go into the user message after them, since a `tool` message
    takes text only. A `role: "system"` message, and each `mid_conv_system` block, becomes a
    `system` message at its place; in an assistant turn, just before that turn, so that nothing
    comes between tool calls and their results.
    """
    role = message.get("role")
    content = message.get("content")
    if role == "system":
        text = _system_text(content)
        return [{"role": "system", "content": text}] if text else []
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if role == "assistant":
        return _openai_assistant(content or [], dropped)
    results: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind == "tool_result":
            tool_message, media = _openai_tool_message(block, dropped)
            results.append(tool_message)
            parts.extend(media)
        elif kind == "mid_conv_system":
            text = _system_text(block.get("content"))
            if text:
                if parts:
                    out.append({"role": "user", "content": parts})
                    parts = []
                out.append({"role": "system", "content": text})
        else:
            part = _openai_part(block, dropped)
            if part:
                parts.append(part)
    if parts:
        out.append({"role": "user", "content": parts})
    return results + out if results else out


def _openai_part(block: dict[str, Any], dropped: Dropped) -> dict[str, Any] | None:
    """A content block as an OpenAI content part; None (listed) for blocks OpenAI has no form for."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block["text"]} if block.get("text") else None
    source = block["source"] if isinstance(block.get("source"), dict) else {}
    source_type = source.get("type")
    if kind == "image" and source_type in ("base64", "url"):
        return {"type": "image_url", "image_url": {"url": _source_url(source)}}
    if kind == "document" and source_type == "base64":
        return {"type": "file", "file": {"filename": "document.pdf", "file_data": _source_url(source)}}
    if kind == "document" and source_type in ("text", "content"):
        text = source.get("data") if source_type == "text" else _block_text(source.get("content"))
        return {"type": "text", "text": text} if isinstance(text, str) and text else None
    if kind == "search_result":
        text = _block_text(block.get("content"))
        heading = " ".join(str(block[key]) for key in ("title", "source") if block.get(key))
        return {"type": "text", "text": f"{heading}\n{text}" if heading else text}
    dropped.hint(f"messages.content.{kind if _BLOCK_TYPE.match(str(kind)) else 'unknown'}")
    return None


def _block_text(content: Any) -> str:
    """The text of a string or of the text blocks in a list (other blocks have none)."""
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text") or "" for block in content or ()
                     if isinstance(block, dict) and block.get("type") == "text")


def _openai_assistant(blocks: list[dict[str, Any]], dropped: Dropped) -> list[dict[str, Any]]:
    """The assistant message (left out when it has neither text nor calls, which OpenAI refuses),
    after the system messages of its `mid_conv_system` blocks."""
    # Thinking blocks are signed for Anthropic only; an OpenAI upstream cannot use them.
    out: list[dict[str, Any]] = []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "tool_use":
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"), "arguments": json.dumps(block.get("input") or {})}})
        elif kind == "mid_conv_system":
            text = _system_text(block.get("content"))
            if text:
                out.append({"role": "system", "content": text})
        else:
            _openai_part(block, dropped)  # lists the block as dropped
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    if calls or message["content"]:
        out.append(message)
    return out


def _openai_tool_message(block: dict[str, Any], dropped: Dropped) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tool_result as a `tool` message, and the images and documents it held as user parts."""
    content = block.get("content")
    texts: list[str] = [content] if isinstance(content, str) else []
    media: list[dict[str, Any]] = []
    for inner in content if isinstance(content, list) else ():
        part = _openai_part(inner, dropped) if isinstance(inner, dict) else None
        if part and part["type"] == "text":
            texts.append(part["text"])
        elif part:
            media.append(part)
    text = "\n".join(texts)
    return {"role": "tool", "tool_call_id": block.get("tool_use_id"),
            "content": f"Error: {text}" if block.get("is_error") else text}, media


def _source_url(source: dict[str, Any]) -> str:
    if source.get("type") == "url":
        return str(source.get("url"))
    return f"data:{source.get('media_type')};base64,{source.get('data')}"


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
