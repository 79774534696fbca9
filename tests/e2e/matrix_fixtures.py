"""The cross-dialect matrix: both official SDKs against one gateway whose three providers share one fake.

Every provider type (openai, anthropic, gemini) points at the same fake upstream process, which
speaks each dialect at the URL that provider calls, so one request through the gateway shows the
whole chain: client dialect -> translation -> upstream dialect -> translation back. Each test module
starts its own pair of processes (`running_matrix`), and reads answers through `Answer`, one
client-neutral view of a ChatCompletion or a Message, so that one test body covers all six pairs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion

from tests.support.fake import received
from tests.support.processes import start_fake_upstream, start_gateway

CLIENTS = ("openai", "anthropic")
PROVIDERS = ("openai", "anthropic", "gemini")
PAIRS = [(client, provider) for client in CLIENTS for provider in PROVIDERS]
matrix_cases = pytest.mark.parametrize(("client", "provider"), PAIRS)  # every client SDK x provider
streaming = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
ANTHROPIC_MAX_TOKENS_DEFAULT = 1024

# Each client's own word for why the answer ended.
FINISH = {
    "openai": {"stop": "stop", "length": "length", "tool_calls": "tool_calls"},
    "anthropic": {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"},
}


def base_url(provider: str, fake_url: str) -> str:
    """Where each provider type expects its API root (it appends its own paths)."""
    return {"openai": f"{fake_url}/v1", "anthropic": fake_url, "gemini": f"{fake_url}/v1beta"}[provider]


def deployment(provider: str, upstream_model: str, **settings: Any) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"provider": f"p-{provider}", "model": upstream_model, **settings}
    if provider == "anthropic":
        entry.setdefault("max_tokens_default", ANTHROPIC_MAX_TOKENS_DEFAULT)
    return [entry]


def matrix_config(fake_url: str, models: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Providers p-openai, p-anthropic, p-gemini on FAKE_URL; models m-<type> plus MODELS."""
    return {
        "server": {"keepalive_s": 5},
        "providers": {
            f"p-{p}": {"type": p, "base_url": base_url(p, fake_url), "api_keys": [f"upstream-{p}-key"]}
            for p in PROVIDERS
        },
        "models": {**{f"m-{p}": deployment(p, f"up-{p}") for p in PROVIDERS}, **models},
    }


def model(provider: str) -> str:
    return f"m-{provider}"


def marker() -> str:
    """A unique word a test puts in its prompt to find its own request among those the fake recorded."""
    return f"mk{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What a client got back, whichever SDK: text, finish reason (client's words), calls, usage."""

    text: str
    finish: str | None
    calls: list[Call]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    raw: ChatCompletion | Message

    @classmethod
    def of(cls, result: ChatCompletion | Message) -> Answer:
        if isinstance(result, ChatCompletion):
            choice = result.choices[0]
            calls = [Call(c.id, c.function.name, json.loads(c.function.arguments))
                     for c in choice.message.tool_calls or [] if c.type == "function"]
            usage = result.usage
            details = usage.prompt_tokens_details if usage else None
            return cls(choice.message.content or "", choice.finish_reason, calls,
                       usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0,
                       (details.cached_tokens or 0) if details else 0, result)
        text = "".join(b.text for b in result.content if b.type == "text")
        calls = [Call(b.id, b.name, dict(b.input)) for b in result.content if b.type == "tool_use"]
        cached = result.usage.cache_read_input_tokens or 0
        # Anthropic's input_tokens excludes cached tokens; the view counts the whole prompt.
        return cls(text, result.stop_reason, calls, result.usage.input_tokens + cached,
                   result.usage.output_tokens, cached, result)


class Matrix:
    """The running fake and gateway, and one way to ask either SDK, streaming or not."""

    def __init__(self, fake_url: str, gateway_url: str):
        self.fake_url = fake_url
        self.gateway_url = gateway_url
        self.openai = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="client-key", max_retries=0,
                                    timeout=20)
        self.anthropic = anthropic.Anthropic(base_url=gateway_url, api_key="client-key", max_retries=0,
                                             timeout=20)

    def ask(self, client: str, model_name: str, stream: bool, **params: Any) -> Answer:
        """One request in CLIENT's dialect; PARAMS are that SDK's own arguments (messages, tools...).

        Streams go through the SDKs' accumulating helpers, which raise on a malformed stream.
        """
        if client == "openai":
            if stream:
                params.setdefault("stream_options", {"include_usage": True})
                with self.openai.chat.completions.stream(model=model_name, **params) as events:
                    try:
                        return Answer.of(events.get_final_completion())
                    except openai.LengthFinishReasonError as cut:  # the helper's way to report "length"
                        return Answer.of(cut.completion)
            return Answer.of(self.openai.chat.completions.create(model=model_name, **params))
        params.setdefault("max_tokens", 256)
        if stream:
            with self.anthropic.messages.stream(model=model_name, **params) as events:
                return Answer.of(events.get_final_message())
        return Answer.of(self.anthropic.messages.create(model=model_name, **params))

    def sent(self, tag: str) -> dict[str, Any]:
        """The one request the fake received that carries TAG: method, path, headers, body."""
        [request] = received(self.fake_url, tag)
        return request


@contextmanager
def running_matrix(models: dict[str, list[dict[str, Any]]] | None = None) -> Iterator[Matrix]:
    with start_fake_upstream(name="matrix-fake") as fake:
        with start_gateway(matrix_config(fake.url, models or {})) as gateway:
            yield Matrix(fake.url, gateway.url)


def user_text(text: str) -> list[dict[str, Any]]:
    """One user turn; a plain string content reads the same in both client dialects."""
    return [{"role": "user", "content": text}]


def tool_spec(client: str, name: str, properties: dict[str, Any] | None = None,
              **schema_extra: Any) -> dict[str, Any]:
    """A function tool in CLIENT's dialect with an object schema of PROPERTIES."""
    schema = {"type": "object", "properties": properties or {}, **schema_extra}
    if client == "openai":
        return {"type": "function", "function": {"name": name, "description": f"{name} tool", "parameters": schema}}
    return {"name": name, "description": f"{name} tool", "input_schema": schema}


WEATHER = {"city": {"type": "string"}}


def tools(client: str) -> list[dict[str, Any]]:
    """The two tools every tool test offers: get_weather(city) and get_time() with no arguments."""
    return [tool_spec(client, "get_weather", WEATHER), tool_spec(client, "get_time")]


def answer_turns(client: str, answer: Answer, results: dict[str, str]) -> list[dict[str, Any]]:
    """The assistant turn of ANSWER as the client replays it, then one result per call id."""
    if client == "openai":
        message = answer.raw.choices[0].message  # type: ignore[union-attr]
        assistant = message.model_dump(include={"role", "content", "tool_calls"}, exclude_none=True)
        return [assistant, *({"role": "tool", "tool_call_id": call_id, "content": text}
                             for call_id, text in results.items())]
    blocks = [block.model_dump(exclude_none=True) for block in answer.raw.content]  # type: ignore[union-attr]
    return [{"role": "assistant", "content": blocks},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": text}
                                         for call_id, text in results.items()]}]


def system_prompt_sent(provider: str, body: dict[str, Any]) -> str:
    """The system prompt as the upstream of PROVIDER type received it."""
    if provider == "openai":
        return "\n\n".join(m["content"] for m in body["messages"] if m["role"] in ("system", "developer"))
    if provider == "anthropic":
        system = body["system"]
        return system if isinstance(system, str) else "\n\n".join(b["text"] for b in system)
    return "\n\n".join(p["text"] for p in body["systemInstruction"]["parts"])
