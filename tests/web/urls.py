"""Every agent-facing URL, so access tests cover each one; later features add theirs here.

Each entry is (method, path template). Templates name objects of the *other* account through
placeholders filled in from the `world` fixture: {other_order}.
"""

AGENT_URLS = [
    ("GET", "/bookings/"),
    ("GET", "/bookings/{order}"),
    ("GET", "/bookings/{order}/refund-info"),
    ("GET", "/bookings/{order}/request-history"),
]

# URLs that name one object: another account's object must be a 404, from pages and partials alike.
CROSS_ACCOUNT_URLS = [
    ("GET", "/bookings/{order}"),
    ("GET", "/bookings/{order}/refund-info"),
    ("GET", "/bookings/{order}/request-history"),
]

STAFF_URLS = []

ADMIN_URLS = [
    ("GET", "/admin/users"),
    ("GET", "/admin/accounts"),
    ("GET", "/admin/import"),
    ("POST", "/admin/users/1/disable"),
    ("POST", "/admin/accounts/1/disable"),
]


def fill(template: str, world, own: bool = True) -> str:
    booking = world.booking if own else world.other_booking
    return template.format(order=booking.order_number)
