"""The second factor's rules: which time step a code may match (±1), no step twice, recovery codes used
once, and who must enrol."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest

from portal.domain.mfa import (
    RECOVERY_CODE_COUNT,
    check_totp,
    is_totp_shape,
    must_enrol,
    new_recovery_codes,
    recovery_code_hash,
    time_step,
    unused_recovery_code,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TOTP = pyotp.TOTP(SECRET)
NOW = datetime(2026, 6, 15, 2, 0, 10, tzinfo=UTC)
STEP = time_step(NOW)


def code(step: int) -> str:
    return TOTP.generate_otp(step)


def check(typed: str, last_used: int | None = None, now_step: int = STEP):
    return check_totp(typed, now_step, last_used, TOTP.generate_otp)


def test_time_steps_are_thirty_seconds_of_unix_time():
    assert time_step(NOW) == int(NOW.timestamp()) // 30
    assert code(STEP) == TOTP.at(NOW)  # the same code an authenticator app shows at NOW


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_of_now_or_one_step_either_side_is_accepted(offset):
    result = check(code(STEP + offset))
    assert result.ok and result.step == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_is_refused(offset):
    if code(STEP + offset) in {code(STEP - 1), code(STEP), code(STEP + 1)}:
        pytest.skip("the codes of two steps happen to coincide")
    result = check(code(STEP + offset))
    assert not result.ok and not result.replayed


def test_a_used_step_is_never_accepted_again():
    first = check(code(STEP))
    assert first.step == STEP
    again = check(code(STEP), last_used=first.step)
    assert not again.ok and again.replayed


def test_an_earlier_step_is_refused_after_a_later_one_was_used():
    assert not check(code(STEP - 1), last_used=STEP).ok
    assert check(code(STEP + 1), last_used=STEP).step == STEP + 1


def test_the_same_code_half_a_minute_later_is_still_a_replay():
    # Used at STEP; 30 s later it is the previous step, still inside the window: refused.
    assert check(code(STEP), last_used=STEP, now_step=STEP + 1).replayed


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", None])
def test_only_six_digits_are_a_code(typed):
    assert not is_totp_shape(typed or "")
    assert not check(typed or "").ok


def test_spaces_inside_a_code_are_ignored():
    typed = code(STEP)
    assert check(f" {typed[:3]} {typed[3:]} ").ok


@dataclass
class Stored:
    code_hash: str
    used_at: datetime | None = None


def test_ten_distinct_recovery_codes_that_never_look_like_an_app_code():
    codes = new_recovery_codes()
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    for c in codes:
        assert len(c) == 14 and c.count("-") == 2
        assert not is_totp_shape(c)
        assert not set(c.replace("-", "")) & set("01ilo")


def test_a_recovery_code_matches_its_hash_however_it_is_typed():
    codes = new_recovery_codes()
    stored = [Stored(recovery_code_hash(c)) for c in codes]
    typed = codes[3].upper().replace("-", " ")
    assert unused_recovery_code(typed, stored) is stored[3]
    assert unused_recovery_code(codes[3].replace("-", ""), stored) is stored[3]


def test_a_used_recovery_code_is_not_accepted_again():
    codes = new_recovery_codes()
    stored = [Stored(recovery_code_hash(c)) for c in codes]
    stored[0].used_at = NOW
    assert unused_recovery_code(codes[0], stored) is None
    assert unused_recovery_code(codes[1], stored) is stored[1]


def test_an_unknown_recovery_code_matches_nothing():
    stored = [Stored(recovery_code_hash(c)) for c in new_recovery_codes()]
    assert unused_recovery_code(new_recovery_codes(1)[0], stored) is None
    assert unused_recovery_code("", stored) is None


def test_only_the_hash_of_a_recovery_code_is_kept():
    c = new_recovery_codes(1)[0]
    assert c.replace("-", "") not in recovery_code_hash(c)
    assert len(recovery_code_hash(c)) == 64


@pytest.mark.parametrize(
    ("is_staff", "enrolled", "required", "expected"),
    [
        (True, False, True, True),
        (True, True, True, False),
        (True, False, False, False),
        (False, False, True, False),
        (False, False, False, False),
    ],
)
def test_only_staff_without_a_second_factor_must_enrol_and_only_when_required(
    is_staff, enrolled, required, expected
):
    assert must_enrol(is_staff=is_staff, enrolled=enrolled, required_for_staff=required) is expected
