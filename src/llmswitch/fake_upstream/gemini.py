"""Google Gemini as the real API speaks it: `models/{m}:generateContent` and `:streamGenerateContent`.

A stream is data-only SSE frames (`alt=sse`, the only stream form the fake serves), each a whole
GenerateContentResponse, with no terminator. Like the real API the fake rejects unknown
top-level fields and `additionalProperties`/`$schema` in function parameters (a proto parse
error), and a function-response turn whose count differs from the preceding calls.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from llmswitch.dialects.sse import encode_data
from llmswitch.fake_upstream.anthropic import signature
from llmswitch.fake_upstream.answer import Answer, Prompt, Usage, result_text
from llmswitch.fake_upstream.dialect import Rejected, Reply

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
                 501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
_FIELDS = {"contents", "systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config",
           "generationConfig", "generation_config", "safetySettings", "safety_settings", "cachedContent",
           "cached_content", "labels", "model"}
_FORBIDDEN_SCHEMA_KEYS = ("additionalProperties", "$schema")


def unknown_field(name: str, at: str | None = None) -> Rejected:
    where = f" at '{at}'" if at else ""
    return Rejected(400, f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.')


def error_body(status: int, message: str) -> bytes:
    return orjson.dumps({"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}})


def require_key(request: web.Request) -> None:
    if not (request.headers.get("x-goog-api-key") or request.query.get("key")):
        raise Rejected(403, "Method doesn't allow unregistered callers (callers without established "
                            "identity). Please use API Key or other form of API consumer identity to call "
                            "this API.")


class GeminiGenerate:
    tool_id_prefix = ""  # the Gemini API sends calls without ids

    def __init__(self, require_auth: bool):
        self.require_auth = require_auth

    def inspect(self, request: web.Request, body: Any) -> Prompt:
        if self.require_auth:
            require_key(request)
        if not isinstance(body, dict):
            raise Rejected(400, "Invalid JSON payload received.")
        for name in body:
            if name not in _FIELDS:
                raise unknown_field(name)
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise Rejected(400, "* GenerateContentRequest.contents: contents is not specified")
        _check_tools(body.get("tools"))
        chars = _check_contents(contents)
        system = body.get("systemInstruction") or body.get("system_instruction")
        if isinstance(system, dict):
            chars += sum(len(p.get("text", "")) for p in system.get("parts", []) if isinstance(p, dict))
        model = request.match_info["model"]
        last = contents[-1]
        if last.get("role", "user") != "user":
            return Prompt("", [], chars, model)
        parts = last["parts"]
        text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
        results = [result_text((p.get("functionResponse") or p.get("function_response")).get("response"))
                   for p in parts if p.get("functionResponse") or p.get("function_response")]
        return Prompt(text, results, chars, model)

    def wants_stream(self, request: web.Request, body: dict[str, Any]) -> bool:
        if request.match_info["method"] != "streamGenerateContent":
            return False
        if request.query.get("alt") != "sse":
            raise Rejected(400, "the fake upstream streams only with alt=sse (a JSON array stream is not served)")
        return True

    def error_body(self, status: int, message: str) -> bytes:
        return error_body(status, message)

    def stream_error(self, status: int, message: str) -> bytes:
        return encode_data(orjson.loads(self.error_body(status, message)))

    def render(self, answer: Answer, prompt: Prompt, reply: Reply) -> bytes:
        parts = [{"text": answer.thinking, "thought": True}] if answer.thinking else []
        if answer.text:
            parts.append({"text": answer.text})
        parts += _calls(answer)
        _sign(parts, answer)
        return orjson.dumps(_response(parts, _finish(answer), _usage(answer.usage), prompt, reply))

    def frames(self, answer: Answer, prompt: Prompt, reply: Reply, body: dict[str, Any]) -> list[bytes]:
        chunks: list[list[dict[str, Any]]] = [[{"text": p, "thought": True}] for p in answer.thinking_pieces]
        chunks += [[{"text": p}] for p in answer.pieces]
        calls = _calls(answer)
        if calls or not chunks:
            chunks.append(calls or [{"text": ""}])  # parallel calls arrive whole, together, in one chunk
        _sign([part for parts in chunks for part in parts], answer)
        running = {"promptTokenCount": answer.usage.prompt, "totalTokenCount": answer.usage.prompt}
        blank: list[list[dict[str, Any]]] = [[] if i % 2 == 0 else [{"text": ""}] for i in range(answer.blank_frames)]
        out = [_response(parts, None, running, prompt, reply) for parts in blank + chunks[:-1]]
        out.append(_response(chunks[-1], _finish(answer), _usage(answer.usage), prompt, reply))
        return [encode_data(o) for o in out]


def _response(parts: list[dict[str, Any]], finish: str | None, usage: dict[str, int], prompt: Prompt,
              reply: Reply) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": prompt.model,
            "responseId": f"fake{reply.number}"}


def _calls(answer: Answer) -> list[dict[str, Any]]:
    out = []
    for call in answer.tool_calls:
        function: dict[str, Any] = {"name": call.name, "args": call.arguments}
        if call.id:
            function["id"] = call.id
        out.append({"functionCall": function})
    return out


def _sign(parts: list[dict[str, Any]], answer: Answer) -> None:
    """With thinking on, the real API signs the first call (else the first answer part); clients send it back."""
    if not answer.thinking:
        return
    answer_parts = [p for p in parts if not p.get("thought")]
    signed = next((p for p in answer_parts if "functionCall" in p), answer_parts[0] if answer_parts else None)
    if signed is not None:
        signed["thoughtSignature"] = signature(answer.thinking)


def _finish(answer: Answer) -> str:
    return _FINISH.get(answer.finish, answer.finish)


def _usage(usage: Usage) -> dict[str, int]:
    out = {"promptTokenCount": usage.prompt, "candidatesTokenCount": usage.completion - usage.reasoning,
           "totalTokenCount": usage.prompt + usage.completion}
    if usage.reasoning:
        out["thoughtsTokenCount"] = usage.reasoning
    if usage.cached:
        out["cachedContentTokenCount"] = usage.cached
    return out


def _check_tools(tools: Any) -> None:
    for i, tool in enumerate(tools or ()):
        declarations = tool.get("functionDeclarations") or tool.get("function_declarations") or ()
        for j, declaration in enumerate(declarations):
            if "parameters" in declaration:
                _check_schema(declaration["parameters"], f"tools[{i}].function_declarations[{j}].parameters")


def _check_schema(schema: Any, at: str) -> None:
    """The `parameters` field is a proto Schema: JSON Schema keywords it lacks are parse errors."""
    if not isinstance(schema, dict):
        return
    for key in _FORBIDDEN_SCHEMA_KEYS:
        if key in schema:
            raise unknown_field(key, at)
    for n, sub in enumerate((schema.get("properties") or {}).values()):
        _check_schema(sub, f"{at}.properties[{n}].value")
    if "items" in schema:
        _check_schema(schema["items"], f"{at}.items")
    for n, sub in enumerate(schema.get("anyOf") or ()):
        _check_schema(sub, f"{at}.any_of[{n}]")


def _check_contents(contents: list[Any]) -> int:
    """Validate roles, parts and call/response counts; return the characters of input text."""
    chars = 0
    open_calls = 0
    for i, content in enumerate(contents):
        role = content.get("role", "user") if isinstance(content, dict) else None
        if role not in ("user", "model"):
            raise Rejected(400, "Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise Rejected(400, f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.")
        responses = calls = 0
        for part in parts:
            chars += len(part.get("text", ""))
            if part.get("functionCall") or part.get("function_call"):
                calls += 1
            response = part.get("functionResponse") or part.get("function_response")
            if response:
                responses += 1
                chars += len(result_text(response.get("response")))
        if open_calls and responses != open_calls:
            raise Rejected(400, "Please ensure that the number of function response parts is equal to the "
                                "number of function call parts of the function call turn.")
        open_calls = calls if role == "model" else 0
    return chars
