"""linked tickets that stay current (status, polling); alert channels that receive a daily or weekly digest

Revision ID: 0007_tickets_digests
Revises: 0006_alert_lifecycle
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007_tickets_digests'
down_revision = '0006_alert_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('status_category', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('poll_errors', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_poll_error', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            'status_category', "status_category IS NULL OR status_category IN ('open', 'closed')")
        batch_op.create_index('ix_tickets_next_poll', ['next_poll_at'], unique=False)
    # Tickets created before this revision start being polled at once.
    op.execute("UPDATE tickets SET next_poll_at = CURRENT_TIMESTAMP WHERE state = 'created'")

    with op.batch_alter_table('alert_channel_routes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sa.String(length=16), server_default='realtime', nullable=False))
        batch_op.add_column(sa.Column('digest_time', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('digest_weekday', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('last_digest_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('delivery', "delivery IN ('realtime', 'daily', 'weekly')")
        batch_op.create_check_constraint('digest_weekday',
                                         'digest_weekday IS NULL OR digest_weekday BETWEEN 0 AND 6')


def downgrade():
    with op.batch_alter_table('alert_channel_routes', schema=None) as batch_op:
        batch_op.drop_constraint('digest_weekday', type_='check')
        batch_op.drop_constraint('delivery', type_='check')
        batch_op.drop_column('last_digest_at')
        batch_op.drop_column('digest_weekday')
        batch_op.drop_column('digest_time')
        batch_op.drop_column('delivery')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_next_poll')
        batch_op.drop_constraint('status_category', type_='check')
        batch_op.drop_column('last_poll_error')
        batch_op.drop_column('poll_errors')
        batch_op.drop_column('next_poll_at')
        batch_op.drop_column('last_polled_at')
        batch_op.drop_column('status_category')
        batch_op.drop_column('status')
        batch_op.drop_column('linked')
