"""What the clients of each inbound API parse, whatever the route: the gateway-side twin of
`fake_upstream.Dialect`. A surface module speaks one of these; its routes are registered with it
(`web.middleware`), so every error on them, the gateway's own or an upstream's, has its shape.

- OpenAI: `{"error": {message, type, param, code}}`, `data:` frames ending in `data: [DONE]`.
- OpenAI's audio routes: the same, but their streams (`transcript.text.*`, `speech.audio.*`) end with
  their `done` event, no `[DONE]`.
- Anthropic: `{"type": "error", "error": {type, message}}`, `event:` + `data:` frames with no
  terminator (`message_stop` is an event); its version and beta headers reach an Anthropic upstream.
- Responses: OpenAI's error shape, `event:` + `data:` frames with no terminator (a stream ends with
  `response.completed`, `response.incomplete` or `response.failed`).
- Responses on the body-keyed `/openai2` routes: the same events and error shape, framed as the
  proxies those routes replace framed them: `data:` lines ending in `data: [DONE]` (the OpenAI SDKs
  read both framings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from llmswitch.dialects import sse
from llmswitch.errors import GatewayError, invalid


@dataclass(frozen=True, slots=True, eq=False)
class Wire:
    dialect: str  # the translations' name for its bodies
    shape: Callable[[GatewayError, str | None], dict[str, Any]]  # an error as its clients parse it
    encode: Callable[[Any], bytes]  # one stream event as its SSE frame
    terminator: bytes  # after the last event of a complete stream
    forwarded_headers: tuple[str, ...] = ()  # client headers an upstream of this dialect gets

    def error_body(self, error: GatewayError, request_id: str | None = None) -> bytes:
        return orjson.dumps(self.shape(error, request_id))

    def forwarded(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The client headers that go upstream with a same-dialect call; one whose bytes are not UTF-8
        (surrogates, as aiohttp decodes them) cannot be sent and is the client's to fix."""
        forwarded = {name: headers[name] for name in self.forwarded_headers if name in headers}
        for name, value in forwarded.items():
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:
                    raise invalid(f"The {name} header is not valid UTF-8.", param=name) from None
        return forwarded


OPENAI = Wire("openai", GatewayError.openai_body, sse.encode_data, sse.DONE)
AUDIO = Wire("openai", GatewayError.openai_body, sse.encode_data, b"")
ANTHROPIC = Wire("anthropic", GatewayError.anthropic_body, sse.encode_event, b"",
                 ("anthropic-beta", "anthropic-version"))
RESPONSES = Wire("responses", GatewayError.openai_body, sse.encode_event, b"")
KEYED_RESPONSES = Wire("responses", GatewayError.openai_body, sse.encode_data, sse.DONE)
