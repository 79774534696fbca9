"""The budget alerts' webhook calls: signed, retried with exponential backoff, never on a request's path.

What a receiver gets (README, "Budget alerts"): `POST` of the alert's JSON, the same bytes on every
attempt, with `x-llmswitch-timestamp` (unix seconds of this attempt) and `x-llmswitch-signature:
sha256=<hex>`, the HMAC-SHA256 under `alerts.webhook.secret` of the timestamp, a full stop and the
body. The timestamp is signed with the body, so that a receiver refusing old timestamps cannot be
replayed a call someone recorded; a signature of the body alone would leave the timestamp forgeable.

The calls run from the database's outbox (`store.alerts`): each attempt is claimed by one process for
its timeout and a margin, its outcome written back, and the next one (after a failure, a timeout or a
non-2xx answer) is due `retry_s` later, doubling each time, until `max_attempts` have failed. So a
webhook that is down costs the requests nothing, an alert waiting for its next attempt outlives the
process that made the last one (any process of the deployment, this one restarted included, makes it),
and one stopping gives back the calls still in progress after a short grace. A call whose answer was lost (the process
died while the receiver took it) is made again: delivery is at least once, and the body's `id` lets a
receiver drop a repeat.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from llmswitch.config import WebhookConfig
from llmswitch.providers.http import HTTPClient, Timeouts, TransportError
from llmswitch.store.alerts import AlertRepository, Attempt

log = logging.getLogger("llmswitch.alerts")
SIGNATURE = "x-llmswitch-signature"
TIMESTAMP = "x-llmswitch-timestamp"
MAX_IN_FLIGHT = 8  # calls at once per process: a receiver that hangs holds no more than these
MAX_DELAY_S = 3600.0  # between two attempts, however many failed
LEASE_MARGIN_S = 30.0  # beyond an attempt's timeout, before another process may take it over
STOP_GRACE_S = 2.0  # a stopping process waits this long for the calls in progress
MAX_ANSWER = 1 << 16  # bytes of a receiver's answer read (its status is all that counts)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `x-llmswitch-signature` of BODY sent at TIMESTAMP."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def retry_delay(first_s: float, failed: int) -> float:
    """Seconds from the FAILED-th failed attempt to the next: FIRST_S, doubled for each one before."""
    return min(MAX_DELAY_S, first_s * 2.0 ** min(failed - 1, 64))


class Webhook:
    """The webhook of `alerts.webhook`, called from the outbox of ALERTS."""

    def __init__(self, config: WebhookConfig, alerts: AlertRepository, clock: Callable[[], float] = time.time):
        self.config = config
        self.alerts = alerts
        self.clock = clock
        parts = urlsplit(config.url)
        self.url = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self.headers = {"content-type": "application/json", "user-agent": "llmswitch-alerts", **config.headers}
        self.password = unquote(parts.password or "")
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{self.password}".encode()
            self.headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
        self.client = HTTPClient(max_body=MAX_ANSWER)
        self._calls: dict[str, asyncio.Task[None]] = {}

    def credentials(self) -> list[str]:
        """What must never be written anywhere: the secret, the URL (its path may be a token), the headers."""
        return [self.config.secret, self.config.url, self.url, self.password, *self.config.headers.values(),
                self.headers.get("authorization", "")]

    async def pump(self) -> None:
        """Start the calls now due, as many as there is room for."""
        room = MAX_IN_FLIGHT - len(self._calls)
        if room <= 0:
            return
        for attempt in await self.alerts.take_due(self.clock(), self.config.timeout_s + LEASE_MARGIN_S, room):
            task = asyncio.create_task(self._call(attempt))
            self._calls[attempt.id] = task
            task.add_done_callback(lambda _task, alert_id=attempt.id: self._calls.pop(alert_id, None))

    async def send(self, body: bytes) -> str | None:
        """One call with BODY: None when the receiver took it (a 2xx), else what went wrong, fit for a log."""
        timestamp = str(int(self.clock()))
        headers = {**self.headers, TIMESTAMP: timestamp, SIGNATURE: signature(self.config.secret, timestamp, body)}
        limit = self.config.timeout_s
        try:  # the client bounds the whole attempt, from connecting to the answer's status
            response = await self.client.post(self.url, body, headers, Timeouts(limit, limit, limit, limit))
            response.close()
        except TransportError as error:
            return error.kind
        except OSError as error:
            return type(error).__name__
        return None if 200 <= response.status < 300 else f"status {response.status}"

    async def _call(self, attempt: Attempt) -> None:
        error = await self.send(attempt.body.encode())
        now = self.clock()
        try:
            if error is None:
                await self.alerts.sent(attempt.id, now)
                return
            retry_at = None
            if attempt.attempts < self.config.max_attempts:
                retry_at = now + retry_delay(self.config.retry_s, attempt.attempts)
                log.warning("budget alert %s: webhook attempt %d of %d failed (%s); next in %.0fs", attempt.id,
                            attempt.attempts, self.config.max_attempts, error, retry_at - now)
            else:
                log.error("budget alert %s: not delivered, all %d webhook attempts failed (the last: %s)",
                          attempt.id, attempt.attempts, error)
            await self.alerts.failed(attempt.id, error, retry_at, now)
        except Exception as failure:  # the claim lapses and the attempt is made again
            log.warning("budget alert %s: the outcome of its webhook call could not be recorded (%s)",
                        attempt.id, type(failure).__name__)

    async def stop(self) -> None:
        """Let the calls in progress end within STOP_GRACE_S (an answer that came is recorded, not sent
        again), end the others and give their attempts back, for the next process to make."""
        if self._calls:
            await asyncio.wait(list(self._calls.values()), timeout=STOP_GRACE_S)
        calls = list(self._calls.items())
        for _alert_id, task in calls:
            task.cancel()
        await asyncio.gather(*(task for _alert_id, task in calls), return_exceptions=True)
        try:
            await self.alerts.release([alert_id for alert_id, _task in calls])
        except Exception as failure:  # their claims lapse instead
            log.warning("budget alerts: calls in progress could not be given back (%s)", type(failure).__name__)
        await self.client.close()
