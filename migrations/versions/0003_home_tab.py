"""outbox messages for one Slack user (the App Home tab): recipient_user_id; alerts acknowledged with a reason

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_user_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ack_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ack_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('ack_note')
        batch_op.drop_column('ack_reason')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('recipient_user_id')
