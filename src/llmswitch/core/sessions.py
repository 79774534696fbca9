"""Admin sign-in sessions for the web panel: signed, expiring tokens and the CSRF token bound to each.

A session token is `<expires>.<nonce>.<mac>`: the gateway keeps no session table, so any worker or
instance sharing the secret and the master key accepts it. The MAC is keyed from the server secret
*and* the master key, so changing either ends every session at once. The CSRF token is an HMAC of the
session's nonce under a second key (a "signed double-submit" token): a page on another origin can
neither read it nor derive it, and it is worthless without the session cookie that goes with it.

Signing out forgets the token in this process (`revoke`); another worker or instance still accepts
a copy taken before sign-out until it expires, which is why sessions are short (`ui.session_hours`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

NONCE_BYTES = 16


@dataclass(frozen=True, slots=True)
class Session:
    nonce: str  # names the session (and its playground key) without revealing the token
    expires_at: int  # unix seconds


class SessionSigner:
    def __init__(self, secret: bytes, master_key: str, hours: float):
        master = hashlib.sha256(master_key.encode()).digest()
        self._mac_key = hmac.new(secret, b"llmswitch/ui-session/" + master, hashlib.sha256).digest()
        self._csrf_key = hmac.new(secret, b"llmswitch/ui-csrf/" + master, hashlib.sha256).digest()
        self.lifetime_s = int(hours * 3600)
        self._revoked: dict[str, int] = {}  # nonce -> expiry, kept until the token would expire anyway

    def issue(self, now: float | None = None) -> tuple[str, Session]:
        """A new token and what it stands for."""
        expires = int(now if now is not None else time.time()) + self.lifetime_s
        nonce = secrets.token_hex(NONCE_BYTES)
        body = f"{expires}.{nonce}"
        return f"{body}.{self._mac(body)}", Session(nonce, expires)

    def verify(self, token: str, now: float | None = None) -> Session | None:
        """The session a token stands for, or None if it is forged, malformed, expired or revoked."""
        body, _, mac = token.rpartition(".")
        expires, _, nonce = body.partition(".")
        if not (expires.isdigit() and len(nonce) == 2 * NONCE_BYTES and len(mac) == 64):
            return None
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        if int(expires) <= (now if now is not None else time.time()) or nonce in self._revoked:
            return None
        return Session(nonce, int(expires))

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.csrf_token(session).encode())

    def revoke(self, session: Session, now: float | None = None) -> None:
        now = now if now is not None else time.time()
        self._revoked = {n: e for n, e in self._revoked.items() if e > now}
        self._revoked[session.nonce] = session.expires_at

    def _mac(self, body: str) -> str:
        return hmac.new(self._mac_key, body.encode(), hashlib.sha256).hexdigest()
