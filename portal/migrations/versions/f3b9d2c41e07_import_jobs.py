"""import jobs: Admin → Import runs large files in the job runner (issue 16)

Revision ID: f3b9d2c41e07
Revises: a7d3e9c1f5b2
Create Date: 2026-12-01 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'f3b9d2c41e07'
down_revision = 'a7d3e9c1f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('file_name', sa.String(length=200), nullable=False),
        sa.Column('storage_name', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('started_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('finished_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('errors', sa.Text(), nullable=True),
        sa.CheckConstraint("status in ('queued', 'running', 'done', 'failed')", name=op.f('ck_import_job_status_known')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_import_job_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job')),
        sa.UniqueConstraint('storage_name', name=op.f('uq_import_job_storage_name')),
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index('ix_import_job_status', ['status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index('ix_import_job_status')
    op.drop_table('import_job')
