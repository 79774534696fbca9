"""Virtual keys made through a gateway's admin API, and SDK clients that each hold a fresh one."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import openai

OpenAIClients = Callable[..., openai.OpenAI]


def admin_key(gateway_url: str, master: str, **fields: Any) -> dict[str, Any]:
    """A new virtual key, FIELDS its name, limits and scope: the record, with its value as `key`."""
    request = urllib.request.Request(f"{gateway_url}/admin/api/keys", method="POST",
                                     data=json.dumps({"name": "test", **fields}).encode(),
                                     headers={"authorization": f"Bearer {master}", "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def openai_clients(gateway_url: str, master: str, timeout: float) -> OpenAIClients:
    """Makes openai SDK clients of the gateway under a prefix ("/v1" unless given), each with a key of
    its own (the keyword arguments its limits and scope), so no test spends another's limits."""
    def make(prefix: str = "/v1", **key_fields: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=gateway_url + prefix, api_key=admin_key(gateway_url, master, **key_fields)["key"],
                             max_retries=0, timeout=timeout)
    return make
