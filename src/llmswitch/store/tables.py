"""The tables, as SQLAlchemy Core metadata (the migrations under `migrations/` create them).

Times are unix seconds in float columns: the same on SQLite and PostgreSQL, and what the
rest of the gateway already uses.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

virtual_keys = Table(
    "virtual_keys", metadata,
    Column("id", String(40), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("key_prefix", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("models", JSON, nullable=False),
    Column("rpm", Integer),
    Column("tpm", Integer),
    Column("max_concurrent", Integer),
    Column("budget_usd", Float),
    Column("budget_tokens", BigInteger),
    Column("budget_period", String(16), nullable=False),
    Column("expires_at", Float),
    Column("disabled", Boolean, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

upstream_keys = Table(
    "upstream_keys", metadata,
    Column("id", String(40), primary_key=True),
    Column("provider", String(200), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("hint", String(16), nullable=False),  # last characters, so people can tell keys apart
    Column("created_at", Float, nullable=False),
)

usage_records = Table(
    "usage_records", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", String(100), nullable=False),
    Column("key_id", String(40)),
    Column("model", String(200), nullable=False),
    Column("target", String(300), nullable=False),
    Column("status", Integer, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("audio_seconds", Float, nullable=False, server_default="0"),
    Column("characters", Integer, nullable=False, server_default="0"),
    Column("cost_usd", Float, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_usage_records_key_at", "key_id", "at"),
)
