"""Requests between the OpenAI Responses API and Chat Completions (the hub), and the /v1/responses checks.

Responses -> Chat builds the Chat form every other provider dialect is reached from (Anthropic and
Gemini by chaining). What each create field becomes (see `responses_to_chat_request`):

- mapped: `input` (items, see `_Conversation`), `instructions` (a leading system message),
  `tools`, `tool_choice`, `parallel_tool_calls`, `max_output_tokens`, `temperature`, `top_p`,
  `text.format` (-> `response_format`), `text.verbosity`, `reasoning.effort`, `user`,
  `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`, `prompt_cache_options`,
  `service_tier`, `moderation`. A `compaction_trigger` ending the input becomes the gateway's
  request for a summary (`COMPACTION_INSTRUCTION`, with `tool_choice: none`); a `compaction` item
  of the gateway's becomes the summary it holds.
- the gateway's own, never forwarded: `store`, `background`, `include`, `previous_response_id`
  and item references (the pipeline resolves them from its store before translating), `metadata`
  (kept with the stored response and echoed; Chat would refuse it without `store`), `stream` and
  `stream_options` (the deployment decides; no obfuscation is ever added), `reasoning.summary`
  (shapes the answer's reasoning items), `client_metadata` (Codex's notes about itself),
  `max_tool_calls` (it bounds hosted tools only, and none runs here).
- dropped and listed (hints: nothing the client's code depends on is lost): hosted tools the model
  cannot run here (`web_search`, `file_search`, `computer_use`, `mcp`, `code_interpreter`,
  `image_generation`, `local_shell`, `shell`, `apply_patch`, `tool_search`...), a `tool_choice`
  naming one of them, input items of those tools and foreign reasoning, `truncation: auto`,
  `top_logprobs`, `include` values other than `reasoning.encrypted_content` (logprobs, hosted
  tools' results), `context_management`, `access_programs`, `background_options`, `image`.
- features (a 400 unless the deployment sets `drop_unsupported`): `prompt` (a template stored at
  OpenAI), `conversation` (a conversation object the gateway does not keep), images and files
  given by OpenAI file id.

Chat -> Responses is the reverse, for Responses-only deployments (`chat_to_responses_request`).
Neither changes the client's body: a failover attempt translates it again.
"""

from __future__ import annotations

import copy
from typing import Any

from llmswitch.dialects.openai import LEGACY_FUNCTIONS_MESSAGE, uses_legacy_functions
from llmswitch.dialects.responses import (CUSTOM_INPUT, ENCRYPTED_REASONING, ClientTool, chat_name, client_tools,
                                          compacting, compaction_summary, decode_reasoning, listed,
                                          wrap_custom_input)
from llmswitch.dialects.types import Dropped, RequestOptions, Translated
from llmswitch.errors import invalid

# Create fields with the same name and meaning in Chat Completions.
SAME_FIELDS = ("parallel_tool_calls", "temperature", "top_p", "user", "safety_identifier", "prompt_cache_key",
               "prompt_cache_retention", "prompt_cache_options", "service_tier", "moderation")
HINT_FIELDS = ("top_logprobs", "context_management", "access_programs", "background_options", "image")
ROLES = ("user", "assistant", "system", "developer")
IMAGE_DETAILS = ("low", "high", "auto")  # Chat's; Responses adds `original`
MIN_OUTPUT_TOKENS = 16  # the Responses API refuses less
CUSTOM_TOOL_PARAMETERS = {"type": "object", "properties": {CUSTOM_INPUT: {"type": "string"}},
                          "required": [CUSTOM_INPUT], "additionalProperties": False}
_CALLS = ("function_call", "custom_tool_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")
# A compaction is asked of the model in the gateway's own words; what it wrote comes back as a user turn.
COMPACTION_INSTRUCTION = (
    "Write a summary of this conversation that lets the work go on without it: the task and the user's "
    "requirements, what has been done and decided, the state of files, commands and tools, and what remains "
    "to be done. Answer with the summary alone.")
COMPACTED_PREFIX = "The earlier part of this conversation was compacted into this summary:\n\n"


# --- Responses -> Chat -----------------------------------------------------------------------

def responses_to_chat_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """A Responses create request as a Chat Completions request (the module docstring lists each field)."""
    dropped = Dropped(options.drop_unsupported)
    for name, message in (("prompt", "stored prompt templates are not available for this model's provider"),
                          ("conversation", "conversation objects are not available for this model's provider; "
                                           "use previous_response_id")):
        if body.get(name):
            dropped.feature(name, message)
    tools = client_tools(body)
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    messages += _Conversation(tools, dropped).messages(body.get("input"))
    if not messages:
        raise invalid("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    out: dict[str, Any] = {"model": options.upstream_model, "messages": messages}
    for key in SAME_FIELDS:
        if body.get(key) is not None:
            out[key] = copy.deepcopy(body[key])
    for key in HINT_FIELDS:
        if body.get(key):
            dropped.hint(key)
    if body.get("truncation") == "auto":
        dropped.hint("truncation")
    for value in body.get("include") or ():
        if value != ENCRYPTED_REASONING:
            dropped.hint(f"include.{listed(value)}")  # hosted tools' results, logprobs: nothing here makes them
    if body.get("max_output_tokens") is not None:
        out["max_completion_tokens"] = body["max_output_tokens"]
    chat_tools = _chat_tools(body.get("tools"), dropped)
    if chat_tools:
        out["tools"] = chat_tools
        choice = "none" if compacting(body) else _chat_tool_choice(body.get("tool_choice"), tools, dropped)
        if choice is not None:
            out["tool_choice"] = choice
    elif body.get("tool_choice") not in (None, "auto", "none"):
        dropped.hint("tool_choice")
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    response_format = _response_format(text.get("format"))
    if response_format:
        out["response_format"] = response_format
    if text.get("verbosity"):
        out["verbosity"] = text["verbosity"]
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    if reasoning.get("effort"):
        out["reasoning_effort"] = reasoning["effort"]
    out["stream"] = options.stream
    if options.stream:
        out["stream_options"] = {"include_usage": True}
    return Translated(out, dropped.names)


class _Conversation:
    """Input items as Chat messages, in order.

    An assistant turn gathers its message items, calls and reasoning into one assistant message
    (Chat wants the calls of a turn together, answered by `tool` messages right after it); the
    thinking blocks a reasoning item's token carries go on it as `thinking_blocks`, which the
    Anthropic translation replays first in the turn, and the `extra_content` it carries for a call
    (Gemini's thought signature) goes back on that call, which comes after it. Outputs pair with
    calls by `call_id` (an output without one answers the oldest unanswered call). A `tool` message
    takes text only, so images and files in an output follow the run of tool messages as a user
    message. Item `id`s, `status` and `phase` are not needed by any Chat-form target and are left out.
    """

    def __init__(self, tools: dict[str, ClientTool], dropped: Dropped):
        self.tools = tools
        self.dropped = dropped
        self.out: list[dict[str, Any]] = []
        self.assistant: dict[str, Any] | None = None  # the turn being gathered
        self.media: list[dict[str, Any]] = []  # user parts from tool outputs, after the tool messages
        self.unanswered: list[str] = []
        self.extras: dict[str, dict[str, Any]] = {}  # call id -> extra_content, from reasoning tokens

    def messages(self, raw: Any) -> list[dict[str, Any]]:
        if isinstance(raw, str):
            return self.out + [{"role": "user", "content": raw}]
        for position, item in enumerate(raw or ()):
            if isinstance(item, dict):
                self.item(item, f"input[{position}]")
        self.close_turn()
        self.flush_media()
        return self.out

    def item(self, item: dict[str, Any], param: str) -> None:
        kind = item.get("type", "message")
        if kind == "message":
            if item.get("role") == "assistant":
                self.assistant_text(item.get("content"), param)
            else:
                self.add_message(self.message(item, param))
        elif kind in _CALLS:
            self.call(item, param)
        elif kind in _OUTPUTS:
            self.close_turn()
            self.output(item, param)
        elif kind == "compaction_trigger":
            self.add_message({"role": "user", "content": COMPACTION_INSTRUCTION})
        elif kind == "compaction" and (summary := compaction_summary(
                item.get("encrypted_content"), f"{param}.encrypted_content")) is not None:
            self.add_message({"role": "user", "content": COMPACTED_PREFIX + summary})
        elif kind == "reasoning":
            carried = decode_reasoning(item.get("encrypted_content"), f"{param}.encrypted_content")
            if carried is None:
                self.dropped.hint("input.reasoning")  # another server's reasoning, or only its summary
            else:
                if carried.thinking_blocks:
                    self.turn().setdefault("thinking_blocks", []).extend(copy.deepcopy(carried.thinking_blocks))
                self.extras.update(copy.deepcopy(carried.call_extras))
        else:
            self.dropped.hint(f"input.{listed(kind)}")  # hosted tools' items, OpenAI's compaction, unknown refs

    def add_message(self, message: dict[str, Any]) -> None:
        """A user, system or developer message: it ends the assistant turn being gathered."""
        self.close_turn()
        self.flush_media()
        self.out.append(message)

    # --- assistant turns ---------------------------------------------------------------------
    def turn(self) -> dict[str, Any]:
        if self.assistant is None:
            self.flush_media()
            self.assistant = {"role": "assistant", "content": None}
            self.out.append(self.assistant)
        return self.assistant

    def close_turn(self) -> None:
        turn, self.assistant = self.assistant, None
        if turn is not None and not turn["content"] and not turn.get("tool_calls"):
            self.out.remove(turn)  # reasoning alone is no turn: Chat and Anthropic refuse an empty message

    def assistant_text(self, content: Any, param: str) -> None:
        parts = [part for part in content if isinstance(part, dict)] if isinstance(content, list) else []
        text = content if isinstance(content, str) else "".join(
            part.get("text") or part.get("refusal") or "" for part in parts)
        for part in parts:  # Chat's assistant messages hold text only
            if part.get("type") not in ("output_text", "input_text", "refusal"):
                self.dropped.hint(f"input.content.{listed(part.get('type'))}")
        if text:
            turn = self.turn()
            turn["content"] = (turn["content"] or "") + text

    def call(self, item: dict[str, Any], param: str) -> None:
        name = chat_name(str(item.get("name") or ""), item.get("namespace"))
        if item["type"] == "custom_tool_call":
            arguments = wrap_custom_input(str(item.get("input") or ""))
        else:
            arguments = item.get("arguments") or "{}"
        call: dict[str, Any] = {"id": item.get("call_id"), "type": "function",
                                "function": {"name": name, "arguments": arguments}}
        if item.get("call_id") in self.extras:
            call["extra_content"] = self.extras[item["call_id"]]
        self.turn().setdefault("tool_calls", []).append(call)
        self.unanswered.append(item.get("call_id"))

    def output(self, item: dict[str, Any], param: str) -> None:
        call_id = item.get("call_id")
        if call_id is None and self.unanswered:
            call_id = self.unanswered[0]
        if call_id not in self.unanswered:
            raise invalid(f"No tool call found for {item['type'].replace('_', ' ')} with call_id {call_id}.",
                          param=f"{param}.call_id", code="invalid_value")
        self.unanswered.remove(call_id)
        output = item.get("output")
        texts: list[str] = []
        if isinstance(output, str):
            texts.append(output)
        for position, part in enumerate(output if isinstance(output, list) else ()):
            chat_part = self.part(part, f"{param}.output[{position}]") if isinstance(part, dict) else None
            if chat_part is None:
                continue
            if chat_part["type"] == "text":
                texts.append(chat_part["text"])
            else:
                self.media.append(chat_part)
        self.out.append({"role": "tool", "tool_call_id": call_id, "content": "\n".join(texts)})

    def flush_media(self) -> None:
        if self.media:
            self.out.append({"role": "user", "content": self.media})
            self.media = []

    # --- user, system and developer messages -------------------------------------------------
    def message(self, item: dict[str, Any], param: str) -> dict[str, Any]:
        """System and developer messages are one role in Chat (OpenAI reads `system` as `developer`
        on the models that have it; chat-only servers may know only `system`)."""
        role = "user" if item["role"] == "user" else "system"
        content = item.get("content")
        if isinstance(content, str):
            return {"role": role, "content": content}
        parts = [part for position, raw in enumerate(content or ()) if isinstance(raw, dict)
                 and (part := self.part(raw, f"{param}.content[{position}]")) is not None]
        if role == "system":
            kept = [part for part in parts if part["type"] == "text"]
            if len(kept) != len(parts):
                self.dropped.hint("input.content")  # Chat's system messages hold text only
            return {"role": role, "content": "\n\n".join(part["text"] for part in kept)}
        return {"role": role, "content": parts}

    def part(self, part: dict[str, Any], param: str) -> dict[str, Any] | None:
        kind = part.get("type")
        if kind in ("input_text", "output_text"):
            return {"type": "text", "text": part.get("text") or ""}
        if kind == "refusal":
            return {"type": "text", "text": part.get("refusal") or ""}
        if kind == "input_image":
            if not part.get("image_url"):
                self.dropped.feature("input.content.input_image.file_id", "images given by file id are not "
                                     "available for this model's provider; send image_url", param=param)
                return None
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail") in IMAGE_DETAILS:
                image["detail"] = part["detail"]
            return {"type": "image_url", "image_url": image}
        if kind == "input_file":
            if not part.get("file_data"):
                self.dropped.feature("input.content.input_file", "files are available for this model's provider "
                                     "only as file_data", param=param)
                return None
            file = {"file_data": part["file_data"]}
            if part.get("filename"):
                file["filename"] = part["filename"]
            return {"type": "file", "file": file}
        if kind == "input_audio":
            return {"type": "input_audio", "input_audio": copy.deepcopy(part.get("input_audio"))}
        self.dropped.hint(f"input.content.{listed(kind)}")
        return None


def _chat_tools(tools: Any, dropped: Dropped) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools or ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind in ("function", "custom"):
            out.append(_chat_tool(tool, None))
        elif kind == "namespace":
            out += [_chat_tool(member, tool.get("name")) for member in tool.get("tools") or ()
                    if isinstance(member, dict) and member.get("type") in ("function", "custom")]
        else:
            dropped.hint(f"tools.{listed(kind)}")
    return out


def _chat_tool(tool: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    """A function or custom tool as a Chat function; a custom tool takes its input as one string, with
    its grammar (if any) in the description so that the model can follow it."""
    function: dict[str, Any] = {"name": chat_name(str(tool.get("name") or ""), namespace)}
    description = tool.get("description") or ""
    if tool["type"] == "custom":
        grammar = tool.get("format") if isinstance(tool.get("format"), dict) else {}
        if grammar.get("type") == "grammar" and grammar.get("definition"):
            description += (f"\n\nThe `{CUSTOM_INPUT}` argument must match this {grammar.get('syntax') or ''} "
                            f"grammar:\n{grammar['definition']}")
        function["parameters"] = copy.deepcopy(CUSTOM_TOOL_PARAMETERS)
    elif tool.get("parameters") is not None:
        function["parameters"] = copy.deepcopy(tool["parameters"])
    if description.strip():
        function["description"] = description.strip()
    if tool["type"] == "function" and tool.get("strict") is not None:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: Any, tools: dict[str, ClientTool], dropped: Dropped) -> Any:
    if not isinstance(choice, dict):
        return choice if isinstance(choice, str) else None
    kind = choice.get("type")
    if kind in ("function", "custom"):
        name = _declared_name(choice.get("name"), tools)
        return {"type": "function", "function": {"name": name}} if name else None
    if kind == "allowed_tools":
        names = [name for tool in choice.get("tools") or () if isinstance(tool, dict)
                 and (name := _declared_name(tool.get("name"), tools))]
        if not names:
            dropped.hint("tool_choice")  # only hosted tools were allowed, and none of them is here
            return "none"
        return {"type": "allowed_tools", "allowed_tools": {
            "mode": choice.get("mode") or "auto",
            "tools": [{"type": "function", "function": {"name": name}} for name in names]}}
    dropped.hint("tool_choice")  # a hosted tool: the model picks among the rest
    return None


def _declared_name(name: Any, tools: dict[str, ClientTool]) -> str | None:
    """The Chat name of the declared tool called NAME (its own, or one inside a namespace)."""
    if name in tools:
        return name  # type: ignore[no-any-return]
    return next((flat for flat, tool in tools.items() if tool.name == name), None)


def _response_format(fmt: Any) -> dict[str, Any] | None:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = {key: copy.deepcopy(fmt[key]) for key in ("name", "schema", "strict", "description")
                  if fmt.get(key) is not None}
        return {"type": "json_schema", "json_schema": schema}
    return None


# --- Chat -> Responses -----------------------------------------------------------------------

# Chat parameters the Responses API has no equivalent for. Features change what the answer holds.
CHAT_ONLY_FEATURES = ("logprobs", "top_logprobs", "audio", "stop", "web_search_options")
CHAT_ONLY_HINTS = ("presence_penalty", "frequency_penalty", "seed", "logit_bias", "prediction")


def chat_to_responses_request(body: dict[str, Any], options: RequestOptions) -> Translated:
    """A Chat Completions request as a Responses request, for a deployment that speaks only Responses.

    The answer is not stored upstream (`store: false` unless the client asked Chat to store it): a
    Chat client never retrieves it. System and developer messages stay input messages at their place.
    """
    dropped = Dropped(options.drop_unsupported)
    n = body.get("n")
    if n is not None and n != 1:
        raise invalid("n > 1 is not supported by this model's provider", param="n")
    if uses_legacy_functions(body):
        dropped.feature("functions", LEGACY_FUNCTIONS_MESSAGE)
    for key in CHAT_ONLY_FEATURES:
        if body.get(key) not in (None, False, 0, [], {}):
            dropped.feature(key, f"{key} is not supported by this model's provider")
    for key in CHAT_ONLY_HINTS:
        if body.get(key) not in (None, 0, {}):
            dropped.hint(key)
    if "audio" in (body.get("modalities") or ()):
        dropped.feature("modalities", "audio output is not supported by this model's provider")
    out: dict[str, Any] = {"model": options.upstream_model, "input": _input_items(body.get("messages") or []),
                           "store": body.get("store") is True}
    for key in SAME_FIELDS:
        if body.get(key) is not None:
            out[key] = copy.deepcopy(body[key])
    if body.get("metadata"):
        out["metadata"] = copy.deepcopy(body["metadata"])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens:
        if max_tokens < MIN_OUTPUT_TOKENS:
            dropped.hint("max_tokens")  # raised to the least the Responses API takes
        out["max_output_tokens"] = max(max_tokens, MIN_OUTPUT_TOKENS)
    tools = [_responses_tool(tool) for tool in body.get("tools") or () if isinstance(tool, dict)]
    if tools:
        out["tools"] = tools
        if body.get("tool_choice") is not None:
            out["tool_choice"] = _responses_tool_choice(body["tool_choice"])
    text: dict[str, Any] = {}
    fmt = _text_format(body.get("response_format"))
    if fmt:
        text["format"] = fmt
    if body.get("verbosity"):
        text["verbosity"] = body["verbosity"]
    if text:
        out["text"] = text
    if body.get("reasoning_effort"):
        out["reasoning"] = {"effort": body["reasoning_effort"]}
    out["stream"] = options.stream
    return Translated(out, dropped.names)


def _input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    custom_calls: set[str] = set()
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role == "tool":
            kind = "custom_tool_call_output" if message.get("tool_call_id") in custom_calls else \
                "function_call_output"
            items.append({"type": kind, "call_id": message.get("tool_call_id"), "output": _plain_text(content)})
        elif role == "assistant":
            text = _plain_text(content) + (message.get("refusal") or "")
            if text:
                items.append({"type": "message", "role": "assistant", "content": text})
            for call in message.get("tool_calls") or ():
                items.append(_responses_call(call))
                if call.get("type") == "custom":
                    custom_calls.add(call.get("id"))
        elif role in ("system", "developer", "user"):
            items.append({"type": "message", "role": role, "content": content if isinstance(content, str)
                          else [_responses_part(part) for part in content or () if isinstance(part, dict)]})
    return items


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text") or part.get("refusal") or "" for part in content or () if isinstance(part, dict))


def _responses_call(call: dict[str, Any]) -> dict[str, Any]:
    if call.get("type") == "custom":
        custom = call.get("custom") or {}
        return {"type": "custom_tool_call", "call_id": call.get("id"), "name": custom.get("name"),
                "input": custom.get("input") or ""}
    function = call.get("function") or {}
    return {"type": "function_call", "call_id": call.get("id"), "name": function.get("name"),
            "arguments": function.get("arguments") or "{}"}


def _responses_part(part: dict[str, Any]) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        detail = image.get("detail") if isinstance(image, dict) else None
        return {"type": "input_image", "image_url": url, "detail": detail or "auto"}
    if kind == "file":
        file = part.get("file") or {}
        return {"type": "input_file",
                **{key: file[key] for key in ("file_data", "file_id", "filename") if file.get(key)}}
    if kind == "input_audio":
        return {"type": "input_audio", "input_audio": copy.deepcopy(part.get("input_audio"))}
    return {"type": "input_text", "text": part.get("text") or part.get("refusal") or ""}


def _responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "custom":
        custom = tool.get("custom") or {}
        out: dict[str, Any] = {"type": "custom", "name": custom.get("name")}
        if custom.get("description"):
            out["description"] = custom["description"]
        fmt = custom.get("format") if isinstance(custom.get("format"), dict) else {}
        if fmt.get("type") == "grammar":
            out["format"] = {"type": "grammar", **(fmt.get("grammar") or {})}
        elif fmt:
            out["format"] = {"type": "text"}
        return out
    function = tool.get("function") or {}
    out = {"type": "function", "name": function.get("name"), "parameters": copy.deepcopy(function.get("parameters")),
           "strict": function.get("strict", False)}
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _responses_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return choice
    kind = choice.get("type")
    if kind == "function":
        return {"type": "function", "name": (choice.get("function") or {}).get("name")}
    if kind == "custom":
        return {"type": "custom", "name": (choice.get("custom") or {}).get("name")}
    if kind == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        return {"type": "allowed_tools", "mode": allowed.get("mode") or "auto",
                "tools": [{"type": tool.get("type"), "name": (tool.get(tool.get("type")) or {}).get("name")}
                          for tool in allowed.get("tools") or () if isinstance(tool, dict)]}
    return choice


def _text_format(response_format: Any) -> dict[str, Any] | None:
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_schema":
        schema = response_format.get("json_schema") or {}
        return {"type": "json_schema", "name": schema.get("name") or "response",
                **{key: copy.deepcopy(schema[key]) for key in ("schema", "strict", "description")
                   if schema.get(key) is not None}}
    if kind in ("json_object", "text"):
        return {"type": kind}
    return None


# --- /v1/responses surface -------------------------------------------------------------------

def validate_request(body: dict[str, Any]) -> None:
    """The checks the Responses API itself makes before work starts, in its words, naming `param`.

    Only what the API refuses is refused: item, part and tool types it may add later pass (the
    translation lists what it cannot carry), unknown top-level fields pass (Codex sends
    `client_metadata`, which openai-python does not define). `input` may be left out when a
    previous response, a conversation or a prompt template supplies it.
    """
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    _check_input(body)
    if body.get("instructions") is not None and not isinstance(body["instructions"], str):
        raise _type_error("instructions", "a string")
    _check_number(body, "temperature", 0, 2)
    _check_number(body, "top_p", 0, 1)
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < MIN_OUTPUT_TOKENS):
        raise invalid(f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
                      f"{MIN_OUTPUT_TOKENS}, but got {limit!r} instead.", param="max_output_tokens",
                      code="integer_below_min_value")
    for name in ("stream", "store", "background", "parallel_tool_calls"):
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise _type_error(name, "a boolean")
    if body.get("background") is True and body.get("store") is False:
        raise invalid("Background responses cannot be created with store set to false.", param="background",
                      code="invalid_value")
    if body.get("previous_response_id") and body.get("conversation"):
        raise invalid("Mutually exclusive parameters: 'previous_response_id' and 'conversation'. Use one.",
                      param="previous_response_id", code="mutually_exclusive_parameters")
    for name in ("previous_response_id", "prompt_cache_key", "safety_identifier", "user"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise _type_error(name, "a string")
    include = body.get("include")
    if include is not None and (not isinstance(include, list) or not all(isinstance(v, str) for v in include)):
        raise _type_error("include", "an array of strings")
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or not all(isinstance(v, str) for v in
                                                                            metadata.values())):
        raise _type_error("metadata", "an object of strings")
    for name in ("reasoning", "text"):
        if body.get(name) is not None and not isinstance(body[name], dict):
            raise _type_error(name, "an object")
    _check_text_format((body.get("text") or {}).get("format"))
    declared = _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"), declared)


def _type_error(param: str, expected: str) -> Exception:
    return invalid(f"Invalid type for '{param}': expected {expected}.", param=param, code="invalid_type")


def _missing(param: str) -> Exception:
    return invalid(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _check_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(f"Invalid '{name}': expected a number from {low:g} to {high:g}, but got {value!r} instead.",
                      param=name, code="invalid_value")


def _check_input(body: dict[str, Any]) -> None:
    raw = body.get("input")
    if raw is None:
        if not (body.get("previous_response_id") or body.get("conversation") or body.get("prompt")):
            raise _missing("input")
        return
    if isinstance(raw, str):
        return
    if not isinstance(raw, list):
        raise _type_error("input", "a string or an array of input items")
    for position, item in enumerate(raw):
        param = f"input[{position}]"
        if not isinstance(item, dict):
            raise _type_error(param, "an object")
        kind = item.get("type", "message")
        if not isinstance(kind, str):
            raise _type_error(f"{param}.type", "a string")
        if kind == "message":
            _check_message(item, param)
        elif kind in _PART_NEEDS:  # a content part where an item belongs: OpenAI refuses it so
            raise invalid(f"Invalid value: '{kind}'. A content part goes in a message's `content` "
                          "(`{\"role\": \"user\", \"content\": [...]}`), not in `input` itself.",
                          param=f"{param}.type", code="invalid_value")
        elif kind in _CALLS:
            _check_strings(item, param, ("call_id", "name", "arguments" if kind == "function_call" else "input"))
        elif kind in _OUTPUTS:
            if kind == "custom_tool_call_output":
                _check_strings(item, param, ("call_id",))
            elif item.get("call_id") is not None and not isinstance(item["call_id"], str):
                raise _type_error(f"{param}.call_id", "a string")
            if "output" not in item:
                raise _missing(f"{param}.output")
            if not isinstance(item["output"], (str, list)):
                raise _type_error(f"{param}.output", "a string or an array of content parts")
            if isinstance(item["output"], list):
                _check_parts(item["output"], f"{param}.output")
        elif kind == "item_reference" and not isinstance(item.get("id"), str):
            raise _missing(f"{param}.id")


def _check_strings(item: dict[str, Any], param: str, names: tuple[str, ...]) -> None:
    for name in names:
        if name not in item:
            raise _missing(f"{param}.{name}")
        if not isinstance(item[name], str):
            raise _type_error(f"{param}.{name}", "a string")


def _check_message(item: dict[str, Any], param: str) -> None:
    role = item.get("role")
    if role not in ROLES:
        raise invalid(f"Invalid value: {role!r}. Supported values are: 'assistant', 'system', 'developer', and "
                      "'user'.", param=f"{param}.role", code="invalid_value")
    content = item.get("content")
    if content is None:
        raise _missing(f"{param}.content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise _type_error(f"{param}.content", "a string or an array of content parts")
    _check_parts(content, f"{param}.content")


# A content part's required field(s): any one of the names must be present (and, for text, a string).
_PART_NEEDS: dict[str, tuple[str, ...]] = {
    "input_text": ("text",), "output_text": ("text",), "refusal": ("refusal",),
    "input_image": ("image_url", "file_id"), "input_file": ("file_data", "file_id", "file_url"),
    "input_audio": ("input_audio",),
}


def _check_parts(parts: list[Any], param: str) -> None:
    for position, part in enumerate(parts):
        where = f"{param}[{position}]"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _missing(f"{where}.type")
        needs = _PART_NEEDS.get(part["type"], ())
        if needs and not any(part.get(name) is not None for name in needs):
            raise _missing(f"{where}.{needs[0]}")
        if needs and needs[0] in ("text", "refusal") and not isinstance(part[needs[0]], str):
            raise _type_error(f"{where}.{needs[0]}", "a string")


def _check_text_format(fmt: Any) -> None:
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise invalid(f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object', and 'json_schema'.",
                      param="text.format.type", code="invalid_value")
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise _missing("text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise _missing("text.format.schema")


def _check_tools(tools: Any) -> set[tuple[str, str]]:
    """Each tool has a type, function and custom tools a name; returns the declared (type, name) pairs."""
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise _type_error("tools", "an array")
    declared: set[tuple[str, str]] = set()
    for position, tool in enumerate(tools):
        param = f"tools[{position}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise _missing(f"{param}.type")
        members = [tool]
        if tool["type"] == "namespace":
            if not isinstance(tool.get("name"), str):
                raise _missing(f"{param}.name")
            if not isinstance(tool.get("tools"), list):
                raise _type_error(f"{param}.tools", "an array")
            members = [member for member in tool["tools"] if isinstance(member, dict)]
        for member in members:
            if member.get("type") in ("function", "custom"):
                if not isinstance(member.get("name"), str) or not member["name"]:
                    raise _missing(f"{param}.name")
                if member["type"] == "function" and "function" in member:
                    raise invalid(f"Unknown parameter: '{param}.function'. A function tool is flat here: "
                                  "{type, name, description, parameters, strict}.", param=f"{param}.function",
                                  code="unknown_parameter")
                if member.get("parameters") is not None and not isinstance(member["parameters"], dict):
                    raise _type_error(f"{param}.parameters", "an object")
                declared.add((member["type"], member["name"]))
    return declared


def _check_tool_choice(choice: Any, declared: set[tuple[str, str]]) -> None:
    if choice is None or choice in ("none", "auto", "required"):
        return
    if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):
        raise invalid(f"Invalid value: {choice!r}. Supported values are: 'none', 'auto', and 'required'.",
                      param="tool_choice", code="invalid_value")
    kind = choice["type"]
    if kind in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str):
            raise _missing("tool_choice.name")
        if (kind, name) not in declared:
            raise invalid(f"Tool choice '{kind}' with name '{name}' not found in 'tools' parameter.",
                          param="tool_choice", code="invalid_value")
    elif kind == "allowed_tools":
        if choice.get("mode") not in ("auto", "required"):
            raise invalid("Invalid value for 'tool_choice.mode': expected 'auto' or 'required'.",
                          param="tool_choice.mode", code="invalid_value")
        if not isinstance(choice.get("tools"), list):
            raise _type_error("tool_choice.tools", "an array")

