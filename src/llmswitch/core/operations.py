"""The operations the gateway serves, each declared once with what the core needs to know of it.

An operation is the work a client asks for, whatever API it asks in: Chat Completions, Anthropic
Messages (and, next, the Responses API) are three surfaces of one `chat` operation, joined by the
translations in `dialects.translate`. The pipeline reads here whether a failure may be retried
elsewhere, whether an answer may stream, and what the operation is metered and priced in; a
provider declares an endpoint per operation it serves (`providers.endpoints`).

- `idempotent`: repeating it upstream duplicates nothing billed or stored, so a failure always moves
  on to the next target, whatever `retry_unsafe` says (a count of tokens, a listing). A billed call
  is not: it follows the `retry_unsafe` settings like chat.
- `streams`: a client may ask for the answer as it is produced.
- `meters`: the units its usage is counted and priced in; none means unmetered: it counts against a
  key's requests per minute and concurrency only, reserves no tokens and no budget.
- `reserves_output`: it generates, so its admission reserves the output it allows (`max_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Unit = Literal["tokens", "audio_seconds", "characters"]


@dataclass(frozen=True, slots=True, eq=False)
class Operation:
    name: str
    idempotent: bool
    streams: bool
    meters: tuple[Unit, ...]
    reserves_output: bool = False
    metered: bool = field(init=False)  # meters anything (read on every request: a field, not a property)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metered", bool(self.meters))


CHAT = Operation("chat", idempotent=False, streams=True, meters=("tokens",), reserves_output=True)
EMBEDDINGS = Operation("embeddings", idempotent=False, streams=False, meters=("tokens",))
COUNT_TOKENS = Operation("count_tokens", idempotent=True, streams=False, meters=())
TRANSCRIPTION = Operation("transcription", idempotent=False, streams=True, meters=("audio_seconds",))
TRANSLATION = Operation("translation", idempotent=False, streams=False, meters=("audio_seconds",))
SPEECH = Operation("speech", idempotent=False, streams=True, meters=("characters",))
MODELS = Operation("models", idempotent=True, streams=False, meters=())
