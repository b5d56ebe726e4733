"""The operations queue offers exactly the actions the domain allows, for every refund status.

The row loops over `refund.actions` (domain `allowed_actions`), so this catches any drift between the
template and the transition table."""

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from flask import url_for

from portal.domain.refunds import RefundAction, RefundPath, RefundStatus, action_label, allowed_actions
from portal.models.refunds import RowActions
from portal.services.refunds import apply_action, create_refund, parse_coupon_keys, queue_row

# The steps that take a new operator refund to each status.
STEPS = {
    RefundStatus.REQUESTED: (),
    RefundStatus.SUBMITTED: ("mark_submitted_to_airline",),
    RefundStatus.RECEIVED: ("mark_submitted_to_airline", "record_airline_refund"),
    RefundStatus.REFUNDED: ("mark_submitted_to_airline", "record_airline_refund", "credit_balance"),
    RefundStatus.REJECTED: ("reject",),
}
DATA = {
    "mark_submitted_to_airline": {"reference": "SQ-RF-1"},
    "record_airline_refund": {"amount": "300.00", "refunded_on": date.today(), "reference": "SQ-PAY-1"},
    "credit_balance": {},
    "reject": {"reason": "Duplicate"},
}


class RowButtons(HTMLParser):
    """The submit buttons' texts inside one table row (by id)."""

    def __init__(self, row_id: str):
        super().__init__()
        self.row_id, self.in_row, self.in_button = row_id, False, False
        self.buttons: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("id") == self.row_id:
            self.in_row = True
        elif self.in_row and tag == "button":
            self.in_button = True
            self.buttons.append("")

    def handle_endtag(self, tag):
        if tag == "tr":
            self.in_row = False
        elif tag == "button":
            self.in_button = False

    def handle_data(self, data):
        if self.in_button:
            self.buttons[-1] += data.strip()


def buttons_in_row(html: str, refund_id: int) -> list[str]:
    parser = RowButtons(f"refund-row-{refund_id}")
    parser.feed(html)
    return parser.buttons


def test_every_status_is_covered():
    assert set(STEPS) == set(RefundStatus)


@pytest.mark.parametrize("status", list(RefundStatus), ids=str)
@pytest.mark.parametrize("channel", ["deposit", "vcc", "vcc_passthrough"])
def test_the_row_offers_exactly_the_allowed_actions(client, auth, db, world, make, status, channel):
    booking = make.booking(order_number="AT30000001", account="DEMO", payment_channel=channel)
    coupons = parse_coupon_keys(booking, ["P1.S1", "P1.S2"])
    refund = create_refund(booking, coupons, path=RefundPath.INSTANT_QUOTE, user=world.agent)
    for action in STEPS[status]:
        apply_action(refund, action, user=world.ops, **DATA[action])
    db.session.commit()
    assert refund.status == status

    auth.login(world.ops)
    queue = client.get("/operations/refunds", query_string={"status": status.value})
    assert queue.status_code == 200
    offered = buttons_in_row(queue.get_data(as_text=True), refund.id)
    # Credit balance on a card order reads "Close — paid to card" (the domain's label for the refund).
    assert offered == [action_label(a, payment_channel=channel) for a in allowed_actions(status)]
    if status is RefundStatus.RECEIVED:
        assert offered[0] == ("Credit balance" if channel == "deposit" else "Close — paid to card")
    assert list(refund.actions) == list(allowed_actions(status))
    if not offered:
        assert "Done" in queue.get_data(as_text=True)


@pytest.mark.parametrize("status", list(RefundStatus), ids=str)
@pytest.mark.parametrize("channel", ["deposit", "vcc"])
def test_a_queue_row_shows_what_the_refund_itself_says(db, world, make, status, channel):
    """The queue reads plain rows (QueueRow), not Refund objects: both ask the same domain functions, so
    every shown property agrees for every status, with and without an airline amount, on either channel."""
    booking = make.booking(order_number="AT30000002", account="DEMO", payment_channel=channel)
    refund = create_refund(
        booking, parse_coupon_keys(booking, ["P1.S1"]), path=RefundPath.INSTANT_QUOTE, user=world.agent
    )
    for action in STEPS[status]:
        apply_action(refund, action, user=world.ops, **DATA[action])
    db.session.commit()
    row = queue_row(refund.id)
    for name in (
        "code",
        "status",
        "status_label",
        "path_label",
        "actions",
        "shown_amount",
        "shown_amount_note",
        "credit_preview",
        "involuntary",
        "created_at",
    ):
        assert getattr(row, name) == getattr(refund, name), name
    assert [row.action_label(a) for a in RefundAction] == [refund.action_label(a) for a in RefundAction]
    assert row.payment_channel_label == refund.booking.payment_channel_label
    assert (row.account_code, row.order_number) == (refund.account.code, refund.booking.order_number)
    last = refund.events[-1]
    assert (row.last_event_at, row.last_actor_name) == (last.at, last.actor.name if last.actor else None)
    for hours in (0, 3.99, 4, 30):
        moment = refund.created_at + timedelta(hours=hours)
        assert row.is_overdue(moment) == refund.is_overdue(moment), hours


def test_the_rows_links_are_the_ones_url_for_builds(client, auth, world, make, app):
    """The row template builds its two links once per page and fills each row in: the same paths as
    url_for's for every row."""
    refunds = [make.refund(world.booking, world.agent, passengers=["P1"], coupons=["P1.S1"])]
    refunds.append(
        make.refund(world.booking, world.agent, coupons=["P1.S2"], status="received", by=world.ops)
    )
    auth.login(world.ops)
    page = client.get("/operations/refunds").text
    with app.test_request_context():
        for refund in refunds:
            info = url_for("bookings.refund_info", order_number=refund.booking.order_number)
            assert f'href="{info}"' in page
            for action in refund.actions:
                url = url_for("operations.refund_action", refund_id=refund.id, action=action.value)
                assert f'action="{url}" hx-post="{url}"' in page


def _row_html(page: str, refund_id: int) -> str:
    start = page.index(f'<tr id="refund-row-{refund_id}"')
    return page[start : page.index("</tr>", start)]


def test_alike_rows_each_act_on_their_own_refund(client, auth, db, world, make):
    """Rows with alike action cells share one rendering with the id filled in per row (r.row_actions):
    every row's forms, inputs and labels still name its own refund, and each row keeps its own buttons,
    currency and credit note (a card order, a fee charged, no fee on an agent's own request, an account
    in dollars)."""
    make.account("USDA", currency="USD")
    refunds = []
    for number, account, channel, status, path in (
        ("AT30000011", "DEMO", "deposit", "requested", "instant_quote"),
        ("AT30000012", "DEMO", "deposit", "requested", "instant_quote"),
        ("AT30000013", "DEMO", "deposit", "submitted", "instant_quote"),
        ("AT30000014", "DEMO", "deposit", "submitted", "agent_request"),
        ("AT30000019", "USDA", "deposit", "submitted", "instant_quote"),
        ("AT30000015", "DEMO", "deposit", "received", "instant_quote"),
        ("AT30000016", "DEMO", "deposit", "received", "agent_request"),
        ("AT30000017", "DEMO", "vcc", "received", "instant_quote"),
        ("AT30000018", "DEMO", "deposit", "received", "instant_quote"),
    ):
        currency = "USD" if account == "USDA" else "SGD"
        booking = make.booking(
            order_number=number, account=account, currency=currency, payment_channel=channel
        )
        refunds.append(make.refund(booking, world.agent, status=status, path=path, by=world.ops))
    previews = {queue_row(r.id).credit_preview for r in refunds if r.status == RefundStatus.RECEIVED}
    assert len(previews) == 3  # a fee charged, no fee, a card order: three different cells

    auth.login(world.ops)
    page = client.get("/operations/refunds", query_string={"status": "open"}).text
    assert RowActions.id not in page
    for refund in refunds:
        row = _row_html(page, refund.id)
        shown = queue_row(refund.id)
        assert buttons_in_row(page, refund.id) == [label for _, label in shown.row_actions.buttons]
        forms = re.findall(r'<form method="post" action="([^"]+)"', row)
        assert forms == [f"/operations/refunds/{refund.id}/{action.value}" for action in refund.actions]
        assert all(f"-{refund.id}" in target for target in re.findall(r'(?:id|for)="([a-z]+-\d+)"', row))
        if refund.status == RefundStatus.RECEIVED:
            assert f'<small class="muted">{shown.credit_preview}</small>' in row
        if refund.status == RefundStatus.SUBMITTED:
            assert f"Amount ({refund.currency})" in row
    assert {r.currency for r in refunds} == {"SGD", "USD"}


def test_the_rows_forms_keep_the_portals_path_prefix(client, auth, world, make):
    """Served under a path prefix (here /0, which looks like the id the template fills in), each form
    posts under the prefix to its own refund."""
    refund = make.refund(world.booking, world.agent, passengers=["P1"], coupons=["P1.S1"])
    auth.login(world.ops)
    page = client.get("/operations/refunds", base_url="http://localhost/0/").text
    forms = re.findall(r'<form method="post" action="([^"]+)"', _row_html(page, refund.id))
    assert forms == [f"/0/operations/refunds/{refund.id}/{action.value}" for action in refund.actions]
