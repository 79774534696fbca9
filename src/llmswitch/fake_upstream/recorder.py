"""What tests read back: the requests as they arrived, and counters a gateway test asserts on.

Bounded so a benchmark run of millions of requests keeps memory flat; the counters are cheap
integers updated inline.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any


class Recorder:
    __slots__ = ("requests", "per_path", "in_flight", "disconnects", "total")

    def __init__(self, limit: int):
        self.requests: deque[dict[str, Any]] = deque(maxlen=limit)
        self.per_path: Counter[str] = Counter()
        self.in_flight = 0
        self.disconnects = 0  # clients that went away before their answer was complete
        self.total = 0

    def record(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: Any) -> dict[str, Any]:
        """Keep one request; the entry is returned so a handler that streams the body can describe it."""
        self.total += 1
        self.per_path[path] += 1
        entry = {"method": method, "path": path, "query": query, "headers": headers, "body": body}
        self.requests.append(entry)
        return entry

    def clear(self) -> None:
        """Forget recorded requests and counts; in-flight requests stay counted until they end."""
        self.requests.clear()
        self.per_path.clear()
        self.disconnects = 0
        self.total = 0

    def stats(self) -> dict[str, Any]:
        return {"total": self.total, "paths": dict(self.per_path), "in_flight": self.in_flight,
                "disconnects": self.disconnects}
