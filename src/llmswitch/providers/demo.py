"""The built-in demo provider: answers in-process, with no network and no API key.

It echoes the last user message, so a newcomer's first request shows the whole path working.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from llmswitch.dialects.openai import completion_to_chunks
from llmswitch.providers.base import Provider, UpstreamCall, UpstreamReply, UpstreamStream
from llmswitch.providers.endpoints import Endpoint


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class DemoProvider(Provider):
    dialect = "openai"
    endpoints = (Endpoint("chat", "", stream="sse"),)  # answered in-process: no URL

    def _completion(self, call: UpstreamCall) -> dict[str, Any]:
        messages = call.body.get("messages") or []
        text = _last_user_text(messages)
        answer = f"You said: {text}" if text else "Hello from llmswitch's demo model."
        prompt = sum(_estimate_tokens(str(m.get("content") or "")) for m in messages)
        completion = _estimate_tokens(answer)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.body.get("model", "demo-echo"),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": answer, "refusal": None}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        return UpstreamReply(200, self._completion(call))

    async def stream(self, call: UpstreamCall) -> UpstreamStream:
        chunks = completion_to_chunks(self._completion(call))

        async def batches() -> AsyncIterator[list[dict[str, Any]]]:
            yield chunks

        return UpstreamStream(batches())
