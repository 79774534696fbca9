"""What the gateway knows of one request once it has ended: the record every observer reads.

`Pipeline.account` makes one `RequestRecord` per request whose caller was authenticated, however it
ended (served, refused by a limit, failed upstream, abandoned by its client), and hands it to each
sink registered on the pipeline: the usage ledger, the metrics, the access log, the budget alerts.
Building it once and sharing it keeps those observers in agreement (the numbers in the ledger are the
ones the metrics counted) and costs one small object per request: a msgspec Struct the garbage
collector does not track.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

# A request's failure, in a small fixed vocabulary (metrics label it; the ledger filters on it):
# the gateway's own codes and the upstream transport's kinds keep their meaning, every other failure
# is named by its status.
_BY_CODE = {
    "connect": "upstream_connect", "connect_timeout": "upstream_timeout", "first_byte_timeout": "upstream_timeout",
    "idle_timeout": "upstream_timeout", "reset": "upstream_reset", "protocol": "upstream_protocol",
    "body_too_large": "upstream_protocol", "upstreams_unavailable": "unavailable",
}
_BY_STATUS = {401: "authentication", 403: "permission", 404: "not_found", 408: "timeout", 413: "too_large",
              429: "rate_limited", 499: "client_closed", 500: "internal", 503: "unavailable", 504: "timeout"}


def error_category(status: int, code: str | None) -> str:
    """The category of a request that ended with STATUS (and the error CODE it was given): "" when
    it succeeded."""
    if status < 400:
        return ""
    if code is not None:
        category = _BY_CODE.get(code)
        if category is not None:
            return category
    category = _BY_STATUS.get(status)
    if category is not None:
        return category
    return "invalid_request" if status < 500 else "upstream_error"


class RequestRecord(msgspec.Struct, kw_only=True, gc=False):
    """One request, as ended. Tokens are the billed ones (`core.metering.Meter.bill`): `input_tokens`
    includes the cached reads and the cache writes, `output_tokens` the reasoning; `estimated` when the
    gateway counted them itself. Times: `at` in unix seconds (the request's start), durations in ms."""

    request_id: str
    at: float
    key_id: str | None
    model: str  # the public name the client asked for
    provider: str  # "" when no target was tried
    upstream_model: str
    deployment: str  # the target's label
    operation: str
    dialect: str  # the client's wire format
    stream: bool
    status: int
    error: str  # `error_category`: "" on success
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    audio_seconds: float = 0.0
    characters: int = 0
    estimated: bool = False
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    ttft_ms: float | None = None  # until the first byte of the answer reached the client
    attempts: int = 0
    client_ip: str = ""
    user_agent: str = ""


Sink = Callable[[RequestRecord], None]  # must not block nor raise: it runs on the request's path
