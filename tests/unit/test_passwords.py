"""The one rule for new passwords, the vendored list of common passwords, the throttle's arithmetic and
the lists of e-mail addresses an account keeps."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.domain.accounts import parse_email_list, valid_email
from portal.domain.errors import DomainError
from portal.domain.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    password_refusal,
    retry_in_minutes,
)
from portal.services.passwords import common_passwords

COMMON = frozenset({"password123", "qwertyuiop"})
EMAIL = "Wei.Ming@Demo-Travel.example"


def refusal(password, email=EMAIL, common=COMMON):
    return password_refusal(password, email=email, common=common)


def test_a_long_uncommon_password_is_accepted():
    assert refusal("lantern orbit cactus") is None
    assert refusal("x" * MIN_PASSWORD_LENGTH) is None
    assert refusal("x" * MAX_PASSWORD_LENGTH) is None


def test_length_is_between_the_minimum_and_a_sane_maximum():
    assert MIN_PASSWORD_LENGTH == 10
    assert "at least 10 characters" in refusal("x" * 9)
    assert "at most 128 characters" in refusal("x" * (MAX_PASSWORD_LENGTH + 1))


@pytest.mark.parametrize(
    "password",
    ["wei.ming12@demo-travel.example", "WEI.MING12@DEMO-TRAVEL.EXAMPLE", "Wei.Ming12", " wei.ming12 "],
)
def test_not_the_users_own_address_nor_its_local_part(password):
    email = "wei.ming12@demo-travel.example"
    assert "e-mail address" in refusal(password, email=email)


def test_the_address_of_someone_else_is_no_reason_to_refuse():
    assert refusal("wei.ming12@demo-travel.example", email="other@demo-travel.example") is None


@pytest.mark.parametrize("password", ["password123", "PASSWORD123", " Qwertyuiop "])
def test_not_in_the_common_list_whatever_the_case(password):
    assert "common passwords" in refusal(password)


def test_the_vendored_list_is_djangos_and_is_read_once():
    common = common_passwords()
    assert len(common) > 19_000
    assert {"password", "123456", "qwertyuiop", "1q2w3e4r5t"} <= common
    assert all(word == word.casefold() and word == word.strip() for word in common)
    assert common_passwords() is common  # cached: one read per process
    assert refusal("1q2w3e4r5t", common=common) is not None
    assert refusal("correct horse battery", common=common) is None  # the tests' own password


def test_retry_in_whole_minutes_rounded_up_at_least_one():
    start = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    window = timedelta(minutes=15)
    assert retry_in_minutes(start, start, window) == 15
    assert retry_in_minutes(start, start + timedelta(minutes=14, seconds=1), window) == 1
    assert retry_in_minutes(start, start + timedelta(minutes=10, seconds=30), window) == 5
    assert retry_in_minutes(start, start + window, window) == 1


def test_email_lists_are_normalised_and_deduplicated():
    raw = " Finance@Demo.example, ops@demo.example;\nfinance@demo.example  boss@demo.example "
    assert parse_email_list(raw) == ["finance@demo.example", "ops@demo.example", "boss@demo.example"]
    assert parse_email_list("") == [] and parse_email_list(None) == []


@pytest.mark.parametrize("bad", ["finance", "a@b", "a@@b.example", "a@b.example,x y@z", "é@\x00.example"])
def test_email_lists_name_the_address_they_refuse_under_their_field(bad):
    with pytest.raises(DomainError) as refused:
        parse_email_list(bad, field="notice_emails")
    assert "is not an e-mail address" in str(refused.value)
    assert refused.value.field == "notice_emails"


def test_email_lists_hold_at_most_twenty():
    with pytest.raises(DomainError, match="At most 20"):
        parse_email_list(",".join(f"a{i}@demo.example" for i in range(21)))


def test_valid_email():
    assert valid_email("agent@demo.example")
    assert not valid_email("agent@demo") and not valid_email("a b@demo.example")
    assert not valid_email("a@" + "d" * 250 + ".example")
