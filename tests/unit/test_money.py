"""Money's rules: ISO 4217 decimals per currency, refused (never rounded) extra decimals, typed amounts."""

from decimal import Decimal

import pytest

from portal.domain.money import (
    AmountOutOfRange,
    CurrencyMismatch,
    Money,
    TypedAmountError,
    UnsupportedCurrency,
    minor_units,
    parse_typed_amount,
    to_amount,
    to_hundredths,
)


@pytest.mark.parametrize(("currency", "places"), [("SGD", 2), ("USD", 2), ("IDR", 2), ("JPY", 0), ("KRW", 0)])
def test_minor_units_follow_iso_4217(currency, places):
    assert minor_units(currency) == places


@pytest.mark.parametrize("currency", ["KWD", "BHD", "OMR", "TND", "JOD", "IQD", "LYD", "CLF"])
def test_currencies_with_more_than_two_decimals_are_refused(currency):
    with pytest.raises(UnsupportedCurrency, match=currency):
        Money(Decimal("1"), currency)


@pytest.mark.parametrize("currency", ["sgd", "SG", "SGDX", "S1D", "", None])
def test_malformed_currency_codes_are_refused(currency):
    with pytest.raises(UnsupportedCurrency):
        Money(Decimal("1"), currency)


def test_sgd_refuses_a_third_decimal_instead_of_rounding():
    with pytest.raises(AmountOutOfRange, match="2 decimals"):
        Money("1.005", "SGD")
    with pytest.raises(AmountOutOfRange):
        to_amount("0.001", "SGD")
    assert Money("1.5", "SGD").amount == Decimal("1.50")
    assert Money("1.500", "SGD").amount == Decimal("1.50")  # trailing zeros change nothing


def test_jpy_refuses_decimals_and_shows_none():
    with pytest.raises(AmountOutOfRange, match="no decimals"):
        Money("1.5", "JPY")
    yen = Money("15000.00", "JPY")  # what the hundredths column gives back
    assert yen.amount == Decimal("15000") and str(yen) == "JPY 15,000"
    assert str(Money("1234.5", "SGD")) == "SGD 1,234.50"


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        Money(1.5, "SGD")
    with pytest.raises(TypeError):
        to_hundredths(0.1)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "abc"])
def test_not_a_number_is_refused(value):
    with pytest.raises(ValueError):
        Money(value, "SGD")


def test_huge_amounts_are_refused():
    assert Money("999999999999.99", "SGD").amount == Decimal("999999999999.99")
    with pytest.raises(AmountOutOfRange, match="too large"):
        Money("1000000000000", "SGD")
    with pytest.raises(AmountOutOfRange):
        Money(Decimal("1e100"), "SGD")


def test_arithmetic_keeps_the_currency_and_refuses_mixing():
    total = Money("10.25", "SGD") + Money("5", "SGD") - Money("0.25", "SGD")
    assert total == Money("15.00", "SGD") and total.currency == "SGD"
    assert -Money("3", "JPY") == Money("-3", "JPY")
    with pytest.raises(CurrencyMismatch):
        Money("1", "SGD") + Money("1", "USD")
    with pytest.raises(TypeError):
        Money("1", "SGD") + Decimal("1")
    assert Money("-5", "SGD").at_least_zero() == Money.zero("SGD")
    assert Money.of(None, "SGD") is None and Money.of(Decimal("2"), "SGD") == Money("2.00", "SGD")


def test_stored_hundredths_are_exact_and_refuse_more_places():
    assert to_hundredths(Decimal("12.34")) == 1234
    assert to_hundredths(Decimal("-0.5")) == -50
    with pytest.raises(AmountOutOfRange):
        to_hundredths(Decimal("12.345"))


@pytest.mark.parametrize(
    ("raw", "currency", "amount"),
    [
        ("1,200.50", "SGD", "1200.50"),
        (" -25 ", "SGD", "-25.00"),
        ("+7.5", "SGD", "7.50"),
        (".5", "SGD", "0.50"),
        ("15,000", "JPY", "15000"),
        ("15000.00", "JPY", "15000"),
        ("999999999999.99", "SGD", "999999999999.99"),
    ],
)
def test_typed_amounts(raw, currency, amount):
    parsed = parse_typed_amount(raw, currency)
    assert parsed == Decimal(amount) and str(parsed) == amount


@pytest.mark.parametrize(
    ("raw", "currency", "reason", "message"),
    [
        ("", "SGD", "empty", "Enter an amount"),
        ("abc", "SGD", "not_a_number", "as a number"),
        ("1e3", "SGD", "not_a_number", "as a number"),
        ("1E-2", "SGD", "not_a_number", "as a number"),
        ("NaN", "SGD", "not_a_number", "as a number"),
        ("Infinity", "SGD", "not_a_number", "as a number"),
        ("0x10", "SGD", "not_a_number", "as a number"),
        ("1.005", "SGD", "too_precise", "at most two decimals"),
        ("1.5", "JPY", "too_precise", "no decimals"),
        ("1000000000000", "SGD", "too_large", "too large"),
        ("1" * 100, "SGD", "too_large", "too large"),
    ],
)
def test_typed_amounts_refused_with_a_reason(raw, currency, reason, message):
    with pytest.raises(TypedAmountError, match=message) as caught:
        parse_typed_amount(raw, currency)
    assert caught.value.reason == reason


def test_typed_amount_in_an_unsupported_currency_is_refused():
    with pytest.raises(UnsupportedCurrency, match="KWD"):
        parse_typed_amount("1.000", "KWD")
