"""Issue 12: what a person sees of temporary passwords and My account."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import open_admin_menu

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

ADMIN = "admin@host.example"
TEMPORARY = "a temporary pass 42"
OWN = "lantern orbit cactus"


def test_a_new_agent_chooses_their_own_password_at_first_login(page, new_context, world, login):
    login(page, ADMIN)
    open_admin_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    page.get_by_label("Email").fill("first.login@demo.example")
    page.get_by_label("Name", exact=True).fill("First Login")
    page.get_by_label("Role").select_option(label="Agent")
    page.get_by_label("Client account").select_option(label="DEMO — DEMO Travel")
    page.get_by_label("Temporary password").fill(TEMPORARY)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("They choose their own password at first login.")).to_be_visible()

    agent = new_context().new_page()
    login(agent, "first.login@demo.example", TEMPORARY)
    expect(agent.get_by_role("heading", name="My account")).to_be_visible()
    expect(agent.get_by_text("Your password was set by an administrator.")).to_be_visible()
    # Anywhere else leads back here until the password is their own.
    agent.get_by_role("navigation", name="Main").get_by_role("link", name="My Bookings").click()
    expect(agent).to_have_url(re.compile(r"/account$"))

    agent.get_by_label("Current password").fill(TEMPORARY)
    agent.get_by_label("New password", exact=True).fill("qwertyuiop")
    agent.get_by_label("New password again").fill("qwertyuiop")
    agent.get_by_role("button", name="Change password").click()
    expect(agent.get_by_text("This password is on a list of common passwords")).to_be_visible()
    expect(agent.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")

    agent.get_by_label("Current password").fill(TEMPORARY)
    agent.get_by_label("New password", exact=True).fill(OWN)
    agent.get_by_label("New password again").fill(OWN)
    agent.get_by_role("button", name="Change password").click()
    expect(agent.get_by_role("heading", name="Home", level=1)).to_be_visible()
    expect(agent.get_by_text("Your password was changed.")).to_be_visible()

    # Later, My account in the header shows the same form, without the notice.
    agent.get_by_role("link", name="My account").click()
    expect(agent.get_by_role("heading", name="Change password")).to_be_visible()
    expect(agent.get_by_text("Your password was set by an administrator.")).to_have_count(0)
