"""What one request is billed, however it ends: the one rule behind both its usage row and the
settlement of its key's limits.

Work an upstream did is billed whether or not the client stayed for it, and never at zero:
- an answer that completed, at the usage the upstream reported (estimated from the prompt and the
  output when it reported none);
- an answer cut short (the client left, the upstream broke after content, the server stopped), at
  what had been counted so far: the upstream's usage up to then, and at least the prompt estimate
  and the output already produced;
- a request that ended while an upstream was still working on it, before any answer (the client
  left, the gateway failed), at its reservation: the prompt estimate and all the output it allowed.
A request whose upstreams all failed, and so answered nothing, is billed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmswitch.dialects.estimate import tokens
from llmswitch.dialects.usage import Usage

if TYPE_CHECKING:
    from llmswitch.core.routing import Target


@dataclass(slots=True)
class Meter:
    """One request's accounting as it goes: the gateway updates it, its accounting exit reads it."""

    prompt_estimate: int
    reserved_output: int  # the output tokens the request allows: its max tokens, else the reserve
    status: int = 200
    target: Target | None = None  # the target answering, or the one being tried
    answering: bool = False  # a target's answer has begun (or is in)
    complete: bool = False  # ... and it is whole
    usage: Usage | None = None  # as the upstream counted it, so far (before: what the request says it uses)
    output_size: int = 0  # bytes of generated text the client was sent
    accounted: bool = False
    attempts: int = 0  # targets tried
    first_byte: float = 0.0  # time.perf_counter() when the answer's first byte left for the client
    error: str | None = None  # the failure's code (`GatewayError.code`, an upstream error's kind)

    def trying(self, target: Target) -> None:
        self.target = target
        self.attempts += 1

    def answered(self, target: Target) -> None:
        self.target = target
        self.answering = True

    def failed(self, status: int, code: str | None = None) -> None:
        """The request ends with an error and no answer (the upstreams' failure, or a refusal)."""
        self.status = status
        self.error = code
        if not self.answering:
            self.target = None

    def interrupted(self, status: int) -> None:
        """The request ends before its answer is whole: 499 when the client left."""
        if not self.complete:
            self.status = status

    def bill(self) -> Usage | None:
        """The tokens the request is billed for (None: nothing)."""
        counted = self.usage
        if self.complete and counted is not None:
            return counted  # as the dialect read it from the upstream's usage object
        if self.answering:
            counted = _clean(counted) if counted is not None else Usage()
            return Usage(counted.prompt_tokens or self.prompt_estimate,
                         max(counted.completion_tokens, tokens(self.output_size)),
                         counted.cached_tokens, counted.reasoning_tokens, counted.audio_seconds, counted.characters,
                         counted.cache_write_tokens, estimated=True)
        if self.target is not None:  # the request's own units (an upload's seconds, speech's characters) too
            known = _clean(counted) if counted is not None else Usage()
            return Usage(self.prompt_estimate, self.reserved_output, audio_seconds=known.audio_seconds,
                         characters=known.characters, estimated=True)
        return None


def _clean(usage: Usage) -> Usage:
    """Usage with every count a non-negative integer: a stream cut short may have left anything."""
    return Usage(_count(usage.prompt_tokens), _count(usage.completion_tokens), _count(usage.cached_tokens),
                 _count(usage.reasoning_tokens), _seconds(usage.audio_seconds), _count(usage.characters),
                 _count(usage.cache_write_tokens))


def _count(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


def _seconds(value: Any) -> float:
    return float(value) if type(value) in (int, float) and value >= 0 else 0.0
