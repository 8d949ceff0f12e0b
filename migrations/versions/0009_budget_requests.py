"""budget requests: reimbursement requests of kind budget_increase, and per-period budget overrides

Revision ID: 0009_budget_requests
Revises: 0004
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_budget_requests'
down_revision = '0008_living_budget'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('budget_overrides',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('extra_usd', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_budget_overrides_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'period', name=op.f('pk_budget_overrides'))
    )
    with op.batch_alter_table('reimbursement_requests', schema=None) as batch_op:
        # Every existing request is a reimbursement.
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='reimbursement', nullable=False))
        batch_op.add_column(sa.Column('budget_scope', sa.String(length=8), nullable=True))
        batch_op.create_check_constraint(op.f('ck_reimbursement_requests_kind'),
                                         "kind IN ('reimbursement', 'budget_increase')")
        batch_op.create_check_constraint(op.f('ck_reimbursement_requests_budget_scope'),
                                         "(kind = 'reimbursement' AND budget_scope IS NULL) OR "
                                         "(kind = 'budget_increase' AND budget_scope IN ('period', 'monthly'))")


def downgrade():
    op.execute("DELETE FROM reimbursement_requests WHERE kind = 'budget_increase'")
    with op.batch_alter_table('reimbursement_requests', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reimbursement_requests_budget_scope'), type_='check')
        batch_op.drop_constraint(op.f('ck_reimbursement_requests_kind'), type_='check')
        batch_op.drop_column('budget_scope')
        batch_op.drop_column('kind')

    op.drop_table('budget_overrides')
