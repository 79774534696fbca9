"""Usage records count audio seconds and characters beside tokens (audio operations are priced by them)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as table:  # SQLite adds columns in place all the same
        table.add_column(sa.Column("audio_seconds", sa.Float, nullable=False, server_default="0"))
        table.add_column(sa.Column("characters", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as table:
        table.drop_column("characters")
        table.drop_column("audio_seconds")
