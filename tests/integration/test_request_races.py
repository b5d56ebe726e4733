"""Accept in one tab and Decline in another: one answer wins, the other is refused."""

import pytest
from sqlalchemy import func, select

from portal.extensions import db as _db
from portal.models import Refund, RequestQuote, ServiceRequest, User
from portal.services.requests import QuoteError, accept_quote, decline_quote
from tests.conftest import quote_service_request, raise_service_request


def test_a_quote_declined_meanwhile_cannot_be_accepted(app, db, world):
    req = raise_service_request(db, world.booking, world.agent)
    quote = quote_service_request(db, req, world.ops)
    stale_req, stale_quote = db.session.get(ServiceRequest, req.id), db.session.get(RequestQuote, quote.id)

    with app.app_context():  # the other tab declines first
        other_req = _db.session.get(ServiceRequest, req.id)
        decline_quote(
            other_req, _db.session.get(RequestQuote, quote.id), user=_db.session.get(User, world.agent.id)
        )
        _db.session.commit()
        _db.session.remove()

    with pytest.raises(QuoteError, match="already answered"):
        accept_quote(stale_req, stale_quote, user=world.agent)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_cancel_and_take_at_once_cannot_both_win(app, db, world):
    from portal.domain.requests import RequestTransitionError
    from portal.services.requests import change_status, take

    req = raise_service_request(db, world.booking, world.agent, category="other")
    stale = db.session.get(ServiceRequest, req.id)
    with app.app_context():  # operations take it first
        take(_db.session.get(ServiceRequest, req.id), user=_db.session.get(User, world.ops.id))
        _db.session.commit()
        _db.session.remove()
    with pytest.raises(RequestTransitionError):
        change_status(stale, "cancel", user=world.agent)
    db.session.rollback()
    assert db.session.get(ServiceRequest, req.id).status == "in_process"
