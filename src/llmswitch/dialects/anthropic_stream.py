"""Streams between Anthropic Messages and OpenAI Chat Completions, as explicit state machines.

Both SDKs reject malformed streams, so each machine keeps the invariants its client checks:
OpenAI chunks share one id and `created`, tool calls have stable 0-based indices and send
`id`/`name` once; Anthropic events have one `message_start`, gap-free block indices, one
open block at a time, deltas matching their block, and never a clean end after an error.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from llmswitch.dialects.anthropic import (anthropic_tool_id, error_event, finish_reason, stop_reason,
                                          usage_from_anthropic, usage_to_anthropic)
from llmswitch.dialects.chat_chunks import ChatChunkReader, ChatChunks, error_frame
from llmswitch.dialects.types import StreamContext, answer_list
from llmswitch.dialects.usage import Usage


class AnthropicToOpenAIStream:
    """Anthropic events in, OpenAI chat.completion.chunk dicts out.

    A tool call's OpenAI index counts tool blocks only (`tools_seen`), never the Anthropic
    block index: a text block before two tools must still give tool indices 0 and 1.
    """

    keep_thinking_blocks = False  # see AnthropicToThinkingOpenAIStream

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._chunks = ChatChunks(ctx)
        self._usage_fields: dict[str, Any] = {}
        self._tools_seen = 0
        self._tool_blocks: dict[int, int] = {}  # Anthropic block index -> OpenAI tool index
        self._tools_with_arguments: set[int] = set()
        self._finish_sent = False
        self._usage_sent = False
        self._stop_reason: str | None = None
        self._thinking: dict[int, dict[str, list[str]]] = {}  # block index -> pieces of a signed block

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            if message.get("id"):
                self._chunks.id = f"chatcmpl-{message['id']}"
            self._read_usage(message.get("usage"))
            return self._chunks.role()
        if kind == "content_block_start":
            return self._block_start(event.get("index", 0), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._block_delta(event.get("index", 0), event.get("delta") or {})
        if kind == "content_block_stop":
            return self._block_stop(event.get("index", 0))
        if kind == "message_delta":
            self._read_usage(event.get("usage"))
            self._stop_reason = (event.get("delta") or {}).get("stop_reason") or self._stop_reason
            return self._finish()
        if kind == "message_stop":
            return self._finish() + self._usage_chunk()
        return []  # ping and event types this dialect does not know

    def finish(self) -> list[dict[str, Any]]:
        return self._finish() + self._usage_chunk()

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        self._finish_sent = self._usage_sent = True  # nothing may follow the error frame
        return [error_frame(status, error_type, message)]

    # --- pieces ----------------------------------------------------------------------------
    def _block_start(self, index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._chunks.role()
        kind = block.get("type")
        if kind == "tool_use":
            tool_index = self._tools_seen
            self._tools_seen += 1
            self._tool_blocks[index] = tool_index
            self.saw_content = True
            arguments = json.dumps(block["input"]) if block.get("input") else ""
            if arguments:
                self._tools_with_arguments.add(index)
            out.append(self._chunks.chunk({"tool_calls": [{
                "index": tool_index, "id": block.get("id"), "type": "function",
                "function": {"name": block.get("name"), "arguments": arguments}}]}))
        elif kind == "text" and block.get("text"):
            out.extend(self._text(block["text"]))
        elif kind == "thinking" and block.get("thinking"):
            out.extend(self._reasoning(block["thinking"]))
        if kind == "thinking" and self.keep_thinking_blocks:
            self._thinking[index] = {"thinking": [block.get("thinking") or ""],
                                     "signature": [block.get("signature") or ""]}
        elif kind == "redacted_thinking" and self.keep_thinking_blocks:
            self.saw_content = True
            out.append(self._chunks.chunk({"thinking_blocks": [copy.deepcopy(block)]}))
        return out

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[dict[str, Any]]:
        kind = delta.get("type")
        if index in self._thinking and kind in ("thinking_delta", "signature_delta"):
            key = kind.removesuffix("_delta")
            self._thinking[index][key].append(delta.get(key) or "")
        if kind == "text_delta" and delta.get("text"):
            return self._text(delta["text"])
        if kind == "thinking_delta" and delta.get("thinking"):
            return self._reasoning(delta["thinking"])
        if kind == "input_json_delta" and delta.get("partial_json") and index in self._tool_blocks:
            self._tools_with_arguments.add(index)
            return [self._chunks.chunk({"tool_calls": [{"index": self._tool_blocks[index],
                                                        "function": {"arguments": delta["partial_json"]}}]})]
        return []  # signatures and citations have no OpenAI chunk form

    def _block_stop(self, index: int) -> list[dict[str, Any]]:
        if index in self._thinking:
            pieces = self._thinking.pop(index)
            block = {"type": "thinking", "thinking": "".join(pieces["thinking"]),
                     "signature": "".join(pieces["signature"])}
            return [self._chunks.chunk({"thinking_blocks": [block]})]
        if index in self._tool_blocks and index not in self._tools_with_arguments:
            # A call without arguments must still end as "{}": the client json.loads it.
            self._tools_with_arguments.add(index)
            return [self._chunks.chunk({"tool_calls": [{"index": self._tool_blocks[index],
                                                        "function": {"arguments": "{}"}}]})]
        return []

    def _text(self, text: str) -> list[dict[str, Any]]:
        self.saw_content = True
        return [self._chunks.chunk({"content": text})]

    def _reasoning(self, text: str) -> list[dict[str, Any]]:
        self.saw_content = True
        return [self._chunks.chunk({"reasoning_content": text})]

    def _finish(self) -> list[dict[str, Any]]:
        if self._finish_sent:
            return []
        self._finish_sent = True
        return self._chunks.role() + [self._chunks.chunk({}, finish_reason(self._stop_reason))]

    def _usage_chunk(self) -> list[dict[str, Any]]:
        if self._usage_sent:
            return []
        self._usage_sent = True
        return self._chunks.usage(self.usage)

    def _read_usage(self, usage: dict[str, Any] | None) -> None:
        # message_delta counts are cumulative and overwrite message_start's (when not null).
        self._usage_fields.update({key: value for key, value in (usage or {}).items() if value is not None})
        self.usage = usage_from_anthropic(self._usage_fields) or self.usage


class AnthropicToThinkingOpenAIStream(AnthropicToOpenAIStream):
    """The same chunks, plus each signed thinking block whole (`delta.thinking_blocks`) once it ends.

    For a client dialect that can carry them to the next turn (Responses, in a reasoning item's
    `encrypted_content`). Chat clients get the standard chunks only: openai-python's accumulator
    raises on a second list entry without an `index`.
    """

    keep_thinking_blocks = True


class OpenAIToAnthropicStream(ChatChunkReader):
    """OpenAI chunks in, Anthropic events out.

    The first tool call streams live in its own block; fragments of any other call (some
    upstreams interleave parallel calls) and text arriving after a call are buffered and
    flushed as whole blocks, in order, when the choice finishes. `message_delta` waits for
    the usage chunk (see ChatChunkReader).
    """

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._id = f"msg_{uuid.uuid4().hex[:24]}"
        self._started = False
        self._next_index = 0
        self._open: str | None = None  # kind of the open block: "text" | "tool"
        self._live_tool: int | None = None  # OpenAI index of the call streaming in the open block
        self._tools: dict[int, dict[str, Any]] = {}  # OpenAI index -> {id, name, arguments}
        self._late_text: list[str] = []
        self._finish: str | None = None
        self._content_closed = False
        self._ended = False

    def fail(self, status: int, error_type: str | None, message: str) -> list[dict[str, Any]]:
        if self._ended:
            return []
        self._ended = True
        return [error_event(status, error_type, message)]

    # --- pieces ----------------------------------------------------------------------------
    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        usage = {"input_tokens": self.ctx.prompt_estimate, "output_tokens": 0,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        return [{"type": "message_start", "message": {
            "id": self._id, "type": "message", "role": "assistant", "model": self.ctx.client_model,
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}]

    def _delta(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        text = (delta.get("content") or "") + (delta.get("refusal") or "")
        if text and not self._content_closed:
            if self._tools:
                self._late_text.append(text)
            else:
                out.extend(self._open_block("text", {"type": "text", "text": ""}))
                out.append(self._block_delta({"type": "text_delta", "text": text}))
            self.saw_content = True
        for position, fragment in enumerate(delta.get("tool_calls") or []):
            out.extend(self._tool_fragment(fragment.get("index", position), fragment))
        return out

    def _tool_fragment(self, index: int, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        if self._content_closed:
            return []
        function = fragment.get("function") or {}
        arguments = function.get("arguments") or ""
        tool = self._tools.get(index)
        if tool is None:
            tool = self._tools[index] = {"id": fragment.get("id"), "name": function.get("name"), "arguments": ""}
            self.saw_content = True
            if len(self._tools) == 1 and tool["name"]:
                self._live_tool = index
                out = self._open_block("tool", self._tool_block(index, tool))
                return out + self._arguments(arguments)
        else:
            tool["id"] = tool["id"] or fragment.get("id")
            tool["name"] = tool["name"] or function.get("name")
        if index == self._live_tool and self._open == "tool":
            return self._arguments(arguments)
        tool["arguments"] += arguments
        return []

    def _arguments(self, arguments: str) -> list[dict[str, Any]]:
        if not arguments:
            return []
        return [self._block_delta({"type": "input_json_delta", "partial_json": arguments})]

    def _tool_block(self, index: int, tool: dict[str, Any]) -> dict[str, Any]:
        tool_id = anthropic_tool_id(str(tool["id"])) if tool["id"] else f"toolu_{self._id[4:]}_{index}"
        return {"type": "tool_use", "id": tool_id, "name": tool["name"] or "", "input": {}}

    def _open_block(self, kind: str, block: dict[str, Any]) -> list[dict[str, Any]]:
        if self._open == kind and kind == "text":
            return []
        out = self._close_block()
        self._open = kind
        out.append({"type": "content_block_start", "index": self._next_index, "content_block": block})
        return out

    def _block_delta(self, delta: dict[str, Any]) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": self._next_index, "delta": delta}

    def _close_block(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        self._open = None
        self._next_index += 1
        return [{"type": "content_block_stop", "index": self._next_index - 1}]

    def _close_content(self) -> list[dict[str, Any]]:
        """Close the open block, then flush buffered calls and late text as whole blocks."""
        if self._content_closed:
            return []
        self._content_closed = True
        out = self._close_block()
        for index, tool in self._tools.items():
            if index == self._live_tool:
                continue
            out.extend(self._open_block("tool", self._tool_block(index, tool)))
            out.extend(self._arguments(tool["arguments"]))
            out.extend(self._close_block())
        if self._late_text:
            out.extend(self._open_block("text", {"type": "text", "text": ""}))
            out.append(self._block_delta({"type": "text_delta", "text": "".join(self._late_text)}))
            out.extend(self._close_block())
        return out

    def _end(self) -> list[dict[str, Any]]:
        self._ended = True
        usage = usage_to_anthropic(self.usage) if self.usage else {"output_tokens": 0}
        return [{"type": "message_delta",
                 "delta": {"stop_reason": stop_reason(self._finish, has_tool_calls=bool(self._tools)),
                           "stop_sequence": None},
                 "usage": usage},
                {"type": "message_stop"}]


class AnthropicPassthrough:
    """Anthropic events to an Anthropic client: rewrite the model, read usage, pass the rest.

    Content starts with the first event a client shows or acts on (`shows_content`), not with
    `message_start`, `ping` or a block opened empty: until then the stream may still fail over.
    """

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._usage_fields: dict[str, Any] = {}

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            event["message"]["model"] = self.ctx.client_model
            self._read_usage(event["message"].get("usage"))
        elif kind == "message_delta":
            self._read_usage(event.get("usage"))
        elif not self.saw_content:
            self.saw_content = shows_content(event)
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def fail(self, status: int, error_type: str | None, message: str) -> list[dict[str, Any]]:
        return [error_event(status, error_type, message)]

    def _read_usage(self, usage: dict[str, Any] | None) -> None:
        self._usage_fields.update({key: value for key, value in (usage or {}).items() if value is not None})
        self.usage = usage_from_anthropic(self._usage_fields) or self.usage


# Blocks that open empty and fill through deltas, with the field their opening and deltas carry.
_FILLED_BY_DELTAS = {"text": "text", "thinking": "thinking"}
_DELTA_PAYLOAD = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


def shows_content(event: dict[str, Any]) -> bool:
    """Does this Anthropic event carry something a client shows or acts on? A text or thinking
    block opened empty, and deltas with an empty payload, do not; every other block (`tool_use`,
    `server_tool_use`, `redacted_thinking`, results) and delta (signatures, citations) does."""
    kind = event.get("type")
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        payload = _FILLED_BY_DELTAS.get(block.get("type"))
        return payload is None or bool(block.get(payload))
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        payload = _DELTA_PAYLOAD.get(delta.get("type"))
        return payload is None or bool(delta.get(payload))
    return False


def anthropic_message_to_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole Anthropic message as the event stream Anthropic would have sent for it.

    Used for `stream: simulate` deployments: each block opens empty, receives its content as
    one delta of the matching type, and closes; usage arrives in message_start (input) and
    message_delta (output), as on the wire.
    """
    start = copy.deepcopy({key: value for key, value in message.items() if key != "content"})
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = {**(message.get("usage") or {}), "output_tokens": 0}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(answer_list(message, "content")):
        opening, deltas = _replayed_block(block)
        events.append({"type": "content_block_start", "index": index, "content_block": opening})
        events.extend({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas)
        events.append({"type": "content_block_stop", "index": index})
    usage = message.get("usage") or {}
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")},
                   "usage": {"output_tokens": usage.get("output_tokens") or 0}})
    events.append({"type": "message_stop"})
    return events


def _replayed_block(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kind = block.get("type")
    if kind == "text":
        opening = {key: value for key, value in block.items() if key != "citations"}
        opening["text"] = ""
        return opening, [{"type": "text_delta", "text": block["text"]}] if block.get("text") else []
    if kind in ("tool_use", "server_tool_use"):
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}] \
            if block.get("input") else []
        return {**block, "input": {}}, deltas
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": block.get("thinking", "")}]
        if block.get("signature"):
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        return {"type": "thinking", "thinking": "", "signature": ""}, deltas
    return copy.deepcopy(block), []  # redacted_thinking and server results arrive whole
