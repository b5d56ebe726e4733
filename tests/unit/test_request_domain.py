"""Service-request rules: the transition table, who may act, the one-open-request rule, behaviours,
posted quotes."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from portal.domain.refunds import RefundPath
from portal.domain.requests import (
    AGENCY_ACTIONS,
    TRANSITIONS,
    ActionNotPermitted,
    CategoryBehaviour,
    QuoteError,
    QuoteStatus,
    RequestAction,
    RequestStatus,
    RequestTransitionError,
    behaviour_rule,
    check_actor,
    check_valid_until,
    is_open,
    next_status,
    parse_amount,
    quote_answerable,
    status_actions,
    submit_refusal,
)

S = RequestStatus
A = RequestAction

EXPECTED = {
    (S.NEW, A.TAKE): S.IN_PROCESS,
    (S.IN_PROCESS, A.TAKE): S.IN_PROCESS,
    (S.PROCESSED, A.TAKE): S.PROCESSED,
    (S.NEW, A.START): S.IN_PROCESS,
    (S.IN_PROCESS, A.MARK_PROCESSED): S.PROCESSED,
    (S.PROCESSED, A.COMPLETE): S.COMPLETED,
    (S.NEW, A.OPS_REPLY): S.NEW,
    (S.IN_PROCESS, A.OPS_REPLY): S.IN_PROCESS,
    (S.PROCESSED, A.OPS_REPLY): S.PROCESSED,
    **{(s, A.INTERNAL_NOTE): s for s in S},
    (S.NEW, A.POST_QUOTE): S.PROCESSED,
    (S.IN_PROCESS, A.POST_QUOTE): S.PROCESSED,
    (S.PROCESSED, A.POST_QUOTE): S.PROCESSED,
    (S.NEW, A.AGENCY_REPLY): S.NEW,
    (S.IN_PROCESS, A.AGENCY_REPLY): S.IN_PROCESS,
    (S.PROCESSED, A.AGENCY_REPLY): S.IN_PROCESS,  # a reply reopens a processed request
    (S.NEW, A.CANCEL): S.CANCELLED,
    (S.PROCESSED, A.ACCEPT_QUOTE): S.IN_PROCESS,
    (S.PROCESSED, A.DECLINE_QUOTE): S.IN_PROCESS,
    (S.IN_PROCESS, A.ACCEPT_QUOTE): S.IN_PROCESS,
    (S.IN_PROCESS, A.DECLINE_QUOTE): S.IN_PROCESS,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(A))
def test_every_status_and_action_pair(status, action):
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(RequestTransitionError) as exc:
            next_status(status, action)
        assert str(exc.value).startswith("A request that is ")
    else:
        assert next_status(status.value, action.value) is expected


def test_the_table_is_exactly_the_expected_one():
    assert dict(TRANSITIONS) == EXPECTED


def test_workflow_path_and_cancel_only_while_new():
    status = S.NEW
    for action in (A.START, A.MARK_PROCESSED, A.COMPLETE):
        status = next_status(status, action)
    assert status is S.COMPLETED
    for status in (S.IN_PROCESS, S.PROCESSED, S.COMPLETED, S.CANCELLED):
        with pytest.raises(RequestTransitionError, match="only a New request"):
            next_status(status, A.CANCEL)


def test_closed_requests_take_no_replies():
    for status in (S.COMPLETED, S.CANCELLED):
        assert not is_open(status)
        for action in (A.AGENCY_REPLY, A.OPS_REPLY, A.POST_QUOTE, A.TAKE):
            with pytest.raises(RequestTransitionError):
                next_status(status, action)


def test_unknown_values_are_value_errors():
    with pytest.raises(ValueError):
        next_status("open", A.CANCEL)
    with pytest.raises(ValueError):
        next_status(S.NEW, "delete")


@pytest.mark.parametrize("action", list(A))
def test_each_side_acts_only_for_itself(action):
    agency = action in AGENCY_ACTIONS
    if agency:
        check_actor(action, staff=False)
        with pytest.raises(ActionNotPermitted):
            check_actor(action, staff=True)
    else:
        check_actor(action, staff=True)
        with pytest.raises(ActionNotPermitted):
            check_actor(action, staff=False)


def test_status_actions_offered_to_operations():
    assert status_actions(S.NEW) == (A.START,)
    assert status_actions(S.IN_PROCESS) == (A.MARK_PROCESSED,)
    assert status_actions(S.PROCESSED) == (A.COMPLETE,)
    assert status_actions(S.COMPLETED) == ()


# --- behaviours ----------------------------------------------------------------------------------


def test_category_behaviours():
    cancel = behaviour_rule(CategoryBehaviour.CANCEL_REFUND)
    assert cancel.takes_quote and cancel.refund_on_submit is None and cancel.needs_passengers
    agent = behaviour_rule("agent_refund")
    assert not agent.takes_quote and agent.refund_on_submit is RefundPath.AGENT_REQUEST
    for thread_only in ("general", "baggage"):
        rule = behaviour_rule(thread_only)
        assert not rule.takes_quote and rule.refund_on_submit is None and not rule.needs_passengers
    with pytest.raises(ValueError):
        behaviour_rule("refund_everything")


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_agent_refund_requests_are_refused_for_card_orders(channel):
    reason = submit_refusal("agent_refund", channel)
    assert reason and "VCC" in reason
    assert submit_refusal("cancel_refund", channel) is None  # operator refunds are allowed
    assert submit_refusal("general", channel) is None


def test_agent_refund_requests_are_allowed_for_deposit_orders():
    assert submit_refusal("agent_refund", "deposit") is None


# --- quotes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount"), [("315", "315.00"), ("1,250.5", "1250.50"), (" 0 ", "0.00"), ("99.99", "99.99")]
)
def test_amounts_parse_exactly(raw, amount):
    assert parse_amount(raw, "TAN", "SGD") == Decimal(amount)


@pytest.mark.parametrize("raw", ["", "abc", "-1", "1.234", "NaN", "Infinity", "1e20"])
def test_bad_amounts_say_why(raw):
    with pytest.raises(QuoteError, match="TAN"):
        parse_amount(raw, "TAN", "SGD")


def test_validity_cannot_be_in_the_past():
    today = date(2030, 1, 10)
    assert check_valid_until(today, today) == today
    with pytest.raises(QuoteError):
        check_valid_until(date(2030, 1, 9), today)
    with pytest.raises(QuoteError):
        check_valid_until(None, today)


def test_only_open_unexpired_quotes_can_be_answered():
    now = datetime(2030, 1, 10, tzinfo=UTC)
    quote_answerable(QuoteStatus.OPEN, now + timedelta(hours=1), now)
    with pytest.raises(QuoteError, match="expired"):
        quote_answerable(QuoteStatus.OPEN, now - timedelta(seconds=1), now)
    for status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED, QuoteStatus.SUPERSEDED):
        with pytest.raises(QuoteError, match="no longer"):
            quote_answerable(status, now + timedelta(days=1), now)
