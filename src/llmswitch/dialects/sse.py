"""Server-sent events: an incremental decoder and the encoders each dialect needs.

The decoder follows the SSE spec's rules that real clients rely on: lines end in CR, LF or CRLF,
`:` lines are comments, several `data:` lines join with a newline, one leading space is stripped.
"""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"
MAX_EVENT = 64 << 20  # bytes of one event, by default: server.max_upstream_body_mb


def encode_data(obj: Any) -> bytes:
    """A data-only frame, as OpenAI and Gemini streams use."""
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def encode_event(obj: dict[str, Any]) -> bytes:
    """A frame with an `event:` line named after the object's `type`, as Anthropic and Responses use."""
    return b"event: " + obj["type"].encode() + b"\ndata: " + orjson.dumps(obj) + b"\n\n"


class SSEError(ValueError):
    """The stream cannot be decoded: an event larger than the decoder's bound, or bytes that are not UTF-8."""


class SSEDecoder:
    """Feed raw bytes as they arrive; get back complete (event, data) pairs.

    Work is linear in the bytes fed: an unfinished line is kept as a list of pieces and joined once,
    when its end arrives, and only each new piece is searched for a line end (concatenating the
    buffer on every read made a 50 MB line fed in 64 KiB pieces cost 18 s of the event loop). One
    event (its data lines and the unfinished line) may not exceed `max_event` bytes: past that the
    upstream is not sending a stream a client could use, and buffering it would cost unbounded memory.
    """

    __slots__ = ("_pieces", "_partial", "_event", "_data", "_size", "_pending_cr", "_max_event")

    def __init__(self, max_event: int = MAX_EVENT) -> None:
        self._pieces: list[bytes] = []  # the unfinished last line
        self._partial = 0  # its length
        self._event: str | None = None
        self._data: list[str] = []
        self._size = 0  # bytes of the current event's data lines
        self._pending_cr = False
        self._max_event = max_event

    def feed(self, chunk: bytes) -> list[tuple[str | None, str]]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        if not chunk:
            return []
        end = chunk.rfind(b"\n")
        if end != len(chunk) - 1:
            end = max(end, chunk.rfind(b"\r"))
        if end < 0:  # no line ends here: keep the piece for when one does
            self._pending_cr = False
            self._pieces.append(chunk)
            self._partial += len(chunk)
            if self._partial + self._size > self._max_event:
                raise self._too_large()
            return []
        self._pending_cr = chunk.endswith(b"\r")  # the LF of this CRLF may open the next piece
        lines = chunk[:end + 1]
        if self._pieces:
            self._pieces.append(lines)
            lines = b"".join(self._pieces)
        rest = chunk[end + 1:]
        self._pieces = [rest] if rest else []
        self._partial = len(rest)
        if b"\r" in lines:
            lines = lines.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        parts = lines.split(b"\n")
        parts.pop()  # the empty piece after the last line end
        out: list[tuple[str | None, str]] = []
        event, data, size, limit = self._event, self._data, self._size, self._max_event
        try:
            for raw in parts:
                if not raw:
                    if data:
                        if size > limit:
                            raise self._too_large()
                        out.append((event, "\n".join(data)))
                    event, data, size = None, [], 0
                    continue
                if raw.startswith(b":"):
                    continue
                field, _, value = raw.partition(b":")
                if value.startswith(b" "):
                    value = value[1:]
                if field == b"data":
                    size += len(value)
                    data.append(value.decode())
                elif field == b"event":
                    event = value.decode()
        except UnicodeDecodeError:
            raise SSEError("upstream stream carried bytes that are not UTF-8") from None
        self._event, self._data, self._size = event, data, size
        if size + self._partial > limit:
            raise self._too_large()
        return out

    def close(self) -> list[tuple[str | None, str]]:
        """Flush a final event that was not followed by a blank line."""
        return self.feed(b"\n\n") if self._pieces or self._data else []

    def _too_large(self) -> SSEError:
        return SSEError(f"upstream stream carried an event larger than {self._max_event} bytes")
