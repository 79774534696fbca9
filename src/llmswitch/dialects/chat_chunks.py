"""`chat.completion.chunk`s in stream translations: the writing side and the reading side.

Every machine that turns another dialect's stream into Chat chunks keeps the same invariants, the
ones openai-python's accumulator checks: one `id` and `created` for the whole answer, the role
once before anything else, `usage: null` on every chunk when usage was asked for and the counts
on a last chunk with no choices, and nothing after an error frame (`ChatChunks`). Every machine
fed Chat chunks reads them the same way, whatever it writes (`ChatChunkReader`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from llmswitch.dialects.types import StreamContext
from llmswitch.dialects.usage import Usage, from_openai, to_openai


def error_frame(status: int, error_type: str, message: str) -> dict[str, Any]:
    """The frame that ends a Chat stream on a failure: OpenAI's error shape, the status as its code."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": str(status)}}


class ChatChunks:
    """The chunks of one answer's single choice. `id` may be replaced (by the upstream's own) until the
    first chunk is made."""

    __slots__ = ("ctx", "id", "role_sent", "_created")

    def __init__(self, ctx: StreamContext):
        self.ctx = ctx
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.role_sent = False
        self._created = int(time.time())

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self._created,
                                 "model": self.ctx.client_model,
                                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if self.ctx.include_usage:
            chunk["usage"] = None
        return chunk

    def role(self) -> list[dict[str, Any]]:
        """The role chunk, the first time only."""
        if self.role_sent:
            return []
        self.role_sent = True
        return [self.chunk({"role": "assistant", "content": ""})]

    def usage(self, usage: Usage | None) -> list[dict[str, Any]]:
        """The usage chunk (no choices), when the client asked for usage."""
        if not self.ctx.include_usage:
            return []
        chunk = self.chunk({})
        chunk["choices"] = []
        chunk["usage"] = to_openai(usage or Usage())
        return [chunk]


class ChatChunkReader:
    """The reading half of a machine fed Chat chunks: the usage read wherever it comes, choice 0 only
    (one answer per message or response: n > 1 is refused or never asked for on the way in), nothing
    of it after its finish. The end waits for the usage chunk, which comes after the finish chunk,
    so it can carry real counts; a stream that ends without one is closed by `finish`.

    A subclass writes its dialect in the slots: `_start` (the opening events, once), `_delta` (one
    choice delta), `_close_content` (the finish reason is known), `_end` (the terminal events).
    """

    usage: Usage | None
    _ended: bool
    _finish: str | None

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._ended:
            return []
        out = self._start()
        if event.get("usage"):
            self.usage = from_openai(event["usage"])
        for choice in event.get("choices") or ():
            if choice.get("index", 0) != 0 or self._finish:
                continue
            out += self._delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
                out += self._close_content()
        if self._finish and self.usage:
            out += self._end()
        return out

    def finish(self) -> list[dict[str, Any]]:
        if self._ended:
            return []
        return self._start() + self._close_content() + self._end()

    def _start(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _delta(self, delta: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _close_content(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _end(self) -> list[dict[str, Any]]:
        raise NotImplementedError
