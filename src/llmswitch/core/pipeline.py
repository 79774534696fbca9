"""The one way every operation goes: auth -> limits -> routing -> attempts -> metering.

A surface parses and validates its request, then hands the core a `Request` (what it asked, in
its dialect) and a `Responder` (how its answer is written: the surface's error shape, framing and
terminator are its own). `Pipeline.serve` does the rest for every operation alike: the caller and
the model, the concurrency gate, the plan of targets that serve the operation, the key's limits,
the attempts (each translating the body to its endpoint's dialect and the answer back), and the
answer written as a whole or as a stream. However the request ends after its admission, it leaves
through one exit, `account`: its record (`core.records`, handed to every sink: the usage ledger, the
metrics, the access log) and the settlement of its key's limits, at what `Meter.bill` says. A request
refused before its admission (an unknown model, a limit) leaves a record too; one whose caller could
not be authenticated leaves none, so that nobody can fill the ledger without a key. The stream's whole
life is inside `serve`, so that exit sees its end too.

Nothing here knows HTTP or a wire format: bodies are translated by `dialects.translate`, sent by
`providers`, written by the surface's `Responder`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from llmswitch.config import Config, Model, Price
from llmswitch.core.attempts import Deadline, Outcome, run_attempts
from llmswitch.core.auth import Authenticator, Principal, without_credentials
from llmswitch.core.concurrency import ConcurrencyGate
from llmswitch.core.limits import Admission, Limiter
from llmswitch.core.metering import Meter
from llmswitch.core.operations import Operation
from llmswitch.core.pricing import cost
from llmswitch.core.records import RequestRecord, Sink, error_category
from llmswitch.core.routing import Plan, Router, Target
from llmswitch.core.usage import UsageRecorder
from llmswitch.dialects.estimate import output_bytes, text_bytes
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.dialects.streams import StreamTranslator
from llmswitch.dialects.translate import (RequestFn, ResponseFn, StreamFn, can_translate, request_translation,
                                          response_translation, simulator, stream_translation)
from llmswitch.dialects.types import MalformedAnswer, RawAnswer, RequestOptions, ResponseContext, StreamContext
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError, invalid
from llmswitch.providers.base import Provider, Timeouts, UpstreamBytes, UpstreamCall, UpstreamError, UpstreamStream
from llmswitch.providers.endpoints import Endpoint
from llmswitch.redact import SECRETS

# What reading an upstream's answer raises when the answer lacks its dialect's shape. Translations
# are written (and tested) for well-formed answers, so any of these while reading one is the
# upstream's fault: a `protocol` failure, a 502 for the client, never a 500.
SHAPE_ERRORS = (MalformedAnswer, AttributeError, IndexError, KeyError, TypeError, ValueError, RecursionError)
UPSTREAM_FAILURES = (UpstreamError, *SHAPE_ERRORS)
KEEP_TEXT = 1 << 20  # bytes of a textual answer passed on as bytes kept for its usage to be read
MAX_USER_AGENT = 300  # characters of a client's user agent its record keeps


class Responder(Protocol):
    """How a surface writes its answer: whole, as a stream of events in its own framing, or as bytes
    passed on as they arrive (audio)."""

    def answer(self, body: bytes, headers: dict[str, str]) -> None:
        """The whole answer, encoded JSON."""

    async def open(self, headers: dict[str, str], media_type: str | None = None) -> None:
        """A stream begins: of events (no MEDIA_TYPE), else of bytes of that type. From here on an
        error is an event, or the end of the bytes, not a status."""

    async def send(self, events: list[dict[str, Any]]) -> None:
        """Events in the client's dialect, written together."""

    async def send_bytes(self, data: bytes) -> None:
        """The next bytes of a binary answer."""

    async def finish(self, events: list[dict[str, Any]], complete: bool) -> None:
        """The last events; `complete`: the answer is whole (an event stream's terminator follows)."""


@dataclass(slots=True)
class Request:
    """One client request as the core sees it: what its surface read (the fields up to `fallback`)
    and what the pipeline learns on the way (the rest)."""

    operation: Operation
    dialect: str  # the client's wire format
    body: Any  # parsed and validated by the surface
    model_name: str  # the public name asked for
    stream: bool
    headers: Mapping[str, str]  # the client's, read for its credentials and its timeout
    query: str
    request_id: str
    forwarded: dict[str, str]  # client headers an upstream of the client's own dialect gets
    holder: object  # the surface's handle on the request: its place in the concurrency gate
    prompt_estimate: int = 0  # input tokens, before the upstream counts them
    max_output: int | None = None  # the output tokens the request allows, when it says
    include_usage: bool = False  # a streaming OpenAI client asked for the usage chunk
    fallback: Callable[[Any], Any] | None = None  # the local answer where no target can give one
    raw: bool = False  # the answer is passed on as the upstream's bytes and media type (audio, plain text)
    known_usage: Usage | None = None  # what the request itself says it uses (speech: its input's characters)
    timeout: float | None = None  # seconds, as the surface read the client's by its own rules; None: `timeouts`
    upstream_key: str | None = None  # the client's own key for upstreams of its dialect (compat `openai_api_key`)
    narrow: Callable[[Plan], None] | None = None  # the surface's say on the plan (where a conversation is kept)
    resource: str = ""  # the stored object a sub-operation acts on (a response id), named in its path
    client_ip: str = ""  # the peer's address, as the surface saw it
    timeout_source: str = "default"  # where the effective timeout came from: default, header, body (query, form)
    timeout_clamped: bool = False  # the client asked for more than `server.max_timeout_s`
    record: RequestRecord | None = None  # once it has ended (`account`): what every sink was handed
    started: float = 0.0  # time.perf_counter()
    at: float = 0.0  # time.time(), at the same moment
    principal: Principal = field(init=False)
    timeouts: Timeouts = field(init=False)
    deadline: Deadline = field(init=False)  # `timeouts.total` after `started`, for every attempt together
    meter: Meter = field(init=False)
    admission: Admission = field(init=False)

    @property
    def own_keys(self) -> bool:
        """Only the gateway's own upstream keys are sent, none of the client's (passthrough mode's, or
        the compat routes' `openai_api_key`): an upstream refusing one is then a target's problem."""
        return self.principal.upstream_key is None and self.upstream_key is None


@dataclass(frozen=True, slots=True)
class Route:
    """How one provider serves one operation for clients of one dialect: the endpoint, its dialect and
    the translations there and back (`stream`: of its events; None where it sends none)."""

    endpoint: Endpoint
    dialect: str
    request: RequestFn
    response: ResponseFn
    stream: StreamFn | None


@dataclass(slots=True)
class Primed:
    """A stream that has produced its first content (or ended): from here on it is the answer."""

    upstream: UpstreamStream
    translator: StreamTranslator
    events: list[dict[str, Any]]
    ended: bool
    dropped: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Opened:
    """A byte answer whose first piece was read within its attempt: from here on it is passed on."""

    upstream: UpstreamBytes
    first: bytes
    route: Route
    dropped: list[str]


# The request the pipeline serves in this task, for whoever ran it to read once it is over (the web
# middleware's access line): each web request is a task of its own, so nothing leaks to the next.
SERVING: ContextVar[Request | None] = ContextVar("llmswitch_serving", default=None)


class Pipeline:
    def __init__(self, config: Config, auth: Authenticator, limiter: Limiter, usage: UsageRecorder,
                 concurrency: ConcurrencyGate, router: Router, providers: dict[str, Provider]):
        self.config = config
        self.auth = auth
        self.limiter = limiter
        self.sinks: list[Sink] = [usage.record]  # each gets every request's record (`account`)
        self.concurrency = concurrency
        self.router = router
        self.providers = providers
        # (operation, client dialect) -> the providers that serve it, None when all of them do
        self._servers: dict[tuple[str, str], frozenset[str] | None] = {}
        self._routes: dict[tuple[str, str, str, str | None], Route] = {}  # (provider, operation, client dialect, api)

    # --- the pipeline --------------------------------------------------------------------------
    async def serve(self, req: Request, out: Responder) -> None:
        """Serve REQ, writing its answer through OUT; a GatewayError raised is the client's error."""
        req.started = time.perf_counter()
        req.at = time.time()
        SERVING.set(req)
        req.timeouts = self.timeouts(req)  # before anything copies the body
        req.deadline = self._deadline(req.started, req.timeouts)
        req.principal = await self.auth.authenticate(req.headers)
        operation = req.operation
        reserve = (req.max_output or self.config.limits.budget_reserve_tokens) if operation.reserves_output else 0
        req.meter = Meter(req.prompt_estimate, reserve)
        req.meter.usage = req.known_usage  # billed even when the client leaves before any answer
        try:
            plan = self._plan(req, self._permit(req.principal, req.model_name, req.holder))
            if req.narrow is not None:
                req.narrow(plan)
            req.admission = await self.limiter.admit(
                req.principal, req.prompt_estimate, req.max_output, price=lambda: self._highest_price(plan),
                metered=operation.metered, generates=operation.reserves_output, units=req.known_usage)
        except GatewayError as error:  # refused: nothing was reserved, nothing is settled
            req.meter.failed(error.status, error.code)
            req.meter.accounted = True
            self._record(req, None, 0.0)
            raise
        try:
            if not plan.targets and req.fallback is not None:
                out.answer(self._fallback(req), req.admission.headers)
                req.meter.first_byte = time.perf_counter()
            elif req.raw:
                await self._relay(req, plan, out)
            elif req.stream:
                await self._stream(req, plan, out)
            else:
                await self._complete(req, plan, out)
        except GatewayError as error:  # an upstream failure still tells the caller its rate limits
            if req.fallback is not None and error.status >= 500:  # the targets failed on their side
                req.meter.target = None
                out.answer(self._fallback(req), req.admission.headers)
                req.meter.first_byte = time.perf_counter()
                return
            req.meter.failed(error.status, error.code)
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

    @staticmethod
    def _fallback(req: Request) -> bytes:
        assert req.fallback is not None
        try:
            return orjson.dumps(req.fallback(req.body))
        except RecursionError:
            raise nested_too_deeply() from None

    async def account(self, req: Request) -> None:
        """The one accounting exit of an admitted request, whichever way it ended: its record and the
        settlement of its key's limits, both at what `Meter.bill` says (nothing for an unmetered
        operation), priced at the target that served it. Runs once: a later call does nothing."""
        meter = req.meter
        if meter.accounted:
            return
        meter.accounted = True
        usage = meter.bill() if req.operation.metered else None
        target = meter.target
        cost_usd = cost(self.limiter.prices.of(target), usage) if usage is not None and target is not None else 0.0
        self._record(req, usage, cost_usd)
        await req.admission.settle(usage, cost_usd)

    def _record(self, req: Request, usage: Usage | None, cost_usd: float) -> None:
        """REQ's record, handed to every sink."""
        meter = req.meter
        target = meter.target
        record = RequestRecord(
            request_id=req.request_id, at=req.at, key_id=req.principal.key_id,
            model=SECRETS.scrub_name(req.model_name),  # the client's words: a key pasted there is kept nowhere
            provider="" if target is None else target.provider.name,
            upstream_model="" if target is None else target.deployment.model or req.model_name,
            deployment="" if target is None else target.label, operation=req.operation.name, dialect=req.dialect,
            stream=req.stream, status=meter.status, error=error_category(meter.status, meter.error),
            cost_usd=cost_usd, latency_ms=(time.perf_counter() - req.started) * 1000.0,
            ttft_ms=(meter.first_byte - req.started) * 1000.0 if meter.first_byte else None,
            attempts=meter.attempts, client_ip=req.client_ip,
            user_agent=SECRETS.scrub_name(req.headers.get("user-agent", "")[:MAX_USER_AGENT]))
        if usage is not None:
            record.input_tokens, record.output_tokens = usage.prompt_tokens, usage.completion_tokens
            record.cached_tokens, record.cache_write_tokens = usage.cached_tokens, usage.cache_write_tokens
            record.reasoning_tokens, record.estimated = usage.reasoning_tokens, usage.estimated
            record.audio_seconds, record.characters = usage.audio_seconds, usage.characters
        req.record = record
        for sink in self.sinks:
            sink(record)

    async def authorize(self, headers: Mapping[str, str], name: str, holder: object) -> tuple[Principal, Model]:
        """The caller and the model it asked for, or the 401/403/404 that stops the request."""
        principal = await self.auth.authenticate(headers)
        return principal, self._permit(principal, name, holder)

    def _permit(self, principal: Principal, name: str, holder: object) -> Model:
        """The model PRINCIPAL asked for by NAME, or the 403/404 (or the gate's 503) that stops it."""
        self.concurrency.admit(holder)  # counted from here: the body is read and the caller known
        model = self.config.resolve_model(name)
        if model is None:
            raise GatewayError(404, f"The model `{name}` does not exist or you do not have access to it.",
                               type="invalid_request_error", param="model", code="model_not_found")
        if not (principal.allows(model.name) or self._may_use(principal, name)):
            raise GatewayError(403, f"This key is not allowed to use the model `{name}`.",
                               type="permission_error", param="model", code="model_not_allowed")
        return model

    def timeouts(self, req: Request) -> Timeouts:
        """The request's limits: the configured ones, or the client's `timeout` in milliseconds
        (the `x-llmswitch-timeout-ms` header, else the body's `timeout`) up to `max_timeout_s`; where
        it came from goes in `req.timeout_source` and `req.timeout_clamped` (for its log line).
        The body's `timeout` is removed, being the gateway's setting and never an upstream's: call
        this before any copy of the body is made. A surface with rules of its own for the client's
        timeout (the compat routes') reads it itself, takes it out of the body and the headers, and
        passes what its rules gave as `req.timeout`, in seconds, in place of the configured one (and
        says where it came from)."""
        server = self.config.server
        given = req.timeout
        total = server.timeout_s if given is None else given
        body = req.body
        raw = body.pop("timeout", None) if type(body) is dict else None
        source = "body"
        header = req.headers.get("x-llmswitch-timeout-ms")
        if header is not None:
            raw, source = header, "header"
        if raw is not None:
            asked = _client_timeout_s(raw)
            total = min(asked, server.max_timeout_s)
            req.timeout_source, req.timeout_clamped = source, asked > total
        first_byte = min(server.first_byte_timeout_s or total, total)
        return Timeouts(connect=min(server.connect_timeout_s, total), first_byte=first_byte,
                        idle=server.idle_timeout_s, total=total)

    def _deadline(self, started: float, timeouts: Timeouts) -> Deadline:
        """The one deadline of a request begun at `started`: every attempt and fallback shares it."""
        return Deadline(started + timeouts.total, shortened=timeouts.total < self.config.server.timeout_s)

    # --- routing ---------------------------------------------------------------------------------
    def _plan(self, req: Request, model: Model) -> Plan:
        """The model's plan, cut to the targets whose provider serves the operation from the client's
        dialect. Where none does at all, the client's 400 (unless the surface has a local answer)."""
        plan = self.router.plan(model, req.model_name, self._scope(req.principal))
        operation = req.operation
        if not operation.metered:
            plan.overflow = None  # a prompt too long to count is the client's to shorten
        try:
            servers = self._servers[(operation.name, req.dialect)]
        except KeyError:
            servers = self._serving(operation.name, req.dialect)
        if servers is None:
            return plan
        targets = [t for t in plan.targets if t.provider.name in servers]
        skipped = [s for s in plan.skipped if s.target.provider.name in servers]
        if not targets and not skipped and req.fallback is None:
            raise invalid(f"The model `{req.model_name}` does not serve {operation.name} requests.",
                          param="model", code="unsupported_operation")
        plan.targets, plan.skipped = targets, skipped
        return plan

    def _serving(self, operation: str, dialect: str) -> frozenset[str] | None:
        """The providers that serve OPERATION for a client of DIALECT; None when every one does."""
        names = frozenset(name for name, provider in self.providers.items()
                          if (endpoint := provider.endpoint(operation, dialect)) is not None
                          and can_translate(operation, dialect, provider.dialect_of(endpoint)))
        servers = self._servers[(operation, dialect)] = None if len(names) == len(self.providers) else names
        return servers

    def _route(self, provider: Provider, operation: str, dialect: str, api: str | None = None) -> Route:
        """How PROVIDER serves OPERATION to clients of DIALECT (found once, then kept); API: the one
        dialect a deployment answers chat in (`api: responses`)."""
        key = (provider.name, operation, dialect, api)
        route = self._routes.get(key)
        if route is None:
            endpoint = provider.endpoint(operation, dialect, api if operation == "chat" else None)
            assert endpoint is not None  # the plan holds only the targets that serve the operation
            upstream = provider.dialect_of(endpoint)
            stream = stream_translation(operation, upstream, dialect) if endpoint.stream == "sse" else None
            route = self._routes[key] = Route(endpoint, upstream, request_translation(operation, dialect, upstream),
                                              response_translation(operation, upstream, dialect), stream)
        return route

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

    # --- one attempt ---------------------------------------------------------------------------
    def _call(self, req: Request, route: Route, target: Target, stream: bool) -> tuple[UpstreamCall, list[str]]:
        """The call to TARGET for REQ along ROUTE, and what its translation left out."""
        deployment = target.deployment
        try:
            translated = route.request(
                req.body, RequestOptions(upstream_model=deployment.model or req.model_name, stream=stream,
                                         max_tokens_default=deployment.max_tokens_default,
                                         drop_unsupported=deployment.drop_unsupported))
        except RecursionError:
            raise nested_too_deeply() from None
        same_dialect = req.dialect == route.dialect
        call = UpstreamCall(
            deployment=deployment, body=translated.body, stream=stream,
            api_key=(same_dialect and req.upstream_key) or req.principal.upstream_key or target.api_key,
            timeouts=req.deadline.bound(req.timeouts, deployment.timeout_s),
            headers=req.forwarded if same_dialect else {},
            query=without_credentials(req.query) if same_dialect else "",  # never a client's `?key=`
            endpoint=route.endpoint, resource=req.resource,
        )
        return call, translated.dropped

    def _headers(self, req: Request, outcome: Outcome[Any], dropped: list[str]) -> dict[str, str]:
        target = outcome.target
        headers = {
            "x-llmswitch-provider": target.provider.name,
            "x-llmswitch-upstream-model": target.deployment.model or req.model_name,
            "x-llmswitch-deployment": target.label,
            "x-llmswitch-attempts": str(outcome.count),
            **req.admission.headers,
        }
        if dropped:
            headers["x-llmswitch-dropped-params"] = ",".join(dropped)
        return headers

    # --- a whole answer --------------------------------------------------------------------------
    async def _complete(self, req: Request, plan: Plan, out: Responder) -> None:
        meter = req.meter
        operation = req.operation
        context = ResponseContext(req.model_name, req.request_id, req.body)

        async def attempt(target: Target) -> tuple[Any, bytes, Usage | None, list[str]]:
            meter.trying(target)
            provider = target.provider
            route = self._route(provider, operation.name, req.dialect, target.deployment.api)
            call, dropped = self._call(req, route, target, stream=False)
            reply = await provider.complete(call)
            try:
                body, usage = route.response(reply.body, context)
                return body, orjson.dumps(body), usage, dropped  # e.g. nesting orjson cannot write back
            except SHAPE_ERRORS as error:
                raise malformed(error) from None

        outcome = await run_attempts(plan, attempt, retry_unsafe=True if operation.idempotent else None,
                                     own_keys=req.own_keys,
                                     estimated_tokens=req.prompt_estimate, deadline=req.deadline)
        body, encoded, usage, dropped = outcome.value
        outcome.finish(usage)
        meter.answered(outcome.target)
        meter.usage, meter.complete = usage, True
        if usage is None and req.operation.reserves_output:  # not counted upstream: the text is the estimate
            meter.output_size = text_bytes(body)
        out.answer(encoded, self._headers(req, outcome, dropped))
        meter.first_byte = time.perf_counter()

    # --- a stream --------------------------------------------------------------------------------
    async def _prime(self, req: Request, target: Target) -> Primed | Opened:
        """Start the upstream stream and read it up to its first content, so that a failure before
        anything reached the client can still move to another target. An upstream that answers no
        event stream (whisper-1 ignores `stream`) has its answer passed on as it is."""
        simulate = target.deployment.stream == "simulate"
        provider = target.provider
        route = self._route(provider, req.operation.name, req.dialect, target.deployment.api)
        assert route.stream is not None  # a surface asks for a stream only of an operation that streams
        call, dropped = self._call(req, route, target, stream=not simulate)
        if simulate:
            reply = await provider.complete(call)
            try:
                replayed = simulator(req.operation.name, route.dialect)(reply.body)
            except SHAPE_ERRORS as error:
                raise malformed(error) from None
            upstream = UpstreamStream(_one_batch(replayed))
        else:
            upstream = await provider.stream(call)
            if isinstance(upstream, UpstreamBytes):
                return await _opened(upstream, route, dropped)
        translator = route.stream(StreamContext(req.model_name, req.include_usage, req.request_id,
                                                req.prompt_estimate, req.body))
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

    async def _stream(self, req: Request, plan: Plan, out: Responder) -> None:
        meter = req.meter

        async def attempt(target: Target) -> Primed:
            meter.trying(target)
            return await self._prime(req, target)

        outcome = await run_attempts(plan, attempt, retry_unsafe=True if req.operation.idempotent else None,
                                     own_keys=req.own_keys,
                                     estimated_tokens=req.prompt_estimate, deadline=req.deadline)
        primed = outcome.value
        if isinstance(primed, Opened):
            await self._pass_on(req, outcome, primed, out)
            return
        meter.answered(outcome.target)
        broke: UpstreamError | None = None  # after content: ends the stream and counts against the target
        translator = primed.translator
        dialect = req.dialect
        try:
            await out.open(self._headers(req, outcome, primed.dropped))
            meter.first_byte = time.perf_counter()
            try:
                if primed.events:
                    meter.output_size += output_bytes(dialect, primed.events)
                    await out.send(primed.events)
                if not primed.ended:
                    async for batch in primed.upstream:
                        events = [e for event in batch for e in translator.feed(event)]
                        if events:
                            meter.output_size += output_bytes(dialect, events)
                            await out.send(events)
                tail = translator.finish()
                meter.complete = True
                await out.finish(tail, complete=True)
            except UPSTREAM_FAILURES as error:
                broke = error if isinstance(error, UpstreamError) else malformed(error)
                meter.status, meter.error = broke.client_status, broke.kind
                await out.finish(translator.fail(meter.status, broke.error_type or "api_error", broke.message),
                                 complete=False)
        finally:
            primed.upstream.close()  # a client gone: stop the upstream at once
            meter.usage = translator.usage or req.known_usage
            outcome.finish(meter.usage, broke)


    # --- bytes passed on -------------------------------------------------------------------------
    async def _relay(self, req: Request, plan: Plan, out: Responder) -> None:
        """An answer passed on as the upstream's bytes, as they arrive. Its first piece is read within
        the attempt, so a failure before any byte reached the client moves on to the next target;
        after, it ends them (the client sees a short answer). A textual answer (a transcript) is kept
        up to KEEP_TEXT bytes for the route's response translation to read what it is billed."""
        meter = req.meter

        async def attempt(target: Target) -> Opened:
            meter.trying(target)
            route = self._route(target.provider, req.operation.name, req.dialect)
            call, dropped = self._call(req, route, target, req.stream)
            return await _opened(await target.provider.open(call), route, dropped)

        outcome = await run_attempts(plan, attempt, retry_unsafe=True if req.operation.idempotent else None,
                                     own_keys=req.own_keys,
                                     estimated_tokens=req.prompt_estimate, deadline=req.deadline)
        await self._pass_on(req, outcome, outcome.value, out)

    async def _pass_on(self, req: Request, outcome: Outcome[Any], opened: Opened, out: Responder) -> None:
        """The byte answer an attempt opened, to the client as it arrives (see `_relay`)."""
        meter = req.meter
        context = ResponseContext(req.model_name, req.request_id, req.body)
        upstream, first, route, dropped = opened.upstream, opened.first, opened.route, opened.dropped
        meter.answered(outcome.target)
        kept: list[bytes] | None = [] if _textual(upstream.content_type) else None
        size = 0

        async def send(chunk: bytes) -> None:
            nonlocal kept, size
            size += len(chunk)
            if kept is not None:
                if size > KEEP_TEXT:
                    kept = None
                else:
                    kept.append(chunk)
            await out.send_bytes(chunk)

        broke: UpstreamError | None = None
        try:
            await out.open(self._headers(req, outcome, dropped), upstream.content_type)
            meter.first_byte = time.perf_counter()
            try:
                if first:
                    await send(first)
                async for chunk in upstream.chunks:
                    await send(chunk)
                meter.complete = True
            except UpstreamError as error:
                broke = error
                meter.status, meter.error = error.client_status, error.kind
            await out.finish([], complete=broke is None)
        finally:
            upstream.close()
            if meter.complete:
                answer = RawAnswer(upstream.content_type, None if kept is None else b"".join(kept))
                meter.usage = route.response(answer, context)[1] or req.known_usage
            outcome.finish(meter.usage, broke)


async def _opened(upstream: UpstreamBytes, route: Route, dropped: list[str]) -> Opened:
    """UPSTREAM with its first piece read (closed if that fails)."""
    try:
        first = await anext(upstream.chunks, b"")
    except BaseException:
        upstream.close()
        raise
    return Opened(upstream, first, route, dropped)


def _textual(media_type: str) -> bool:
    """Is an answer of this media type text the gateway may read (a transcript), not audio?"""
    media_type = media_type.lower()
    return media_type.startswith(("text/", "application/json"))


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


async def _one_batch(items: list[dict[str, Any]]) -> AsyncIterator[list[dict[str, Any]]]:
    yield items
