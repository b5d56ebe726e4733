"""Bookings over the API: My Bookings' search and Booking Details with every coupon's refund state."""

from __future__ import annotations

import marshmallow as ma

from portal.blueprints.api.base import Shown, after_cursor, bp, cursor_page, problems, scope
from portal.blueprints.api.schemas import BookingDetails, BookingPage, BookingQuery, Strict
from portal.clock import utcnow
from portal.security import found
from portal.services.bookings import BookingFilters, load_booking, search_bookings_after
from portal.services.coupons import booking_coupons


@bp.route("/bookings", methods=["GET"])
@bp.arguments(BookingQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, BookingPage)
@problems(401, 429)
def list_bookings(limit, cursor=None, q="", status=None, departure_from=None, departure_to=None):
    """My Bookings: the same prefix search and filters, newest issued first, a page at a time."""
    filters = BookingFilters(
        q=q.strip(), status=status, departure_from=departure_from, departure_to=departure_to
    )
    return cursor_page(search_bookings_after(filters, scope(), after_cursor(cursor), limit))


@bp.route("/bookings/<order_number>", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, BookingDetails)
@problems(401, 404, 422, 429)
def get_booking(_no_parameters, order_number):
    """Booking details: passengers with their tickets and fares, segments, and every coupon's refund
    state. Another account's booking is a 404, as an unknown one is."""
    booking = found(load_booking(order_number, scope()))
    coupons = [coupon for _, row in booking_coupons(booking, utcnow()) for coupon in row]
    return Shown(booking, coupons=coupons)
