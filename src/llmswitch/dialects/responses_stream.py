"""Streams between Chat Completions and the OpenAI Responses API, as explicit state machines.

openai-python's `ResponseStreamState` (behind `client.responses.stream(...)`) is strict: the first
event is `response.created`, every content event follows the `output_item.added` of its
`output_index`, each item ends in `output_item.done` with the same identity, and
`get_final_response()` needs `response.completed` carrying every finished item. Codex treats a
stream that does not end in `response.completed` as failed. `ChatToResponsesStream` keeps those
rules; `ResponsesToChatStream` serves Chat (and, chained, Messages) clients from a Responses-only
deployment; `ResponsesPassthrough` rewrites the model and reads usage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from llmswitch.dialects.chat_chunks import ChatChunkReader, ChatChunks, error_frame
from llmswitch.dialects.responses import (FAILURE_STATUSES, call_item, chat_name, client_tools, compacting,
                                          compaction_item, failure, finish_of, new_id, now, reasoning_item,
                                          response_object, status_of, unwrap_custom_input, usage_from_responses,
                                          usage_to_responses, wants_summary, wants_token)
from llmswitch.dialects.types import StreamContext
from llmswitch.dialects.usage import Usage

# Chat delta fields that carry reasoning text: `reasoning_content` (Anthropic via the hub, DeepSeek,
# vLLM) and `reasoning` (OpenRouter, Ollama).
REASONING_KEYS = ("reasoning_content", "reasoning")
_LIFECYCLE = ("response.created", "response.queued", "response.in_progress", "response.completed",
              "response.incomplete", "response.failed")


@dataclass(slots=True)
class _Item:
    """An output item still open: its position, its id and what its deltas have built so far."""

    index: int
    id: str
    pieces: list[str] = field(default_factory=list)  # text or arguments so far, joined once when it ends
    parts: list[dict[str, Any]] = field(default_factory=list)  # a message's finished content parts
    part: str | None = None  # the kind of the message's open part: output_text | refusal
    part_open: bool = False  # a reasoning item's text part
    blocks: list[dict[str, Any]] = field(default_factory=list)  # signed thinking a reasoning item carries
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)  # ...and the extra_content of calls after it
    call: dict[str, Any] | None = None  # a call's item as opened

    def text(self) -> str:
        """What the deltas built (kept as pieces: `+=` on an attribute copies the whole string each time)."""
        return "".join(self.pieces)


class ChatToResponsesStream(ChatChunkReader):
    """Chat chunks in, Responses events out, for the request in `ctx.request`.

    One message item at a time and one reasoning item at a time: a new kind of content closes the
    open one (reasoning, then text, as reasoning models answer). Each tool call is its own item,
    open until the choice finishes, since some upstreams interleave the fragments of parallel
    calls. A custom tool's input travels as the JSON arguments of its function, so it is buffered
    and sent whole when its call closes. Reasoning text is a summary when the client asked for one
    (`reasoning.summary`), else reasoning text; signed thinking blocks (`delta.thinking_blocks`,
    from `AnthropicToThinkingOpenAIStream`) go in the item's `encrypted_content`, and so does a
    call's `extra_content` (Gemini's thought signature, on the call's first fragment): when the
    client asked for the token, the reasoning item before such a call stays open past it, or one
    is opened for it. The answer to a compaction request is one `compaction` item: the text is
    gathered into it (`response.compaction.compacting` once it starts), everything else left out.
    The terminal event waits for the usage chunk, which comes after the finish chunk.
    """

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._request = ctx.request
        self._tools = client_tools(ctx.request)
        self._summary = wants_summary(ctx.request)
        self._token = wants_token(ctx.request)
        self._id = new_id("resp")
        self._created = now()
        self._echo: dict[str, Any] | None = None  # the response's echo of the request (see `_response`)
        self._seq = 0
        self._started = False
        self._ended = False
        self._next_index = 0
        self._done: dict[int, dict[str, Any]] = {}  # output_index -> finished item
        self._message: _Item | None = None
        self._reasoning: _Item | None = None
        self._calls: dict[int, _Item] = {}  # Chat tool index -> open call
        self._compacting = compacting(ctx.request)
        self._compaction: _Item | None = None
        self._finish: str | None = None

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        """`response.failed` with what was finished; open items are left out, as unfinished."""
        if self._ended:
            return []
        out = self._start()
        self._ended = True
        response = self._response("failed")
        response["error"] = failure(status, message)
        return out + [self._event("response.failed", response=response)]

    # --- events ------------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _delta_event(self, kind: str, item: _Item, part_key: str, part_index: int, delta: str) -> dict[str, Any]:
        """A delta, the bulk of a stream, as `_event` makes it but in one dict: no keyword dicts
        built and merged (a text chunk cost ~14,300 instructions with them, ~10,700 without)."""
        seq = self._seq
        self._seq = seq + 1
        return {"type": kind, "sequence_number": seq, "item_id": item.id, "output_index": item.index,
                part_key: part_index, "delta": delta}

    def _response(self, status: str) -> dict[str, Any]:
        """The response as it stands. Its echo of the request is built once per stream (~30,000
        instructions) and copied for each lifecycle event; what a copy shares (the echoed settings'
        objects) no one changes afterwards."""
        if self._echo is None:
            self._echo = response_object(self._request, self._id, self._created, self.ctx.client_model, status)
        return {**self._echo, "status": status, "output": [self._done[index] for index in sorted(self._done)]}

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [self._event("response.created", response=self._response("in_progress")),
                self._event("response.in_progress", response=self._response("in_progress"))]

    def _added(self, item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        index = self._next_index
        self._next_index += 1
        return index, self._event("response.output_item.added", output_index=index, item=item)

    def _item_done(self, index: int, item: dict[str, Any]) -> dict[str, Any]:
        self._done[index] = item
        return self._event("response.output_item.done", output_index=index, item=item)

    # --- deltas ------------------------------------------------------------------------------
    def _delta(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        content = delta.get("content")
        if self._compacting:
            return self._compaction_text(content if isinstance(content, str) else "")
        if len(delta) == 1 and content and isinstance(content, str):  # most chunks: one piece of text
            return self._text("output_text", content)
        out: list[dict[str, Any]] = []
        for key in REASONING_KEYS:
            if isinstance(delta.get(key), str) and delta[key]:
                out += self._reasoning_text(delta[key])
        blocks = delta.get("thinking_blocks")
        if isinstance(blocks, list) and blocks:
            out += self._open_reasoning()
            assert self._reasoning is not None
            self._reasoning.blocks += [block for block in blocks if isinstance(block, dict)]
            self.saw_content = True
        for kind, key in (("output_text", "content"), ("refusal", "refusal")):
            if isinstance(delta.get(key), str) and delta[key]:
                out += self._text(kind, delta[key])
        for position, fragment in enumerate(delta.get("tool_calls") or ()):
            if isinstance(fragment, dict):
                out += self._tool_fragment(fragment.get("index", position), fragment)
        return out

    # reasoning
    def _open_reasoning(self) -> list[dict[str, Any]]:
        if self._reasoning is not None:
            return []
        out = self._close_message()
        item_id = new_id("rs")
        index, added = self._added({"id": item_id, "type": "reasoning", "summary": [], "status": "in_progress"})
        self._reasoning = _Item(index, item_id)
        return out + [added]

    def _reasoning_text(self, text: str) -> list[dict[str, Any]]:
        self.saw_content = True
        out = self._open_reasoning()
        item = self._reasoning
        assert item is not None
        if not item.part_open:
            item.part_open = True
            where = {"item_id": item.id, "output_index": item.index}
            if self._summary:
                out.append(self._event("response.reasoning_summary_part.added", **where, summary_index=0,
                                       part={"type": "summary_text", "text": ""}))
            else:
                out.append(self._event("response.content_part.added", **where, content_index=0,
                                       part={"type": "reasoning_text", "text": ""}))
        item.pieces.append(text)
        if self._summary:
            out.append(self._delta_event("response.reasoning_summary_text.delta", item, "summary_index", 0, text))
        else:
            out.append(self._delta_event("response.reasoning_text.delta", item, "content_index", 0, text))
        return out

    def _close_reasoning(self) -> list[dict[str, Any]]:
        item, self._reasoning = self._reasoning, None
        if item is None:
            return []
        out: list[dict[str, Any]] = []
        where = {"item_id": item.id, "output_index": item.index}
        text = item.text()
        if item.part_open and self._summary:
            part = {"type": "summary_text", "text": text}
            out += [self._event("response.reasoning_summary_text.done", **where, summary_index=0, text=text),
                    self._event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)]
        elif item.part_open:
            part = {"type": "reasoning_text", "text": text}
            out += [self._event("response.reasoning_text.done", **where, content_index=0, text=text),
                    self._event("response.content_part.done", **where, content_index=0, part=part)]
        return out + [self._item_done(item.index, reasoning_item(item.id, text, item.blocks, self._request,
                                                                 item.extras))]

    # message text and refusals
    def _text(self, kind: str, text: str) -> list[dict[str, Any]]:
        self.saw_content = True
        item = self._message
        out: list[dict[str, Any]] = []
        if item is None or item.part != kind or self._reasoning is not None:
            out = self._open_part(kind)
            item = self._message
            assert item is not None
        item.pieces.append(text)
        if kind == "output_text":
            event = self._delta_event("response.output_text.delta", item, "content_index", len(item.parts), text)
            event["logprobs"] = []
        else:
            event = self._delta_event("response.refusal.delta", item, "content_index", len(item.parts), text)
        out.append(event)
        return out

    def _open_part(self, kind: str) -> list[dict[str, Any]]:
        """A message item open (after the reasoning before it) with an open part of KIND."""
        out = self._close_reasoning()
        if self._message is None:
            item_id = new_id("msg")
            index, added = self._added({"id": item_id, "type": "message", "role": "assistant",
                                        "status": "in_progress", "content": []})
            self._message = _Item(index, item_id)
            out.append(added)
        item = self._message
        if item.part != kind:
            out += self._close_part(item)
            item.part = kind
            out.append(self._event("response.content_part.added", item_id=item.id, output_index=item.index,
                                   content_index=len(item.parts), part=_part(kind, "")))
        return out

    def _close_part(self, item: _Item) -> list[dict[str, Any]]:
        if item.part is None:
            return []
        kind, text = item.part, item.text()
        where = {"item_id": item.id, "output_index": item.index, "content_index": len(item.parts)}
        item.part, item.pieces = None, []
        part = _part(kind, text)
        item.parts.append(part)
        if kind == "output_text":
            done = self._event("response.output_text.done", **where, text=text, logprobs=[])
        else:
            done = self._event("response.refusal.done", **where, refusal=text)
        return [done, self._event("response.content_part.done", **where, part=part)]

    def _close_message(self) -> list[dict[str, Any]]:
        item, self._message = self._message, None
        if item is None:
            return []
        out = self._close_part(item)
        status = "incomplete" if status_of(self._finish)[0] == "incomplete" else "completed"
        return out + [self._item_done(item.index, {"id": item.id, "type": "message", "role": "assistant",
                                                   "status": status, "content": item.parts})]

    # compaction
    def _compaction_text(self, text: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        item = self._compaction
        if item is None:
            item_id = new_id("cmp")
            index, added = self._added({"id": item_id, "type": "compaction", "encrypted_content": ""})
            item = self._compaction = _Item(index, item_id)
            out += [added, self._event("response.compaction.compacting", item_id=item_id, output_index=index)]
        if text:
            self.saw_content = True
            item.pieces.append(text)
        return out

    def _close_compaction(self) -> list[dict[str, Any]]:
        out = self._compaction_text("")  # an answer without text still compacts, into an empty summary
        item, self._compaction = self._compaction, None
        assert item is not None
        return out + [self._item_done(item.index, compaction_item(item.id, item.text()))]

    # tool calls
    def _tool_fragment(self, tool_index: int, fragment: dict[str, Any]) -> list[dict[str, Any]]:
        function = fragment.get("function") or {}
        out: list[dict[str, Any]] = []
        call = self._calls.get(tool_index)
        if call is None:
            self.saw_content = True
            extra = fragment.get("extra_content")
            carried = bool(isinstance(extra, dict) and extra and self._token)
            out += self._open_reasoning() if carried else self._close_reasoning() + self._close_message()
            opened = call_item(self._tools, fragment.get("id") or new_id("call"), function.get("name") or "", "",
                               status="in_progress")
            if carried:
                assert self._reasoning is not None
                self._reasoning.extras[opened["call_id"]] = extra
            if opened["type"] == "custom_tool_call":
                opened["input"] = ""
            else:
                opened["arguments"] = ""
            index, added = self._added(copy.deepcopy(opened))
            call = self._calls[tool_index] = _Item(index, opened["id"], call=opened)
            out.append(added)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.pieces.append(arguments)
            if call.call and call.call["type"] == "function_call":
                out.append(self._event("response.function_call_arguments.delta", item_id=call.id,
                                       output_index=call.index, delta=arguments))
        return out

    def _close_call(self, call: _Item) -> list[dict[str, Any]]:
        item = dict(call.call or {})
        where = {"item_id": call.id, "output_index": call.index}
        if item.get("type") == "custom_tool_call":
            item["input"] = unwrap_custom_input(call.text())
            out = [self._event("response.custom_tool_call_input.delta", **where, delta=item["input"])] \
                if item["input"] else []
            out.append(self._event("response.custom_tool_call_input.done", **where, input=item["input"]))
        else:
            item.update(arguments=call.text() or "{}", status="completed")
            out = [self._event("response.function_call_arguments.done", **where, name=item.get("name"),
                               arguments=item["arguments"])]
        return out + [self._item_done(call.index, item)]

    def _close_all(self) -> list[dict[str, Any]]:
        """Close every open item, in output order."""
        if self._compacting:  # its one item, unless already done
            return [] if self._done else self._close_compaction()
        closers = [(item.index, closer) for item, closer in ((self._reasoning, self._close_reasoning),
                                                             (self._message, self._close_message)) if item]
        calls, self._calls = self._calls, {}
        closers += [(call.index, lambda call=call: self._close_call(call)) for call in calls.values()]
        out: list[dict[str, Any]] = []
        for _, closer in sorted(closers, key=lambda pair: pair[0]):
            out += closer()
        return out

    def _close_content(self) -> list[dict[str, Any]]:
        self.saw_content = True  # a finish counts as content, as in OpenAIPassthrough
        return self._close_all()

    def _end(self) -> list[dict[str, Any]]:
        out = self._close_all()
        self._ended = True
        status, incomplete = status_of(self._finish)
        response = self._response(status)
        response["incomplete_details"] = incomplete
        response["usage"] = usage_to_responses(self.usage)
        if status == "completed":
            response["completed_at"] = now()
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return out + [self._event(kind, response=response)]


def _part(kind: str, text: str) -> dict[str, Any]:
    if kind == "output_text":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "refusal", "refusal": text}


class ResponsesToChatStream:
    """Responses events in, Chat chunks out, for a Chat client of a Responses-only deployment.

    A call's Chat index counts calls only (never the output index), as Chat clients expect 0, 1...
    A call whose arguments came whole in its `output_item.done` (no deltas) gets them then. An
    upstream's `response.failed` or `error` should reach `fail` as the attempt's failure; one fed
    here anyway ends the stream with the error frame rather than a clean finish.
    """

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._chunks = ChatChunks(ctx)
        self._calls: dict[int, int] = {}  # output_index -> Chat tool index
        self._streamed: set[int] = set()  # output indices whose arguments were sent
        self._custom: set[int] = set()  # output indices of custom tool calls
        self._ended = False
        self._response: dict[str, Any] = {}

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._ended:
            return []
        kind = event.get("type")
        if kind in _LIFECYCLE and isinstance(event.get("response"), dict):
            self._response = event["response"]
            if self._response.get("id") and not self._chunks.role_sent:
                self._chunks.id = f"chatcmpl-{self._response['id']}"
        if kind in ("response.completed", "response.incomplete"):
            self.usage = usage_from_responses(self._response.get("usage")) or self.usage
            return self._finish(finish_of(self._response, bool(self._calls)))
        if kind in ("response.failed", "error"):
            error = (self._response.get("error") if kind == "response.failed" else event) or {}
            code = error.get("code")
            return self.fail(FAILURE_STATUSES.get(code, 502), "server_error", str(error.get("message") or kind))
        out = self._chunks.role()
        if kind == "response.output_item.added":
            out += self._call_added(event.get("output_index", 0), event.get("item") or {})
        elif kind == "response.output_item.done":
            out += self._call_done(event.get("output_index", 0), event.get("item") or {})
        elif kind in ("response.output_text.delta", "response.refusal.delta", "response.reasoning_text.delta",
                      "response.reasoning_summary_text.delta"):
            key = {"response.output_text.delta": "content", "response.refusal.delta": "refusal"}.get(kind,
                                                                                                   "reasoning_content")
            if event.get("delta"):
                self.saw_content = True
                out.append(self._chunks.chunk({key: event["delta"]}))
        elif kind == "response.reasoning_summary_part.added" and event.get("summary_index"):
            out.append(self._chunks.chunk({"reasoning_content": "\n\n"}))  # summary parts read as paragraphs
        elif kind in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            out += self._arguments(event.get("output_index", 0), event.get("delta"))
        return out

    def finish(self) -> list[dict[str, Any]]:
        if self._ended:
            return []
        return self._chunks.role() + self._finish("tool_calls" if self._calls else "stop")

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        if self._ended:
            return []
        self._ended = True  # nothing may follow the error frame
        return [error_frame(status, error_type, message)]

    # --- pieces ------------------------------------------------------------------------------
    def _call_added(self, output_index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        kind = item.get("type")
        if kind not in ("function_call", "custom_tool_call") or output_index in self._calls:
            return []
        self.saw_content = True
        tool_index = self._calls[output_index] = len(self._calls)
        call: dict[str, Any] = {"index": tool_index, "id": item.get("call_id")}
        if kind == "custom_tool_call":
            self._custom.add(output_index)
            call.update(type="custom", custom={"name": item.get("name") or "", "input": item.get("input") or ""})
            whole = item.get("input")
        else:
            call.update(type="function", function={"name": chat_name(item.get("name") or "", item.get("namespace")),
                                                    "arguments": item.get("arguments") or ""})
            whole = item.get("arguments")
        if whole:
            self._streamed.add(output_index)
        return [self._chunks.chunk({"tool_calls": [call]})]

    def _arguments(self, output_index: int, text: Any) -> list[dict[str, Any]]:
        if output_index not in self._calls or not isinstance(text, str) or not text:
            return []
        self._streamed.add(output_index)
        return [self._chunks.chunk({"tool_calls": [self._fragment(output_index, text)]})]

    def _fragment(self, output_index: int, text: str) -> dict[str, Any]:
        key, field_name = ("custom", "input") if output_index in self._custom else ("function", "arguments")
        return {"index": self._calls[output_index], key: {field_name: text}}

    def _call_done(self, output_index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._call_added(output_index, item)
        if output_index in self._streamed or output_index not in self._calls:
            return out
        self._streamed.add(output_index)
        whole = item.get("input") if item.get("type") == "custom_tool_call" else item.get("arguments") or "{}"
        return out + [self._chunks.chunk({"tool_calls": [self._fragment(output_index, whole or "")]})]

    def _finish(self, reason: str) -> list[dict[str, Any]]:
        self._ended = True
        return self._chunks.role() + [self._chunks.chunk({}, reason)] + self._chunks.usage(self.usage)


class ResponsesPassthrough:
    """Responses events to a Responses client: rewrite the model, read usage, pass the rest.

    Content starts with the first event a client shows or acts on: not the lifecycle events, nor an
    item or part opened empty; until then the stream may still fail over. A failure after content
    ends the stream with `response.failed` numbered after the last event.
    """

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.usage: Usage | None = None
        self.saw_content = False
        self._seq = -1
        self._response: dict[str, Any] | None = None

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(event.get("sequence_number"), int):
            self._seq = event["sequence_number"]
        kind = event.get("type")
        response = event.get("response")
        if kind in _LIFECYCLE and isinstance(response, dict):
            if "model" in response:
                response["model"] = self.ctx.client_model
            self._response = response
            self.usage = usage_from_responses(response.get("usage")) or self.usage
            if kind in ("response.completed", "response.incomplete"):
                self.saw_content = True
        elif not self.saw_content:
            self.saw_content = shows_content(event)
        return [event]

    def finish(self) -> list[dict[str, Any]]:
        return []

    def fail(self, status: int, error_type: str, message: str) -> list[dict[str, Any]]:
        response = copy.deepcopy(self._response) if self._response else response_object(
            self.ctx.request, new_id("resp"), now(), self.ctx.client_model, "failed")
        response.update(status="failed", error=failure(status, message))
        self._seq += 1
        return [{"type": "response.failed", "sequence_number": self._seq, "response": response}]


_OPENED_EMPTY = ("response.content_part.added", "response.reasoning_summary_part.added")


def shows_content(event: dict[str, Any]) -> bool:
    """Does this Responses event carry something a client shows or acts on? An empty delta, a part
    opened empty and a message or reasoning item opened empty do not; a call opening does."""
    kind = event.get("type")
    if kind in _LIFECYCLE or kind in _OPENED_EMPTY:
        return False
    if kind == "response.output_item.added":
        item = event.get("item") or {}
        return item.get("type") not in ("message", "reasoning") or bool(item.get("content") or item.get("summary"))
    if isinstance(kind, str) and kind.endswith(".delta"):
        return bool(event.get("delta"))
    return True

