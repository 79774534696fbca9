"""A client's multipart form (an audio upload) read as it arrives: the small fields parsed to route the
request, the file passed on to the upstream without ever being held in memory.

- A declared Content-Length past `server.max_body_mb` is a 413 before a byte is read; otherwise the
  parts are counted as they arrive, and the byte past the cap is the same 413, mid-upload too (which
  ends the upstream call: the upstream never gets a whole request).
- The fields before the file are read and kept (each up to FIELD_LIMIT bytes).
- The file, when `model` came before it (the openai SDK, like httpx, sends every field first): passed
  on as it arrives, chunked, while the gateway routes and calls the upstream. Each piece is also
  written to a spool file on disk, so that another attempt (failover) can send the file again from its
  start: the spool first, then the rest from the client. Fields after such a file are read once it has
  passed and are sent after it.
- When the file comes before `model` (`curl -F file=@a.mp3 -F model=whisper-1`), the request cannot be
  routed yet: the file is spooled whole to disk first (up to the cap), the rest of the form read, and
  every attempt sends the file from the spool, with its length.
- Waiting for the client's body is bounded by `server.body_timeout_s` in all (408); the disk is written
  and read in a worker thread, never on the event loop. The spool is a nameless temporary file in the
  system's temporary directory, gone when the request ends.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, TypeVar

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from llmswitch.dialects.audio import estimated_seconds
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError, invalid
from llmswitch.providers.multipart import FilePart, FormField, LateFields, Multipart, Part

CHUNK = 256 * 1024  # bytes read from the client, written to the spool and sent upstream at a time
FIELD_LIMIT = 1 << 20  # bytes of one field (a prompt, a speaker reference as a data URL)
HEAD = 64  # bytes of the file kept: a WAV header says its byte rate
MIB = 1 << 20
FILE_FIELD = "file"
T = TypeVar("T")


def too_large(cap: int) -> GatewayError:
    return GatewayError(413, f"Request body too large: the limit is {cap / MIB:g} MB (server.max_body_mb).",
                        code="request_too_large")


class _Body:
    """The client's body as the parts are read: the cap on its size and on the time spent waiting for it."""

    def __init__(self, cap: int, timeout_s: float):
        self.cap = cap
        self.timeout_s = timeout_s
        self.size = 0
        self.waited = 0.0  # seconds spent waiting for the client so far

    async def _wait(self, step: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(max(0.0, self.timeout_s - self.waited)):
                return await step()
        except TimeoutError:
            raise GatewayError(408, f"The request body did not arrive within {self.timeout_s:g} s.",
                               code="body_timeout") from None
        except (ValueError, HttpProcessingError):  # aiohttp's words for a form whose framing is broken
            raise invalid("The request body is not a valid multipart form (its boundaries or part headers are "
                          "broken).", code="invalid_body") from None
        except web.RequestPayloadError:
            raise invalid("The request body is malformed: its chunked framing or compression is broken.",
                          code="invalid_body") from None
        finally:
            self.waited += loop.time() - started

    async def next(self, reader: MultipartReader) -> BodyPartReader | None:
        part = await self._wait(reader.next)
        if part is not None and not isinstance(part, BodyPartReader):
            raise invalid("A nested multipart part is not accepted here.", code="invalid_body")
        return part

    async def chunk(self, part: BodyPartReader) -> bytes:
        """The next piece of PART (b"" at its end), counted against the cap."""
        data = await self._wait(lambda: part.read_chunk(CHUNK))
        self.size += len(data)
        if self.size > self.cap:
            raise too_large(self.cap)
        return data

    async def text(self, part: BodyPartReader, name: str) -> str:
        pieces = []
        size = 0
        while data := await self.chunk(part):
            size += len(data)
            if size > FIELD_LIMIT:
                raise invalid(f"The form field '{name}' is longer than {FIELD_LIMIT // 1024} KiB.", param=name,
                              code="field_too_long")
            pieces.append(data)
        try:
            return b"".join(pieces).decode(part.get_charset("utf-8"))
        except (UnicodeDecodeError, LookupError):
            raise invalid(f"The form field '{name}' is not valid UTF-8 text.", param=name, code="invalid_value") \
                from None


class Spool:
    """A nameless temporary file, appended to and read at any offset in a worker thread. Each operation
    holds the lock, and closing takes it too, in a thread of its own: a request cancelled while a write
    was still running closes its file only once that write has ended, so no write ever lands on a
    descriptor the process has since reused."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None  # made by the first write
        self._written = False  # a write was asked for: there may be a file to close
        self._closed = False
        self._lock = threading.Lock()

    async def write(self, data: bytes) -> None:
        self._written = True
        await asyncio.to_thread(self._write, data)

    async def read(self, offset: int, size: int) -> bytes:
        return await asyncio.to_thread(self._read, offset, size)

    def close(self) -> None:
        if self._written:
            asyncio.get_running_loop().run_in_executor(None, self._close)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            if self._file is None:
                self._file = tempfile.TemporaryFile(buffering=0)
            view = memoryview(data)
            while view:
                view = view[os.write(self._file.fileno(), view):]

    def _read(self, offset: int, size: int) -> bytes:
        with self._lock:
            assert self._file is not None and not self._closed
            return os.pread(self._file.fileno(), size, offset)

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()


class Upload:
    """The form's file: iterated once per attempt, each time from its first byte (what earlier attempts
    read comes from the spool, the rest from the client, spooled as it passes)."""

    def __init__(self, part: BodyPartReader, body: _Body, on_whole: Callable[[], None]):
        self.filename = part.filename or ""
        self.content_type = part.headers.get("content-type") or "application/octet-stream"
        self.size = 0  # bytes received (and spooled)
        self.head = b""
        self.whole = False
        self._part = part
        self._body = body
        self._spool = Spool()
        self._on_whole = on_whole

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        offset = 0
        while offset < self.size:
            piece = await self._spool.read(offset, min(CHUNK, self.size - offset))
            offset += len(piece)
            yield piece
        while not self.whole:
            data = await self._receive()
            if data:
                offset += len(data)
                yield data

    async def _receive(self) -> bytes:
        """The client's next piece, spooled before it is passed on; b"" once the file has ended."""
        data = await self._body.chunk(self._part)
        if not data:
            self.whole = True
            self._on_whole()
            return data
        await self._spool.write(data)
        if len(self.head) < HEAD:
            self.head = (self.head + data)[:HEAD]
        self.size += len(data)
        return data

    async def spool_whole(self) -> None:
        while not self.whole:
            await self._receive()

    def close(self) -> None:
        self._spool.close()


class ClientForm:
    """The form as read so far: its fields in order (those after a passed-on file once it has passed),
    the file, and what the file is estimated to hold (filled in once it has arrived whole)."""

    def __init__(self, reader: MultipartReader, body: _Body):
        self.fields: list[tuple[str, str]] = []
        self.upload: Upload | None = None
        self.estimate = Usage(estimated=True)  # the request's own usage: its seconds, judged by its size
        self.check_late: Callable[[list[tuple[str, str]]], None] = lambda fields: None
        self.late: list[tuple[str, str]] | None = None  # the fields after a passed-on file, once read
        self._reader = reader
        self._body = body

    def value(self, name: str) -> str | None:
        """The first value of a field read so far."""
        return next((value for key, value in self.fields if key == name), None)

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.fields if key == name]

    @property
    def file_size(self) -> int:
        return self.upload.size if self.upload is not None else 0

    @property
    def file_head(self) -> bytes:
        return self.upload.head if self.upload is not None else b""

    def for_model(self, model: str) -> Multipart:
        """The form for one attempt, naming the upstream's MODEL (`dialects.audio.form_request`)."""
        def named(fields: list[tuple[str, str]]) -> list[FormField]:
            return [FormField(key, model if key == "model" else value) for key, value in fields]

        upload = self.upload
        assert upload is not None
        parts: list[Part] = [*named(self.fields),
                             FilePart(FILE_FIELD, upload.filename, upload.content_type, upload,
                                      upload.size if upload.whole else None)]
        if self.late is not None:
            parts += named(self.late)
        else:
            async def late() -> list[FormField]:
                return named(await self._read_late())
            parts.append(LateFields(late))
        return Multipart(parts)

    async def _read_late(self) -> list[tuple[str, str]]:
        if self.late is None:
            late = []
            while (part := await self._body.next(self._reader)) is not None:
                name = _name_of(part)
                if part.filename is not None:
                    raise invalid("Only one file may be uploaded, as 'file'.", param=name, code="invalid_value")
                late.append((name, await self._body.text(part, name)))
            self.check_late(late)
            self.late = late
        return self.late

    def file_whole(self) -> None:
        """The file has arrived whole: its seconds can be judged."""
        self.estimate.audio_seconds = estimated_seconds(self.file_size, self.file_head)

    def close(self) -> None:
        if self.upload is not None:
            self.upload.close()


def _name_of(part: BodyPartReader) -> str:
    if not part.name:
        raise invalid("Every part of the form needs a name.", code="invalid_body")
    return part.name


async def read_form(request: web.Request, cap: int, timeout_s: float, whole: bool = False) -> ClientForm:
    """Read the client's form up to its file when `model` came before it (the file then passes as the
    upstream is called), else, or when WHOLE (the compat route, whose key may come after the file),
    to its end with the file spooled; raises the 400/408/413 of a bad one."""
    if request.content_type != "multipart/form-data":
        raise invalid(f"Content-Type must be multipart/form-data, got {request.content_type!r}.",
                      code="invalid_content_type")
    if request.content_length is not None and request.content_length > cap:
        raise too_large(cap)
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError):
        raise invalid("The request's multipart boundary is missing or not valid.", code="invalid_body") from None
    body = _Body(cap, timeout_s)
    form = ClientForm(reader, body)
    while (part := await body.next(reader)) is not None:
        name = _name_of(part)
        if part.filename is None:
            if name == FILE_FIELD:
                raise invalid("'file' must be a file upload (a part with a filename).", param=FILE_FIELD,
                              code="invalid_type")
            form.fields.append((name, await body.text(part, name)))
            continue
        if name != FILE_FIELD or form.upload is not None:
            raise invalid("Only one file may be uploaded, as 'file'.", param=name, code="invalid_value")
        form.upload = Upload(part, body, form.file_whole)
        if form.value("model") and not whole:
            return form  # routed now; the file passes while the upstream is called
        await form.upload.spool_whole()
    form.late = []
    return form
