"""Virtual keys: their format, their hash, and the records the rest of the gateway reads.

A key is shown once; the database keeps only an HMAC-SHA256 of it keyed with the server secret, so a
leaked table cannot be replayed, and checking a presented key costs one HMAC and one dict lookup.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import hashlib
import hmac
import os
import secrets
import string
import time
from typing import Annotated, Any

import msgspec

from llmswitch.config import Config, Period

ALPHABET = string.digits + string.ascii_letters
KEY_BYTES = 32
KEY_CHARS = 43  # 62**43 > 2**256: every 32-byte value fits
VISIBLE_CHARS = 6  # random characters kept beside the prefix, to tell keys apart in listings
Positive = Annotated[int, msgspec.Meta(ge=1)]


class KeyFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What an administrator sets on a key (admin API body, CLI options)."""

    name: str = ""
    models: list[str] = msgspec.field(default_factory=list)  # names and globs; empty: every model
    rpm: Positive | None = None
    tpm: Positive | None = None
    max_concurrent: Positive | None = None
    budget_usd: Annotated[float, msgspec.Meta(ge=0)] | None = None
    budget_tokens: Annotated[int, msgspec.Meta(ge=0)] | None = None
    budget_period: Period = "total"
    expires_at: float | None = None  # unix seconds
    disabled: bool = False
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class KeyRecord(KeyFields, kw_only=True):
    """A stored key: its settings plus identity and bookkeeping; never the key itself."""

    id: str
    key_hash: str
    key_prefix: str  # the configured prefix and the first random characters, for people
    created_at: float
    updated_at: float
    last_used_at: float | None = None
    revoked_at: float | None = None

    def public(self) -> dict[str, Any]:
        """The record as the admin API and CLI show it (no hash)."""
        out = msgspec.to_builtins(self)
        del out["key_hash"]
        return out

    def fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in KeyFields.__struct_fields__}

    def refusal(self, now: float) -> str | None:
        """Why this key cannot be used right now, or None."""
        if self.revoked_at is not None:
            return "This API key has been revoked."
        if self.disabled:
            return "This API key is disabled."
        if self.expires_at is not None and now >= self.expires_at:
            return "This API key has expired."
        return None


class ModelMatcher:
    """A key's allowed models: exact names answered by a set lookup, globs only when needed."""

    __slots__ = ("exact", "globs")

    def __init__(self, patterns: list[str]):
        self.exact = frozenset(p for p in patterns if not _is_glob(p))
        self.globs = tuple(p for p in patterns if _is_glob(p))

    def __call__(self, model: str) -> bool:
        if not self.exact and not self.globs:
            return True
        return model in self.exact or any(fnmatch.fnmatchcase(model, g) for g in self.globs)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def generate_key(prefix: str) -> str:
    """`prefix` + 32 random bytes in base62 (43 characters)."""
    number = int.from_bytes(secrets.token_bytes(KEY_BYTES), "big")
    chars = []
    while number:
        number, digit = divmod(number, 62)
        chars.append(ALPHABET[digit])
    return prefix + "".join(reversed(chars)).rjust(KEY_CHARS, "0")


def visible_prefix(key: str, prefix: str) -> str:
    return key[: len(prefix) + VISIBLE_CHARS] if key.startswith(prefix) else key[:VISIBLE_CHARS]


def server_secret(config: Config) -> bytes | None:
    """The secret keying key hashes and stored-key encryption: `auth.secret`, else LLMSWITCH_SECRET,
    else the master key (changing it then invalidates every issued key)."""
    secret = config.auth.secret or os.environ.get("LLMSWITCH_SECRET") or config.auth.master_key
    return secret.encode() if secret else None


def hash_key(secret: bytes, key: str) -> str:
    """HMAC-SHA256 of the key under a key derived from the server secret, in hex."""
    return _hasher(secret)(key)


class _KeyHasher:
    """HMAC-SHA256 with both keyed pads hashed once (RFC 2104): a check then costs two SHA-256
    copies, under half of a one-shot `hmac.digest`, which sets up its keys on every call."""

    __slots__ = ("inner", "outer")

    def __init__(self, mac_key: bytes):
        padded = mac_key.ljust(hashlib.sha256().block_size, b"\0")  # a 32-byte key needs no hashing
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def __call__(self, key: str) -> str:
        inner = self.inner.copy()
        inner.update(key.encode())
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@functools.lru_cache(maxsize=8)
def _hasher(secret: bytes) -> _KeyHasher:
    return _KeyHasher(_derive(secret, b"key-hash"))


def fernet_key(secret: bytes) -> bytes:
    """A Fernet key derived from the server secret, separate from the hashing key."""
    return base64.urlsafe_b64encode(_derive(secret, b"fernet"))


@functools.lru_cache(maxsize=8)  # on the hot path: derive once per secret
def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, b"llmswitch/" + purpose, hashlib.sha256).digest()


def new_record(fields: KeyFields, secret: bytes, prefix: str) -> tuple[KeyRecord, str]:
    """A fresh record and the key to show once."""
    key = generate_key(prefix)
    now = time.time()
    record = KeyRecord(id=f"key_{secrets.token_hex(12)}", key_hash=hash_key(secret, key),
                       key_prefix=visible_prefix(key, prefix), created_at=now, updated_at=now,
                       **_field_values(fields))
    return record, key


def rotated(record: KeyRecord, secret: bytes, prefix: str) -> tuple[KeyRecord, str]:
    """The same key (id, settings, history) with a new secret value; the old value stops working."""
    key = generate_key(prefix)
    return msgspec.structs.replace(record, key_hash=hash_key(secret, key), key_prefix=visible_prefix(key, prefix),
                                   updated_at=time.time()), key


def updated(record: KeyRecord, patch: dict[str, Any]) -> KeyRecord:
    """`record` with `patch` applied; raises msgspec.ValidationError naming a bad field."""
    fields = msgspec.convert({**record.fields(), **patch}, KeyFields)
    return msgspec.structs.replace(record, updated_at=time.time(), **_field_values(fields))


def revoked(record: KeyRecord) -> KeyRecord:
    now = time.time()
    return msgspec.structs.replace(record, revoked_at=record.revoked_at or now, updated_at=now)


def _field_values(fields: KeyFields) -> dict[str, Any]:
    return {f: getattr(fields, f) for f in KeyFields.__struct_fields__}
