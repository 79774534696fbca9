"""Gateway errors and their rendering in each client dialect's own error shape (shared by every layer).

Code anywhere in the request path raises `GatewayError`; the app's middleware renders it in
the shape the client's SDK parses (OpenAI `{"error": {...}}` or Anthropic
`{"type": "error", ...}`), so each SDK raises its own typed exception.
"""

from __future__ import annotations

from typing import Any

import orjson

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "service_unavailable",
    504: "timeout_error",
}

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class GatewayError(Exception):
    """An error answered to the client: HTTP status, message and OpenAI-style type/param/code."""

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
        self.explicit_type = type  # None: each dialect names the status in its own vocabulary
        self.type = type or OPENAI_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
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

    def anthropic_type(self) -> str:
        """An explicit type Anthropic knows, else Anthropic's type for the status: OpenAI's default
        for 529 or 413 (api_error, invalid_request_error) would hide overloaded_error, request_too_large."""
        if self.explicit_type in ANTHROPIC_TYPES.values():
            return self.explicit_type
        if self.status in ANTHROPIC_TYPES:
            return ANTHROPIC_TYPES[self.status]
        if self.type in ANTHROPIC_TYPES.values():
            return self.type
        return "api_error" if self.status >= 500 else "invalid_request_error"

    def anthropic_body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error",
                                "error": {"type": self.anthropic_type(), "message": self.message}}
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
    return GatewayError(400, message, type="invalid_request_error", param=param, code=code)
