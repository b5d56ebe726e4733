"""agency admin role: an agency's own administrator, who belongs to its client account

Revision ID: c81d0e5a7f32
Revises: b9c385e854bc
Create Date: 2026-11-30 18:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c81d0e5a7f32'
down_revision = 'b9c385e854bc'
branch_labels = None
depends_on = None

# The rules as of this revision (frozen here: a later change to the models needs its own migration).
NEW_ROLES = "role in ('agent', 'agency_admin', 'operations', 'admin')"
NEW_ACCOUNT = "role NOT IN ('agent', 'agency_admin') OR account_id IS NOT NULL"
OLD_ROLES = "role in ('agent', 'operations', 'admin')"
OLD_ACCOUNT = "role != 'agent' OR account_id IS NOT NULL"


def _replace(roles: str, account: str) -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_role_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_user_agent_has_account'), type_='check')
        batch_op.create_check_constraint('role_known', roles)
        batch_op.create_check_constraint('agent_has_account', account)


def upgrade():
    _replace(NEW_ROLES, NEW_ACCOUNT)


def downgrade():
    op.execute("UPDATE \"user\" SET role = 'agent' WHERE role = 'agency_admin'")
    _replace(OLD_ROLES, OLD_ACCOUNT)
