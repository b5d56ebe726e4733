"""refund paths of Cancel & Refund (operator refund, free refund) and the submitted-to-airline time

Two more refund paths: "cancel_refund" (an operator refund confirmed on Cancel & Refund) and
"free_refund" (the same, involuntary: a free refund for an airline change). Existing rows keep the
path they were recorded with ("instant_quote"), as nothing tells the old rows apart.

refund.submitted_at: when the refund was submitted to the airline (Finance → Refunds' "Submitted"),
filled from each refund's first event into `submitted`.

Revision ID: e4a7c2b9d813
Revises: b3f1d2e4a5c6
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'e4a7c2b9d813'
down_revision = 'b3f1d2e4a5c6'
branch_labels = None
depends_on = None

# The paths as of this revision (frozen here: a later change to the models needs its own migration).
OLD_PATHS = "'instant_quote', 'request_quote', 'agent_request', 'agent_batch', 'refund_claim'"
NEW_PATHS = OLD_PATHS + ", 'cancel_refund', 'free_refund'"


def upgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', portal.models.types.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_refund_path_known'), type_='check')
        batch_op.create_check_constraint('path_known', f"path in ({NEW_PATHS})")
        batch_op.create_index('ix_refund_submitted', ['submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_refund_account_submitted', ['account_id', 'submitted_at'], unique=False)
    op.execute(
        "UPDATE refund SET submitted_at = (SELECT min(refund_event.at) FROM refund_event "
        "WHERE refund_event.refund_id = refund.id AND refund_event.to_status = 'submitted')"
    )


def downgrade():
    # Rows of the new paths cannot be kept under the old constraint: they read as the Refund button's.
    op.execute("UPDATE refund SET path = 'instant_quote' WHERE path IN ('cancel_refund', 'free_refund')")
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_account_submitted')
        batch_op.drop_index('ix_refund_submitted')
        batch_op.drop_constraint(batch_op.f('ck_refund_path_known'), type_='check')
        batch_op.create_check_constraint('path_known', f"path in ({OLD_PATHS})")
        batch_op.drop_column('submitted_at')
