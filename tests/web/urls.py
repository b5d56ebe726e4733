"""Every agent-facing URL, so access tests cover each one; later features add theirs here.

Each entry is (method, path template). Templates name objects of the *other* account through
placeholders filled in from the `world` fixture: {other_order}.
"""

# URLs that name one object: another account's object must be a 404, from pages and partials alike.
CROSS_ACCOUNT_URLS = [
    ("GET", "/bookings/{order}"),
    ("GET", "/bookings/{order}/refund-info"),
    ("GET", "/bookings/{order}/request-history"),
    ("GET", "/bookings/{order}/refund"),
    ("POST", "/bookings/{order}/refund"),
    ("GET", "/bookings/{order}/cancel-refund"),
    ("GET", "/bookings/{order}/cancel-refund/operator?coupon=P1.S1"),
    ("POST", "/bookings/{order}/cancel-refund/operator?coupon=P1.S1"),
    ("GET", "/bookings/{order}/refund-claim?coupon=P1.S1"),
    ("POST", "/bookings/{order}/refund-claim?coupon=P1.S1"),
    ("GET", "/documents/{document}"),
]

AGENT_URLS = [("GET", "/bookings/"), *CROSS_ACCOUNT_URLS]

STAFF_URLS = [
    ("GET", "/operations/refunds"),
    ("POST", "/operations/refunds/{refund}/mark_submitted_to_airline"),
    ("POST", "/operations/refunds/{refund}/reject"),
]

ADMIN_URLS = [
    ("GET", "/admin/users"),
    ("GET", "/admin/accounts"),
    ("GET", "/admin/import"),
    ("POST", "/admin/users/1/disable"),
    ("POST", "/admin/accounts/1/disable"),
]


def fill(template: str, world, own: bool = True) -> str:
    booking = world.booking if own else world.other_booking
    document = getattr(world, "document" if own else "other_document", None)
    refund = getattr(world, "refund", None)
    return template.format(
        order=booking.order_number,
        document=document.id if document else 0,
        refund=refund.id if refund else 0,
    )
