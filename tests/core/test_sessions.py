"""Panel sessions: signed, expiring tokens and the CSRF token bound to each (core.sessions)."""

from __future__ import annotations

from llmswitch.core.sessions import SessionSigner

NOW = 1_800_000_000.0


def signer(master: str = "sk-master", hours: float = 1.0, secret: bytes = b"secret") -> SessionSigner:
    return SessionSigner(secret, master, hours)


def test_an_issued_token_verifies_until_it_expires() -> None:
    token, session = signer().issue(NOW)
    assert signer().verify(token, NOW + 3599) == session
    assert signer().verify(token, NOW + 3600) is None


def test_a_token_with_a_changed_expiry_is_refused() -> None:
    token, _ = signer().issue(NOW)
    expires, nonce, mac = token.split(".")
    assert signer().verify(f"{int(expires) + 86400}.{nonce}.{mac}", NOW) is None


def test_changing_the_master_key_or_the_secret_ends_every_session() -> None:
    token, _ = signer().issue(NOW)
    assert signer(master="sk-master-2").verify(token, NOW) is None
    assert signer(secret=b"other").verify(token, NOW) is None


def test_malformed_tokens_are_refused() -> None:
    for token in ("", "x", "1.2.3", "..", "9" * 5000, f"{int(NOW) + 60}.{'a' * 32}.{'0' * 64}"):
        assert signer().verify(token, NOW) is None


def test_a_revoked_session_is_refused_by_the_signer_that_revoked_it() -> None:
    keeper = signer()
    token, session = keeper.issue(NOW)
    keeper.revoke(session, NOW)
    assert keeper.verify(token, NOW) is None


def test_revoked_sessions_are_forgotten_once_they_would_have_expired() -> None:
    keeper = signer()
    _, old = keeper.issue(NOW)
    keeper.revoke(old, NOW)
    _, new = keeper.issue(NOW + 7200)
    keeper.revoke(new, NOW + 7200)
    assert old.nonce not in keeper._revoked and new.nonce in keeper._revoked


def test_the_csrf_token_belongs_to_one_session() -> None:
    keeper = signer()
    _, one = keeper.issue(NOW)
    _, two = keeper.issue(NOW)
    assert keeper.csrf_ok(one, keeper.csrf_token(one))
    assert not keeper.csrf_ok(one, keeper.csrf_token(two))
    assert not keeper.csrf_ok(one, None)
    assert not keeper.csrf_ok(one, "")
