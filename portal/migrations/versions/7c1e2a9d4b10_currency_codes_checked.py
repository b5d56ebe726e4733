"""currency codes checked: 3 letters A-Z, not a currency with more than 2 decimals

Amounts are stored as integer hundredths (portal.models.types.Amount), so a currency with 3 or 4
decimals (KWD, BHD, ...) cannot be held; see portal.domain.money and docs/decisions.md.

Revision ID: 7c1e2a9d4b10
Revises: c5dd94755663
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c1e2a9d4b10'
down_revision = 'c5dd94755663'
branch_labels = None
depends_on = None

# The rule as of this revision (frozen here: a later change to the models needs its own migration).
_LETTERS = ", ".join(f"'{chr(c)}'" for c in range(ord("A"), ord("Z") + 1))
_REFUSED = "'BHD', 'CLF', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND', 'UYW'"
CURRENCY_CHECK = (
    "length(currency) = 3 AND "
    + " AND ".join(f"substr(currency, {i}, 1) IN ({_LETTERS})" for i in (1, 2, 3))
    + f" AND currency NOT IN ({_REFUSED})"
)
TABLES = ('account', 'baggage_option', 'baggage_order', 'booking', 'ledger_entry', 'refund', 'request_quote')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == 'account':  # its length-only check is part of the new one
                batch_op.drop_constraint(batch_op.f('ck_account_currency_iso'), type_='check')
            batch_op.create_check_constraint('currency_supported', CURRENCY_CHECK)


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'ck_{table}_currency_supported'), type_='check')
            if table == 'account':
                batch_op.create_check_constraint('currency_iso', 'length(currency) = 3')
