"""OpenAI Chat Completions request -> Gemini `generateContent` body.

The Gemini body carries no `model`: the provider puts the upstream model in the URL.
Thought signatures ride on the OpenAI side in each tool call's
`extra_content.google.thought_signature`, the field Google's own OpenAI-compatible endpoint
uses, so clients that keep tool calls verbatim send them back without knowing about Gemini.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
from typing import Any

from llmswitch.dialects.gemini_schema import sanitize_schema
from llmswitch.dialects.openai import CUSTOM_TOOLS_MESSAGE, tools_and_choice, unsupported_fields
from llmswitch.dialects.types import Dropped, RequestOptions, Translated
from llmswitch.errors import invalid

# OpenAI parameters Gemini has no counterpart for. Features change what the answer holds: a 400,
# or left out under drop_unsupported. Hints only shape how it is made: always left out and listed.
_UNSUPPORTED_FEATURES = ("logprobs", "top_logprobs", "logit_bias", "audio", "web_search_options")
_UNSUPPORTED_HINTS = ("prediction",)
_THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768,
                     "max": 32768}
_TOOL_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}
# Gemini 3 and later reject a replayed function call without a signature; Google documents this
# sentinel for history the model did not produce (another provider, a client that dropped it).
SIGNATURE_SENTINEL = "skip_thought_signature_validator"
_SIGNED_MODEL = re.compile(r"(?:^|/)gemini-(\d+)")
_DATA_URL = re.compile(r"^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$", re.DOTALL)
MID_CONVERSATION_SYSTEM = "System instruction:\n"  # marks a later system message in its user turn


def openai_to_gemini_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    dropped = unsupported_fields(body, options, _UNSUPPORTED_FEATURES, _UNSUPPORTED_HINTS,
                                 "`{}` is not supported by this model's provider (Gemini)", unset=(None, False, [], {}))

    out: dict[str, Any] = {}
    system, contents = _contents(body.get("messages"), _needs_signature(options.upstream_model), dropped)
    if system:
        out["systemInstruction"] = {"parts": system}
    out["contents"] = contents
    declared, choice = tools_and_choice(body)
    tools = _tools(declared, dropped)
    if tools:
        out["tools"] = [{"functionDeclarations": tools}]
        tool_config = _tool_config(choice, dropped)
        if tool_config:
            out["toolConfig"] = {"functionCallingConfig": tool_config}
        if body.get("parallel_tool_calls") is False and not _one_call_at_most(tool_config, tools):
            dropped.hint("parallel_tool_calls")
    generation = _generation_config(body, options)
    if generation:
        out["generationConfig"] = generation
    return Translated(out, dropped.names)


def _one_call_at_most(config: dict[str, Any] | None, tools: list[dict[str, Any]]) -> bool:
    """Whether the request already holds `parallel_tool_calls: false` as far as Gemini can be told.

    Gemini has no such switch. With calling off, or one function forced (what structured-output
    clients send with the hint), the model is asked for that one call; otherwise the hint is
    listed as dropped rather than refused, since mainstream clients send it on every tool call.
    """
    mode = (config or {}).get("mode")
    allowed = (config or {}).get("allowedFunctionNames") or [tool["name"] for tool in tools]
    return mode == "NONE" or (mode == "ANY" and len(allowed) == 1)


# --- messages -------------------------------------------------------------------------------

def _contents(messages: Any, sign: bool, dropped: Dropped) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(systemInstruction parts, contents): roles become user/model, same-role turns merge.

    System and developer messages before the conversation are the systemInstruction. One that
    comes later becomes a user turn at its place, marked as a system instruction: Gemini has no
    system turn, and merging it into systemInstruction would lose its order (a later instruction
    that overrides an earlier one would read as simultaneous) and change the prompt prefix every
    time one is added, so Gemini's implicit cache would miss on the whole conversation.
    """
    if not isinstance(messages, list) or not messages:
        raise invalid("`messages` must be a non-empty array", param="messages")
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, for the responses
    pending: list[str] = []  # ids of the last assistant turn's calls still awaiting a result
    results: dict[str, dict[str, Any]] = {}
    skipped: set[str] = set()  # ids of calls left out (custom tools), whose results go too

    def close_tool_results(position: int) -> None:
        if not pending:
            return
        missing = [call_id for call_id in pending if call_id not in results]
        if missing:
            raise invalid("an assistant message with `tool_calls` must be followed by a tool message "
                          f"for each call; missing: {', '.join(missing)}", param=f"messages[{position}]")
        _append(contents, "user", [results[call_id] for call_id in pending])
        pending.clear()
        results.clear()

    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid("each message must be an object", param=f"messages[{position}]")
        role = message.get("role")
        where = f"messages[{position}]"
        if role == "function":
            continue  # legacy function calling, refused or dropped with `functions`
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in skipped:
                continue
            if call_id not in pending:
                raise invalid(f"tool message answers unknown or already answered call {call_id!r}",
                              param=f"{where}.tool_call_id")
            response = _tool_result(message.get("content"), where)
            results[call_id] = {"functionResponse": {"id": call_id, "name": names[call_id],
                                                     "response": response}}
            continue
        close_tool_results(position)
        if role in ("system", "developer"):
            text = _text(message.get("content"), where)
            if text and contents:
                _append(contents, "user", [{"text": MID_CONVERSATION_SYSTEM + text}])
            elif text:
                system.append({"text": text})
        elif role == "user":
            _append(contents, "user", _user_parts(message.get("content"), where, dropped))
        elif role == "assistant":
            parts, calls = _assistant_parts(message, where, sign, dropped, skipped)
            for call_id, name in calls:
                names[call_id] = name
                pending.append(call_id)
            _append(contents, "model", parts)
        else:
            raise invalid(f"unsupported message role {role!r}", param=f"{where}.role")
    close_tool_results(len(messages))
    if not contents:
        if not system:
            raise invalid("`messages` must contain at least one user or assistant message", param="messages")
        # Only instructions: OpenAI answers them, Gemini needs a turn, so they become the turn.
        contents, system = [{"role": "user", "parts": system}], []
    return system, contents


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": list(parts)})


def _text(content: Any, where: str) -> str:
    """The text of a system, assistant or tool content: a string or a list of text parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") not in ("text", "refusal"):
                raise invalid("only text parts are allowed here", param=f"{where}.content")
            texts.append(part.get("text") or part.get("refusal") or "")
        return "".join(texts)
    raise invalid("`content` must be a string or an array of parts", param=f"{where}.content")


def _user_parts(content: Any, where: str, dropped: Dropped) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise invalid("`content` must be a string or an array of parts", param=f"{where}.content")
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        param = f"{where}.content[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                parts.append({"text": part["text"]})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            parts.append(_media(url, param))
        elif kind == "input_audio":
            audio = part.get("input_audio") or {}
            mime = _AUDIO_TYPES.get(audio.get("format"), f"audio/{audio.get('format')}")
            parts.append({"inlineData": {"mimeType": mime, "data": audio.get("data") or ""}})
        elif kind == "file":
            file = part.get("file") or {}
            if file.get("file_data"):
                parts.append(_media(file["file_data"], param, file.get("filename")))
            else:
                dropped.feature("messages.content.file", "Gemini needs the file's content inline "
                                "(`file_data`), not a `file_id`", param=param)
        else:
            raise invalid(f"unsupported content part type {kind!r}", param=f"{param}.type")
    return parts


def _media(url: Any, param: str, filename: str | None = None) -> dict[str, Any]:
    """A data URL becomes `inlineData`; an http(s) URL becomes `fileData` with a guessed type."""
    if not isinstance(url, str):
        raise invalid("expected a URL string", param=param)
    match = _DATA_URL.match(url)
    if match:
        mime = match.group(1) or (mimetypes.guess_type(filename)[0] if filename else None)
        data = match.group(2)
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("the data URL does not hold valid base64", param=param) from None
        return {"inlineData": {"mimeType": mime or "application/octet-stream", "data": data}}
    if url.startswith(("http://", "https://", "gs://")):
        mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise invalid("expected a data URL or an http(s) URL", param=param)


def _assistant_parts(message: dict[str, Any], where: str, sign: bool, dropped: Dropped,
                     skipped: set[str]) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Text first, then one functionCall part per tool call; returns the (id, name) of each call."""
    text = _text(message.get("content"), where)
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    calls: list[tuple[str, str]] = []
    for index, call in enumerate(message.get("tool_calls") or []):
        param = f"{where}.tool_calls[{index}]"
        if call.get("type") == "custom":
            dropped.feature("messages.tool_calls.custom", CUSTOM_TOOLS_MESSAGE, param=param)
            skipped.add(call.get("id"))
            continue
        function = call.get("function") or {}
        name, call_id = function.get("name"), call.get("id")
        if not name or not call_id:
            raise invalid("each tool call needs an `id` and a `function.name`", param=param)
        part: dict[str, Any] = {"functionCall": {"id": call_id, "name": name,
                                                 "args": _arguments(function.get("arguments"), param)}}
        signature = ((call.get("extra_content") or {}).get("google") or {}).get("thought_signature")
        if signature:
            part["thoughtSignature"] = signature
        elif sign and not calls:
            part["thoughtSignature"] = SIGNATURE_SENTINEL  # only a turn's first call is signed
        parts.append(part)
        calls.append((call_id, name))
    return parts, calls


def _arguments(arguments: Any, param: str) -> dict[str, Any]:
    if arguments is None or arguments == "":
        return {}
    try:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
    except json.JSONDecodeError:
        raise invalid("tool call arguments are not valid JSON", param=f"{param}.function.arguments") from None
    if not isinstance(args, dict):
        raise invalid("tool call arguments must be a JSON object", param=f"{param}.function.arguments")
    return args


def _tool_result(content: Any, where: str) -> dict[str, Any]:
    """Gemini's `response` must be an object: a JSON object result is kept, anything else wrapped."""
    text = _text(content, where)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"result": text}


def _needs_signature(model: str) -> bool:
    match = _SIGNED_MODEL.search(model)
    return bool(match) and int(match.group(1)) >= 3


# --- tools and generation settings ---------------------------------------------------------

def _tools(tools: list[Any], dropped: Dropped) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            dropped.feature(f"tools[{index}]", CUSTOM_TOOLS_MESSAGE)
            continue
        function = tool.get("function") or {}
        if not function.get("name"):
            raise invalid("each function tool needs a name", param=f"tools[{index}].function.name")
        declaration: dict[str, Any] = {"name": function["name"]}
        if function.get("description"):
            declaration["description"] = function["description"]
        parameters = function.get("parameters")
        # Gemini rejects an OBJECT with no properties: a tool without arguments declares none.
        if isinstance(parameters, dict) and parameters.get("properties"):
            declaration["parameters"] = sanitize_schema(parameters)
        declarations.append(declaration)
    return declarations


def _tool_config(choice: Any, dropped: Dropped) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice not in _TOOL_MODES:
            raise invalid(f"unknown tool_choice {choice!r}", param="tool_choice")
        return {"mode": _TOOL_MODES[choice]}
    if isinstance(choice, dict) and choice.get("type") == "custom":
        dropped.hint("tool_choice")  # its custom tool was refused or dropped: the model picks
        return None
    name = ((choice.get("function") or {}).get("name")) if isinstance(choice, dict) else None
    if not name:
        raise invalid("tool_choice must be auto, none, required or a named function", param="tool_choice")
    return {"mode": "ANY", "allowedFunctionNames": [name]}


def _generation_config(body: dict[str, Any], options: RequestOptions) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for source, target in (("temperature", "temperature"), ("top_p", "topP"), ("seed", "seed"),
                           ("presence_penalty", "presencePenalty"),
                           ("frequency_penalty", "frequencyPenalty"), ("n", "candidateCount")):
        if body.get(source) is not None:
            config[target] = body[source]
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or options.max_tokens_default
    if max_tokens:
        config["maxOutputTokens"] = max_tokens
    stop = body.get("stop")
    if stop:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    response_format = body.get("response_format") or {}
    kind = response_format.get("type")
    if kind in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            config["responseSchema"] = sanitize_schema(schema)
    elif kind not in (None, "text", "json_object"):
        raise invalid(f"unknown response_format type {kind!r}", param="response_format.type")
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in _THINKING_BUDGETS:
            raise invalid(f"unknown reasoning_effort {effort!r}", param="reasoning_effort")
        budget = _THINKING_BUDGETS[effort]
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": budget > 0}
    return config
