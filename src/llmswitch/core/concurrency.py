"""The gateway-wide concurrency gate: `server.max_concurrency` requests served at once.

A request enters the gate once its body is read and its caller authenticated (`Pipeline.authorize`),
and leaves it when the app's middleware is done with it; the request is known by the surface's own
handle on it (the web request), opaque here. Counting any earlier would let clients
that never finish sending a body, or hold no key, fill the gate and shut out everyone else,
`/health` included; `/health`, the model list and other cheap routes never enter it at all.
"""

from __future__ import annotations

from llmswitch.errors import GatewayError


class ConcurrencyGate:
    def __init__(self, limit: int):
        self.limit = limit
        self._admitted: set[int] = set()  # ids of the requests holding a place

    def admit(self, request: object) -> None:
        """Count REQUEST in, or refuse it with a retryable 503 when the gate is full."""
        if len(self._admitted) >= self.limit:
            raise GatewayError(503, "The gateway is at its concurrency limit; retry shortly.", code="overloaded",
                               headers={"retry-after": "1"})
        self._admitted.add(id(request))

    @property
    def in_flight(self) -> int:
        """Requests holding a place now."""
        return len(self._admitted)

    def release(self, request: object) -> None:
        """REQUEST is finished: free its place if it had one."""
        self._admitted.discard(id(request))
