"""Gateway errors and their rendering in each client dialect's own error shape (shared by every layer).

Code anywhere in the request path raises `GatewayError`; the app's middleware renders it in
the shape the client's SDK parses (OpenAI `{"error": {...}}` or Anthropic
`{"type": "error", ...}`), so each SDK raises its own typed exception.

One table names each status in both vocabularies. Anthropic documents one `error.type` per status
(and `invalid_request_error` for any other 4xx, `api_error` for any other 5xx), so an Anthropic
route always shows the status's type. OpenAI sends `invalid_request_error` for every 4xx but 429
(a 401 bad key, a 403 model outside the project and a 404 unknown model alike, told apart by
`code`), `rate_limit_error` on 429 (`insufficient_quota` when the quota is spent),
`service_unavailable_error` on 503 and `server_error` on other 5xx.
"""

from __future__ import annotations

from typing import Any

import orjson

# status: (OpenAI's type, Anthropic's type)
ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request_error"),
    401: ("invalid_request_error", "authentication_error"),
    402: ("invalid_request_error", "billing_error"),
    403: ("invalid_request_error", "permission_error"),
    404: ("invalid_request_error", "not_found_error"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_error"),
    500: ("server_error", "api_error"),
    503: ("service_unavailable_error", "overloaded_error"),
    504: ("server_error", "timeout_error"),
    529: ("service_unavailable_error", "overloaded_error"),
}
OPENAI_TYPES = {status: openai for status, (openai, _) in ERROR_TYPES.items()}
ANTHROPIC_TYPES = {status: anthropic for status, (_, anthropic) in ERROR_TYPES.items()}
# Every type OpenAI sends: an error may carry one of these in place of its status's.
OPENAI_KNOWN_TYPES = {*OPENAI_TYPES.values(), "insufficient_quota"}


def error_type(status: int, dialect: str) -> str:
    """The `error.type` a dialect gives a status."""
    types = ERROR_TYPES.get(status)
    if types is not None:
        return types[1] if dialect == "anthropic" else types[0]
    if status >= 500:
        return "api_error" if dialect == "anthropic" else "server_error"
    return "invalid_request_error"


class GatewayError(Exception):
    """An error answered to the client: HTTP status, message, and OpenAI's param/code.

    `type` is kept on OpenAI routes when it is one OpenAI itself sends (an upstream's own, or
    `insufficient_quota` on a 429); otherwise, and always on Anthropic routes, the status names it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type if type in OPENAI_KNOWN_TYPES else error_type(status, "openai")
        self.param = param
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}

    def openai_body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "param": self.param,
                                 "code": self.code}
        if request_id:
            error["request_id"] = request_id
        error.update(self.extra)
        return {"error": error}

    def anthropic_body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error",
                                "error": {"type": error_type(self.status, "anthropic"), "message": self.message}}
        if request_id:
            body["request_id"] = request_id
        body.update(self.extra)
        return body

    def body(self, dialect: str, request_id: str | None = None) -> bytes:
        if dialect == "anthropic":
            return orjson.dumps(self.anthropic_body(request_id))
        return orjson.dumps(self.openai_body(request_id))


def invalid(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    """A 400 for a request the client must fix; `param` names the offending field."""
    return GatewayError(400, message, param=param, code=code)
