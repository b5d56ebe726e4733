"""The ledger invariant after randomized work, the statement, adjustments and append-only entries."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.clock import utcnow
from portal.domain.ledger import AdjustmentInvalid, period_bounds
from portal.domain.refunds import RefundPath
from portal.models import LedgerEntry, Refund
from portal.models.audit import AppendOnlyViolation
from portal.services.batch import process_upload
from portal.services.finance import balances, ledger_check, post_adjustment, statement
from portal.services.refunds import RefundError, apply_action, create_refund, whole_passengers
from tests.conftest import batch_csv, passenger_doc, portal_today

_serial = itertools.count(1)
FEE = Decimal("10.00")

operations = st.lists(
    st.one_of(
        st.tuples(st.just("refund"), st.integers(0, 5), st.sampled_from(["instant_quote", "agent_batch"])),
        st.tuples(
            st.just("advance"), st.integers(0, 40), st.sampled_from(["0.00", "5.00", "280.50", "900.00"])
        ),
        st.tuples(st.just("reject"), st.integers(0, 40)),
        st.tuples(st.just("adjust"), st.sampled_from(["-12.34", "50.00", "+0.01", "-1000.00"])),
        st.tuples(st.just("debit"), st.sampled_from(["38.00", "65.00"])),
    ),
    min_size=1,
    max_size=18,
)


def _setup(make):
    n = next(_serial)
    account = make.account(f"LEDGER{n}", "SGD", service_fee=FEE)
    agent = make.user("agent", account)
    bookings = []
    for i, channel in enumerate(["deposit", "deposit", "vcc"]):
        order = f"L{n:04d}{i:05d}"
        bookings.append(
            make.booking(
                order_number=order,
                account=account.code,
                payment_channel=channel,
                passengers=[
                    passenger_doc("P1", "TAN", "WEI", f"618-{n:04d}{i:02d}0001"),
                    passenger_doc("P2", "LIM", "MEI", f"618-{n:04d}{i:02d}0002"),
                ],
            )
        )
    return account, agent, bookings


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_balance_is_the_sum_of_entries_and_of_what_happened(db, world, make, ops):
    account, agent, bookings = _setup(make)
    refunds: list[Refund] = []
    expected = Decimal("0.00")  # what the test itself knows the balance must be
    for op in ops:
        kind = op[0]
        if kind == "refund":
            booking = bookings[op[1] % 3]
            passenger = booking.passengers[op[1] % 2]
            try:
                if op[2] == "instant_quote":
                    selection = whole_passengers(booking, [passenger.ref], utcnow())
                    refunds.append(
                        create_refund(booking, selection, path=RefundPath.INSTANT_QUOTE, user=agent)
                    )
                else:
                    result = process_upload(
                        "r.csv", batch_csv((booking.order_number, passenger.ticket_number)), user=agent
                    )
                    made = [d for d in result.decisions if d.outcome == "created"]
                    if made:
                        refunds.append(db.session.scalar(select(Refund).order_by(Refund.id.desc()).limit(1)))
            except RefundError:
                db.session.rollback()
        elif kind == "advance" and refunds:
            refund = refunds[op[1] % len(refunds)]
            if refund.status == "requested":
                apply_action(refund, "mark_submitted_to_airline", user=world.ops, reference="A")
            elif refund.status == "submitted":
                apply_action(
                    refund,
                    "record_airline_refund",
                    user=world.ops,
                    amount=op[2],
                    refunded_on=portal_today(),
                    reference="P",
                )
            elif refund.status == "received":
                apply_action(refund, "credit_balance", user=world.ops)
                if refund.booking.payment_channel == "deposit":
                    paid = refund.airline_amount
                    expected += max(paid - FEE, Decimal("0.00")) if refund.is_operator else paid
        elif kind == "reject" and refunds:
            refund = refunds[op[1] % len(refunds)]
            if not refund.is_final:
                apply_action(refund, "reject", user=world.ops, reason="random")
        elif kind == "adjust":
            entry = post_adjustment(account, amount=op[1], reason="random adjustment", user=world.admin)
            expected += entry.amount
        elif kind == "debit":
            db.session.add(
                LedgerEntry(
                    account_id=account.id,
                    currency="SGD",
                    amount=-Decimal(op[1]),
                    kind="baggage_debit",
                    description="Baggage",
                )
            )
            db.session.flush()
            expected -= Decimal(op[1])
        db.session.commit()

        summed = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(LedgerEntry.account_id == account.id)
        )
        balance = balances(account.id).get("SGD", Decimal("0.00"))
        assert balance == Decimal(summed) == expected
        ledger_total, from_refunds = ledger_check(account.id).get("SGD", (Decimal("0.00"),) * 2)
        assert ledger_total == from_refunds == expected


def test_ledger_entries_are_append_only(db, world):
    entry = post_adjustment(world.demo, amount="25.00", reason="Goodwill", user=world.admin)
    db.session.commit()
    entry.amount = Decimal("26.00")
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(LedgerEntry, entry.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_only_admins_post_adjustments_and_bad_ones_are_refused(db, world):
    with pytest.raises(PermissionError):
        post_adjustment(world.demo, amount="5", reason="x", user=world.ops)
    with pytest.raises(AdjustmentInvalid):
        post_adjustment(world.demo, amount="5", reason=" ", user=world.admin)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_statement_opening_entries_closing(db, world):
    zone = "Asia/Singapore"
    october = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
    post_adjustment(world.demo, amount="100.00", reason="Opening credit", user=world.admin, now=october)
    # 31 Oct 16:30 UTC is already 1 Nov in Singapore: inside November's statement.
    post_adjustment(
        world.demo,
        amount="-20.00",
        reason="Fee",
        user=world.admin,
        now=datetime(2026, 10, 31, 16, 30, tzinfo=UTC),
    )
    post_adjustment(world.other, amount="999.00", reason="Other account", user=world.admin, now=october)
    db.session.commit()
    begin, end = period_bounds(date(2026, 11, 1), date(2026, 11, 30), zone)
    [sgd] = statement(world.demo, begin, end)
    assert sgd.opening == Decimal("100.00") and sgd.closing == Decimal("80.00")
    assert [line.entry.entry.description for line in sgd.lines] == ["Fee"]
    [october_statement] = statement(world.demo, *period_bounds(date(2026, 10, 1), date(2026, 10, 31), zone))
    assert october_statement.opening == 0 and october_statement.closing == Decimal("100.00")
