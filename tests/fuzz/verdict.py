"""The property every answer must have, checked against the official SDKs' own types.

Every answer is JSON: an error in the route's dialect with a 4xx, or a correct 2xx (one the
client's SDK parses as the object the route promises). Never a 5xx, except where the test made
the upstream fail; then only a 502/503/504 in the route's dialect. Streams are well formed: every
frame parses, the dialect's own terminator ends them, and an error frame appears only where the
upstream failed.

Where the upstream answered a wrong shape that the gateway could still read, the 2xx is held to
the dialect's outline only (an object with `choices`, a `message` with `content`, frames that are
JSON objects): a same-dialect pass-through relays the fields it does not read as they came, so a
leaf of the wrong type there is the upstream's, not the gateway's.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
from anthropic.types import Message, MessageTokensCount, RawMessageStreamEvent
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from tests.fuzz.wire import Answer

_ANTHROPIC_EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)
_RESPONSES_EVENT = pydantic.TypeAdapter(ResponseStreamEvent)
_RESPONSES_ENDS = ("response.completed", "response.incomplete")
_RESPONSES_FAILURES = ("response.failed", "error")
UPSTREAM_FAULT_STATUSES = (502, 503, 504)


class Violation(AssertionError):
    """An answer without the property; its message says what was wrong and shows the answer."""


def dialect_of(path: str) -> str:
    """The error shape a route's clients parse: Anthropic's on its Messages routes."""
    return "anthropic" if "/messages" in path.split("?")[0] else "openai"


def _fail(answer: Answer, why: str) -> Violation:
    return Violation(f"{why}\n  status {answer.status}, content-type {answer.headers.get('content-type')!r}, "
                     f"body {answer.body[:600]!r}")


def json_body(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        raise _fail(answer, "the answer is not JSON") from None


def check_error(answer: Answer, dialect: str) -> dict[str, Any]:
    """A JSON error body in DIALECT's shape; returns the inner error object."""
    if answer.content_type != "application/json":
        raise _fail(answer, "an error answer must be application/json")
    body = json_body(answer)
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict) or not isinstance(inner.get("message"), str) \
            or not isinstance(inner.get("type"), str):
        raise _fail(answer, f"not an error in the {dialect} shape")
    # What the HTTP parser refuses is answered before the route is known, in OpenAI's shape (server.py).
    if dialect == "anthropic" and body.get("type") != "error" and inner.get("code") != "invalid_http":
        raise _fail(answer, "an Anthropic error body has type 'error'")
    return inner


def check(answer: Answer, route: str, path: str, *, upstream_fault: bool = False,
          model: str | None = None, upstream_status: int | None = None) -> None:
    """Raise Violation unless ANSWER has the property for ROUTE (see the module docstring).

    UPSTREAM_FAULT: the test made the upstream misbehave, so a 502/503/504, or the upstream's own
    error status (UPSTREAM_STATUS) passed on, is an answer too."""
    dialect = dialect_of(path)
    if route == "ready" and answer.status == 503 and json_body(answer).get("status") in ("degraded", "starting"):
        return  # load balancers read readiness from the status
    if route == "head":
        if answer.status >= 500:
            raise _fail(answer, f"a {answer.status} the gateway made itself")
        return
    if answer.status >= 500:
        if not upstream_fault or answer.status not in (*UPSTREAM_FAULT_STATUSES, upstream_status):
            raise _fail(answer, f"a {answer.status} the gateway made itself")
        check_error(answer, dialect)
        return
    if answer.status >= 400:
        check_error(answer, dialect)
        return
    if answer.status == 204 and not answer.body:
        return
    if not 200 <= answer.status < 300:
        raise _fail(answer, "unexpected status")
    if answer.content_type == "text/event-stream":
        streams = {"chat": _check_openai_stream, "messages": _check_anthropic_stream,
                   "responses": _check_responses_stream}
        if route not in streams:
            raise _fail(answer, f"{route} does not stream")
        streams[route](answer, upstream_fault, model)
        return
    body = json_body(answer)
    checks = _OUTLINES if upstream_fault else _CHECKS
    try:
        checks.get(route, _any_object)(body, model)
    except (pydantic.ValidationError, AssertionError, KeyError, TypeError) as exc:
        raise _fail(answer, f"a 2xx that is not a correct {route} answer: {str(exc)[:800]}") from None


def _chat(body: Any, model: str | None) -> None:
    completion = ChatCompletion.model_validate(body)
    assert model is None or completion.model == model, f"model {completion.model!r}, asked {model!r}"


def _message(body: Any, model: str | None) -> None:
    message = Message.model_validate(body)
    assert model is None or message.model == model, f"model {message.model!r}, asked {model!r}"


def _models(body: Any, model: str | None) -> None:
    assert body["object"] == "list"
    for entry in body["data"]:
        Model.model_validate(entry)


def _any_object(body: Any, model: str | None) -> None:
    assert isinstance(body, dict), "a JSON object"


_CHECKS = {
    "chat": _chat,
    "messages": _message,
    "count_tokens": lambda body, model: MessageTokensCount.model_validate(body),
    "models": _models,
    "model": lambda body, model: Model.model_validate(body),
    "health": lambda body, model: body["status"] == "ok" or _raise("status ok"),
    "ready": lambda body, model: body["status"] in ("ready", "degraded") or _raise("status ready or degraded"),
}


_OUTLINES = {
    "chat": lambda body, model: isinstance(body["choices"], list) or _raise("choices is a list"),
    "messages": lambda body, model: isinstance(body["content"], list) or _raise("a content list"),
}


def _raise(what: str) -> None:
    raise AssertionError(what)


def sse_frames(body: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE frame; comments (keep-alive pings) left out."""
    frames = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        event, data = None, []
        for line in block.decode().split("\n"):
            if line.startswith("event:"):
                event = line[6:].removeprefix(" ")
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            frames.append((event, "\n".join(data)))
    return frames


def _check_openai_stream(answer: Answer, upstream_fault: bool, model: str | None) -> None:
    frames = sse_frames(answer.body)
    if not frames:
        raise _fail(answer, "an empty stream")
    for position, (_, data) in enumerate(frames):
        last = position == len(frames) - 1
        if data == "[DONE]":
            if not last:
                raise _fail(answer, "frames after [DONE]")
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise _fail(answer, f"stream frame {position} is not JSON: {data[:200]!r}") from None
        if isinstance(chunk, dict) and "error" in chunk:
            if not upstream_fault:
                raise _fail(answer, f"an error frame in a stream from a working upstream: {data[:300]}")
            return  # the SDK raises on it; a pass-through may relay what the upstream sent after it
        if upstream_fault:
            if not isinstance(chunk, dict):
                raise _fail(answer, f"stream frame {position} is not an object")
            continue
        try:
            parsed = ChatCompletionChunk.model_validate(chunk)
        except pydantic.ValidationError as exc:
            raise _fail(answer, f"stream frame {position} is not a chunk: {str(exc)[:600]}") from None
        if model is not None and parsed.model != model:
            raise _fail(answer, f"chunk model {parsed.model!r}, asked {model!r}")
    raise _fail(answer, "the stream ended without [DONE] or an error frame")


def _check_anthropic_stream(answer: Answer, upstream_fault: bool, model: str | None) -> None:
    frames = sse_frames(answer.body)
    if upstream_fault:
        _check_relayed_events(answer, frames)
        return
    if not frames:
        raise _fail(answer, "an empty stream")
    for position, (name, data) in enumerate(frames):
        last = position == len(frames) - 1
        try:
            event = json.loads(data)
        except ValueError:
            raise _fail(answer, f"stream frame {position} is not JSON: {data[:200]!r}") from None
        kind = event.get("type") if isinstance(event, dict) else None
        if name != kind:
            raise _fail(answer, f"event name {name!r} does not match its type {kind!r}")
        if kind == "error":
            raise _fail(answer, f"an error event in a stream from a working upstream: {data[:300]}")
        if kind == "ping":
            continue
        if position == 0 and kind != "message_start":
            raise _fail(answer, f"the stream starts with {kind!r}")
        try:
            parsed = _ANTHROPIC_EVENT.validate_python(event)
        except pydantic.ValidationError as exc:
            raise _fail(answer, f"stream event {position} is not an event: {str(exc)[:600]}") from None
        if kind == "message_start" and model is not None and parsed.message.model != model:  # type: ignore[union-attr]
            raise _fail(answer, f"message model {parsed.message.model!r}, asked {model!r}")  # type: ignore[union-attr]
        if kind == "message_stop":
            if not last:
                raise _fail(answer, "events after message_stop")
            return
    raise _fail(answer, "the stream ended without message_stop or an error event")


def _check_responses_stream(answer: Answer, upstream_fault: bool, model: str | None) -> None:
    """Responses events in increasing order, each named for its type where it has an `event:` line,
    ending with the response's completion (or, where the upstream failed, its failure), then at most
    a `[DONE]` (the body-keyed routes' framing)."""
    frames = sse_frames(answer.body)
    if frames and frames[-1][1] == "[DONE]":
        frames = frames[:-1]
    if not frames:
        raise _fail(answer, "an empty stream")
    numbers, kind = [], None
    for position, (name, data) in enumerate(frames):
        try:
            event = json.loads(data)
        except ValueError:
            raise _fail(answer, f"stream frame {position} is not JSON: {data[:200]!r}") from None
        kind = event.get("type") if isinstance(event, dict) else None
        if name is not None and name != kind:
            raise _fail(answer, f"event name {name!r} does not match its type {kind!r}")
        if kind in _RESPONSES_FAILURES and not upstream_fault:
            raise _fail(answer, f"a failure event in a stream from a working upstream: {data[:300]}")
        if kind in (*_RESPONSES_ENDS, *_RESPONSES_FAILURES) and position != len(frames) - 1:
            raise _fail(answer, f"events after {kind}")
        try:
            parsed = _RESPONSES_EVENT.validate_python(event)
        except pydantic.ValidationError as exc:
            raise _fail(answer, f"stream event {position} is not an event: {str(exc)[:600]}") from None
        numbers.append(parsed.sequence_number)
        response = getattr(parsed, "response", None)
        if model is not None and response is not None and response.model != model:
            raise _fail(answer, f"response model {response.model!r}, asked {model!r}")
    if numbers != sorted(set(numbers)):
        raise _fail(answer, f"sequence numbers out of order: {numbers[:20]}")
    if kind not in (*_RESPONSES_ENDS, *_RESPONSES_FAILURES):
        raise _fail(answer, "the stream ended without the response's end")


def _check_relayed_events(answer: Answer, frames: list[tuple[str | None, str]]) -> None:
    """A stream from a broken upstream: each event is a JSON object named for its type. Their order
    is the upstream's where the stream is relayed as it came (Anthropic to Anthropic)."""
    for position, (name, data) in enumerate(frames):
        try:
            event = json.loads(data)
        except ValueError:
            raise _fail(answer, f"stream frame {position} is not JSON: {data[:200]!r}") from None
        if not isinstance(event, dict) or name != event.get("type"):
            raise _fail(answer, f"event {position} named {name!r} is not an object of that type")
