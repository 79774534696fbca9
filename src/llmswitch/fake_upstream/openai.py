"""OpenAI Chat Completions as the real API speaks it: `POST /v1/chat/completions`, JSON or SSE.

Checks the rules a translation can break (tool messages answer a preceding `tool_calls`, every
call gets an answer, `arguments` is a string) with the real API's messages. Also what every other
OpenAI operation the fake serves shares: the error shape, the key check, the first checks of a
JSON body, and the frame of a handler (`operation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from aiohttp import web

from llmswitch.dialects.sse import DONE, encode_data
from llmswitch.fake_upstream.answer import Answer, Prompt, Usage, result_text
from llmswitch.fake_upstream.dialect import Rejected, Reply
from llmswitch.fake_upstream.directives import Directive, DirectiveError
from llmswitch.fake_upstream.handling import JSON, STATE, before_answer, directive_of

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_INSTRUCTION_ROLES = ("system", "developer")


def _error_type(status: int) -> tuple[str, str | None]:
    if status == 429:
        return "requests", "rate_limit_exceeded"
    if status == 401:
        return "invalid_request_error", "invalid_api_key"
    if status >= 500:
        return "server_error", None
    return "invalid_request_error", None


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    """OpenAI's error shape, shared by every OpenAI operation the fake serves."""
    kind, code = _error_type(status)
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


def require_key(request: web.Request) -> None:
    if not request.headers.get("authorization"):
        raise Rejected(401, "You didn't provide an API key. You need to provide your API key in an "
                            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")


def rejected(exc: Rejected, headers: dict[str, str]) -> web.Response:
    return web.Response(status=exc.status, body=error_body(exc.status, exc.message, exc.param), content_type=JSON,
                        headers=headers)


def checked_model(body: Any, fields: set[str]) -> str:
    """What the real API checks first of a JSON body: an object, of known FIELDS only, naming a model."""
    if not isinstance(body, dict):
        raise Rejected(400, "We could not parse the JSON body of your request.")
    for name in body:
        if name not in fields:
            raise Rejected(400, f"Unrecognized request argument supplied: {name}", name)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Rejected(400, "you must provide a model parameter", "model")
    return model


Checked = TypeVar("Checked")


def operation(check: Callable[[web.Request], Awaitable[tuple[Checked, str]]],
              answer: Callable[[web.Request, dict[str, str], Checked, str, Directive], Awaitable[web.StreamResponse]],
              ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of an OpenAI operation other than chat. CHECK reads the request as the real API
    does and returns it checked, with the text a directive may ride in; the key, the directive and
    the faults before the first byte are dealt with here, each refusal in OpenAI's error shape; then
    ANSWER gets the response headers, the checked request, that text without its directive and the
    directive left to obey."""
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        headers = {"x-fake-upstream": state.options.name}
        try:
            if state.options.require_auth:
                require_key(request)
            checked, text = await check(request)
            stripped, directive = directive_of(request, text)
        except Rejected as exc:
            return rejected(exc, headers)
        except DirectiveError as exc:
            return rejected(Rejected(400, str(exc)), headers)
        directive, refused = await before_answer(request, directive, headers, error_body)
        if refused is not None:
            return refused
        return await answer(request, headers, checked, stripped, directive)

    return handle


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class OpenAIChat:
    tool_id_prefix = "call_{n}_"

    def __init__(self, require_auth: bool):
        self.require_auth = require_auth

    def inspect(self, request: web.Request, body: Any) -> Prompt:
        if self.require_auth:
            require_key(request)
        if not isinstance(body, dict):
            raise Rejected(400, "We could not parse the JSON body of your request.")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise Rejected(400, "you must provide a model parameter")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise Rejected(400, "Missing required parameter: 'messages'.")
        chars = _check_messages(messages)
        messages = _without_trailing_instructions(messages)
        last = messages[-1]
        if last.get("role") == "tool":
            results = []
            for message in reversed(messages):
                if message.get("role") != "tool":
                    break
                results.append(result_text(message.get("content")))
            return Prompt("", results[::-1], chars, model)
        return Prompt(_text(last.get("content")) if last.get("role") == "user" else "", [], chars, model)

    def wants_stream(self, request: web.Request, body: dict[str, Any]) -> bool:
        return body.get("stream") is True

    def error_body(self, status: int, message: str) -> bytes:
        return error_body(status, message)

    def stream_error(self, status: int, message: str) -> bytes:
        return encode_data(orjson.loads(self.error_body(status, message)))

    def render(self, answer: Answer, prompt: Prompt, reply: Reply) -> bytes:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
        }
        if answer.thinking:
            message["reasoning_content"] = answer.thinking
        if answer.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
                for c in answer.tool_calls
            ]
        return orjson.dumps({
            "id": f"chatcmpl-fake{reply.number}", "object": "chat.completion", "created": reply.created,
            "model": prompt.model, "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish}],
            "usage": _usage(answer.usage),
        })

    def frames(self, answer: Answer, prompt: Prompt, reply: Reply, body: dict[str, Any]) -> list[bytes]:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head: dict[str, Any] = {"id": f"chatcmpl-fake{reply.number}", "object": "chat.completion.chunk",
                                "created": reply.created, "model": prompt.model, "system_fingerprint": None}
        if include_usage:
            head["usage"] = None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return encode_data({**head, "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({}) for _ in range(answer.blank_frames)]
        out += [chunk({"reasoning_content": piece}) for piece in answer.thinking_pieces]
        out += [chunk({"content": piece}) for piece in answer.pieces]
        for index, call in enumerate(answer.tool_calls):
            out.append(chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                              "function": {"name": call.name, "arguments": ""}}]}))
            args = call.arguments_json
            for piece in (args[: len(args) // 2], args[len(args) // 2:]) if len(args) > 2 else (args,):
                out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        out.append(chunk({}, answer.finish))
        if include_usage:
            out.append(encode_data({**head, "choices": [], "usage": _usage(answer.usage)}))
        out.append(DONE)
        return out


def _without_trailing_instructions(messages: list[Any]) -> list[Any]:
    """The conversation up to its last turn, without the system or developer messages after that turn.

    Instructions are not a turn: Claude Code, on a model it does not know, sends its environment as a
    system message after the user's prompt, and that must hide neither the directive nor tool results.
    """
    end = len(messages)
    while end > 1 and messages[end - 1].get("role") in _INSTRUCTION_ROLES:
        end -= 1
    return messages[:end]


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.prompt + usage.completion,
        "prompt_tokens_details": {"cached_tokens": usage.cached, "cache_write_tokens": usage.cache_write},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    }


def _check_messages(messages: list[Any]) -> int:
    """Validate roles and the tool-call pairing; return the characters of input text."""
    chars = 0
    awaiting: set[str] = set()  # call ids of the last assistant turn still without a tool message
    answerable: set[str] | None = None  # call ids a tool message may answer here
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise Rejected(400, f"Invalid type for 'messages[{i}]': expected an object.")
        role = message.get("role")
        if role not in _ROLES:
            raise Rejected(400, f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                                f"'user', 'function', 'tool', and 'developer'.")
        content = message.get("content")
        chars += len(content) if isinstance(content, str) else len(_text(content))
        if role == "tool":
            call_id = message.get("tool_call_id")
            if answerable is None or call_id not in answerable:
                raise Rejected(400, "Invalid parameter: messages with role 'tool' must be a response to a "
                                    "preceeding message with 'tool_calls'.")
            awaiting.discard(call_id)
            continue
        if awaiting:
            raise Rejected(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                                f"response messages: {', '.join(sorted(awaiting))}")
        answerable = None
        if role == "assistant" and message.get("tool_calls"):
            answerable = set()
            for j, call in enumerate(message["tool_calls"]):
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(call.get("id"), str):
                    raise Rejected(400, f"Missing required parameter: 'messages[{i}].tool_calls[{j}].id'.")
                if not isinstance(function.get("arguments"), str):
                    raise Rejected(400, f"Invalid type for 'messages[{i}].tool_calls[{j}].function.arguments':"
                                        " expected a string, but got an object instead.")
                chars += len(function["arguments"]) + len(str(function.get("name", "")))
                answerable.add(call["id"])
            awaiting = set(answerable)
    if awaiting:
        raise Rejected(400, "An assistant message with 'tool_calls' must be followed by tool messages "
                            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                            f"response messages: {', '.join(sorted(awaiting))}")
    return chars
