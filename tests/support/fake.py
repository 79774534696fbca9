"""Steering the fake upstream and reading what it received, for tests that assert on the forwarded request."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any


def fake_get(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=5) as response:
        return json.loads(response.read())


def received(fake_url: str, marker: str) -> list[dict[str, Any]]:
    """Requests the fake recorded whose body mentions MARKER (each test uses its own marker)."""
    return [r for r in fake_get(fake_url, "/_fake/requests") if marker in json.dumps(r.get("body"))]


def fake_directive(**directive: Any) -> str:
    """Text that makes the fake upstream behave as DIRECTIVE says (see llmswitch.fake_upstream)."""
    return "!fake" + json.dumps(directive)


def tag() -> str:
    """A marker of one test's own, to find its requests among those the fake recorded."""
    return f"m-{uuid.uuid4().hex[:10]}"


def say(marker: str, **directive: Any) -> list[dict[str, str]]:
    """One user message holding MARKER, and DIRECTIVE for the fake when one is given."""
    return [{"role": "user", "content": marker + (" " + fake_directive(**directive) if directive else "")}]
