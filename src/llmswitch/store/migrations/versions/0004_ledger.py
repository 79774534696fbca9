"""The usage ledger: a row holds every field of a request's record (`core.records.RequestRecord`), hourly
and daily roll-ups beside the rows for the usage queries, the written batches' ids, and the indexes the
queries use.

Existing rows are kept: four columns take the record's names (prompt_tokens -> input_tokens,
completion_tokens -> output_tokens, target -> deployment, duration_ms -> latency_ms), the new ones
take defaults (a row's provider is read from its deployment label), and the roll-ups are computed
from them. The roll-up layout is frozen here as this revision made it (`core.rollup` may grow later,
by a migration of its own).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RENAMED = {"prompt_tokens": "input_tokens", "completion_tokens": "output_tokens", "target": "deployment",
           "duration_ms": "latency_ms"}
BOUNDS_MS = (*(m * 10.0**e for e in range(6) for m in (1, 1.5, 2, 3, 5, 7)), 1_000_000.0)
BUCKETS = len(BOUNDS_MS) + 1
SUMS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens",
        "reasoning_tokens", "audio_seconds", "characters", "cost_usd")
HISTOGRAMS = tuple(f"{kind}_{i:02d}" for kind in ("latency", "ttft") for i in range(BUCKETS))


def upgrade() -> None:
    for old, new in RENAMED.items():  # both SQLite (3.25+) and PostgreSQL rename in place
        op.execute(f"ALTER TABLE usage_records RENAME COLUMN {old} TO {new}")
    for column in (
        sa.Column("provider", sa.String(200), nullable=False, server_default=""),
        sa.Column("upstream_model", sa.String(200), nullable=False, server_default=""),
        sa.Column("operation", sa.String(32), nullable=False, server_default="chat"),
        sa.Column("dialect", sa.String(16), nullable=False, server_default=""),
        sa.Column("stream", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("error", sa.String(32), nullable=False, server_default=""),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("estimated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("ttft_ms", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("client_ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
    ):
        op.add_column("usage_records", column)
    postgres = op.get_bind().dialect.name == "postgresql"
    provider = "split_part(deployment, '/', 1)" if postgres else "substr(deployment, 1, instr(deployment, '/') - 1)"
    op.execute(f"UPDATE usage_records SET provider = {provider} WHERE deployment LIKE '%/%'")
    op.drop_index("ix_usage_records_key_at", "usage_records")
    op.create_index("ix_usage_records_key_at", "usage_records", ["key_id", "at", "id"])
    op.create_index("ix_usage_records_at", "usage_records", ["at", "id"])
    op.create_index("ix_usage_records_model_at", "usage_records", ["model", "at", "id"])
    op.create_index("ix_usage_records_request_id", "usage_records", ["request_id"])

    hourly, daily = (op.create_table(
        name,
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        *(sa.Column(measure, sa.Float if measure in ("audio_seconds", "cost_usd") else sa.BigInteger, nullable=False)
          for measure in SUMS + HISTOGRAMS),
        sa.PrimaryKeyConstraint("start", "key_id", "model", "provider", "operation", name=f"pk_{name}"),
    ) for name in ("usage_hourly", "usage_daily"))
    op.create_table(
        "usage_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_usage_batches_at", "usage_batches", ["at"])
    _roll_up_existing_rows(hourly, postgres)
    _roll_up_hours_by_day(hourly, daily)


def _roll_up_existing_rows(hourly: sa.Table, postgres: bool) -> None:
    rows = sa.table("usage_records", *(sa.column(name) for name in (
        "at", "key_id", "model", "provider", "operation", "status", *SUMS[2:], "latency_ms")))
    c = rows.c
    hour = (sa.func.floor(c.at / 3600) if postgres else sa.cast(c.at / 3600, sa.Integer)) * 3600
    hour = sa.cast(hour, sa.BigInteger)
    key = sa.func.coalesce(c.key_id, "")
    latency = []
    for i in range(BUCKETS):
        above = c.latency_ms > BOUNDS_MS[i - 1] if i else sa.true()
        within = c.latency_ms <= BOUNDS_MS[i] if i < len(BOUNDS_MS) else sa.true()
        latency.append(sa.func.sum(sa.case((sa.and_(above, within), 1), else_=0)))
    measures = [sa.func.count(), sa.func.sum(sa.case((c.status >= 400, 1), else_=0)),
                *(sa.func.sum(c[name]) for name in SUMS[2:]), *latency, *([sa.literal(0)] * BUCKETS)]
    select = sa.select(hour, key, c.model, c.provider, c.operation, *measures).group_by(
        hour, key, c.model, c.provider, c.operation)
    op.execute(hourly.insert().from_select([col.name for col in hourly.c], select))


def _roll_up_hours_by_day(hourly: sa.Table, daily: sa.Table) -> None:
    c = hourly.c
    day = (c.start // 86400) * 86400
    dimensions = (day, c.key_id, c.model, c.provider, c.operation)
    select = sa.select(*dimensions, *(sa.func.sum(c[name]) for name in SUMS + HISTOGRAMS)).group_by(*dimensions)
    op.execute(daily.insert().from_select([col.name for col in daily.c], select))


def downgrade() -> None:
    op.drop_index("ix_usage_batches_at", "usage_batches")
    op.drop_table("usage_batches")
    op.drop_table("usage_daily")
    op.drop_table("usage_hourly")
    for name in ("ix_usage_records_request_id", "ix_usage_records_model_at", "ix_usage_records_at",
                 "ix_usage_records_key_at"):
        op.drop_index(name, "usage_records")
    op.create_index("ix_usage_records_key_at", "usage_records", ["key_id", "at"])
    with op.batch_alter_table("usage_records") as table:
        for name in ("provider", "upstream_model", "operation", "dialect", "stream", "error", "cache_write_tokens",
                     "reasoning_tokens", "estimated", "ttft_ms", "attempts", "client_ip", "user_agent"):
            table.drop_column(name)
    for old, new in RENAMED.items():
        op.execute(f"ALTER TABLE usage_records RENAME COLUMN {new} TO {old}")
