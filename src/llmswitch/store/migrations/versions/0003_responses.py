"""The gateway's store of Responses API responses and their items."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("kept", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response", sa.JSON),
        sa.Column("events", sa.JSON),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_responses_expires_at", "responses", ["expires_at"])
    op.create_table(
        "response_items",
        sa.Column("response_id", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("output", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("item_id", sa.String(200), nullable=False),
        sa.Column("item", sa.JSON, nullable=False),
    )
    op.create_index("ix_response_items_owner_item", "response_items", ["owner", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_response_items_owner_item", "response_items")
    op.drop_table("response_items")
    op.drop_index("ix_responses_expires_at", "responses")
    op.drop_table("responses")
