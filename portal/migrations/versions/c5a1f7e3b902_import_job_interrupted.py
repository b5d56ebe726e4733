"""import job interrupted: a runner stopped mid-import leaves its job re-runnable (issue 16)

Revision ID: c5a1f7e3b902
Revises: b8e4c2d9a716
Create Date: 2026-12-01 23:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c5a1f7e3b902'
down_revision = 'b8e4c2d9a716'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_import_job_status_known'), type_='check')
        batch_op.create_check_constraint(
            'status_known', "status in ('queued', 'running', 'done', 'failed', 'interrupted')"
        )


def downgrade():
    op.execute("UPDATE import_job SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_import_job_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', "status in ('queued', 'running', 'done', 'failed')")
