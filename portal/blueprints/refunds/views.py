"""Refund button slide-out, Cancel & Refund page, Refund Claim form, and document downloads."""

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, request, send_file, url_for
from flask_login import current_user, login_required

from portal.blueprints.refunds.forms import AcceptQuoteForm, RefundClaimForm
from portal.clock import utcnow
from portal.domain.refunds import Quote, RefundPath, build_quote, cancel_refund_path, path_refusal
from portal.forms import choices
from portal.htmx import redirect_after_post, render
from portal.models import Booking, Refund
from portal.security import booking_or_404, current_scope, found
from portal.services.catalogues import active_reasons
from portal.services.documents import UploadRejected, document_path, load_document
from portal.services.followups import follow_up, follow_up_state
from portal.services.refunds import (
    QuoteChanged,
    RefundError,
    booking_coupons,
    booking_refunds,
    compute_quote,
    create_refund,
    involuntary_refusal,
    load_refund,
    nothing_left,
    parse_coupon_keys,
    portal_today,
    quote_fingerprint,
    submit_refund_claim,
    whole_passengers,
)
from portal.services.requests import hidden_from_agents
from portal.uow import attempt

bp = Blueprint("refunds", __name__)


def _done(booking: Booking, refund: Refund):
    """After a refund is created: to Refund Info, by full navigation (HX-Redirect for htmx)."""
    flash(f"Refund {refund.code} {refund.status_label.lower()}. Follow it on Refund Info.", "success")
    return redirect_after_post(url_for("bookings.refund_info", order_number=booking.order_number))


@dataclass
class QuoteStep:
    """What a quote step shows: the quote, or why there is none, and the HTTP status."""

    quote: Quote | None = None
    error: str | None = None
    notice: str | None = None
    status: int = 200


def _quote_or_accept(booking: Booking, select, *, path: RefundPath, involuntary: bool, now, form):
    """Quote the selection (`select()` returns it); on a valid POST, accept it as an operator refund
    recorded with `path`, the way the agent came.

    Returns (response, step): a response when the refund was created, else what to show. The
    fingerprint of the quote shown travels with the form, so a changed quote is shown again (409).
    """
    step = QuoteStep()
    with attempt() as outcome:
        selection = select()
        if involuntary and (refusal := involuntary_refusal(booking, selection)):
            raise RefundError(refusal)
        step.quote = compute_quote(booking, selection, path=path, involuntary=involuntary, now=now)
        if request.method == "POST" and form.validate_on_submit():
            refund = create_refund(
                booking,
                selection,
                path=path,
                user=current_user,
                now=now,
                involuntary=involuntary,
                shown_fingerprint=request.form.get("fingerprint", ""),
            )
            return _done(booking, refund), step
    if isinstance(outcome.error, QuoteChanged):
        step.quote, step.notice, step.status = outcome.error.quote, outcome.message, outcome.status
    elif outcome.failed:
        step.error, step.status = outcome.message, outcome.status
    return None, step


# --- Refund button: slide-out with the instant quote ----------------------------------------------


@bp.route("/bookings/<order_number>/refund", methods=["GET", "POST"])
@login_required
def refund_slideout(order_number):
    booking = booking_or_404(order_number)
    now = utcnow()
    coupons = booking_coupons(booking, now)
    form = AcceptQuoteForm()
    nothing = nothing_left(booking, now)
    if nothing:
        # Fully refunded, flown or cancelled: say so plainly; there is nothing to select or confirm.
        return render(
            "refunds/refund_slideout.html",
            block="slideout",
            booking=booking,
            coupons=coupons,
            nothing_left=nothing,
            chosen=set(),
            quote=None,
            fingerprint="",
            form=form,
            error=None,
            notice=None,
            soon=booking.urgent_segment(now),
        ), (409 if request.method == "POST" else 200)
    source = request.form if request.method == "POST" else request.args
    # The form always sends "selection"; without it (the slide-out opening) every refundable passenger is
    # ticked. With it, the ticked boxes are the choice, even when none is ticked.
    if "selection" in source or request.method == "POST":
        chosen = [ref for ref in source.getlist("passenger") if ref]
    else:
        chosen = [p.ref for p, cs in coupons if any(c.selectable for c in cs)]
    if chosen:
        done, step = _quote_or_accept(
            booking,
            lambda: whole_passengers(booking, chosen, now),
            path=RefundPath.INSTANT_QUOTE,
            involuntary=False,
            now=now,
            form=form,
        )
        if done is not None:
            return done
    else:
        # Nobody ticked: the empty quote says to select someone; confirming it anyway is refused.
        step = QuoteStep(quote=build_quote((), booking.currency))
        step.status = 422 if request.method == "POST" else 200
    if step.error:
        booking = booking_or_404(order_number)
        coupons = booking_coupons(booking, now)
    return render(
        "refunds/refund_slideout.html",
        block="slideout",
        booking=booking,
        coupons=coupons,
        nothing_left=None,
        chosen=set(chosen),
        quote=step.quote,
        fingerprint=quote_fingerprint(step.quote) if step.quote else "",
        form=form,
        error=step.error,
        notice=step.notice,
        soon=booking.urgent_segment(now),
    ), step.status


# --- Cancel & Refund page --------------------------------------------------------------------------


@bp.get("/bookings/<order_number>/cancel-refund")
@login_required
def cancel_refund(order_number):
    booking = booking_or_404(order_number)
    now = utcnow()
    return render(
        "refunds/cancel_refund.html",
        booking=booking,
        coupons=booking_coupons(booking, now),
        selected=set(request.args.getlist("coupon")),
        refunds=booking_refunds(booking),
        claim_refusal=path_refusal(RefundPath.REFUND_CLAIM, booking.payment_channel),
        now=now,
    )


def _involuntary_allowed(booking: Booking) -> bool:
    """Free refunds are offered only while the airline's change is unanswered, or a flight is cancelled."""
    return any(c.acknowledged_at is None for c in booking.schedule_changes) or any(
        s.status == "cancelled" for s in booking.segments
    )


@bp.route("/bookings/<order_number>/cancel-refund/operator", methods=["GET", "POST"])
@login_required
def operator_refund(order_number):
    """Step two of Cancel & Refund for an operator refund: the quote of the chosen coupons, and confirm."""
    booking = booking_or_404(order_number)
    now = utcnow()
    source = request.form if request.method == "POST" else request.args
    keys = source.getlist("coupon")
    involuntary = source.get("involuntary") == "1" and _involuntary_allowed(booking)
    form = AcceptQuoteForm()
    done, step = _quote_or_accept(
        booking,
        lambda: parse_coupon_keys(booking, keys),
        path=cancel_refund_path(involuntary=involuntary),
        involuntary=involuntary,
        now=now,
        form=form,
    )
    if done is not None:
        return done
    if step.error:
        booking = booking_or_404(order_number)
    return render(
        "refunds/operator_refund.html",
        block="next_step",
        booking=booking,
        keys=keys,
        quote=step.quote,
        fingerprint=quote_fingerprint(step.quote) if step.quote else "",
        involuntary=involuntary,
        involuntary_allowed=_involuntary_allowed(booking),
        form=form,
        error=step.error,
        notice=step.notice,
        soon=booking.urgent_segment(now),
    ), step.status


# --- Refund Claim ----------------------------------------------------------------------------------


@bp.route("/bookings/<order_number>/refund-claim", methods=["GET", "POST"])
@login_required
def refund_claim(order_number):
    booking = booking_or_404(order_number)
    now = utcnow()
    source = request.form if request.method == "POST" else request.args
    keys = source.getlist("coupon")
    form = RefundClaimForm()
    reasons = active_reasons()
    form.reason.choices = choices([("", "Choose a reason")] + [(r.code, r.label) for r in reasons])
    refusal = path_refusal(RefundPath.REFUND_CLAIM, booking.payment_channel)
    error = None
    status = 200
    selection = []
    try:
        selection = parse_coupon_keys(booking, keys)
    except RefundError as exc:
        error, status = str(exc), 422
    if refusal:
        error, status = refusal, 422
    elif request.method == "POST" and error is None and form.validate_on_submit():
        with attempt() as outcome:
            refund = submit_refund_claim(
                booking,
                selection,
                user=current_user,
                reason_code=form.reason.data,
                airline_fulfilled_on=form.airline_fulfilled_on.data,
                proof_file=form.proof.data,
                note=form.note.data,
                now=now,
            )
            return _done(booking, refund)
        # The rollback also removed the stored proof.
        if isinstance(outcome.error, UploadRejected):
            form.proof.errors.append(outcome.message)
        elif not outcome.to_form(form):
            error = outcome.message
        booking = booking_or_404(order_number)
        status = outcome.status
    elif request.method == "POST":
        status = 422
    return render(
        "refunds/refund_claim.html",
        block="next_step",
        booking=booking,
        keys=keys,
        selection=selection,
        form=form,
        refusal=refusal,
        error=error,
        now_date=portal_today(now).isoformat(),
    ), status


# --- Follow up -------------------------------------------------------------------------------------


@bp.app_template_global("follow_up_control")
def _follow_up_control(refund, now):
    return follow_up_state(refund, now)


@bp.post("/refunds/<code>/follow-up")
@login_required
def follow_up_refund(code):
    """Follow up a refund from day 21; the server checks the date whatever the page showed."""
    refund = found(load_refund(code, current_scope()))
    form = AcceptQuoteForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as outcome:
        req = follow_up(refund, user=current_user, message=request.form.get("message", ""))
    if outcome.failed:
        flash(outcome.message, "error")
        target = url_for("bookings.refund_info", order_number=refund.booking.order_number)
    else:
        flash(f"Follow-up sent on request {req.number}.", "success")
        target = url_for("requests.request_detail", number=req.number)
    return redirect_after_post(target)


# --- Documents -------------------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>")
@login_required
def download_document(document_id):
    """Stream a document to users who may see it: its account's agents, operations and admins."""
    document = found(load_document(document_id, current_scope()))
    if not current_user.is_staff and hidden_from_agents(document.id):
        abort(404)  # attached to an operations internal note
    path = document_path(document)
    if not path.exists():
        current_app.logger.error("Document %s is missing its file %s", document.id, path)
        abort(404)
    response = send_file(
        path, mimetype=document.content_type, as_attachment=True, download_name=document.file_name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
