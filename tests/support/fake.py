"""Reading what the fake upstream received, for tests that assert on the forwarded request."""

from __future__ import annotations

import json
import urllib.request
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
