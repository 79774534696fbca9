"""Virtual key format, hashing and model allow-lists."""

from __future__ import annotations

import hashlib
import hmac
import time

import msgspec
import pytest

from llmswitch.config import parse_config
from llmswitch.core.keys import (ALPHABET, KeyFields, ModelMatcher, hash_key, new_record, revoked, rotated,
                                 server_secret, updated)

SECRET = b"secret"


def test_a_key_is_the_prefix_and_43_base62_characters() -> None:
    _record, key = new_record(KeyFields(), SECRET, "sk-llms-")
    assert key.startswith("sk-llms-")
    body = key[len("sk-llms-"):]
    assert len(body) == 43 and set(body) <= set(ALPHABET)


def test_keys_are_unique() -> None:
    assert len({new_record(KeyFields(), SECRET, "sk-")[1] for _ in range(200)}) == 200


def test_the_record_keeps_a_keyed_hash_and_a_visible_prefix_never_the_key() -> None:
    record, key = new_record(KeyFields(), SECRET, "sk-llms-")
    assert record.key_hash == hash_key(SECRET, key) != hash_key(b"other secret", key)
    assert key.startswith(record.key_prefix) and len(record.key_prefix) == len("sk-llms-") + 6
    assert key not in msgspec.json.encode(record).decode()


def test_the_key_hash_is_hmac_sha256_under_the_derived_key() -> None:
    derived = hmac.new(SECRET, b"llmswitch/key-hash", hashlib.sha256).digest()
    for key in ("sk-llms-abc", "x" * 100, "ключ"):
        assert hash_key(SECRET, key) == hmac.new(derived, key.encode(), hashlib.sha256).hexdigest()


def test_rotation_keeps_the_id_and_changes_the_hash() -> None:
    record, key = new_record(KeyFields(name="a"), SECRET, "sk-")
    new, new_key = rotated(record, SECRET, "sk-")
    assert new.id == record.id and new.name == "a"
    assert new_key != key and new.key_hash == hash_key(SECRET, new_key)


def test_an_update_is_validated_and_names_the_bad_field() -> None:
    record, _ = new_record(KeyFields(), SECRET, "sk-")
    assert updated(record, {"rpm": 7}).rpm == 7
    with pytest.raises(msgspec.ValidationError, match="rpm"):
        updated(record, {"rpm": 0})
    with pytest.raises(msgspec.ValidationError, match="budget_period"):
        updated(record, {"budget_period": "hourly"})


@pytest.mark.parametrize(("fields", "reason"), [
    ({"disabled": True}, "disabled"),
    ({"expires_at": 1.0}, "expired"),
])
def test_disabled_and_expired_keys_are_refused(fields: dict, reason: str) -> None:
    record, _ = new_record(msgspec.convert(fields, KeyFields), SECRET, "sk-")
    assert reason in (record.refusal(time.time()) or "")


def test_a_revoked_key_is_refused() -> None:
    record, _ = new_record(KeyFields(), SECRET, "sk-")
    assert "revoked" in (revoked(record).refusal(time.time()) or "")


def test_a_key_expiring_later_is_usable() -> None:
    record, _ = new_record(KeyFields(expires_at=time.time() + 60), SECRET, "sk-")
    assert record.refusal(time.time()) is None


def test_models_match_by_name_and_glob_and_empty_means_all() -> None:
    matcher = ModelMatcher(["gpt-4o", "claude-*"])
    assert matcher("gpt-4o") and matcher("claude-sonnet-4")
    assert not matcher("gpt-4o-mini")
    assert ModelMatcher([])("anything")


def test_the_secret_comes_from_config_then_env_then_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSWITCH_SECRET", "from-env")
    assert server_secret(parse_config("auth: {secret: s, master_key: m}")) == b"s"
    assert server_secret(parse_config("auth: {master_key: m}")) == b"from-env"
    monkeypatch.delenv("LLMSWITCH_SECRET")
    assert server_secret(parse_config("auth: {master_key: m}")) == b"m"
