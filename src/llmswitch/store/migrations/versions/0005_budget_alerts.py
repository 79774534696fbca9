"""Budget alerts: the spend of each budgeted key and model per period, the crossings seen (one per
subject, period and threshold) and their webhook calls."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_spend",
        sa.Column("subject_kind", sa.String(16), primary_key=True),
        sa.Column("subject", sa.String(200), primary_key=True),
        sa.Column("period_start", sa.Float, primary_key=True),
        sa.Column("spent_usd", sa.Float, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("period_start", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("claimed_until", sa.Float, nullable=False),
        sa.Column("last_error", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float),
        sa.UniqueConstraint("subject_kind", "subject", "period_start", "threshold", name="uq_budget_alerts_crossing"),
    )
    op.create_index("ix_budget_alerts_due", "budget_alerts", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_due", "budget_alerts")
    op.drop_table("budget_alerts")
    op.drop_table("budget_spend")
