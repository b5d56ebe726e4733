"""search keys version: a token the import renews whenever it writes search keys, which keeps a term's
count until the keys change (issue 14)

Revision ID: d7b3e9a1c4f2
Revises: 51a602aa06b8
Create Date: 2026-12-01 04:30:00.000000

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd7b3e9a1c4f2'
down_revision = '51a602aa06b8'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'search_keys_version',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_search_keys_version_one_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_keys_version')),
    )
    # The keys already imported get a version of their own, so counts are kept from now on.
    op.bulk_insert(table, [{'id': 1, 'token': secrets.token_hex(16)}])


def downgrade():
    op.drop_table('search_keys_version')
