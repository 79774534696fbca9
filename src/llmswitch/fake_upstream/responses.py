"""OpenAI's Responses API wire format: checking a create request, and the response and its stream events.

Pure functions; `responses_server.py` holds the routes, the store and background runs. The checks
are the ones a translation gets wrong, with the real API's messages: unknown or Chat-only
parameters (`messages`, `response_format`), function tools nested Chat-style, a part type the
role cannot carry, `arguments` that is not a string, an output with no call before it, a
`tool_choice` naming no tool, reasoning or compaction items whose `encrypted_content` the fake
did not issue (it signs what it gives out, as the real API encrypts it). A create whose input ends in
`compaction_trigger` answers one `compaction` item, as the real API compacts.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmswitch.fake_upstream.answer import Answer, Prompt, result_text, tokens
from llmswitch.fake_upstream.dialect import Rejected

PARAMETERS = {
    "access_programs", "background", "background_options", "client_metadata", "context_management", "conversation",
    "image", "include", "input", "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model",
    "moderation", "parallel_tool_calls", "previous_response_id", "prompt", "prompt_cache_key",
    "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store",
    "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p",
    "truncation", "user",
}
_MOVED = {"response_format": "text.format", "max_tokens": "max_output_tokens",
          "max_completion_tokens": "max_output_tokens", "messages": "input"}
ITEM_TYPES = (
    "message", "file_search_call", "computer_call", "computer_call_output", "web_search_call", "function_call",
    "function_call_output", "tool_search_call", "tool_search_output", "additional_tools", "configuration_update",
    "reasoning", "compaction", "image_generation_call", "code_interpreter_call", "local_shell_call",
    "local_shell_call_output", "shell_call", "shell_call_output", "apply_patch_call", "apply_patch_call_output",
    "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "mcp_call", "custom_tool_call_output",
    "custom_tool_call", "compaction_trigger", "item_reference", "program", "program_output",
)
TOOL_TYPES = ("function", "custom", "file_search", "web_search", "web_search_preview", "web_search_2025_08_26",
              "web_search_preview_2025_03_11", "computer", "computer_use_preview", "mcp", "code_interpreter",
              "image_generation", "local_shell", "shell", "apply_patch", "namespace", "tool_search")
INCLUDABLE = ("file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
              "message.input_image.image_url", "computer_call_output.output.image_url",
              "code_interpreter_call.outputs", "reasoning.encrypted_content", "message.output_text.logprobs")
_INPUT_PARTS = ("input_text", "input_image", "input_file", "input_audio")
_OUTPUT_PARTS = ("output_text", "refusal")
_OUTPUTS = {"function_call_output": "function_call", "custom_tool_call_output": "custom_tool_call"}
_SEAL = "fake_enc_"


def seal(payload: dict[str, Any]) -> str:
    """An `encrypted_content` the fake can verify later: its payload and a digest, opaque to clients."""
    data = orjson.dumps(payload)
    return _SEAL + base64.urlsafe_b64encode(data).decode() + "." + hashlib.sha256(data).hexdigest()[:16]


def unseal(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value.startswith(_SEAL) or "." not in value:
        return None
    encoded, digest = value[len(_SEAL):].rsplit(".", 1)
    try:
        data = base64.urlsafe_b64decode(encoded)
    except ValueError:
        return None
    return orjson.loads(data) if hashlib.sha256(data).hexdigest()[:16] == digest else None


@dataclass(slots=True)
class Request:
    """A checked create (or input_tokens / compact) request."""

    body: dict[str, Any]
    model: str
    items: list[dict[str, Any]]  # the new input items, normalised (string input becomes one user message)
    prompt: Prompt
    custom_tools: set[str] = field(default_factory=set)

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def store(self) -> bool:
        return self.body.get("store") is not False

    @property
    def background(self) -> bool:
        return self.body.get("background") is True

    @property
    def compacting(self) -> bool:
        """A create that ends in `compaction_trigger`: its one output item is the compaction."""
        return bool(self.items) and self.items[-1]["type"] == "compaction_trigger"


def check(body: Any, history: list[dict[str, Any]], *, need_model: bool = True) -> Request:
    """Validate a request whose previous conversation (from `previous_response_id`) is `history`."""
    if not isinstance(body, dict):
        raise Rejected(400, "We could not parse the JSON body of your request.")
    for name in body:
        if name in _MOVED:
            raise Rejected(400, f"Unsupported parameter: '{name}'. In the Responses API, this parameter has moved "
                                f"to '{_MOVED[name]}'.", name)
        if name not in PARAMETERS:
            raise Rejected(400, f"Unknown parameter: '{name}'.", name)
    model = body.get("model")
    if need_model and (not isinstance(model, str) or not model):
        raise Rejected(400, "Missing required parameter: 'model'.", "model")
    _check_numbers(body)
    include = body.get("include") or []
    for i, value in enumerate(include if isinstance(include, list) else [include]):
        if value not in INCLUDABLE:
            raise _not_one_of(value, INCLUDABLE, f"include[{i}]")
    if body.get("background") is True and body.get("store") is False:
        raise Rejected(400, "Background responses cannot be created with store set to false.", "background")
    tools = _check_tools(body.get("tools"))
    _check_tool_choice(body.get("tool_choice"), tools)
    _check_text(body.get("text"))
    raw = body.get("input")
    if raw is None and not history:
        raise Rejected(400, "Missing required parameter: 'input'.", "input")
    items = _normalise(raw)
    chars = _check_items(items, history) + _instruction_chars(body.get("instructions"))
    chars += sum(_item_chars(item) for item in history)
    return Request(body, model or "", items, _prompt(history + items, chars, model or ""),
                   {t["name"] for t in tools if t.get("type") == "custom"})


def _check_numbers(body: dict[str, Any]) -> None:
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 16):
        raise Rejected(400, f"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
                            f"but got {limit} instead.", "max_output_tokens")
    for name, top in (("temperature", 2), ("top_p", 1)):
        value = body.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)
                                  or not 0 <= value <= top):
            raise Rejected(400, f"Invalid '{name}': expected a number from 0 to {top}, but got {value} instead.",
                           name)


def _not_one_of(value: Any, allowed: Iterable[str], param: str, joiner: str = ", ") -> Rejected:
    return Rejected(400, f"Invalid value: '{value}'. Supported values are: " + joiner.join(f"'{a}'" for a in allowed)
                    + ".", param)


def _check_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise Rejected(400, "Invalid type for 'tools': expected an array.", "tools")
    for i, tool in enumerate(tools):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind not in TOOL_TYPES:
            raise _not_one_of(kind, TOOL_TYPES, f"tools[{i}].type")
        if kind in ("function", "custom") and not isinstance(tool.get("name"), str):
            raise Rejected(400, f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name")
        if kind == "function" and "function" in tool:
            raise Rejected(400, f"Unknown parameter: 'tools[{i}].function'.", f"tools[{i}].function")
    return tools


def _check_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> None:
    if choice is None or choice in ("none", "auto", "required"):
        return
    if not isinstance(choice, dict):
        raise Rejected(400, f"Invalid value: '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                       "tool_choice")
    if choice.get("type") in ("function", "custom"):
        name = choice.get("name")
        if not isinstance(name, str):
            raise Rejected(400, "Missing required parameter: 'tool_choice.name'.", "tool_choice.name")
        if not any(t.get("name") == name and t.get("type") == choice["type"] for t in tools):
            raise Rejected(400, f"Tool choice '{choice['type']}' with name '{name}' not found in 'tools' parameter.",
                           "tool_choice")


def _check_text(text: Any) -> None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise Rejected(400, f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and "
                            "'json_schema'.", "text.format.type")
    if kind == "json_schema":
        for name in ("name", "schema"):
            if name not in fmt:
                raise Rejected(400, f"Missing required parameter: 'text.format.{name}'.", f"text.format.{name}")


def _normalise(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise Rejected(400, "Invalid type for 'input': expected a string or an array.", "input")
    items = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Rejected(400, f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]")
        items.append(item if "type" in item else {"type": "message", **item})
    return items


def _check_items(items: list[dict[str, Any]], history: list[dict[str, Any]]) -> int:
    """Validate each input item and the call/output pairing; return the characters of input text."""
    calls = {item.get("call_id"): item["type"] for item in history if item.get("type") in _OUTPUTS.values()}
    chars = 0
    for i, item in enumerate(items):
        kind = item["type"]
        at = f"input[{i}]"
        if kind not in ITEM_TYPES:
            raise _not_one_of(kind, ITEM_TYPES, f"{at}.type")
        if kind == "message":
            _check_message(item, at)
        elif kind in ("function_call", "custom_tool_call"):
            for name in ("call_id", "name"):
                if not isinstance(item.get(name), str):
                    raise Rejected(400, f"Missing required parameter: '{at}.{name}'.", f"{at}.{name}")
            key = "arguments" if kind == "function_call" else "input"
            if not isinstance(item.get(key), str):
                raise Rejected(400, f"Invalid type for '{at}.{key}': expected a string, but got "
                                    f"{type(item.get(key)).__name__} instead.", f"{at}.{key}")
            calls[item["call_id"]] = kind
        elif kind in _OUTPUTS:
            if calls.get(item.get("call_id")) != _OUTPUTS[kind]:
                raise Rejected(400, f"No tool call found for {kind.replace('_', ' ')} with call_id "
                                    f"{item.get('call_id')}.", at)
            if "output" not in item:
                raise Rejected(400, f"Missing required parameter: '{at}.output'.", f"{at}.output")
        elif kind in ("reasoning", "compaction"):
            if unseal(item.get("encrypted_content")) is None and not (kind == "reasoning" and _listed(item, history)):
                raise Rejected(400, f"The encrypted content for item {item.get('id')} could not be verified.",
                               f"{at}.encrypted_content")
        elif kind == "item_reference" and not _listed(item, history):
            raise Rejected(404, f"Item with id '{item.get('id')}' not found.", f"{at}.id")
        chars += _item_chars(item)
    return chars


def _listed(item: dict[str, Any], history: list[dict[str, Any]]) -> bool:
    return item.get("id") is not None and any(h.get("id") == item["id"] for h in history)


def _check_message(item: dict[str, Any], at: str) -> None:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise Rejected(400, f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', "
                            "and 'user'.", f"{at}.role")
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise Rejected(400, f"Invalid type for '{at}.content': expected a string or an array.", f"{at}.content")
    allowed = _OUTPUT_PARTS if role == "assistant" else _INPUT_PARTS
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise _not_one_of(kind, allowed, f"{at}.content[{j}]", joiner=" and ")
        if kind in ("input_text", "output_text") and not isinstance(part.get("text"), str):
            raise Rejected(400, f"Missing required parameter: '{at}.content[{j}].text'.", f"{at}.content[{j}].text")
        if kind == "input_image" and not (part.get("image_url") or part.get("file_id")):
            raise Rejected(400, f"Missing required parameter: '{at}.content[{j}].image_url'.",
                           f"{at}.content[{j}].image_url")
        if kind == "input_file" and not (part.get("file_data") or part.get("file_id") or part.get("file_url")):
            raise Rejected(400, f"Missing required parameter: '{at}.content[{j}].file_data'.",
                           f"{at}.content[{j}].file_data")


def message_text(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or () if p.get("type") in ("input_text", "output_text"))


def _item_chars(item: dict[str, Any]) -> int:
    kind = item.get("type")
    if kind == "message":
        return len(message_text(item))
    if kind in ("function_call", "custom_tool_call"):
        return len(item.get("name", "")) + len(item.get("arguments", item.get("input", "")))
    if kind in _OUTPUTS:
        return len(result_text(item.get("output")))
    return 0


def _instruction_chars(instructions: Any) -> int:
    if isinstance(instructions, str):
        return len(instructions)
    return sum(_item_chars(i) for i in instructions) if isinstance(instructions, list) else 0


def _prompt(items: list[dict[str, Any]], chars: int, model: str) -> Prompt:
    """The last user text, or the tool outputs that end the conversation, as chat's echo reads them."""
    results: list[str] = []
    for item in reversed(items):
        if item.get("type") not in _OUTPUTS:
            break
        results.append(result_text(item.get("output")))
    if results:
        return Prompt("", results[::-1], chars, model)
    last = items[-1] if items else {}
    text = message_text(last) if last.get("type") == "message" and last.get("role") == "user" else ""
    return Prompt(text, [], chars, model)


def count(body: dict[str, Any], history: list[dict[str, Any]]) -> int:
    """Input tokens of a request, tools included, as the same estimate usage uses."""
    request = check(body, history, need_model=False)
    return tokens(request.prompt.chars + len(orjson.dumps(body.get("tools") or [])) // 8)


def item_list(items: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Input items as stored and listed: each with an id, messages with content parts and a status."""
    out = []
    for i, item in enumerate(items):
        stored = dict(item)
        stored.setdefault("id", f"{prefix}_{i}")
        if item.get("type") == "message":
            content = item.get("content")
            if isinstance(content, str):
                kind = "output_text" if item.get("role") == "assistant" else "input_text"
                stored["content"] = [{"type": kind, "text": content}]
            stored.setdefault("status", "completed")
        elif item.get("type") in ("function_call", "function_call_output", "custom_tool_call_output"):
            stored.setdefault("status", "completed")
        out.append(stored)
    return out


@dataclass(slots=True)
class Rendered:
    response: dict[str, Any]  # the final response object
    events: list[dict[str, Any]]  # every stream event, sequence numbers in order


def output_items(answer: Answer, request: Request, number: int) -> list[dict[str, Any]]:
    if request.compacting:
        return [{"id": f"cmp_fake{number}", "type": "compaction", "created_by": "fake",
                 "encrypted_content": seal({"items": len(request.items) - 1})}]
    items: list[dict[str, Any]] = []
    body = request.body
    if answer.thinking:
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        item: dict[str, Any] = {"id": f"rs_fake{number}", "type": "reasoning", "summary": []}
        if reasoning.get("summary"):
            item["summary"] = [{"type": "summary_text", "text": answer.thinking}]
        if "reasoning.encrypted_content" in (body.get("include") or ()):
            item["encrypted_content"] = seal({"thinking": answer.thinking})
        items.append(item)
    if answer.text or not answer.tool_calls:
        status = "incomplete" if answer.finish == "length" else "completed"
        items.append({"id": f"msg_fake{number}", "type": "message", "status": status, "role": "assistant",
                      "content": [{"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}]})
    for i, call in enumerate(answer.tool_calls):
        if call.name in request.custom_tools:
            value = call.arguments.get("input")
            items.append({"id": f"ctc_fake{number}_{i}", "type": "custom_tool_call", "status": "completed",
                          "call_id": call.id, "name": call.name,
                          "input": value if isinstance(value, str) else call.arguments_json})
        else:
            items.append({"id": f"fc_fake{number}_{i}", "type": "function_call", "status": "completed",
                          "arguments": call.arguments_json, "call_id": call.id, "name": call.name})
    return items


def usage(answer: Answer) -> dict[str, Any]:
    u = answer.usage
    return {"input_tokens": u.prompt, "input_tokens_details": {"cached_tokens": u.cached,
                                                                 "cache_write_tokens": u.cache_write},
            "output_tokens": u.completion, "output_tokens_details": {"reasoning_tokens": u.reasoning},
            "total_tokens": u.prompt + u.completion}


def response_object(request: Request, response_id: str, created: int, status: str) -> dict[str, Any]:
    """A response with the request's settings echoed, no output yet: what `response.created` carries."""
    body = request.body
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    return {
        "id": response_id, "object": "response", "created_at": created, "status": status,
        "background": request.background, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"), "model": request.model, "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,  # null in, the default out
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "service_tier": body.get("service_tier", "default"), "store": request.store,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity", "medium")},
        "tool_choice": body.get("tool_choice") or "auto", "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"), "usage": None, "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def finish(response: dict[str, Any], answer: Answer, items: list[dict[str, Any]], completed: int) -> str:
    """Fill in the output, usage and status; the name of the terminal event."""
    response["output"] = items
    response["usage"] = usage(answer)
    reason = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(answer.finish)
    if reason:
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": reason}
        return "response.incomplete"
    response["status"] = "completed"
    response["completed_at"] = completed
    return "response.completed"


def render(request: Request, answer: Answer, response_id: str, number: int, created: int,
           chunks: int) -> Rendered:
    """The final response and every event of its stream."""
    start = response_object(request, response_id, created, "in_progress")
    events: list[dict[str, Any]] = [{"type": "response.created", "response": dict(start)},
                                    {"type": "response.in_progress", "response": dict(start)}]
    items = output_items(answer, request, number)
    for index, item in enumerate(items):
        events += _item_events(item, index, answer, chunks)
    final = dict(start)
    terminal = finish(final, answer, items, created)
    events.append({"type": terminal, "response": final})
    for n, event in enumerate(events):
        event["sequence_number"] = n
    return Rendered(final, events)


def _halves(text: str) -> list[str]:
    return [text[: len(text) // 2], text[len(text) // 2:]] if len(text) > 2 else [text]


def _item_events(item: dict[str, Any], index: int, answer: Answer, chunks: int) -> list[dict[str, Any]]:
    kind, item_id = item["type"], item["id"]
    at = {"item_id": item_id, "output_index": index}
    added = {**item, "status": "in_progress"}
    out: list[dict[str, Any]] = []
    if kind == "reasoning":
        added.pop("status")
        added["summary"] = []
        out.append({"type": "response.output_item.added", "output_index": index, "item": added})
        for n, summary in enumerate(item["summary"]):
            part = {**at, "summary_index": n}
            out.append({"type": "response.reasoning_summary_part.added", **part,
                        "part": {"type": "summary_text", "text": ""}})
            out += [{"type": "response.reasoning_summary_text.delta", **part, "delta": piece}
                    for piece in answer.thinking_pieces]
            out.append({"type": "response.reasoning_summary_text.done", **part, "text": summary["text"]})
            out.append({"type": "response.reasoning_summary_part.done", **part, "part": summary})
    elif kind == "message":
        part = item["content"][0]
        added["content"] = []
        out.append({"type": "response.output_item.added", "output_index": index, "item": added})
        out.append({"type": "response.content_part.added", **at, "content_index": 0,
                    "part": {**part, "text": ""}})
        out += [{"type": "response.output_text.delta", **at, "content_index": 0, "delta": piece, "logprobs": []}
                for piece in answer.pieces]
        out.append({"type": "response.output_text.done", **at, "content_index": 0, "text": part["text"],
                    "logprobs": []})
        out.append({"type": "response.content_part.done", **at, "content_index": 0, "part": part})
    elif kind == "function_call":
        out.append({"type": "response.output_item.added", "output_index": index,
                    "item": {**added, "arguments": ""}})
        out += [{"type": "response.function_call_arguments.delta", **at, "delta": piece}
                for piece in _halves(item["arguments"])]
        out.append({"type": "response.function_call_arguments.done", **at, "name": item["name"],
                    "arguments": item["arguments"]})
    elif kind == "compaction":
        out.append({"type": "response.output_item.added", "output_index": index, "item": item})
        out.append({"type": "response.compaction.compacting", **at})
    else:  # custom_tool_call
        out.append({"type": "response.output_item.added", "output_index": index, "item": {**added, "input": ""}})
        out += [{"type": "response.custom_tool_call_input.delta", **at, "delta": piece}
                for piece in _halves(item["input"])]
        out.append({"type": "response.custom_tool_call_input.done", **at, "input": item["input"]})
    out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return out
