"""What every generation request goes through, whatever its dialect: auth, model resolution,
admission, attempts across targets, translation, streaming, usage.

Surfaces parse and validate their dialect, then hand the body here. Nothing in this module knows
a wire format: translations come from `dialects.translate`, transport from `providers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web

from llmswitch.config import Config, Model, Price
from llmswitch.core.attempts import Deadline, Outcome, run_attempts
from llmswitch.core.auth import Authenticator, Principal, without_credentials
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import UNLIMITED, Admission, Limiter
from llmswitch.core.metering import Meter
from llmswitch.core.pricing import cost
from llmswitch.core.routing import Plan, Router, Target
from llmswitch.core.usage import UsageRecorder
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects import sse
from llmswitch.dialects.anthropic_stream import anthropic_message_to_events
from llmswitch.dialects.estimate import estimate_input_tokens, output_bytes, text_bytes
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.dialects.streams import StreamTranslator
from llmswitch.dialects.translate import stream_translator, translate_request, translate_response
from llmswitch.dialects.types import MalformedAnswer, RequestOptions, ResponseContext, StreamContext
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError, invalid
from llmswitch.providers import build_provider
from llmswitch.providers.base import Provider, Timeouts, UpstreamCall, UpstreamError, UpstreamStream
from llmswitch.providers.http import HTTPClient
from llmswitch.redact import SECRETS, held_by

# Client headers that reach an upstream of the same dialect (Anthropic betas and API version).
FORWARDED_HEADERS = {"anthropic": ("anthropic-beta", "anthropic-version")}

# A whole non-streaming answer replayed as its dialect's stream, for `stream: simulate` deployments.
SIMULATORS: dict[str, Callable[[dict[str, Any]], list[dict[str, Any]]]] = {
    "openai": openai_dialect.completion_to_chunks,
    "anthropic": anthropic_message_to_events,
    "gemini": lambda body: [body],  # a Gemini stream chunk is a whole response
}

T = TypeVar("T")

# What reading an upstream's answer raises when the answer lacks its dialect's shape. Translations
# are written (and tested) for well-formed answers, so any of these while reading one is the
# upstream's fault: a `protocol` failure, a 502 for the client, never a 500.
SHAPE_ERRORS = (MalformedAnswer, AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError)
UPSTREAM_FAILURES = (UpstreamError, *SHAPE_ERRORS)

ENCODERS: dict[str, Callable[[Any], bytes]] = {"openai": sse.encode_data, "anthropic": sse.encode_event}
TERMINATORS: dict[str, bytes] = {"openai": sse.DONE, "anthropic": b""}


@dataclass(slots=True)
class Primed:
    """A stream that has produced its first content (or ended): from here on it is the answer."""

    upstream: UpstreamStream
    translator: StreamTranslator
    events: list[dict[str, Any]]
    ended: bool
    dropped: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Request:
    """One generation request as the core sees it."""

    body: dict[str, Any]
    dialect: str
    model_name: str
    request_id: str
    principal: Principal
    timeouts: Timeouts
    deadline: Deadline  # `timeouts.total` after `started`, for every attempt and fallback together
    forwarded: dict[str, str]
    query: str
    started: float
    include_usage: bool
    prompt_estimate: int
    meter: Meter
    admission: Admission = field(default_factory=lambda: UNLIMITED)  # once admitted


class Gateway:
    def __init__(self, config: Config):
        self.config = config
        self.auth = Authenticator(config)
        self.limiter = Limiter(config)
        self.usage = UsageRecorder(config)
        self.concurrency = ConcurrencyGate(config.server.max_concurrency)
        self.providers: dict[str, Provider] = {}
        self.router: Router | None = None
        self._clients: list[HTTPClient] = []
        self.created = int(time.time())  # reported as every model's `created`

    async def start(self) -> None:
        SECRETS.hold(self, held_by(self.config, self.auth.secret))  # scrubbed from all upstream text
        max_body = int(self.config.server.max_upstream_body_mb * (1 << 20))
        for name, provider_config in self.config.providers.items():
            # keeps no cookies: nothing one client's call got rides on another's
            client = HTTPClient(max_body=max_body)
            self._clients.append(client)
            self.providers[name] = build_provider(name, provider_config, client)
        self.router = Router(self.config, self.providers)
        self.auth.on_upstream_keys = self.router.use_stored_keys
        await self.auth.start()
        await self.limiter.start()
        await self.usage.start()

    def end_in_flight(self) -> None:
        """Shutdown, once the grace is over: every upstream call still running fails at once (503), so
        each request still ends in its dialect (a stream's error event, a 503 error) and is recorded."""
        for client in self._clients:
            client.shut("The gateway is shutting down; retry the request.")

    async def stop(self) -> None:
        await self.usage.stop()
        await self.limiter.stop()
        await self.auth.stop()
        for client in self._clients:
            await client.close()
        SECRETS.release(self)

    # --- entry point -----------------------------------------------------------------------------
    async def generate(self, request: web.Request, body: dict[str, Any], dialect: str) -> web.StreamResponse:
        """Serve one generation request whose body is already validated in `dialect`."""
        started = time.perf_counter()
        timeouts = self.timeouts(request, body)  # before anything copies the body: it drops `timeout`
        name = body["model"]
        principal, model = await self.authorize(request, name)
        stream_options = body.get("stream_options")
        try:
            prompt_estimate = estimate_input_tokens(body)
        except RecursionError:
            raise nested_too_deeply() from None
        max_tokens = _max_tokens(body)
        req = Request(
            body=body, dialect=dialect, model_name=name, request_id=request[REQUEST_ID],
            principal=principal, timeouts=timeouts,
            deadline=self._deadline(started, timeouts),
            forwarded=forwarded_headers(request, dialect),
            query=request.query_string, started=started,
            include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
            prompt_estimate=prompt_estimate,
            meter=Meter(prompt_estimate, max_tokens or self.config.limits.budget_reserve_tokens),
        )
        assert self.router is not None
        plan = self.router.plan(model, name, self._scope(principal))
        req.admission = await self.limiter.admit(principal, prompt_estimate, max_tokens,
                                                 price=lambda: self._highest_price(plan))
        try:
            if body.get("stream"):
                return await self._stream(request, req, plan, req.admission.headers)
            return await self._complete(req, plan, req.admission.headers)
        except GatewayError as error:  # an upstream failure still tells the caller its rate limits
            req.meter.failed(error.status)
            error.headers = {**req.admission.headers, **error.headers}
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            req.meter.interrupted(499)  # the client went away
            raise
        except Exception:
            req.meter.interrupted(500)
            raise
        finally:
            await self.account(req)

    async def account(self, req: Request) -> None:
        """The one accounting exit of an admitted request, whichever way it ended: its usage row and
        the settlement of its key's limits, both at what `Meter.bill` says, priced at the target that
        served it. Runs once: a later call (a shutdown ending requests itself) does nothing."""
        meter = req.meter
        if meter.accounted:
            return
        meter.accounted = True
        usage = meter.bill()
        target = meter.target
        cost_usd = 0.0
        if usage is not None and target is not None and (self.usage.persist or req.admission.ask is not None):
            cost_usd = cost(self.limiter.prices.of(target), usage)  # needed by a stored row or a limited key
        self.usage.record(req.request_id, req.principal.key_id, req.model_name, target.label if target else "",
                          meter.status, usage, req.started, cost_usd=cost_usd)
        await req.admission.settle(usage, cost_usd)

    async def authorize(self, request: web.Request, name: str) -> tuple[Principal, Model]:
        """The caller and the model it asked for, or the 401/403/404 that stops the request."""
        principal = await self.auth.authenticate(request)
        self.concurrency.admit(request)  # counted from here: the body is read and the caller known
        model = self.config.resolve_model(name)
        if model is None:
            raise GatewayError(404, f"The model `{name}` does not exist or you do not have access to it.",
                               type="invalid_request_error", param="model", code="model_not_found")
        if not (principal.allows(model.name) or self._may_use(principal, name)):
            raise GatewayError(403, f"This key is not allowed to use the model `{name}`.",
                               type="permission_error", param="model", code="model_not_allowed")
        return principal, model

    async def count_tokens(self, request: web.Request, body: dict[str, Any], dialect: str,
                           estimate: Callable[[dict[str, Any]], dict[str, Any]]) -> web.Response:
        """Count a prompt's input tokens where the model is served, admitted and routed as generation is.

        The key's rpm and concurrency count the call; it reserves no tokens and no budget (counting is
        free upstream and nothing is generated). The router's plan picks among the model's targets that
        can count in `dialect`, with their configured or stored keys, and a failure moves on to the next
        (a count has no effect upstream, so repeating one duplicates nothing). Where no target can count,
        or all failed on their side (5xx), the answer is the surface's local `estimate` of the body.
        """
        started = time.perf_counter()
        timeouts = self.timeouts(request, body)  # takes the client's `timeout` out of the body
        name = body["model"]
        principal, model = await self.authorize(request, name)
        req = Request(
            body=body, dialect=dialect, model_name=name, request_id=request[REQUEST_ID], principal=principal,
            timeouts=timeouts, deadline=self._deadline(started, timeouts),
            forwarded=forwarded_headers(request, dialect),
            query=request.query_string, started=started, include_usage=False, prompt_estimate=0,
            meter=Meter(0, 0),
        )
        plan = self._counting_plan(principal, model, name, dialect)
        admission = await self.limiter.admit(principal, 0, price=lambda: self._highest_price(plan), metered=False)
        outcome: Outcome[dict[str, Any]] | None = None
        try:
            if plan.targets:
                outcome = await run_attempts(plan, lambda target: self._count(req, target), retry_unsafe=True,
                                             own_keys=principal.upstream_key is None, deadline=req.deadline)
        except GatewayError as error:
            if error.status < 500:
                error.headers = {**admission.headers, **error.headers}
                raise
        finally:
            await admission.settle(None, 0.0)
        if outcome is None:
            try:
                return web.json_response(estimate(body), headers=admission.headers)
            except RecursionError:
                raise nested_too_deeply() from None
        outcome.finish(None)
        return web.json_response(outcome.value, headers=self._headers(req, outcome, [], admission.headers))

    def _counting_plan(self, principal: Principal, model: Model, name: str, dialect: str) -> Plan:
        """The model's plan cut to the targets that can count a prompt written in `dialect`."""
        def counts(target: Target) -> bool:
            return target.provider.counts_tokens and target.provider.dialect == dialect

        assert self.router is not None
        plan = self.router.plan(model, name, self._scope(principal))
        plan.targets = [t for t in plan.targets if counts(t)]
        plan.skipped = [s for s in plan.skipped if counts(s.target)]
        plan.overflow = None  # a prompt too long to count is the client's to shorten
        return plan

    async def _count(self, req: Request, target: Target) -> dict[str, Any]:
        call, _dropped = self._call(req, target, stream=False)
        call.body = {**req.body, "model": call.body["model"]}  # the prompt as sent: no max_tokens, no stream
        return await target.provider.count_tokens(call)

    def _deadline(self, started: float, timeouts: Timeouts) -> Deadline:
        """The one deadline of a request begun at `started`: every attempt and fallback shares it."""
        return Deadline(started + timeouts.total, shortened=timeouts.total < self.config.server.timeout_s)

    def _may_use(self, principal: Principal, name: str) -> bool:
        """May the caller be served by the model configured as `name`? Allowed by that name (a model
        or an alias of it) or by the model's own; never by a name only `default_model` answers, which
        would let a key reach the default model through any name its globs match."""
        model = self.config.resolve_model(name, default=False)
        return model is not None and principal.allows(name, model.name)

    def _scope(self, principal: Principal) -> Callable[[str], bool] | None:
        """The filter a plan's fallback models go through: only those the caller may use."""
        if not principal.allowed_models:
            return None
        return lambda name: self._may_use(principal, name)

    def _highest_price(self, plan: Plan) -> Price:
        """The price a budget reserves at: the highest among the targets that may serve the plan."""
        targets = plan.targets if plan.overflow is None else plan.targets + plan.overflow().targets
        return self.limiter.prices.worst(targets)

    def timeouts(self, request: web.Request, body: dict[str, Any]) -> Timeouts:
        """The request's limits: the configured ones, or the client's `timeout` in milliseconds
        (the `x-llmswitch-timeout-ms` header, else the body's `timeout`) up to `max_timeout_s`.
        The body's `timeout` is removed, being the gateway's setting and never an upstream's: call
        this before any copy of the body is made."""
        server = self.config.server
        total = server.timeout_s
        raw = body.pop("timeout", None)
        header = request.headers.get("x-llmswitch-timeout-ms")
        if header is not None:
            raw = header
        if raw is not None:
            total = min(_client_timeout_s(raw), server.max_timeout_s)
        first_byte = min(server.first_byte_timeout_s or total, total)
        return Timeouts(connect=min(server.connect_timeout_s, total), first_byte=first_byte,
                        idle=server.idle_timeout_s, total=total)

    # --- one attempt ---------------------------------------------------------------------------
    def _call(self, req: Request, target: Target, stream: bool) -> tuple[UpstreamCall, list[str]]:
        deployment = target.deployment
        try:
            translated = translate_request(
                req.dialect, target.provider.dialect, req.body,
                RequestOptions(upstream_model=deployment.model or req.model_name, stream=stream,
                               max_tokens_default=deployment.max_tokens_default,
                               drop_unsupported=deployment.drop_unsupported),
            )
        except RecursionError:
            raise nested_too_deeply() from None
        same_dialect = req.dialect == target.provider.dialect
        timeouts = req.deadline.bound(req.timeouts, deployment.timeout_s)
        call = UpstreamCall(
            deployment=deployment, body=translated.body, stream=stream,
            api_key=req.principal.upstream_key or target.api_key, timeouts=timeouts,
            headers=req.forwarded if same_dialect else {},
            query=without_credentials(req.query) if same_dialect else "",  # never a client's `?key=`
        )
        return call, translated.dropped

    def _headers(self, req: Request, outcome: Outcome[Any], dropped: list[str],
                 extra: dict[str, str]) -> dict[str, str]:
        target = outcome.target
        headers = {
            "x-llmswitch-provider": target.provider.name,
            "x-llmswitch-upstream-model": target.deployment.model or req.model_name,
            "x-llmswitch-deployment": target.label,
            "x-llmswitch-attempts": str(outcome.count),
            **extra,
        }
        if dropped:
            headers["x-llmswitch-dropped-params"] = ",".join(dropped)
        return headers

    # --- non-streaming ---------------------------------------------------------------------------
    async def _attempts(self, req: Request, plan: Plan,
                        attempt: Callable[[Target], Awaitable[T]]) -> Outcome[T]:
        return await run_attempts(plan, attempt, own_keys=req.principal.upstream_key is None,
                                  estimated_tokens=req.prompt_estimate, deadline=req.deadline)

    async def _complete(self, req: Request, plan: Plan, extra_headers: dict[str, str]) -> web.Response:
        meter = req.meter

        async def attempt(target: Target) -> tuple[dict[str, Any], bytes, Usage | None, list[str]]:
            meter.trying(target)
            call, dropped = self._call(req, target, stream=False)
            reply = await target.provider.complete(call)
            try:
                body, usage = translate_response(target.provider.dialect, req.dialect, reply.body,
                                                 ResponseContext(req.model_name, req.request_id))
                return body, orjson.dumps(body), usage, dropped  # e.g. nesting orjson cannot write back
            except SHAPE_ERRORS as error:
                raise malformed(error) from None

        outcome = await self._attempts(req, plan, attempt)
        body, encoded, usage, dropped = outcome.value
        outcome.finish(usage)
        meter.answered(outcome.target)
        meter.usage, meter.complete = usage, True
        if usage is None:  # the upstream did not count: the answer's text is the estimate
            meter.output_size = text_bytes(body)
        return web.Response(body=encoded, content_type="application/json",
                            headers=self._headers(req, outcome, dropped, extra_headers))

    # --- streaming -------------------------------------------------------------------------------
    async def _prime(self, req: Request, target: Target) -> Primed:
        """Start the upstream stream and read it up to its first content, so that a failure before
        anything reached the client can still move to another target."""
        simulate = target.deployment.stream == "simulate"
        call, dropped = self._call(req, target, stream=not simulate)
        if simulate:
            reply = await target.provider.complete(call)
            try:
                replayed = SIMULATORS[target.provider.dialect](reply.body)
            except SHAPE_ERRORS as error:
                raise malformed(error) from None
            upstream = UpstreamStream(_one_batch(replayed))
        else:
            upstream = await target.provider.stream(call)
        translator = stream_translator(
            target.provider.dialect, req.dialect,
            StreamContext(req.model_name, req.include_usage, req.request_id, req.prompt_estimate),
        )
        events: list[dict[str, Any]] = []
        try:
            async for batch in upstream:
                for event in batch:
                    events += translator.feed(event)
                if translator.saw_content:
                    return Primed(upstream, translator, events, ended=False, dropped=dropped)
        except SHAPE_ERRORS as error:
            upstream.close()
            raise malformed(error) from None
        except BaseException:
            upstream.close()
            raise
        return Primed(upstream, translator, events, ended=True, dropped=dropped)

    async def _stream(self, request: web.Request, req: Request, plan: Plan,
                      extra_headers: dict[str, str]) -> web.StreamResponse:
        meter = req.meter

        async def attempt(target: Target) -> Primed:
            meter.trying(target)
            return await self._prime(req, target)

        outcome = await self._attempts(req, plan, attempt)
        primed = outcome.value
        meter.answered(outcome.target)
        response = web.StreamResponse(headers={
            "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no",
            **self._headers(req, outcome, primed.dropped, extra_headers),
        })
        broke: UpstreamError | None = None  # after content: ends the stream and counts against the target
        encode = ENCODERS[req.dialect]
        translator = primed.translator
        keepalive = asyncio.create_task(_keepalive(response, self.config.server.keepalive_s))
        try:
            await response.prepare(request)
            try:
                if primed.events:
                    meter.output_size += output_bytes(req.dialect, primed.events)
                    await response.write(b"".join(encode(e) for e in primed.events))
                if not primed.ended:
                    async for batch in primed.upstream:
                        events = [e for event in batch for e in translator.feed(event)]
                        if events:
                            meter.output_size += output_bytes(req.dialect, events)
                            await response.write(b"".join(encode(e) for e in events))
                tail = translator.finish()
                meter.complete = True
                await response.write(b"".join(encode(e) for e in tail) + TERMINATORS[req.dialect])
            except UPSTREAM_FAILURES as error:
                broke = error if isinstance(error, UpstreamError) else malformed(error)
                meter.status = broke.client_status
                failure = translator.fail(meter.status, broke.error_type or "api_error", broke.message)
                await response.write(b"".join(encode(e) for e in failure))
            await response.write_eof()
        finally:
            keepalive.cancel()
            primed.upstream.close()  # a client gone: stop the upstream at once
            meter.usage = translator.usage
            outcome.finish(translator.usage, broke)
        return response


def forwarded_headers(request: web.Request, dialect: str) -> dict[str, str]:
    """The client headers that go upstream with a same-dialect call; one whose bytes are not UTF-8
    (surrogates, as aiohttp decodes them) cannot be sent and is the client's to fix."""
    forwarded = {h: request.headers[h] for h in FORWARDED_HEADERS.get(dialect, ()) if h in request.headers}
    for name, value in forwarded.items():
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                raise invalid(f"The {name} header is not valid UTF-8.", param=name) from None
    return forwarded


GATEWAY = web.AppKey("gateway", Gateway)
REQUEST_ID = web.RequestKey("request_id", str)  # set by the app's middleware on every request


def malformed(error: Exception) -> UpstreamError:
    """The failure for an upstream answer that could not be read (one of SHAPE_ERRORS)."""
    detail = str(error) if isinstance(error, MalformedAnswer) else type(error).__name__
    return UpstreamError("protocol", f"upstream answered with the wrong shape ({detail})")


def _client_timeout_s(raw: Any) -> float:
    """The client's `timeout` (milliseconds, a number or a numeric string) in seconds: infinite
    means as long as allowed; anything else that is not a positive number is the client's 400."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise invalid("timeout must be a number of milliseconds", param="timeout")
    try:
        milliseconds = float(raw)
    except (ValueError, OverflowError):
        raise invalid("timeout must be a number of milliseconds", param="timeout") from None
    if not milliseconds > 0:  # NaN too
        raise invalid("timeout must be a positive number of milliseconds", param="timeout")
    return milliseconds / 1000.0


def _max_tokens(body: dict[str, Any]) -> int | None:
    """The output tokens the request allows, when it says (OpenAI's newer name first)."""
    value = body.get("max_completion_tokens") or body.get("max_tokens")
    return value if type(value) is int and value > 0 else None


async def _one_batch(items: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    yield items


async def _keepalive(response: web.StreamResponse, interval: float) -> None:
    """Send a `: ping` comment every `interval` for as long as the stream lasts, so that proxies
    with idle timeouts never cut a stream whose model is slow to produce its next token. Clients
    ignore comments, so a ping between busy chunks costs nothing but a few bytes."""
    with contextlib.suppress(ConnectionResetError, RuntimeError, asyncio.CancelledError):
        while True:
            await asyncio.sleep(interval)
            await response.write(sse.PING)
