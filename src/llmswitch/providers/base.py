"""What every outbound adapter shares: the HTTP call, timeouts, SSE decoding, error classes.

A provider module fills in a few slots: its native `dialect`, its `endpoints` (one per operation,
see `providers.endpoints`), its default base URL, auth headers, how a stream's frames become events,
where an error body keeps its message. The rest lives here once: the URL and body of each call, the
answer read as JSON (`complete`), SSE events (`stream`) or a binary stream (`open`), and the mapping
of every transport failure to an `UpstreamError` the failover logic can classify. So does the rule
that an upstream's own text (error bodies, error events) is scrubbed of credentials before anything
else in the gateway sees it: upstreams quote the key they were sent ("Incorrect API key provided").
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import orjson

from llmswitch.config import DeploymentConfig, ProviderConfig
from llmswitch.dialects import openai as openai_dialect
from llmswitch.dialects.responses import FAILED_EVENTS, stream_failure
from llmswitch.dialects.shapes import nested_too_deeply
from llmswitch.dialects.sse import SSEDecoder, SSEError
from llmswitch.providers.endpoints import Endpoint
from llmswitch.providers.http import Body, HTTPClient, Response, Timeouts, TransportError
from llmswitch.providers.multipart import Multipart
from llmswitch.redact import scrub, scrub_value
from llmswitch.telemetry import tracing

MESSAGE_SCAN = 4096  # bytes of a non-JSON error body scrubbed, of which the message keeps 500 characters

ErrorKind = Literal[
    "http",  # the upstream answered with an error status
    "connect",  # refused, DNS, TLS: the request never reached the upstream
    "connect_timeout",  # no connection within the connect limit
    "first_byte_timeout",  # the body was sent, no answer within the first-byte limit
    "idle_timeout",  # a stream went silent longer than the idle limit
    "reset",  # the connection broke after the request was sent
    "protocol",  # the upstream answered something that is not its dialect
    "body_too_large",  # an answer read whole was longer than server.max_upstream_body_mb
    "shutdown",  # the gateway is stopping: what was still running past its grace is ended
]


@dataclass(slots=True)
class UpstreamCall:
    """One attempt at one deployment: the body is already in the endpoint's dialect (a dict for a
    JSON endpoint, a `Multipart` form, None for a bodiless one)."""

    deployment: DeploymentConfig
    body: Any
    stream: bool
    api_key: str | None
    timeouts: Timeouts
    headers: dict[str, str] = field(default_factory=dict)  # forwarded client headers
    query: str = ""  # forwarded query string, e.g. Anthropic's `beta=true`
    endpoint: Endpoint | None = None  # None: the provider's chat endpoint
    resource: str = ""  # the id an endpoint's `{id}` names (a stored response)


class UpstreamError(Exception):
    """An attempt that failed; `kind` and `status` tell the failover logic whether it is safe to retry.

    `message`, `body` and `error_type` may be the upstream's own words: they are scrubbed here of
    every credential the gateway holds, of `sent_key` (the key the attempt carried, which in
    passthrough mode is the client's) and of anything key-shaped, so that no reader of an
    UpstreamError (the client's error, `attempts`, a stream's error event, a log line) can leak one.
    """

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None,
                 body: dict[str, Any] | None = None, retry_after: float | None = None,
                 error_type: str | None = None, sent_key: str | None = None):
        message = scrub(message, sent_key)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = scrub_value(body, sent_key) if body else body
        self.retry_after = retry_after
        self.error_type = scrub(error_type, sent_key) if isinstance(error_type, str) else error_type

    def scrubbed(self, sent_key: str | None) -> UpstreamError:
        """This error with SENT_KEY scrubbed too, for one raised where the key was not known (a frame
        decoder)."""
        if not sent_key:
            return self
        return UpstreamError(self.kind, self.message, status=self.status, body=self.body,
                             retry_after=self.retry_after, error_type=self.error_type, sent_key=sent_key)

    @property
    def client_status(self) -> int:
        """The status a client sees when this error is the final answer."""
        if self.kind == "http" and self.status:
            return self.status
        if self.kind in ("first_byte_timeout", "idle_timeout", "connect_timeout"):
            return 504
        if self.kind == "shutdown":
            return 503  # the gateway's own unavailability: the client may retry on another instance
        return 502

    @property
    def not_processed(self) -> bool:
        """True when the upstream certainly did not work on the request, so a retry duplicates nothing."""
        if self.kind in ("connect", "connect_timeout"):
            return True
        return self.kind == "http" and self.status in (401, 403, 429, 503, 529)


@dataclass(slots=True)
class UpstreamReply:
    status: int
    body: dict[str, Any]


@dataclass(slots=True)
class UpstreamBytes:
    """A binary answer (audio) as it arrives: iterate `chunks`, then `close` (also on early exit)."""

    status: int
    content_type: str
    chunks: AsyncIterator[bytes]
    close: Callable[[], None]


class UpstreamStream:
    """The provider's stream as batches of events in its dialect (one batch per network read);
    iterate, then close (also on early exit)."""

    def __init__(self, batches: AsyncIterator[list[dict[str, Any]]], close: Callable[[], None] = lambda: None):
        self._batches = batches
        self._close = close

    def __aiter__(self) -> AsyncIterator[list[dict[str, Any]]]:
        return self._batches

    def close(self) -> None:
        """Drop the upstream connection at once (client gone, or we stop reading)."""
        self._close()


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait, from `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(float(value) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


class Provider:
    """Base adapter; a provider module sets the class attributes and fills in `auth_headers`."""

    dialect: ClassVar[str] = "openai"  # the wire format of its endpoints, unless one says otherwise
    default_base_url: ClassVar[str] = ""  # when the config gives none
    endpoints: ClassVar[tuple[Endpoint, ...]] = ()
    forwards_query: ClassVar[bool] = False  # a same-dialect client's query string reaches it (`beta=true`)

    def __init__(self, name: str, config: ProviderConfig, client: HTTPClient):
        self.name = name
        self.config = config
        self.client = client
        self.base_url = (config.base_url or self.default_base_url).rstrip("/")
        fixed = self.fixed_headers()
        self.static_headers = {"content-type": "application/json", **fixed}  # a JSON body's
        self._bodiless_headers = fixed
        self._served: dict[str, list[Endpoint]] = {}
        for endpoint in self.endpoints:
            self._served.setdefault(endpoint.operation, []).append(endpoint)
        chat = self.endpoint("chat")
        assert chat is not None, f"{type(self).__name__} declares no chat endpoint"
        self.chat = chat
        # the whole URL of each endpoint whose path depends on nothing in the call, built once
        self._fixed_urls = {endpoint: self.base_url + endpoint.path for endpoint in self.endpoints
                            if "{" not in endpoint.path and endpoint.stream_path is None
                            and type(self).path is Provider.path}

    def endpoint(self, operation: str, dialect: str | None = None, only: str | None = None) -> Endpoint | None:
        """Where this provider serves `operation`: in `dialect` when it can (no translation), else in
        the first dialect it declared; None when it does not serve the operation at all. ONLY: the
        endpoint must speak that dialect (a deployment that answers only there, `api: responses`)."""
        served = self._served.get(operation)
        if not served:
            return None
        if only is not None:
            return next((endpoint for endpoint in served if self.dialect_of(endpoint) == only), None)
        if dialect is not None and len(served) > 1:
            for endpoint in served:
                if self.dialect_of(endpoint) == dialect:
                    return endpoint
        return served[0]

    def dialect_of(self, endpoint: Endpoint) -> str:
        return endpoint.dialect or self.dialect

    # --- slots for each provider -------------------------------------------------------------
    def path(self, endpoint: Endpoint, call: UpstreamCall) -> str:
        """The path of one call under the base URL (a provider overrides it where the body decides)."""
        path = endpoint.stream_path if call.stream and endpoint.stream_path else endpoint.path
        if "{model}" in path:
            path = path.replace("{model}", quote(self.url_model(call.deployment.model or ""), safe="-._~"))
        if "{id}" in path:
            path = path.replace("{id}", quote(call.resource, safe="-._~"))
        return path

    def fixed_headers(self) -> dict[str, str]:
        """Headers every call carries (the configured ones; a provider may add its own)."""
        return dict(self.config.headers)

    def url_model(self, model: str) -> str:
        """The upstream model id as its URLs write it."""
        return model

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        raise NotImplementedError

    def decode_frame(self, event: str | None, data: str) -> dict[str, Any] | None:
        """One SSE frame as an event dict, or None where the frame ends the stream (`[DONE]`)."""
        return None if data == "[DONE]" else load_event(data)

    def stream_error_status(self, event: dict[str, Any]) -> int | None:
        """The HTTP status of the failure a stream event with an `error` key reports, or None when
        it reports none. OpenAI-compatible servers answer 200 and then send `{"error": {...}}`
        (the openai SDK raises on any non-empty `error`), with no status of its own."""
        error = event.get("error")
        return openai_dialect.error_status(error) if error else None

    def error_message(self, body: dict[str, Any]) -> tuple[str, str | None]:
        """(message, type) from an error body in the provider's dialect."""
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error), error.get("type") or error.get("status")
        return str(error or body)[:500], None

    # --- shared machinery -------------------------------------------------------------------
    def url(self, call: UpstreamCall) -> str:
        endpoint = call.endpoint or self.chat
        url = self._fixed_urls.get(endpoint)
        if url is None:
            url = self.base_url + self.path(endpoint, call)
        if call.query and (self.forwards_query or endpoint.query):
            url += ("&" if "?" in url else "?") + call.query
        return url

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        """The call's answer as one JSON object."""
        response = await self._send(call)
        body = await json_object(response)
        if tracing.ON:
            tracing.saw_answer(response.mark, body)
        if "error" in body:  # some OpenAI-compatible servers report errors with a 200
            _scrub_error(body, call.api_key)
        return UpstreamReply(response.status, body)

    async def stream(self, call: UpstreamCall) -> UpstreamStream | UpstreamBytes:
        """The call's answer as SSE events in the endpoint's dialect. On an endpoint whose whole answers
        are bytes, an answer that is no event stream is what the upstream gives for a stream (whisper-1
        ignores `stream` and answers JSON): its bytes, to pass on as they are."""
        response = await self._send(call)
        endpoint = call.endpoint or self.chat
        if endpoint.answer == "binary" and not _is_event_stream(response.headers.get("content-type", "")):
            return self._bytes(response, call.api_key)
        responses = self.dialect_of(endpoint) == "responses"
        batches = self._guarded(response, call.api_key, responses)
        if tracing.ON:
            batches = tracing.watch(response.mark, batches)
        return UpstreamStream(batches, response.close)

    async def open(self, call: UpstreamCall) -> UpstreamBytes:
        """The call's answer as bytes passed on as they arrive (audio), with the upstream's media type."""
        return self._bytes(await self._send(call), call.api_key)

    def _bytes(self, response: Response, sent_key: str | None) -> UpstreamBytes:
        content_type = response.headers.get("content-type", "application/octet-stream")
        return UpstreamBytes(response.status, content_type, self._raw(response, sent_key), response.close)

    async def _raw(self, response: Response, sent_key: str | None) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.iter_chunks():
                yield chunk
        except TransportError as exc:
            raise UpstreamError(exc.kind, exc.message, sent_key=sent_key) from None
        finally:
            response.release()

    async def _batches(self, response: Response, sent_key: str | None,
                       responses: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
        """Events grouped by network read: whatever arrived together is relayed in one write."""
        decoder = SSEDecoder(self.client.max_body)
        async for chunk in response.iter_chunks():
            batch, done, failure = self._decode(decoder.feed(chunk), sent_key, responses)
            if batch:
                yield batch
            if failure is not None:
                raise failure
            if done:
                return
        batch, _, failure = self._decode(decoder.close(), sent_key, responses)  # once per stream
        if batch:
            yield batch
        if failure is not None:
            raise failure

    def _decode(self, frames: list[tuple[str | None, str]], sent_key: str | None, responses: bool = False
                ) -> tuple[list[dict[str, Any]], bool, UpstreamError | None]:
        """The events of one read's FRAMES up to the stream's end, whether it ended there, and the
        failure an error event reported. An upstream that answered 200 and then reports an error
        (every dialect can) failed like one that answered with that status: raised as such, before
        content the attempt moves on; after it the client's stream ends in its own error event.
        The events before the error are still relayed, so what the client gets depends on the order
        the upstream sent them in, never on how the network happened to cut them into reads.
        RESPONSES: the events are the Responses API's, whose failures are events of their own
        (`response.failed`, `error` with its code at the top), with no `error` key to find."""
        batch: list[dict[str, Any]] = []
        for name, data in frames:
            event = self.decode_frame(name, data)
            if event is None:
                return batch, True, None
            if "error" in event:
                status = self.stream_error_status(_scrub_error(event, sent_key))
                if status is not None:
                    message, error_type = self.error_message(event)
                    return batch, True, UpstreamError("http", message, status=status, body=event, sent_key=sent_key,
                                                      error_type=error_type if isinstance(error_type, str) else None)
            elif responses and event.get("type") in FAILED_EVENTS:
                status, message, code = stream_failure(event)
                return batch, True, UpstreamError("http", message, status=status, body=event, sent_key=sent_key,
                                                  error_type=code)
            batch.append(event)
        return batch, False, None

    async def _guarded(self, response: Response, sent_key: str | None,
                       responses: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
        try:
            async for batch in self._batches(response, sent_key, responses):
                yield batch
        except TransportError as exc:
            raise UpstreamError(exc.kind, exc.message, sent_key=sent_key) from None
        except SSEError as exc:
            raise UpstreamError("protocol", str(exc), sent_key=sent_key) from None
        except UpstreamError as exc:  # one a frame decoder raised was made without the key
            raise exc.scrubbed(sent_key) from None
        finally:
            response.release()

    async def _send(self, call: UpstreamCall) -> Response:
        """Send the call to its endpoint; an error status is raised as an `UpstreamError`."""
        endpoint = call.endpoint or self.chat
        body: Body
        if endpoint.body == "json":
            try:
                body = orjson.dumps(call.body)
            except orjson.JSONEncodeError:  # deeper than orjson writes: the client's body, as it sent it
                raise nested_too_deeply() from None
            headers = {**self.static_headers, **call.headers, **self.auth_headers(call.api_key)}
        elif endpoint.body == "multipart":
            assert isinstance(call.body, Multipart)
            body = call.body.body()
            headers = {**self._bodiless_headers, "content-type": call.body.content_type, **call.headers,
                       **self.auth_headers(call.api_key)}
        else:
            body = None
            headers = {**self._bodiless_headers, **call.headers, **self.auth_headers(call.api_key)}
        url = self.url(call)
        mark = tracing.call(endpoint.method, url) if tracing.ON else None
        try:
            response = await self.client.request(endpoint.method, url, body, headers, call.timeouts)
        except TransportError as exc:
            if mark is not None:
                mark.failed(exc.kind)
            raise UpstreamError(exc.kind, exc.message, sent_key=call.api_key) from None
        if mark is not None:
            mark.answered(response.status)
            response.mark = mark
        if response.status >= 400:
            await self._raise_for_status(response, call.api_key)
        return response

    async def _raise_for_status(self, response: Response, sent_key: str | None) -> None:
        try:
            raw = await _read(response)
        except UpstreamError:
            raw = b""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, list) and body and isinstance(body[0], dict):
            body = body[0]  # Gemini sometimes wraps its error in a list
        # Scrubbed before anything is cut short: half a key is out of reach of the value match.
        if isinstance(body, dict):
            try:
                body = scrub_value(body, sent_key)
            except RecursionError:  # nested past what can be walked: read as text, as a body that is no JSON
                body = None
        if isinstance(body, dict):
            message, error_type = self.error_message(body)
            error_type = error_type if isinstance(error_type, str) else None  # the upstream's JSON, any shape
        else:
            text = scrub(raw[:MESSAGE_SCAN].decode(errors="replace"), sent_key)
            message, error_type = (text[:500] or response.reason or "error"), None
            body = None
        raise UpstreamError("http", message, status=response.status, body=body,
                            retry_after=parse_retry_after(response.headers), error_type=error_type,
                            sent_key=sent_key)


def _is_event_stream(media_type: str) -> bool:
    return media_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def _scrub_error(event: dict[str, Any], sent_key: str | None) -> dict[str, Any]:
    """An answer or stream event with the upstream's text in its `error` field, if any, scrubbed."""
    if "error" in event:
        event["error"] = scrub_value(event["error"], sent_key)
    return event


async def _read(response: Response) -> bytes:
    """The whole body (the connection is released either way)."""
    try:
        return await response.read()
    except TransportError as exc:
        raise UpstreamError(exc.kind, exc.message) from None


async def json_object(response: Response) -> dict[str, Any]:
    """The whole answer as a JSON object, or a `protocol` error naming what was wrong with it."""
    raw = await _read(response)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError("protocol", "upstream answered with a body that is not JSON",
                            status=response.status) from None
    if not isinstance(body, dict):
        raise UpstreamError("protocol", "upstream answered with a body that is not an object",
                            status=response.status)
    return body


def load_event(data: str) -> dict[str, Any]:
    """One SSE frame's data as a JSON object, or a `protocol` error."""
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise UpstreamError("protocol", "upstream stream carried a frame that is not JSON") from None
    if not isinstance(event, dict):
        raise UpstreamError("protocol", "upstream stream carried a frame that is not an object")
    return event
