"""A local OTLP/HTTP trace receiver: what a collector would be sent, decoded with opentelemetry-proto."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                        ExportTraceServiceResponse)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

WAIT_S = 10.0


def value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind is not None else None


@dataclass
class Span:
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind: 2 SERVER, 3 CLIENT, 1 INTERNAL
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    status: int  # 2: error
    start: int
    end: int
    resource: dict[str, Any]


@dataclass
class Receiver:
    """Collects every span exported to it; `headers` of each export as received."""

    spans: list[Span] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> web.Application:
        async def traces(request: web.Request) -> web.Response:
            raw = await request.read()
            if request.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            export = ExportTraceServiceRequest.FromString(raw)
            with self.lock:
                self.headers.append({k.lower(): v for k, v in request.headers.items()})
                for resource_spans in export.resource_spans:
                    resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
                    for scope in resource_spans.scope_spans:
                        for span in scope.spans:
                            self.spans.append(Span(
                                span.name, span.kind, span.trace_id.hex(), span.span_id.hex(),
                                span.parent_span_id.hex(),
                                {a.key: value(a.value) for a in span.attributes}, span.status.code,
                                span.start_time_unix_nano, span.end_time_unix_nano, resource))
            return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                                content_type="application/x-protobuf")

        app = web.Application()
        app.router.add_post("/v1/traces", traces)
        return app

    def trace_of(self, request_id: str, spans: int) -> list[Span]:
        """The spans of the trace whose request span has REQUEST_ID, once SPANS of them arrived."""
        deadline = time.monotonic() + WAIT_S
        while True:
            with self.lock:
                roots = [s for s in self.spans if s.attributes.get("llmswitch.request_id") == request_id]
                found = [s for s in self.spans if roots and s.trace_id == roots[0].trace_id]
            if len(found) >= spans or time.monotonic() > deadline:
                return found
            time.sleep(0.05)
