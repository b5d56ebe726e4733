"""statements by e-mail: a schedule per account, the periods sent, an attachment on outbox e-mails

Revision ID: a7d3e9c1f5b2
Revises: 3d9b7e21c0aa
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'a7d3e9c1f5b2'
down_revision = '3d9b7e21c0aa'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_schedule', sa.String(length=10), server_default='off', nullable=False))
        batch_op.create_check_constraint(
            'statement_schedule_known', "statement_schedule IN ('off', 'daily', 'weekly', 'monthly')"
        )
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('attachment_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('attachment', sa.LargeBinary(), nullable=True))
    op.create_table(
        'statement_mailing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_statement_mailing_account_id_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_mailing')),
        sa.UniqueConstraint('account_id', 'period_start', 'period_end', name='uq_statement_mailing_period'),
    )


def downgrade():
    op.drop_table('statement_mailing')
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('attachment')
        batch_op.drop_column('attachment_type')
        batch_op.drop_column('attachment_name')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_account_statement_schedule_known'), type_='check')
        batch_op.drop_column('statement_schedule')
