"""`POST /openai` and `POST /chatgpt`: chat for clients of the proxies we replace.

`/openai` is a Chat Completions body plus the compat fields (`surfaces.compat.keyed`) and an
optional `image` (`{"url": ...}` or `{"base64": ...}`), attached as an image part to the last
message when it is the user's (else in a new user message after it), validated as
/v1/chat/completions validates and answered as it answers. It does not stream: `stream: true` is a
400, as it was there.

`/chatgpt` takes a `prompt` (one user message), an optional `model` (else `default_model`) and
the Chat Completions options in `OPTIONS` (sampling, limits, `user`), and answers what the `chatgpt` npm library's `sendMessage` gave the
clients of those proxies, `{id, role, text, detail}` (`text` the reply, `detail` the whole Chat
Completions answer), with the answer's `model` and `usage` beside them. Other fields are ignored,
as they were there.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from llmswitch.core.operations import CHAT
from llmswitch.dialects.estimate import max_output_tokens, prompt_estimate
from llmswitch.errors import invalid
from llmswitch.surfaces.body import read_json_object
from llmswitch.surfaces.compat.keyed import admit, serve
from llmswitch.surfaces.openai_chat import validate_chat_request
from llmswitch.web.context import GATEWAY

OPTIONS = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty",
            "stop", "seed", "user", "reasoning_effort")
# A bare base64 image is sent as a data URL; its first bytes tell its type (Anthropic and Gemini
# refuse an image whose declared type is not its own). What none of these start is sent as PNG.
IMAGE_SIGNATURES = (("iVBORw0KGgo", "image/png"), ("/9j/", "image/jpeg"), ("R0lGOD", "image/gif"),
                    ("UklGR", "image/webp"))


def image_part(image: Any) -> dict[str, Any]:
    """The `image_url` content part for the compat `image` field, or the client's 400."""
    url = image.get("url") if isinstance(image, dict) else None
    data = image.get("base64") if isinstance(image, dict) else None
    if isinstance(url, str) and url:
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(data, str) and data:
        if not data.startswith("data:"):
            media = next((kind for start, kind in IMAGE_SIGNATURES if data.startswith(start)), "image/png")
            data = f"data:{media};base64,{data}"
        return {"type": "image_url", "image_url": {"url": data}}
    raise invalid("Invalid 'image': must be an object with a non-empty 'url' or 'base64' string.", param="image",
                  code="invalid_value")


def attach_image(messages: list[dict[str, Any]], part: dict[str, Any]) -> None:
    """PART at the end of the last message if it is the user's, else in a user message of its own."""
    last = messages[-1]
    if last.get("role") != "user":
        messages.append({"role": "user", "content": [part]})
        return
    content = last.get("content")
    if isinstance(content, str):
        last["content"] = [{"type": "text", "text": content}, part]
    elif isinstance(content, list):
        last["content"] = [*content, part]
    else:
        last["content"] = [part]


async def openai_chat(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request, any_type=True)
    keyed = await admit(request, body, "body")
    image = body.pop("image", None)
    if body.get("stream") is True:
        raise invalid("Streaming is not supported on /openai: send `stream: false`, or use /v1/chat/completions.",
                      param="stream", code="unsupported_parameter")
    validate_chat_request(body)
    if image is not None:
        attach_image(body["messages"], image_part(image))
    return await serve(request, keyed, CHAT, body, prompt_estimate=prompt_estimate(body),
                       max_output=max_output_tokens(body))


def chatgpt_answer(completion: dict[str, Any]) -> dict[str, Any]:
    """The `/chatgpt` answer made of a Chat Completions answer."""
    choices = completion.get("choices")
    message = choices[0].get("message") if isinstance(choices, list) and choices else None
    message = message if isinstance(message, dict) else {}
    text = message.get("content")
    return {"id": completion.get("id"), "role": message.get("role") or "assistant",
            "text": text if isinstance(text, str) else "", "model": completion.get("model"),
            "usage": completion.get("usage"), "detail": completion}


async def chatgpt(request: web.Request) -> web.StreamResponse:
    body = await read_json_object(request, any_type=True)
    keyed = await admit(request, body, "body")
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise invalid("Missing required parameter: 'prompt' (a string).", param="prompt",
                      code="missing_required_parameter" if prompt is None else "invalid_type")
    model = body.get("model")
    if model is None:
        model = request.app[GATEWAY].config.default_model
        if model is None:
            raise invalid("Missing required parameter: 'model' (no default_model is configured).", param="model",
                          code="missing_required_parameter")
    chat = {"model": model, "messages": [{"role": "user", "content": prompt}],
            **{name: body[name] for name in OPTIONS if name in body}}
    validate_chat_request(chat)
    response = await serve(request, keyed, CHAT, chat, prompt_estimate=prompt_estimate(chat),
                           max_output=max_output_tokens(chat))
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)  # never streamed
    response.body = orjson.dumps(chatgpt_answer(orjson.loads(response.body)))
    return response
