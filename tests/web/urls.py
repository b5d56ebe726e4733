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
    # service requests (issue 4)
    ("GET", "/bookings/{order}/raise-request"),
    ("POST", "/bookings/{order}/raise-request"),
    ("GET", "/requests/{request}"),
    ("GET", "/requests/{request}/thread"),
    ("POST", "/requests/{request}/messages"),
    ("POST", "/requests/{request}/cancel"),
    ("POST", "/requests/{request}/quotes/{quote}/accept"),
    ("POST", "/requests/{request}/quotes/{quote}/decline"),
    ("GET", "/documents/{request_document}"),
]

AGENT_URLS = [("GET", "/bookings/"), *CROSS_ACCOUNT_URLS]

STAFF_URLS = [
    ("GET", "/operations/refunds"),
    ("POST", "/operations/refunds/{refund}/mark_submitted_to_airline"),
    ("POST", "/operations/refunds/{refund}/reject"),
    ("GET", "/operations/requests/"),
    ("POST", "/operations/requests/{request}/take"),
    ("POST", "/operations/requests/{request}/status/start"),
    ("POST", "/operations/requests/{request}/quote"),
]

ADMIN_URLS = [
    ("GET", "/admin/users"),
    ("GET", "/admin/accounts"),
    ("GET", "/admin/import"),
    ("POST", "/admin/users/1/disable"),
    ("POST", "/admin/accounts/1/disable"),
    ("GET", "/admin/request-categories"),
    ("POST", "/admin/request-categories/1/rename"),
    ("POST", "/admin/request-categories/1/deactivate"),
    ("GET", "/admin/refund-reasons"),
    ("POST", "/admin/refund-reasons/1/up"),
]


def fill(template: str, world, own: bool = True) -> str:
    booking = world.booking if own else world.other_booking
    document = getattr(world, "document" if own else "other_document", None)
    refund = getattr(world, "refund", None)
    req = getattr(world, "service_request" if own else "other_service_request", None)
    quote = getattr(world, "quote" if own else "other_quote", None)
    request_document = getattr(world, "request_document" if own else "other_request_document", None)
    return template.format(
        request=req.number if req else "SR00000000",
        quote=quote.id if quote else 0,
        request_document=request_document.id if request_document else 0,
        order=booking.order_number,
        document=document.id if document else 0,
        refund=refund.id if refund else 0,
    )


# Post-booking changes (issue 7): Add Baggage, Accept change, Free refund, and their operations pages.
CROSS_ACCOUNT_URLS += [
    ("GET", "/bookings/{order}/baggage"),
    ("POST", "/bookings/{order}/baggage"),
    ("POST", "/bookings/{order}/schedule-changes/accept"),
    ("GET", "/bookings/{order}/schedule-changes/free-refund"),
]
AGENT_URLS = [("GET", "/bookings/"), *CROSS_ACCOUNT_URLS]
STAFF_URLS += [
    ("GET", "/operations/baggage"),
    ("POST", "/operations/baggage/0/confirm"),
    ("POST", "/operations/baggage/0/fail"),
    ("GET", "/operations/schedule-changes"),
]


# --- Finance (Refunds, batches, statement). {account}: the account's id; {batch}: a refund batch of it.
FINANCE_CROSS_ACCOUNT_URLS = [
    ("GET", "/finance/refunds?account={account}"),
    ("GET", "/finance/refunds/agent?account={account}"),
    ("GET", "/finance/refunds/all/export.csv?account={account}"),
    ("GET", "/finance/refunds/batches/{batch}"),
    ("GET", "/finance/refunds/batches/{batch}/outcomes.csv"),
    ("GET", "/finance/statement?account={account}"),
    ("GET", "/finance/statement.csv?account={account}"),
    ("GET", "/finance/statement.xlsx?account={account}"),
]
CROSS_ACCOUNT_URLS += FINANCE_CROSS_ACCOUNT_URLS
AGENT_URLS += [
    ("GET", "/finance/refunds"),
    ("GET", "/finance/refunds/operator"),
    ("GET", "/finance/refunds/template.csv"),
    ("GET", "/finance/refunds/template.xlsx"),
    ("POST", "/finance/refunds/batches"),
    ("GET", "/finance/statement"),
    *FINANCE_CROSS_ACCOUNT_URLS,
]
ADMIN_URLS += [("POST", "/finance/statement/adjustments?account={account}")]

_fill_before_finance = fill


def fill(template: str, world, own: bool = True) -> str:  # noqa: F811  (extends the fill above)
    account = world.demo if own else world.other
    batch = getattr(world, "batch" if own else "other_batch", None)
    template = template.replace("{account}", str(account.id))
    template = template.replace("{batch}", str(batch.id if batch else 0))
    return _fill_before_finance(template, world, own)
