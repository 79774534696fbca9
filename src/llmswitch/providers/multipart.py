"""`multipart/form-data` request bodies (audio uploads), encoded while they are sent.

A file part's bytes come from an async iterable (the client's own upload, read as it arrives), so
a large file passes through the gateway in pieces and is never held whole. When every file part
says its size (and no `LateFields` wait for it to pass) the body's length is known and sent as
Content-Length (some servers refuse chunked uploads); otherwise the transport frames it chunked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from llmswitch.providers.http import Streamed


@dataclass(slots=True)
class FormField:
    name: str
    value: str


@dataclass(slots=True)
class FilePart:
    """A file sent as it is read. `chunks` is iterated once per attempt: where failover must send it
    again, pass an iterable that starts over each time (an upload spooled to disk), not a generator."""

    name: str
    filename: str
    content_type: str
    chunks: AsyncIterable[bytes]
    size: int | None = None  # bytes, when known in advance


@dataclass(slots=True)
class LateFields:
    """Fields known only once the parts before them are sent: those a client's form carries after its
    file, which can be read from the client only when the file has passed."""

    read: Callable[[], Awaitable[list[FormField]]]


Part = FormField | FilePart | LateFields


def _quoted(value: str) -> str:
    """A name or file name inside a quoted header parameter, as browsers send it (WHATWG HTML)."""
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class Multipart:
    """A form of fields and files; `body()` is the `Streamed` body the transport sends."""

    def __init__(self, parts: list[Part], boundary: str | None = None):
        self.parts = parts
        self.boundary = boundary or f"llmswitch-{os.urandom(12).hex()}"

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _head(self, part: FormField | FilePart) -> bytes:
        disposition = f'Content-Disposition: form-data; name="{_quoted(part.name)}"'
        if isinstance(part, FilePart):
            content_type = part.content_type.replace("\r", "").replace("\n", "")
            disposition += f'; filename="{_quoted(part.filename)}"\r\nContent-Type: {content_type}'
        return f"--{self.boundary}\r\n{disposition}\r\n\r\n".encode()

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def length(self) -> int | None:
        """The encoded size, or None when a file part's size is not known."""
        total = len(self._tail())
        for part in self.parts:
            if isinstance(part, LateFields):
                return None
            size = len(part.value.encode()) if isinstance(part, FormField) else part.size
            if size is None:
                return None
            total += len(self._head(part)) + size + 2
        return total

    async def _chunks(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            if isinstance(part, LateFields):
                fields = await part.read()
                if fields:
                    yield b"".join([self._head(field) + field.value.encode() + b"\r\n" for field in fields])
                continue
            if isinstance(part, FormField):
                yield self._head(part) + part.value.encode() + b"\r\n"
                continue
            yield self._head(part)
            async for chunk in part.chunks:
                yield chunk
            yield b"\r\n"
        yield self._tail()

    def body(self) -> Streamed:
        return Streamed(self._chunks(), self.length())
