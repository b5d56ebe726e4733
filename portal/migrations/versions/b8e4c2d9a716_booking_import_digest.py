"""booking import digest: a re-import skips a booking whose content it already holds (issue 16)

Revision ID: b8e4c2d9a716
Revises: c4e8a2f6b1d9
Create Date: 2026-12-01 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e4c2d9a716'
down_revision = 'c4e8a2f6b1d9'
branch_labels = None
depends_on = None


def upgrade():
    # NULL for the bookings already there: the next re-import compares each in full once and fills it.
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_digest', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('import_digest')
