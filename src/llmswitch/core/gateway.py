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

from llmswitch.config import Config, Model
from llmswitch.core.attempts import Outcome, run_attempts
from llmswitch.core.auth import Authenticator, Principal
from llmswitch.core.limits import Limiter
from llmswitch.core.routing import Plan, Router, Target
from llmswitch.core.usage import UsageRecorder
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects import sse
from llmswitch.dialects.anthropic_stream import anthropic_message_to_events
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.dialects.streams import StreamTranslator
from llmswitch.dialects.translate import stream_translator, translate_request, translate_response
from llmswitch.dialects.types import MalformedAnswer, RequestOptions, ResponseContext, StreamContext
from llmswitch.dialects.usage import Usage
from llmswitch.errors import GatewayError, invalid
from llmswitch.providers import build_provider
from llmswitch.providers.base import Provider, Timeouts, UpstreamCall, UpstreamError, UpstreamStream
from llmswitch.providers.http import HTTPClient

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
    forwarded: dict[str, str]
    query: str
    started: float
    include_usage: bool
    prompt_estimate: int


class Gateway:
    def __init__(self, config: Config):
        self.config = config
        self.auth = Authenticator(config)
        self.limiter = Limiter(config)
        self.usage = UsageRecorder(config)
        self.providers: dict[str, Provider] = {}
        self.router: Router | None = None
        self._clients: list[HTTPClient] = []
        self.created = int(time.time())  # reported as every model's `created`

    async def start(self) -> None:
        for name, provider_config in self.config.providers.items():
            client = HTTPClient()  # keeps no cookies: nothing one client's call got rides on another's
            self._clients.append(client)
            self.providers[name] = build_provider(name, provider_config, client)
        self.router = Router(self.config, self.providers)
        self.auth.on_upstream_keys = self.router.use_stored_keys
        await self.auth.start()
        await self.limiter.start()
        await self.usage.start()

    async def stop(self) -> None:
        await self.usage.stop()
        await self.limiter.stop()
        await self.auth.stop()
        for client in self._clients:
            await client.close()

    # --- entry point -----------------------------------------------------------------------------
    async def generate(self, request: web.Request, body: dict[str, Any], dialect: str) -> web.StreamResponse:
        """Serve one generation request whose body is already validated in `dialect`."""
        started = time.perf_counter()
        name = body["model"]
        principal, model = await self.authorize(request, name)
        stream_options = body.get("stream_options")
        req = Request(
            body=body, dialect=dialect, model_name=name, request_id=request[REQUEST_ID],
            principal=principal, timeouts=self.timeouts(request, body),
            forwarded=forwarded_headers(request, dialect),
            query=request.query_string, started=started,
            include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
            prompt_estimate=max(1, (request.content_length or 0) // 4),
        )
        assert self.router is not None
        plan = self.router.plan(model, name)
        admission = await self.limiter.admit(principal, name, req.prompt_estimate,
                                             body.get("max_tokens") or body.get("max_completion_tokens"))
        usage: Usage | None = None
        try:
            if body.get("stream"):
                response, usage = await self._stream(request, req, plan, admission.headers)
            else:
                response, usage = await self._complete(req, plan, admission.headers)
            return response
        except GatewayError as error:  # an upstream failure still tells the caller its rate limits
            error.headers = {**admission.headers, **error.headers}
            raise
        finally:
            await admission.settle(usage, name)

    async def authorize(self, request: web.Request, name: str) -> tuple[Principal, Model]:
        """The caller and the model it asked for, or the 401/403/404 that stops the request."""
        principal = await self.auth.authenticate(request)
        model = self.config.resolve_model(name)
        if model is None:
            raise GatewayError(404, f"The model `{name}` does not exist or you do not have access to it.",
                               type="invalid_request_error", param="model", code="model_not_found")
        if not principal.allows(name, model.name):
            raise GatewayError(403, f"This key is not allowed to use the model `{name}`.",
                               type="permission_error", param="model", code="model_not_allowed")
        return principal, model

    def timeouts(self, request: web.Request, body: dict[str, Any]) -> Timeouts:
        server = self.config.server
        total = server.timeout_s
        raw = body.pop("timeout", None)
        header = request.headers.get("x-llmswitch-timeout-ms")
        if header is not None:
            raw = header
        if raw is not None:
            try:
                total = float(raw) / 1000.0
            except (TypeError, ValueError):
                raise invalid("timeout must be a number of milliseconds", param="timeout") from None
            if total <= 0:
                raise invalid("timeout must be a positive number of milliseconds", param="timeout")
            total = min(total, server.max_timeout_s)
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
        timeouts = req.timeouts
        if deployment.timeout_s is not None and deployment.timeout_s < timeouts.total:
            total = deployment.timeout_s
            timeouts = Timeouts(min(timeouts.connect, total), min(timeouts.first_byte, total), timeouts.idle, total)
        call = UpstreamCall(
            deployment=deployment, body=translated.body, stream=stream,
            api_key=req.principal.upstream_key or target.api_key, timeouts=timeouts,
            headers=req.forwarded if same_dialect else {}, query=req.query if same_dialect else "",
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
        """Run the plan; a final failure is recorded for usage before it reaches the client."""
        try:
            return await run_attempts(plan, attempt, own_keys=req.principal.upstream_key is None,
                                      estimated_tokens=req.prompt_estimate)
        except GatewayError as error:
            self.usage.record(req.request_id, req.principal.key_id, req.model_name, "", error.status, None,
                              req.started)
            raise

    async def _complete(self, req: Request, plan: Plan,
                        extra_headers: dict[str, str]) -> tuple[web.Response, Usage | None]:
        async def attempt(target: Target) -> tuple[bytes, Usage | None, list[str]]:
            call, dropped = self._call(req, target, stream=False)
            reply = await target.provider.complete(call)
            try:
                body, usage = translate_response(target.provider.dialect, req.dialect, reply.body,
                                                 ResponseContext(req.model_name, req.request_id))
                return orjson.dumps(body), usage, dropped  # e.g. nesting orjson cannot write back
            except SHAPE_ERRORS as error:
                raise malformed(error) from None

        outcome = await self._attempts(req, plan, attempt)
        encoded, usage, dropped = outcome.value
        outcome.finish(usage)
        self.usage.record(req.request_id, req.principal.key_id, req.model_name, outcome.target.label, 200,
                          usage, req.started)
        response = web.Response(body=encoded, content_type="application/json",
                                headers=self._headers(req, outcome, dropped, extra_headers))
        return response, usage

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
                      extra_headers: dict[str, str]) -> tuple[web.StreamResponse, Usage | None]:
        outcome = await self._attempts(req, plan, lambda target: self._prime(req, target))
        primed = outcome.value
        response = web.StreamResponse(headers={
            "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no",
            **self._headers(req, outcome, primed.dropped, extra_headers),
        })
        broke: UpstreamError | None = None  # after content: ends the stream and counts against the target
        encode = ENCODERS[req.dialect]
        translator = primed.translator
        status = 200
        keepalive = asyncio.create_task(_keepalive(response, self.config.server.keepalive_s))
        try:
            await response.prepare(request)
            try:
                if primed.events:
                    await response.write(b"".join(encode(e) for e in primed.events))
                if not primed.ended:
                    async for batch in primed.upstream:
                        out = [encode(e) for event in batch for e in translator.feed(event)]
                        if out:
                            await response.write(b"".join(out))
                tail = translator.finish()
                await response.write(b"".join(encode(e) for e in tail) + TERMINATORS[req.dialect])
            except UPSTREAM_FAILURES as error:
                broke = error if isinstance(error, UpstreamError) else malformed(error)
                status = broke.client_status
                failure = translator.fail(status, broke.error_type or "api_error", broke.message)
                await response.write(b"".join(encode(e) for e in failure))
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            status = 499  # the client went away: stop the upstream at once (finally)
            raise
        finally:
            keepalive.cancel()
            primed.upstream.close()
            outcome.finish(translator.usage, broke)
            self.usage.record(req.request_id, req.principal.key_id, req.model_name, outcome.target.label,
                              status, translator.usage, req.started)
        return response, translator.usage


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
