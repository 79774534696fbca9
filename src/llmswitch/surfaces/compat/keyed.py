"""What every body-keyed route shares: the fields their clients send beside their API's own, read
and taken out before anything goes upstream, and the request handed to the core.

- `security_key` is the gateway key, where /v1 clients send `Authorization: Bearer` (in the body,
  the query of a GET or DELETE, or a form field): in keys mode the master key or a virtual key; in
  passthrough mode the key sent upstream, as a bearer would be; in open mode anything or nothing,
  as open mode takes any bearer. A wrong or missing one is a 403, as the proxies we replace answer.
  An `Authorization` header is not read on these routes: their clients authenticate in the body.
- `openai_api_key` is the upstream key for the OpenAI-dialect upstreams of the request when
  `compat.allow_client_upstream_keys` is on; otherwise it is ignored (sent nowhere).
- `project` and `organization` reach OpenAI-dialect upstreams as `OpenAI-Project` and
  `OpenAI-Organization`; other upstreams have no such thing.
- `timeout`, in milliseconds, by these routes' own lenient rules (`timeout_rule`), never a 400: a
  number or a numeric string; missing, not a number, not finite or not positive gives the default
  (`server.timeout_s`); above the cap (`server.max_timeout_s`, or the default if the cap is below
  it) gives the cap. `x-llmswitch-timeout-ms`, if sent, wins and follows the same rules. The /v1
  routes keep their strict rules (a bad value is a 400): a client there chose the gateway's API.
  The effective timeout, where it was read and the rule that gave it are logged (`llmswitch`
  logger, debug level) with the request id, for the request's log line.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from llmswitch.config import Config, ServerConfig
from llmswitch.core.operations import Operation
from llmswitch.core.pipeline import Request
from llmswitch.errors import GatewayError, invalid
from llmswitch.surfaces.wire import OPENAI
from llmswitch.web import respond
from llmswitch.web.context import GATEWAY, REQUEST_ID

log = logging.getLogger("llmswitch")
COMPAT_FIELDS = ("security_key", "openai_api_key", "project", "organization", "timeout")
UPSTREAM_HEADERS = {"project": "openai-project", "organization": "openai-organization"}
TIMEOUT_HEADER = "x-llmswitch-timeout-ms"
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")


@dataclass(frozen=True, slots=True)
class Keyed:
    """A body-keyed request's own fields, once read and checked."""

    credentials: dict[str, str]  # what the core authenticates: the security_key as a bearer
    forwarded: dict[str, str]  # OpenAI-Project / OpenAI-Organization, for OpenAI-dialect upstreams
    upstream_key: str | None  # the client's openai_api_key, when the config allows it
    timeout_s: float
    timeout_source: str  # where the client's timeout was read: body, query, form, header; config: nowhere
    timeout_rule: str  # asked, missing, invalid, clamped
    query: str = ""  # what of the client's query an upstream of its dialect gets: never a compat field

    def apply(self, req: Request) -> None:
        """The core's request for this one: authenticated by the security_key, with the client's
        upstream key and headers, its timeout by these rules, and its query without the compat fields."""
        req.headers = self.credentials
        req.query = self.query
        req.forwarded = self.forwarded
        req.timeout = self.timeout_s
        req.timeout_source = self.timeout_source if self.timeout_rule in ("asked", "clamped") else "default"
        req.timeout_clamped = self.timeout_rule == "clamped"
        req.upstream_key = self.upstream_key


def timeout_rule(raw: Any, server: ServerConfig) -> tuple[float, str]:
    """The effective timeout in seconds for a client's RAW `timeout` in milliseconds, and the rule
    that gave it: `asked`, `missing` or `invalid` (the default), `clamped` (the cap)."""
    default = server.timeout_s
    if raw is None:
        return default, "missing"
    milliseconds = _milliseconds(raw)
    if milliseconds is None or not 0 < milliseconds < math.inf:  # NaN fails both
        return default, "invalid"
    cap = max(server.max_timeout_s, default)
    seconds = milliseconds / 1000.0
    if seconds > cap:
        return cap, "clamped"
    return seconds, "asked"


def _milliseconds(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str) and _NUMBER.fullmatch(raw):
        return float(raw)  # large exponents give inf, refused by the caller as not finite
    return None


def _header_safe(value: Any, name: str) -> str | None:
    """VALUE as an upstream header value, None when absent or empty; the client's 400 otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
        raise invalid(f"Invalid '{name}': must be a string of printable ASCII characters.", param=name,
                      code="invalid_value")
    return value


def without_compat(query: str) -> str:
    """A raw query string without its compat fields (their names compared decoded and case-blind), the
    rest byte for byte as the client sent it."""
    if not query:
        return query
    return "&".join(part for part in query.split("&")
                    if unquote_plus(part.partition("=")[0]).lower() not in COMPAT_FIELDS)


def forbidden(message: str, code: str) -> GatewayError:
    return GatewayError(403, message, type="invalid_request_error", param="security_key", code=code)


async def admit(request: web.Request, fields: MutableMapping[str, Any], source: str, query: str = "") -> Keyed:
    """Take the compat fields out of FIELDS (the body, the query or the form, named by SOURCE) and
    authenticate the security_key: the 403 for a wrong or missing one, before anything else of the
    request is judged. QUERY: the client's query an upstream may get (see `without_compat`). The
    caller's request is then served by `serve`, or by a surface that takes `Keyed.apply`."""
    gateway = request.app[GATEWAY]
    config: Config = gateway.config
    key = fields.pop("security_key", None)
    credentials = {"authorization": f"Bearer {key}"} if isinstance(key, str) and key else {}
    try:
        await gateway.auth.authenticate(credentials)  # open mode: anyone, with any key or none
    except GatewayError as error:
        if key is None or key == "":
            raise forbidden(f"Missing security_key: send the gateway key as `security_key` in the {source}.",
                            "missing_security_key") from None
        if not credentials:
            raise forbidden("Invalid security_key: must be a string.", "invalid_security_key") from None
        if error.code == "invalid_api_key":
            raise forbidden("Invalid security_key.", "invalid_security_key") from None
        raise forbidden(f"security_key refused: {error.message}", error.code or "invalid_security_key") from None
    upstream_key = fields.pop("openai_api_key", None)
    if config.compat.allow_client_upstream_keys:
        upstream_key = _header_safe(upstream_key, "openai_api_key")
        if upstream_key is not None and " " in upstream_key:
            raise invalid("Invalid 'openai_api_key': must not contain spaces.", param="openai_api_key",
                          code="invalid_value")
    else:
        upstream_key = None  # not the client's to choose here: the configured keys are used
    forwarded = {}
    for name, header in UPSTREAM_HEADERS.items():
        value = _header_safe(fields.pop(name, None), name)
        if value is not None:
            forwarded[header] = value
    raw = fields.pop("timeout", None)
    header = request.headers.get(TIMEOUT_HEADER)
    if header is not None:
        raw, source = header, "header"
    timeout_s, rule = timeout_rule(raw, config.server)
    keyed = Keyed(credentials, forwarded, upstream_key, timeout_s, "config" if raw is None else source, rule, query)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("compat %s %s: timeout_s=%g timeout_source=%s timeout_rule=%s (request %s)", request.method,
                  request.path, timeout_s, keyed.timeout_source, rule, request[REQUEST_ID],
                  extra={"request_id": request[REQUEST_ID], "timeout_s": timeout_s,
                         "timeout_source": keyed.timeout_source, "timeout_rule": rule})
    return keyed


async def serve(request: web.Request, keyed: Keyed, operation: Operation, body: dict[str, Any], *,
                prompt_estimate: int = 0, max_output: int | None = None) -> web.StreamResponse:
    """Run the pipeline on a body-keyed request its route has read and validated, in the OpenAI
    dialect and wire."""
    return await respond.serve(request, OPENAI, operation, body, prompt_estimate=prompt_estimate,
                               max_output=max_output, adjust=keyed.apply)
