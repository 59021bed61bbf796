"""replies: threading on the outbox, client answers, invoice VAT and due date

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("in_reply_to", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
        # Existing rows answer nothing: an empty list, then the column is required.
        batch_op.add_column(
            sa.Column("thread_references", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_message_message_id"), ["message_id"], unique=True
        )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("thread_references", server_default=None)
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False,
                      server_default="21.00")
        )
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.alter_column("vat_rate", server_default=None)
    op.create_table(
        "client_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("from_addr", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("matched_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.ForeignKeyConstraint(["inbound_message_id"], ["inbound_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_message_id"),
    )
    with op.batch_alter_table("client_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_answer_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("client_answer")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("due_on")
        batch_op.drop_column("vat_rate")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_message_id"))
        batch_op.drop_column("thread_references")
        batch_op.drop_column("in_reply_to")
        batch_op.drop_column("message_id")
