"""Server-sent events: an incremental decoder and the encoders each dialect needs.

The decoder follows the SSE spec's rules that real clients rely on: lines end in CR, LF or CRLF,
`:` lines are comments, several `data:` lines join with a newline, one leading space is stripped.
"""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"


def encode_data(obj: Any) -> bytes:
    """A data-only frame, as OpenAI and Gemini streams use."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def encode_event(obj: dict[str, Any]) -> bytes:
    """A frame with an `event:` line named after the object's `type`, as Anthropic and Responses use."""
    return b"event: " + obj["type"].encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


class SSEDecoder:
    """Feed raw bytes as they arrive; get back complete (event, data) pairs."""

    __slots__ = ("_buffer", "_event", "_data", "_pending_cr")

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = chunk.endswith(b"\r")
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buffer = buffer.split(b"\n")
        out: list[tuple[str | None, str]] = []
        for raw in lines:
            if not raw:
                if self._data:
                    out.append((self._event, "\n".join(self._data)))
                self._event, self._data = None, []
                continue
            if raw.startswith(b":"):
                continue
            field, _, value = raw.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                self._data.append(value.decode())
            elif field == b"event":
                self._event = value.decode()
        return out

    def close(self) -> list[tuple[str | None, str]]:
        """Flush a final event that was not followed by a blank line."""
        out = self.feed(b"\n\n") if self._buffer or self._data else []
        return out
