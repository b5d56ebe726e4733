"""Two-step verification in a real browser, by the labels a user sees: set it up from the header by
reading the key on the page, log out, log in with a code made from that key."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.conftest import PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"


def test_agent_sets_up_two_step_verification_and_logs_in_with_a_code(page, world, clock, login):
    login(page, AGENT)
    page.get_by_role("link", name="Two-step verification").click()
    expect(page.get_by_role("heading", name="Two-step verification", level=1)).to_be_visible()
    page.get_by_role("button", name="Set up two-step verification").click()

    expect(page.get_by_role("img", name="QR code of the key for your authenticator app")).to_be_visible()
    secret = page.get_by_label("Key").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    totp = pyotp.TOTP(secret)

    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Turn on two-step verification").click()

    expect(page.get_by_role("heading", name="Two-step verification is on")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have saved my recovery codes").click()
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    clock.advance(seconds=30)  # the code used to turn it on cannot be used again
    login(page, AGENT, PASSWORD, succeeds=False)
    expect(page.get_by_role("heading", name="Two-step verification", level=1)).to_be_visible()
    page.get_by_label("Code").fill(totp.at(clock.now))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
