"""reminders by severity: an optional reminder interval per severity on each alert channel route

Revision ID: 0010_reminders_by_severity
Revises: 0009_budget_requests
Create Date: 2026-12-02 13:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_reminders_by_severity'
down_revision = '0009_budget_requests'
branch_labels = None
depends_on = None


def upgrade():
    # Existing routes keep one interval for every severity (NULL: no exceptions).
    with op.batch_alter_table('alert_channel_routes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remind_after_by_severity', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_channel_routes', schema=None) as batch_op:
        batch_op.drop_column('remind_after_by_severity')
