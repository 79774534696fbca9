"""The aiohttp application: routes for every dialect and operation, recording, directives and faults.

The default path (no directive) does only what a real answer needs: one JSON parse, one record,
one render and, for a stream with no pacing, one write; the benchmark depends on that.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiohttp import web

from llmswitch.fake_upstream import answer as answers
from llmswitch.fake_upstream import audio, embeddings, responses_server
from llmswitch.fake_upstream.anthropic import AnthropicMessages
from llmswitch.fake_upstream.dialect import Dialect, Rejected, Reply
from llmswitch.fake_upstream.directives import Directive, DirectiveError
from llmswitch.fake_upstream.faults import RESET_BY_US, Pacing, abort, pacing_of, send
from llmswitch.fake_upstream.gemini import GeminiGenerate
from llmswitch.fake_upstream.handling import (BODY, JSON, RECORD, SSE_HEADERS, STATE, State, before_answer,
                                              default_message, directive_of, error)
from llmswitch.fake_upstream.openai import OpenAIChat
from llmswitch.fake_upstream.options import FakeOptions
from llmswitch.fake_upstream.recorder import Recorder


def build_app(options: FakeOptions | None = None) -> web.Application:
    """A fake upstream application; serve it with `handler_cancellation=True` so disconnects are seen."""
    options = options or FakeOptions()
    app = web.Application(middlewares=[_record], client_max_size=64 * 1024 * 1024)
    app[STATE] = State(options, Recorder(options.record_limit))
    openai = OpenAIChat(options.require_auth)
    anthropic = AnthropicMessages(options.require_auth)
    counter = AnthropicMessages(options.require_auth, count_tokens=True)
    gemini = GeminiGenerate(options.require_auth)
    chat = _completion_handler(openai)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_post("/v1/messages", _completion_handler(anthropic))
    app.router.add_post("/v1/messages/count_tokens", _count_tokens_handler(counter))
    app.router.add_post("/v1beta/models/{model}:{method}", _gemini_route(_completion_handler(gemini)))
    app.router.add_post("/v1/embeddings", embeddings.openai_embeddings)
    app.router.add_post("/embeddings", embeddings.openai_embeddings)
    for prefix in ("/v1", ""):
        app.router.add_post(prefix + "/audio/transcriptions", audio.transcriptions)
        app.router.add_post(prefix + "/audio/translations", audio.translations)
        app.router.add_post(prefix + "/audio/speech", audio.speech)
    responses_server.add_routes(app)
    app.router.add_get("/v1/models", _list_models)
    app.router.add_get("/v1/models/{model:.+}", _get_model)
    app.router.add_get("/v1beta/models", _list_gemini_models)
    app.router.add_get("/_fake/requests", _get_requests)
    app.router.add_delete("/_fake/requests", _clear_requests)
    app.router.add_get("/_fake/stats", _get_stats)
    return app


@web.middleware
async def _record(request: web.Request, handler: Any) -> web.StreamResponse:
    """Record every dialect request and count it in flight; notice clients that leave early."""
    if request.path.startswith("/_fake/"):
        return await handler(request)
    recorder = request.app[STATE].recorder
    body: Any = None
    if request.body_exists and not request.content_type.startswith("multipart/"):
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
    request[BODY] = body  # an upload is left unread for its handler to stream (and describe in the record)
    request[RECORD] = recorder.record(request.method, request.path, dict(request.query),
                                      {k.lower(): v for k, v in request.headers.items()}, body)
    recorder.in_flight += 1
    try:
        return await handler(request)
    except (asyncio.CancelledError, ConnectionResetError):
        if not request.get(RESET_BY_US):
            recorder.disconnects += 1
        raise
    finally:
        recorder.in_flight -= 1


def _completion_handler(dialect: Dialect) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        options = state.options
        headers = {"x-fake-upstream": options.name}
        body = request[BODY]
        try:
            prompt = dialect.inspect(request, body)
            stream = dialect.wants_stream(request, body)
            stripped, directive = directive_of(request, prompt.text)
        except Rejected as exc:
            return error(dialect.error_body, exc.status, exc.message, headers)
        except DirectiveError as exc:
            return error(dialect.error_body, 400, str(exc), headers)
        directive, refused = await before_answer(request, directive, headers, dialect.error_body)
        if refused is not None:
            return refused
        number = next(state.numbers)
        answer = answers.build(prompt, stripped, directive, options.chunks,
                               dialect.tool_id_prefix.format(n=number))
        reply = Reply(number, int(time.time()))
        if not stream:
            if directive.reset_after is not None:
                abort(request)
            return web.Response(body=dialect.render(answer, prompt, reply), content_type=JSON,
                                headers=headers)
        frames = dialect.frames(answer, prompt, reply, body)
        response = web.StreamResponse(headers={**headers, **SSE_HEADERS})
        await response.prepare(request)
        pacing = _pacing(options, directive, answer, len(frames))
        error_frame = b"" if directive.error_after is None else dialect.stream_error(
            directive.status or 500, directive.message or default_message(directive.status or 500))
        if await send(response, request, frames, pacing, error_frame):
            await response.write_eof()
        return response

    return handle


def _gemini_route(generate: Any) -> Any:
    """One Gemini URL pattern serves every method: the embedding ones, else content generation."""
    async def handle(request: web.Request) -> web.StreamResponse:
        return await embeddings.GEMINI_METHODS.get(request.match_info["method"], generate)(request)

    return handle


def _pacing(options: FakeOptions, directive: Directive, answer: answers.Answer, frames: int) -> Pacing:
    if not options.tokens_per_second:
        return pacing_of(directive)
    return pacing_of(directive, answer.usage.completion / max(1, frames - 1) / options.tokens_per_second)


def _count_tokens_handler(dialect: AnthropicMessages) -> Any:
    async def handle(request: web.Request) -> web.Response:
        headers = {"x-fake-upstream": request.app[STATE].options.name}
        try:
            prompt = dialect.inspect(request, request[BODY])
        except Rejected as exc:
            return error(dialect.error_body, exc.status, exc.message, headers)
        return web.Response(body=orjson.dumps({"input_tokens": answers.tokens(prompt.chars)}),
                            content_type=JSON, headers=headers)

    return handle


async def _list_models(request: web.Request) -> web.Response:
    """OpenAI's list shape, or Anthropic's when the caller sends `anthropic-version` as its SDK does."""
    options = request.app[STATE].options
    if request.headers.get("anthropic-version"):
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in options.models]
        body = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}
    else:
        body = {"object": "list", "data": [_openai_model(m) for m in options.models]}
    return web.json_response(body, dumps=_dumps, headers={"x-fake-upstream": options.name})


async def _get_model(request: web.Request) -> web.Response:
    options = request.app[STATE].options
    model = request.match_info["model"]
    if model not in options.models:
        return web.json_response({"error": {"message": f"The model '{model}' does not exist", "type":
                                            "invalid_request_error", "param": None, "code": "model_not_found"}},
                                 status=404, dumps=_dumps)
    return web.json_response(_openai_model(model), dumps=_dumps)


async def _list_gemini_models(request: web.Request) -> web.Response:
    models = [{"name": f"models/{m}", "displayName": m,
               "supportedGenerationMethods": ["generateContent", "countTokens"]}
              for m in request.app[STATE].options.models]
    return web.json_response({"models": models}, dumps=_dumps)


def _openai_model(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "fake-upstream"}


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


async def _get_requests(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(list(request.app[STATE].recorder.requests)), content_type=JSON)


async def _clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].recorder.clear()
    return web.Response(status=204)


async def _get_stats(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(request.app[STATE].recorder.stats()), content_type=JSON)
