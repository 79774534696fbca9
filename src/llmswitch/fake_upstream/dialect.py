"""The slots each dialect module fills: read and check a request, render an answer or an error.

The server owns everything else (recording, faults, pacing), so a dialect module is only wire format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from llmswitch.fake_upstream.answer import Answer, Prompt


class Rejected(Exception):
    """The request breaks a rule the real service enforces; answered in the dialect's error shape."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param  # OpenAI's `error.param`: the request field at fault


@dataclass(slots=True)
class Reply:
    """Identity of one answer: a per-server sequence number and the creation time."""

    number: int
    created: int


class Dialect(Protocol):
    tool_id_prefix: str  # format string, {n} = answer number; "" when calls carry no id unless given

    def inspect(self, request: web.Request, body: Any) -> Prompt:
        """Check the request as the real service would; raise `Rejected` where it would refuse."""

    def wants_stream(self, request: web.Request, body: dict[str, Any]) -> bool: ...

    def error_body(self, status: int, message: str) -> bytes: ...

    def stream_error(self, status: int, message: str) -> bytes:
        """One stream frame reporting an error after the stream has started."""

    def render(self, answer: Answer, prompt: Prompt, reply: Reply) -> bytes: ...

    def frames(self, answer: Answer, prompt: Prompt, reply: Reply, body: dict[str, Any]) -> list[bytes]:
        """Every frame of the stream, terminator included, so faults can count and cut them."""
