"""OpenTelemetry traces over OTLP/HTTP, when `otel.endpoint` is set (imported then, and only then).

Each request's timeline (`telemetry.tracing.Trace`) becomes, once the request is over:
- a SERVER span `{method} {route}` with the HTTP attributes and what the gateway made of the request
  (`gen_ai.operation.name`, `gen_ai.request.model` as the client named it, `llmswitch.*`);
- under it an INTERNAL span `attempt` for each target tried (`llmswitch.attempt`, the deployment,
  `error.type` when it failed, so a failed-over request shows two);
- under each attempt a CLIENT span `{gen_ai.operation.name} {gen_ai.request.model}` for its upstream
  call, after the GenAI semantic conventions: `gen_ai.provider.name`, `gen_ai.request.model` (the
  upstream's id), `gen_ai.response.model`, `gen_ai.usage.*` on the call that answered, `server.address`,
  `server.port`, `http.response.status_code`, `error.type`.
A client's `traceparent` makes the request span its child. The SDK's batch processor exports from its
own thread; `OTEL_TRACES_SAMPLER` and the other standard variables apply. Nothing secret goes in a
span: no header, no query, no body; the path is the one the access line shows.

Dependencies (the `otel` extra): the official `opentelemetry-sdk` and `opentelemetry-exporter-otlp-
proto-http`, so that spans reach any collector as its own SDKs send them; a gateway without
`otel.endpoint` neither needs nor imports them.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmswitch.config import OtelConfig
from llmswitch.telemetry import tracing

# gen_ai.provider.name by provider type (the conventions' well-known values); demo is the gateway's own
PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "demo": "llmswitch.demo"}
TRACES_PATH = "/v1/traces"


class Tracer:
    """The process's tracer provider and exporter, and the maker of each request's spans."""

    def __init__(self, config: OtelConfig, version: str) -> None:
        endpoint = (config.endpoint or "").rstrip("/")
        if not endpoint.endswith(TRACES_PATH):
            endpoint += TRACES_PATH
        self.provider = TracerProvider(resource=Resource.create({"service.name": config.service_name,
                                                                 "service.version": version}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint,
                                                                             headers=dict(config.headers))))
        self.tracer = self.provider.get_tracer("llmswitch", version)

    def export(self, timeline: tracing.Trace, *, method: str, route: str | None, path: str, status: int,
               headers: Any, request_id: str, core: Any = None, ended: int = 0) -> None:
        """Make the spans of one finished request (CORE: the pipeline's `Request`, if it had one)."""
        ended = ended or time.time_ns()
        record = None if core is None else core.record
        operation = None if core is None else core.operation.name
        attributes: dict[str, Any] = {
            "http.request.method": method, "url.path": path, "http.response.status_code": status,
            "llmswitch.request_id": request_id}
        if route is not None:
            attributes["http.route"] = route
        if status >= 500:
            attributes["error.type"] = str(status)
        if core is not None:
            attributes["gen_ai.operation.name"] = operation
            attributes["gen_ai.request.model"] = core.model_name if record is None else record.model
            attributes["llmswitch.stream"] = core.stream
        if record is not None:
            attributes["llmswitch.result"] = record.error or "ok"
            attributes["llmswitch.attempts"] = record.attempts
        root = self.tracer.start_span(f"{method} {route}" if route else method, context=propagate.extract(headers),
                                      kind=SpanKind.SERVER, attributes=attributes, start_time=timeline.started)
        if status >= 500:
            root.set_status(Status(StatusCode.ERROR))
        under_root = trace.set_span_in_context(root)
        last = len(timeline.attempts) - 1
        for number, attempt in enumerate(timeline.attempts):
            provider_name = PROVIDER_NAMES.get(attempt.provider_type, attempt.provider_type)
            span = self.tracer.start_span("attempt", context=under_root, kind=SpanKind.INTERNAL,
                                          start_time=attempt.started, attributes={
                                              "llmswitch.attempt": number + 1, "llmswitch.provider": attempt.provider,
                                              "llmswitch.deployment": attempt.deployment,
                                              "gen_ai.provider.name": provider_name,
                                              "gen_ai.request.model": attempt.model})
            if attempt.error is not None:
                span.set_attribute("error.type", attempt.error)
                span.set_status(Status(StatusCode.ERROR))
            answered = number == last and attempt.error is None
            under_attempt = trace.set_span_in_context(span)
            for call in attempt.calls:
                self._call(call, attempt, provider_name, operation, under_attempt,
                           record if answered and call is attempt.calls[-1] else None, ended)
            span.end(end_time=attempt.ended or ended)
        root.end(end_time=ended)

    def _call(self, call: tracing.CallMark, attempt: tracing.AttemptMark, provider_name: str,
              operation: str | None, context: Any, record: Any, ended: int) -> None:
        """The CLIENT span of one upstream call; RECORD: the request's, when this call answered it."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation or "unknown", "gen_ai.provider.name": provider_name,
            "gen_ai.request.model": attempt.model, "server.address": call.host, "server.port": call.port,
            "http.request.method": call.method}
        if call.status is not None:
            attributes["http.response.status_code"] = call.status
        if call.response_model is not None:
            attributes["gen_ai.response.model"] = call.response_model
        if call.error is not None:
            attributes["error.type"] = call.error
        if record is not None:
            attributes["gen_ai.usage.input_tokens"] = record.input_tokens
            attributes["gen_ai.usage.output_tokens"] = record.output_tokens
            if record.cached_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = record.cached_tokens
            if record.cache_write_tokens:
                attributes["gen_ai.usage.cache_creation.input_tokens"] = record.cache_write_tokens
            if record.reasoning_tokens:
                attributes["gen_ai.usage.reasoning.output_tokens"] = record.reasoning_tokens
        span = self.tracer.start_span(f"{operation or 'call'} {attempt.model}".rstrip(), context=context,
                                      kind=SpanKind.CLIENT, start_time=call.started, attributes=attributes)
        if call.error is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=call.ended or ended)

    def shutdown(self) -> None:
        """Export what is queued (bounded by the SDK's export timeout) and stop."""
        self.provider.shutdown()


def start(config: OtelConfig, version: str) -> Tracer:
    """Trace from now on, exporting to CONFIG's endpoint."""
    tracer = Tracer(config, version)
    tracing.EXPORTER = tracer.export
    tracing.ON = True
    return tracer


def stop(tracer: Tracer) -> None:
    tracing.ON = False
    tracing.EXPORTER = None
    tracer.shutdown()
