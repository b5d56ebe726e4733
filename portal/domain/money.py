"""Exact money: a Decimal amount with its ISO 4217 currency. Never a float, never rounded silently.

Each currency has its ISO 4217 number of minor units (decimals): 2 by default, 0 for the currencies in
ZERO_DECIMAL_CURRENCIES (JPY, KRW, VND, ...). Amounts are stored as integer hundredths, so currencies
with 3 or more decimals (KWD, BHD, ...) cannot be held and are refused as currencies
(UnsupportedCurrency). An amount with more decimals than its currency has is refused, not rounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from types import MappingProxyType

from portal.domain.errors import DomainError

# ISO 4217 currencies without minor units. Every other well-formed code has 2, except those below.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
# ISO 4217 currencies with more than 2 minor units: amounts are stored as hundredths, so these cannot be.
UNSUPPORTED_CURRENCIES: Mapping[str, int] = MappingProxyType(
    {"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3, "CLF": 4, "UYW": 4}
)
STORED_DECIMALS = 2  # the Amount column holds integer hundredths
MAX_INTEGER_DIGITS = 12  # far inside a BigInteger of hundredths, and more than any fare or balance needs

_CODE = re.compile(r"[A-Z]{3}")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class UnsupportedCurrency(ValueError):
    """Not an ISO 4217 code, or a currency with more decimals than the portal stores."""


class AmountOutOfRange(ValueError):
    """An amount with more decimals than its currency has, or more integer digits than are stored."""


def minor_units(currency: str) -> int:
    """How many decimals amounts in `currency` have (ISO 4217); UnsupportedCurrency when not held here."""
    if not isinstance(currency, str) or not _CODE.fullmatch(currency):
        raise UnsupportedCurrency(f"not an ISO 4217 currency code: {currency!r}")
    if currency in UNSUPPORTED_CURRENCIES:
        raise UnsupportedCurrency(
            f"{currency} amounts have {UNSUPPORTED_CURRENCIES[currency]} decimals; "
            f"the portal stores at most {STORED_DECIMALS} and does not support {currency}"
        )
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def decimals_phrase(currency: str) -> str:
    """'at most two decimals' or 'no decimals', for messages about typed amounts."""
    return "no decimals" if minor_units(currency) == 0 else "at most two decimals"


def _decimal(value: str | int | Decimal) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money is never a float")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"not an amount: {value!r}")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _exact(amount: Decimal, places: int, what: str) -> Decimal:
    """amount with exactly `places` decimals, or AmountOutOfRange when that would change its value."""
    # Size first: quantizing a huge number would overflow the decimal context.
    if amount != 0 and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise AmountOutOfRange(f"amount too large (more than {MAX_INTEGER_DIGITS} digits): {amount}")
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step, rounding=ROUND_DOWN):
        raise AmountOutOfRange(f"{what} amounts have {'no' if places == 0 else places} decimals: {amount}")
    return amount.quantize(step)


def to_amount(value: str | int | Decimal, currency: str) -> Decimal:
    """value as a Decimal with the currency's decimals; refused (never rounded) if it has more.

    Floats are refused so no binary rounding sneaks in; so are infinities, NaN and amounts with more
    than MAX_INTEGER_DIGITS integer digits.
    """
    return _exact(_decimal(value), minor_units(currency), currency)


def to_hundredths(value: str | int | Decimal) -> int:
    """The stored form of an amount: an integer count of hundredths; more decimals are refused."""
    return int(_exact(_decimal(value), STORED_DECIMALS, "stored") * 100)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency, with that currency's decimals."""

    amount: Decimal
    currency: str

    def __post_init__(self):
        object.__setattr__(self, "amount", to_amount(self.amount, self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

    @classmethod
    def of(cls, amount: Decimal | None, currency: str) -> Money | None:
        """Money, or None when there is no amount (a nullable column)."""
        return None if amount is None else cls(amount, currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def at_least_zero(self) -> Money:
        """The amount, or zero if it is negative (a refund never goes below nothing)."""
        return self if self.amount >= 0 else Money.zero(self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.{minor_units(self.currency)}f}"

    @property
    def plain(self) -> str:
        """The amount as the API writes it: a string with the currency's decimals, no grouping ("440.00")."""
        return f"{self.amount:.{minor_units(self.currency)}f}"


class TypedAmountError(DomainError, ValueError):
    """What a person typed is not an amount.

    `reason` is 'empty', 'not_a_number' (also exponents such as 1e3), 'too_precise' (more decimals than
    the currency has) or 'too_large' (more than MAX_INTEGER_DIGITS integer digits); `message` is a
    plain sentence for callers that do not word their own.
    """

    MESSAGES: Mapping[str, str] = MappingProxyType(
        {
            "empty": "Enter an amount.",
            "not_a_number": "Enter the amount as a number such as 315.00.",
            "too_precise": "Enter the amount with {decimals}.",
            "too_large": f"That amount is too large (at most {MAX_INTEGER_DIGITS} digits before the point).",
        }
    )

    def __init__(self, reason: str, currency: str):
        self.reason = reason
        self.currency = currency
        self.message = self.MESSAGES[reason].format(decimals=decimals_phrase(currency))
        super().__init__(self.message)


_TYPED = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_typed_amount(raw: str | None, currency: str) -> Decimal:
    """An amount in `currency` as a person types it ('1,200.50', ' -25 '), refused rather than rounded.

    Digits with an optional sign and point only: no exponent ('1e3'), no NaN or Infinity; at most the
    currency's decimals (SGD 2, JPY 0) and MAX_INTEGER_DIGITS integer digits. Sign and range are the
    caller's rules; each caller may word the errors for its own form (TypedAmountError.reason).
    """
    places = minor_units(currency)
    text = (raw or "").strip().replace(",", "").replace(" ", "")
    if not text:
        raise TypedAmountError("empty", currency)
    if not _TYPED.fullmatch(text):
        raise TypedAmountError("not_a_number", currency)
    if len(text.lstrip("+-").split(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise TypedAmountError("too_large", currency)
    amount = Decimal(text)
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        raise TypedAmountError("too_precise", currency)
    return to_amount(amount, currency)
