"""Where and how a provider serves each operation: method, path, body kind, answer kind, dialect.

A provider declares a tuple of `Endpoint`s, one per operation it serves (two where it serves an
operation in two dialects, e.g. a chat-only and a Responses server), and the shared machinery in
`providers.base` does the rest: the URL, the body's encoding, reading the answer as JSON, SSE
events or a binary stream. Adding an operation to a provider is adding a line here, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BodyKind = Literal["json", "multipart", "none"]  # a dict encoded as JSON, a `Multipart` form, no body
AnswerKind = Literal["json", "sse", "binary"]  # a JSON object, SSE events, bytes streamed as they come


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: cheap on the hot path
class Endpoint:
    operation: str  # an `core.operations` name: "chat", "embeddings", "count_tokens", "speech"...
    path: str  # under the provider's base URL; `{model}` stands for the upstream model id
    method: bytes = b"POST"
    body: BodyKind = "json"
    answer: AnswerKind = "json"  # what a call that does not stream gets back
    stream: AnswerKind | None = None  # what a streaming call gets back; None: the endpoint never streams
    stream_path: str | None = None  # where a streaming call goes, when not to `path` (Gemini)
    dialect: str | None = None  # the wire format of its bodies; None: the provider's own `dialect`

    def answer_kind(self, stream: bool) -> AnswerKind:
        if stream and self.stream is not None:
            return self.stream
        return self.answer
