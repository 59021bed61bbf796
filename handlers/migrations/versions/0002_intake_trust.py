"""intake trust: Message-ID no longer unique, read attempts, sender verification

Revision ID: 0002
Revises: 0004
Create Date: 2026-11-30 10:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('sender_verified', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('auth_detail', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('same_message_id_as', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_inbound_message_same_message_id_as', 'inbound_message', ['same_message_id_as'], ['id']
        )
        batch_op.drop_index(batch_op.f('ix_inbound_message_message_id'))
        batch_op.create_index(batch_op.f('ix_inbound_message_message_id'), ['message_id'], unique=False)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('sender_verified', sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('sender_verified')
    with op.batch_alter_table('inbound_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_message_message_id'))
        batch_op.create_index(batch_op.f('ix_inbound_message_message_id'), ['message_id'], unique=True)
        batch_op.drop_constraint('fk_inbound_message_same_message_id_as', type_='foreignkey')
        batch_op.drop_column('same_message_id_as')
        batch_op.drop_column('auth_detail')
        batch_op.drop_column('sender_verified')
        batch_op.drop_column('attempts')
