"""Refunds through the web: slide-out quote, Cancel & Refund, Refund Claim, uploads, documents."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.clock import utcnow
from portal.domain.refunds import RefundPath
from portal.models import Account, Document, Refund, RefundEvent
from tests.conftest import passenger_doc, portal_today

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def fingerprint(page: str) -> str:
    return re.search(r'name="fingerprint" value="([^"]*)"', page).group(1)


def refunds(db):
    return db.session.scalars(select(Refund).order_by(Refund.id)).all()


@pytest.fixture
def two_pax(make, world):
    """A DEMO deposit booking with two refundable adults on a round trip (fee 150, service fee 15)."""
    return make.booking(
        order_number="RF10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000011"),
            passenger_doc("P2", "TAN", "HUI LING", "618-2400000012"),
        ],
    )


def test_refund_slideout_shows_the_quote_and_accepting_creates_a_requested_refund(
    client, auth, world, two_pax, db
):
    auth.login(world.agent)
    page = client.get("/bookings/RF10000001/refund", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<header" not in page  # a slide-out partial
    for figure in ("420.00", "150.00", "60.00", "15.00", "315.00", "SGD 630.00"):
        assert figure in page
    assert "cannot be withdrawn" in page
    response = client.post(
        "/bookings/RF10000001/refund",
        headers={"HX-Request": "true"},
        data={"passenger": ["P1", "P2"], "fingerprint": fingerprint(page)},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/bookings/RF10000001/refund-info"
    [refund] = refunds(db)
    assert refund.status == "requested" and refund.path == "instant_quote"
    assert str(refund.estimated_amount) == "630.00" and str(refund.service_fee) == "30.00"
    assert [e.to_status for e in refund.events] == ["requested"] and refund.events[
        0
    ].actor_id == world.agent.id
    info = client.get("/bookings/RF10000001/refund-info").get_data(as_text=True)
    assert refund.code in info and "Estimated amount" in info and "SGD 630.00" in info


def test_a_second_click_creates_no_second_refund(client, auth, world, two_pax, db):
    auth.login(world.agent)
    page = client.get("/bookings/RF10000001/refund").get_data(as_text=True)
    data = {"passenger": ["P1", "P2"], "fingerprint": fingerprint(page)}
    assert client.post("/bookings/RF10000001/refund", data=data).status_code == 303
    second = client.post("/bookings/RF10000001/refund", data=data)
    # Both tickets are now in the refund: nothing is left, which is a conflict with the state (409).
    assert second.status_code == 409
    assert "Nothing left to refund" in second.get_data(as_text=True)
    assert "already in a refund" in second.get_data(as_text=True)
    assert len(refunds(db)) == 1


def test_a_changed_quote_is_shown_again_not_accepted(client, auth, world, two_pax, db):
    auth.login(world.agent)
    page = client.get("/bookings/RF10000001/refund").get_data(as_text=True)
    account = db.session.get(Account, world.demo.id)
    account.service_fee = 40
    db.session.commit()
    response = client.post(
        "/bookings/RF10000001/refund", data={"passenger": ["P1", "P2"], "fingerprint": fingerprint(page)}
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "The quote changed" in body and "290.00" in body  # 420 - 150 + 60 - 40
    assert refunds(db) == []
    again = client.post(
        "/bookings/RF10000001/refund", data={"passenger": ["P1", "P2"], "fingerprint": fingerprint(body)}
    )
    assert again.status_code == 303 and str(refunds(db)[0].estimated_amount) == "580.00"


def test_non_refundable_quote_cannot_be_accepted(client, auth, world, make, db):
    make.booking(
        order_number="NR10000001",
        passengers=[
            passenger_doc(
                "P1",
                ticket="618-2400000091",
                refundable=False,
                refundable_taxes="10.00",
                taxes="20.00",
                cancellation_fee="0.00",
            )
        ],
    )
    auth.login(world.agent)
    page = client.get("/bookings/NR10000001/refund").get_data(as_text=True)
    # The only passenger gets nothing (10.00 of taxes back, all of it the service fee): nothing to confirm.
    assert "Gets nothing: the service fee takes all that would come back" in page
    assert "Nothing would be refunded to the selected passengers" in page
    assert re.search(r'<button type="submit" class="primary"\s+disabled\s*>Refund</button>', page)
    forged = client.post(
        "/bookings/NR10000001/refund", data={"passenger": ["P1"], "fingerprint": fingerprint(page)}
    )
    assert forged.status_code == 422 and refunds(db) == []


def test_cancel_and_refund_marks_flown_coupons_unselectable(client, auth, world, make, db):
    now = utcnow()
    make.booking(order_number="FL10000001", departure=now - timedelta(days=1))  # S1 flown, S2 in 6 days
    auth.login(world.agent)
    page = client.get("/bookings/FL10000001/cancel-refund").get_data(as_text=True)
    assert re.search(r'value="P1.S1" id="coupon-P1.S1"\s+disabled', page)
    assert "Already flown" in page
    assert ">Atlas Refund</button>" in page and ">Refund Claim</button>" in page
    step = client.get(
        "/bookings/FL10000001/cancel-refund/operator",
        query_string={"coupon": "P1.S2"},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    # S2 is the only unflown coupon, so it is an exact quote.
    assert "315.00" in step
    forged = client.post(
        "/bookings/FL10000001/cancel-refund/operator",
        data={"coupon": ["P1.S1", "P1.S2"], "fingerprint": fingerprint(step)},
    )
    assert forged.status_code == 422 and "Already flown" in forged.get_data(as_text=True)
    assert refunds(db) == []


def test_partial_segments_cannot_be_quoted_but_can_be_requested(client, auth, world, db):
    auth.login(world.agent)
    step = client.get(
        "/bookings/AT10000001/cancel-refund/operator", query_string={"coupon": "P1.S2"}
    ).get_data(as_text=True)
    assert "the amount the airline actually refunds applies" in step and "Decided by the airline" in step
    response = client.post(
        "/bookings/AT10000001/cancel-refund/operator",
        data={"coupon": ["P1.S2"], "fingerprint": fingerprint(step)},
    )
    assert response.status_code == 303
    [refund] = refunds(db)
    assert refund.estimated_amount is None and [c.segment.ref for c in refund.coupons] == ["S2"]
    page = client.get("/bookings/AT10000001/cancel-refund").get_data(as_text=True)
    assert f"Already in a refund ({refund.code})" in page


def test_unknown_coupon_values_get_a_clear_message(client, auth, world, db):
    auth.login(world.agent)
    response = client.get("/bookings/AT10000001/cancel-refund/operator", query_string={"coupon": "P9.S1"})
    assert response.status_code == 422
    assert "not on this booking" in response.get_data(as_text=True)
    empty = client.get("/bookings/AT10000001/cancel-refund/operator")
    assert "Select at least one passenger and segment." in empty.get_data(as_text=True)


def test_lcc_operator_refund_shows_coupons_cancelled(client, auth, world, make, db):
    make.booking(order_number="LC10000001", airline="TR", passengers=[passenger_doc(ticket="668-2400000001")])
    auth.login(world.agent)
    page = client.get("/bookings/LC10000001/refund").get_data(as_text=True)
    assert "refunding cancels the selected segments" in page
    client.post("/bookings/LC10000001/refund", data={"passenger": ["P1"], "fingerprint": fingerprint(page)})
    info = client.get("/bookings/LC10000001/refund-info").get_data(as_text=True)
    assert "TR978 SIN→BKK (cancelled)" in info


# --- Refund Claim -----------------------------------------------------------------------------------


def claim(client, order="AT10000001", coupons=("P1.S1", "P1.S2"), content=PDF, name="proof.pdf", **overrides):
    data = {
        "coupon": list(coupons),
        "reason": "voluntary",
        "airline_fulfilled_on": portal_today().isoformat(),
        "note": "Airline refunded to agency",
        "proof": (io.BytesIO(content), name),
    }
    data.update(overrides)
    return client.post(f"/bookings/{order}/refund-claim", data=data, content_type="multipart/form-data")


def stored_files(app):
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_claim_without_proof_is_refused(client, auth, world, db):
    auth.login(world.agent)
    response = client.post(
        "/bookings/AT10000001/refund-claim",
        content_type="multipart/form-data",
        data={"coupon": ["P1.S1"], "reason": "voluntary", "airline_fulfilled_on": portal_today().isoformat()},
    )
    assert response.status_code == 422 and "Choose a file to upload." in response.get_data(as_text=True)
    assert refunds(db) == []


def test_refund_claim_with_proof_creates_a_submitted_refund(app, client, auth, world, db):
    auth.login(world.agent)
    form = client.get("/bookings/AT10000001/refund-claim", query_string={"coupon": ["P1.S1", "P1.S2"]})
    page = form.get_data(as_text=True)
    for label in ("Reason", "Airline fulfillment date", "Proof of the airline", ">Confirm</button>"):
        assert label in page
    response = claim(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    [refund] = refunds(db)
    assert (
        refund.status == "submitted" and refund.path == "refund_claim" and refund.reason.code == "voluntary"
    )
    assert refund.proof.content_type == "application/pdf" and refund.proof.original_name == "proof.pdf"
    assert (Path(app.config["UPLOAD_DIR"]) / refund.proof.storage_name).read_bytes() == PDF
    with client.get(f"/documents/{refund.proof.id}") as download:
        assert download.status_code == 200 and download.data == PDF
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"MZ\x90\x00" + b"\x00" * 100, "proof.pdf", "Only PDF, PNG or JPEG files are accepted"),
        (b"#!/bin/sh\nrm -rf /\n", "proof.png", "Only PDF, PNG or JPEG files are accepted"),
        (b"", "proof.pdf", "The file is empty."),
    ],
    ids=["renamed-executable", "script-as-png", "empty"],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(app, client, auth, world, db, content, name, message):
    auth.login(world.agent)
    before = stored_files(app)
    response = claim(client, content=content, name=name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert refunds(db) == [] and db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert stored_files(app) == before


def test_oversized_upload_is_refused(app, client, auth, world, db, monkeypatch):
    # The real limit is 10 MB; a small one keeps the test client from spooling the body to a temp file.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 100 * 1024)
    auth.login(world.agent)
    response = claim(client, content=b"%PDF-" + b"0" * (100 * 1024), name="big.pdf")
    assert response.status_code == 422 and "The file is larger than 100 KB." in response.get_data(
        as_text=True
    )
    assert refunds(db) == [] and db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_the_upload_limit_is_10_mb(app):
    assert app.config["MAX_UPLOAD_BYTES"] == 10 * 1024 * 1024


def test_a_failed_claim_leaves_no_orphan_file(app, client, auth, world, db):
    auth.login(world.agent)
    assert claim(client).status_code == 303
    files = stored_files(app)
    response = claim(client)  # the same coupons again: refused after the proof was written
    assert response.status_code == 409 and "Already in a refund" in response.get_data(as_text=True)
    assert stored_files(app) == files and len(refunds(db)) == 1


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ((portal_today() + timedelta(days=1)).isoformat(), "cannot be in the future"),
        ("2020-01-01", "cannot be before the ticket was issued"),
        ("not a date", "Not a valid date value"),
    ],
)
def test_fulfillment_date_is_checked(client, auth, world, db, when, message):
    auth.login(world.agent)
    response = claim(client, airline_fulfilled_on=when)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert refunds(db) == []


@pytest.mark.parametrize(
    ("channel", "message"),
    [("vcc_passthrough", "Refund Claim is not available"), ("vcc", "Refund Claim is not available")],
)
def test_card_orders_cannot_claim(client, auth, world, make, db, channel, message):
    make.booking(
        order_number="VC10000001",
        payment_channel=channel,
        passengers=[passenger_doc(ticket="618-2400000077")],
    )
    auth.login(world.agent)
    page = client.get("/bookings/VC10000001/cancel-refund").get_data(as_text=True)
    assert re.search(r'aria-describedby="claim-refusal"\s*>Refund Claim</button>', page) or "disabled" in page
    assert message in page
    forged = claim(client, order="VC10000001")
    assert forged.status_code == 422 and refunds(db) == []


def test_card_orders_may_still_ask_the_operator(client, auth, world, make, db):
    make.booking(
        order_number="VC10000002", payment_channel="vcc", passengers=[passenger_doc(ticket="618-2400000078")]
    )
    auth.login(world.agent)
    page = client.get("/bookings/VC10000002/refund").get_data(as_text=True)
    assert (
        client.post(
            "/bookings/VC10000002/refund", data={"passenger": ["P1"], "fingerprint": fingerprint(page)}
        ).status_code
        == 303
    )


def test_other_accounts_documents_are_not_found(app, client, auth, world, db):
    auth.login(world.agent)
    claim(client)
    document = db.session.scalar(select(Document))
    client.post("/logout")
    auth.login(world.other_agent)
    assert client.get(f"/documents/{document.id}").status_code == 404
    client.post("/logout")
    auth.login(world.ops)
    with client.get(f"/documents/{document.id}") as download:
        assert download.status_code == 200


def test_refund_events_are_append_only(db, world, client, auth):
    from portal.models.audit import AppendOnlyViolation

    auth.login(world.agent)
    claim(client)
    event = db.session.scalar(select(RefundEvent))
    event.note = "rewritten history"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_a_forged_free_refund_without_an_airline_change_is_refused(client, auth, world, db):
    auth.login(world.agent)
    step = client.get(
        "/bookings/AT10000001/cancel-refund/operator",
        query_string={"coupon": ["P1.S1", "P1.S2"], "involuntary": "1"},
    ).get_data(as_text=True)
    assert "505.50" not in step  # no change on this booking: the involuntary flag is ignored
    from portal.services.refunds import RefundError, create_refund, parse_coupon_keys

    with pytest.raises(RefundError, match="free \\(involuntary\\) refund needs"):
        create_refund(
            world.booking,
            parse_coupon_keys(world.booking, ["P1.S1"]),
            path=RefundPath.INSTANT_QUOTE,
            user=world.agent,
            involuntary=True,
        )


def test_validate_order_without_javascript_goes_to_the_form(client, auth, world):
    auth.login(world.agent)
    response = client.get("/requests/validate-order", query_string={"order_number": "AT10000001"})
    assert response.status_code == 303 and "/requests/new" in response.headers["Location"]
