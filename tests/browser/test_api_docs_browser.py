"""/api/docs renders the OpenAPI document with the vendored Swagger UI under the portal's strict CSP: no
CDN, no inline script, no violation."""

from playwright.sync_api import expect


def test_the_api_reference_renders_every_operation_without_a_csp_violation(page, live_server, world):
    problems, outside = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)
    page.goto(f"{live_server}/api/docs")
    bookings = page.locator(".opblock-summary-path", has_text="/api/v1/bookings/{order_number}").first
    expect(bookings).to_be_visible()
    bookings.click()
    expect(page.get_by_text("Booking details: passengers with their tickets").first).to_be_visible()
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert problems == [] and outside == []
