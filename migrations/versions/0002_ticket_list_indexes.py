"""indexes for the desk's ticket list: search by order id or phone, overdue filter

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:10:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_order', ['order_id'], unique=False)
        batch_op.create_index('ix_tickets_phone', ['customer_phone'], unique=False)
        batch_op.create_index('ix_tickets_overdue_created', ['overdue', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_overdue_created')
        batch_op.drop_index('ix_tickets_phone')
        batch_op.drop_index('ix_tickets_order')
