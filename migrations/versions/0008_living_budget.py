"""living budget: the budget channel, personal pace nudges (org switch, opt-out, allowance)

Revision ID: 0008_living_budget
Revises: 0005_alert_threads
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_living_budget'
down_revision = '0007_tickets_digests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('budget_channels',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=32), nullable=False),
    sa.Column('channel_name', sa.String(length=200), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_budget_channels_org_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['slack_workspaces.id'], name=op.f('fk_budget_channels_workspace_id_slack_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_budget_channels'))
    )
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pace_nudges_enabled', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pace_nudges', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('monthly_allowance_usd', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('monthly_allowance_usd')
        batch_op.drop_column('pace_nudges')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('pace_nudges_enabled')
    op.drop_table('budget_channels')
