"""Anthropic Messages as the real API speaks it: `POST /v1/messages` (JSON or `event:` SSE) and count_tokens.

The checks are the ones translations from OpenAI get wrong, with the real API's messages: a
missing `max_tokens`, empty text blocks, tool ids outside `^[a-zA-Z0-9_-]+$`, `tool_use` not
answered by `tool_result` in the very next turn, an out-of-range temperature or
thinking budget, and thinking dropped or altered on replay (the signature is a hash of the
thinking text, so a changed text or signature is caught like the real API's check).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import orjson
from aiohttp import web

from llmswitch.dialects.sse import encode_event
from llmswitch.fake_upstream.answer import Answer, Prompt, Usage, result_text
from llmswitch.fake_upstream.dialect import Rejected, Reply

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_PING = encode_event({"type": "ping"})
_MISSING_RESULT = ("messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                   "{ids}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.")


def error_type(status: int) -> str:
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def signature(thinking: str) -> str:
    """A stable stand-in for the opaque signature the real API attaches to thinking."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


class AnthropicMessages:
    tool_id_prefix = "toolu_fake{n}_"

    def __init__(self, require_auth: bool, *, count_tokens: bool = False):
        self.require_auth = require_auth
        self.count_tokens = count_tokens  # count_tokens takes no max_tokens

    def inspect(self, request: web.Request, body: Any) -> Prompt:
        headers = request.headers
        if self.require_auth and not (headers.get("x-api-key") or headers.get("authorization")):
            raise Rejected(401, "x-api-key header is required")
        if not headers.get("anthropic-version"):
            raise Rejected(400, "anthropic-version: header is required")
        if not isinstance(body, dict):
            raise Rejected(400, "The request body is not valid JSON.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise Rejected(400, "model: Field required")
        if not self.count_tokens:
            _check_limits(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise Rejected(400, "messages: Field required" if messages is None
                           else "messages: at least one message is required")
        chars = _system_chars(body.get("system")) + _check_messages(messages)
        _check_thinking_replay(body.get("thinking"), messages)
        last = messages[-1]
        if last.get("role") != "user":
            return Prompt("", [], chars, model)
        content = last.get("content")
        if isinstance(content, str):
            return Prompt(content, [], chars, model)
        text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
        results = [result_text(b.get("content", "")) for b in content if b.get("type") == "tool_result"]
        return Prompt(text, results, chars, model)

    def wants_stream(self, request: web.Request, body: dict[str, Any]) -> bool:
        return body.get("stream") is True

    def error_body(self, status: int, message: str) -> bytes:
        return orjson.dumps({"type": "error", "error": {"type": error_type(status), "message": message},
                             "request_id": "req_fake"})

    def stream_error(self, status: int, message: str) -> bytes:
        return encode_event({"type": "error", "error": {"type": error_type(status), "message": message}})

    def render(self, answer: Answer, prompt: Prompt, reply: Reply) -> bytes:
        content: list[dict[str, Any]] = []
        if answer.thinking:
            content.append({"type": "thinking", "thinking": answer.thinking,
                            "signature": signature(answer.thinking)})
        if answer.text:
            content.append({"type": "text", "text": answer.text})
        content += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                    for c in answer.tool_calls]
        return orjson.dumps({
            "id": f"msg_fake{reply.number}", "type": "message", "role": "assistant", "model": prompt.model,
            "content": content, "stop_reason": _STOP_REASONS.get(answer.finish, answer.finish),
            "stop_sequence": None, "usage": _usage(answer.usage),
        })

    def frames(self, answer: Answer, prompt: Prompt, reply: Reply, body: dict[str, Any]) -> list[bytes]:
        usage = _usage(answer.usage)
        out = [encode_event({"type": "message_start", "message": {
            "id": f"msg_fake{reply.number}", "type": "message", "role": "assistant", "model": prompt.model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**usage, "output_tokens": 1},
        }})]
        out += [_PING] * answer.blank_frames
        blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        if answer.thinking:
            blocks.append(({"type": "thinking", "thinking": "", "signature": ""},
                           [{"type": "thinking_delta", "thinking": p} for p in answer.thinking_pieces]
                           + [{"type": "signature_delta", "signature": signature(answer.thinking)}]))
        if answer.text:
            blocks.append(({"type": "text", "text": ""},
                           [{"type": "text_delta", "text": p} for p in answer.pieces]))
        for call in answer.tool_calls:
            args = call.arguments_json if call.arguments else ""
            pieces = [args[: len(args) // 2], args[len(args) // 2:]] if args else []
            blocks.append(({"type": "tool_use", "id": call.id, "name": call.name, "input": {}},
                           [{"type": "input_json_delta", "partial_json": p} for p in ["", *pieces]]))
        for index, (start, deltas) in enumerate(blocks):
            out.append(encode_event({"type": "content_block_start", "index": index, "content_block": start}))
            if index == 0:
                out.append(_PING)  # where the real API sends its first ping
            out += [encode_event({"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
            out.append(encode_event({"type": "content_block_stop", "index": index}))
        out.append(encode_event({"type": "message_delta",
                                 "delta": {"stop_reason": _STOP_REASONS.get(answer.finish, answer.finish),
                                           "stop_sequence": None},
                                 "usage": usage}))
        out.append(encode_event({"type": "message_stop"}))
        return out


def _usage(usage: Usage) -> dict[str, int]:
    return {"input_tokens": max(0, usage.prompt - usage.cached - usage.cache_write),
            "cache_creation_input_tokens": usage.cache_write, "cache_read_input_tokens": usage.cached,
            "output_tokens": usage.completion}


def _check_limits(body: dict[str, Any]) -> None:
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise Rejected(400, "max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise Rejected(400, "max_tokens: Input should be a valid integer greater than or equal to 1")
    temperature = body.get("temperature")
    if isinstance(temperature, (int, float)) and not 0 <= temperature <= 1:
        raise Rejected(400, "temperature: Input should be less than or equal to 1")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise Rejected(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise Rejected(400, "`max_tokens` must be greater than `thinking.budget_tokens`.")
    for i, tool in enumerate(body.get("tools") or ()):
        if isinstance(tool, dict) and "type" not in tool and not isinstance(tool.get("input_schema"), dict):
            raise Rejected(400, f"tools.{i}.custom.input_schema: Field required")


def _check_thinking_replay(thinking: Any, messages: list[Any]) -> None:
    """With thinking on, the assistant turn answered by the final tool results must start with its thinking."""
    turns = [m for m in messages if m.get("role") != "system"]
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive") or len(turns) < 2:
        return
    last, previous = turns[-1], turns[-2]
    if not isinstance(last.get("content"), list) or not any(
            b.get("type") == "tool_result" for b in last["content"]):
        return
    content = previous.get("content")
    first = content[0].get("type") if isinstance(content, list) and content else "text"
    if first not in ("thinking", "redacted_thinking"):
        at = next(i for i, m in enumerate(messages) if m is previous)  # its place among all messages
        raise Rejected(400, f"messages.{at}.content.0.type: Expected `thinking` or "
                            f"`redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final "
                            "`assistant` message must start with a thinking block (preceeding the lastmost set "
                            "of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks "
                            "from previous turns. To avoid this requirement, disable `thinking`.")


def _system_chars(system: Any) -> int:
    if isinstance(system, str):
        return len(system)
    if isinstance(system, list):
        return sum(len(b.get("text", "")) for b in system if isinstance(b, dict))
    return 0


def _check_text(text: Any, where: str) -> int:
    if not isinstance(text, str) or not text:
        raise Rejected(400, f"{where}: text content blocks must be non-empty")
    if text.isspace():
        raise Rejected(400, f"{where}: text content blocks must contain non-whitespace text")
    return len(text)


def _check_messages(messages: list[Any]) -> int:
    """Validate roles, blocks and tool pairing; return the characters of input text."""
    chars = 0
    open_calls: list[str] = []  # tool_use ids of the previous assistant turn
    last = len(messages) - 1
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":  # mid-conversation instructions; they leave tool pairing alone
            chars += _system_chars(message.get("content"))
            continue
        if role not in ("user", "assistant"):
            raise Rejected(400, f"messages.{i}.role: Input should be 'user', 'assistant' or 'system'")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise Rejected(400, f"messages.{i}.content: Input should be a valid list")
        prefill = role == "assistant" and i == last  # a final assistant turn may be empty prefill
        results: list[str] = []
        calls: list[str] = []
        for j, block in enumerate(blocks):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                if prefill and block.get("text") == "":
                    continue
                chars += _check_text(block.get("text"), "messages" if isinstance(content, str)
                                     else f"messages.{i}.content.{j}")
            elif kind == "tool_use":
                tool_id = block.get("id")
                if not isinstance(tool_id, str) or not _TOOL_ID.match(tool_id):
                    raise Rejected(400, f"messages.{i}.content.{j}.tool_use.id: String should match pattern "
                                        "'^[a-zA-Z0-9_-]+$'")
                if role != "assistant":
                    raise Rejected(400, f"messages.{i}.content.{j}: tool_use blocks are only allowed in "
                                        "assistant messages")
                calls.append(tool_id)
                chars += len(orjson.dumps(block.get("input", {}))) + len(str(block.get("name", "")))
            elif kind == "thinking":
                if block.get("signature") != signature(str(block.get("thinking", ""))):
                    raise Rejected(400, f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
            elif kind == "tool_result":
                tool_id = block.get("tool_use_id")
                if tool_id not in open_calls:
                    raise Rejected(400, f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                                        f"`tool_result` blocks: {tool_id}. Each `tool_result` block must have "
                                        "a corresponding `tool_use` block in the previous message.")
                results.append(tool_id)
                chars += len(result_text(block.get("content", "")))
            elif kind == "mid_conv_system":
                chars += _system_chars(block.get("content"))
            elif kind is None:
                raise Rejected(400, f"messages.{i}.content.{j}: Input should be a valid dictionary")
        missing = [t for t in open_calls if t not in results]
        if missing:
            raise Rejected(400, _MISSING_RESULT.format(i=i, ids=", ".join(missing)))
        open_calls = calls
    if open_calls:
        raise Rejected(400, _MISSING_RESULT.format(i=last, ids=", ".join(open_calls)))
    return chars
