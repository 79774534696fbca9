"""The tables, as SQLAlchemy Core metadata (the migrations under `migrations/` create them).

Times are unix seconds in float columns: the same on SQLite and PostgreSQL, and what the
rest of the gateway already uses.
"""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Float, Index, Integer, MetaData, PrimaryKeyConstraint,
                        String, Table, Text, UniqueConstraint, false)

from llmswitch.core.rollup import MEASURES

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

# The usage ledger: one row per request, the fields of `core.records.RequestRecord` (`at`: its start).
usage_records = Table(
    "usage_records", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("request_id", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Column("key_id", String(40)),
    Column("model", String(200), nullable=False),
    Column("provider", String(200), nullable=False, server_default=""),
    Column("upstream_model", String(200), nullable=False, server_default=""),
    Column("deployment", String(300), nullable=False),
    Column("operation", String(32), nullable=False, server_default="chat"),
    Column("dialect", String(16), nullable=False, server_default=""),
    Column("stream", Boolean, nullable=False, server_default=false()),
    Column("status", Integer, nullable=False),
    Column("error", String(32), nullable=False, server_default=""),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("cache_write_tokens", Integer, nullable=False, server_default="0"),
    Column("reasoning_tokens", Integer, nullable=False, server_default="0"),
    Column("audio_seconds", Float, nullable=False, server_default="0"),
    Column("characters", Integer, nullable=False, server_default="0"),
    Column("estimated", Boolean, nullable=False, server_default=false()),
    Column("cost_usd", Float, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("client_ip", String(64), nullable=False, server_default=""),
    Column("user_agent", String(300), nullable=False, server_default=""),
    # newest first, in a time range (`at`, then `id` among equal times), by key, by model; one request by id
    Index("ix_usage_records_at", "at", "id"),
    Index("ix_usage_records_key_at", "key_id", "at", "id"),
    Index("ix_usage_records_model_at", "model", "at", "id"),
    Index("ix_usage_records_request_id", "request_id"),
)

# The ledger summed per hour and per day (of `at`, in UTC) and key, model, provider and operation, kept
# by the writer in the transaction that adds the rows (`core.rollup` for the measures): what the usage
# queries read, the days for whole days and the hours for the rest. `start` is the period's start in
# unix seconds; `key_id` is "" for requests without a key (a row's NULL), so that the unique key holds.
def _roll_up(name: str) -> Table:
    return Table(
        name, metadata,
        Column("start", BigInteger, nullable=False),
        Column("key_id", String(40), nullable=False),
        Column("model", String(200), nullable=False),
        Column("provider", String(200), nullable=False),
        Column("operation", String(32), nullable=False),
        *(Column(measure, Float if measure in ("audio_seconds", "cost_usd") else BigInteger, nullable=False)
          for measure in MEASURES),
        PrimaryKeyConstraint("start", "key_id", "model", "provider", "operation", name=f"pk_{name}"),
    )


usage_hourly = _roll_up("usage_hourly")
usage_daily = _roll_up("usage_daily")

# The batches of ledger rows written, by the id the writer gave each: a batch is written once,
# though its commit went unacknowledged (a connection lost) or it was spilled to a file and replayed.
usage_batches = Table(
    "usage_batches", metadata,
    Column("id", String(64), primary_key=True),
    Column("at", Float, nullable=False, index=True),
)

# Responses API responses the gateway keeps (`store: true` on a translated deployment), and the
# record of those an upstream keeps (`kept` = "upstream": who made it, for the sub-operations,
# with no content). Rows belong to the key that made them (`owner`).
responses = Table(
    "responses", metadata,
    Column("id", String(200), primary_key=True),
    Column("owner", String(100), nullable=False),
    Column("model", String(200), nullable=False),
    Column("provider", String(200), nullable=False),
    Column("target", String(300), nullable=False),
    Column("kept", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response", JSON),
    Column("events", JSON),  # the stream as the client got it; null when made without streaming
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# A kept response's input items (what its model saw, the conversation before it included) and its
# output items, in order, found by id for a later request's `item_reference`.
response_items = Table(
    "response_items", metadata,
    Column("response_id", String(200), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("output", Boolean, nullable=False),
    Column("owner", String(100), nullable=False),
    Column("item_id", String(200), nullable=False),
    Column("item", JSON, nullable=False),
    Index("ix_response_items_owner_item", "owner", "item_id"),
)

# Budget alerts (`core.budget_alerts`). The spend of each budgeted subject (a key, a model) in each of
# its periods, which every gateway process adds what it served to; `since`: the counter began from the
# usage rows before this time, and counts what was served from then on.
budget_spend = Table(
    "budget_spend", metadata,
    Column("subject_kind", String(16), primary_key=True),  # "key" | "model"
    Column("subject", String(200), primary_key=True),
    Column("period_start", Float, primary_key=True),
    Column("spent_usd", Float, nullable=False),
    Column("since", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# One row per subject, period and threshold crossed, whichever process saw it first (the unique
# constraint makes the others' inserts no-ops), and the outbox of its webhook call: pending until sent,
# or failed once its attempts ran out. An attempt is claimed (`claimed_until`) so that one process
# makes it, and any process takes over the next one, after a restart too.
budget_alerts = Table(
    "budget_alerts", metadata,
    Column("id", String(40), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("period_start", Float, nullable=False),
    Column("threshold", Float, nullable=False),  # percent of the budget
    Column("body", Text, nullable=False),  # the JSON sent, the same on every attempt
    Column("status", String(16), nullable=False),  # "pending" | "sent" | "failed"
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_until", Float, nullable=False),
    Column("last_error", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("done_at", Float),
    UniqueConstraint("subject_kind", "subject", "period_start", "threshold", name="uq_budget_alerts_crossing"),
    Index("ix_budget_alerts_due", "status", "next_attempt_at"),
)
