"""Exact money: a Decimal amount with its ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from portal.domain.errors import DomainError

CENT = Decimal("0.01")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


def to_amount(value: str | int | Decimal) -> Decimal:
    """Return value as a Decimal with two places; floats are refused so no binary rounding sneaks in."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency."""

    amount: Decimal
    currency: str

    def __post_init__(self):
        object.__setattr__(self, "amount", to_amount(self.amount))
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal("0"), currency)

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
        return f"{self.currency} {self.amount:,.2f}"


class TypedAmountError(DomainError, ValueError):
    """What a person typed is not an amount; `reason` is 'empty', 'not_a_number' or 'too_precise'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_typed_amount(raw: str | None) -> Decimal:
    """An amount as a person types it ('1,200.50', ' -25 '): a finite Decimal with at most two places.

    Sign and range are the caller's rules; each caller words the errors for its own form.
    """
    text = (raw or "").strip().replace(",", "").replace(" ", "")
    if not text:
        raise TypedAmountError("empty")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise TypedAmountError("not_a_number") from None
    if not amount.is_finite():
        raise TypedAmountError("not_a_number")
    if amount != amount.quantize(CENT):
        raise TypedAmountError("too_precise")
    return amount.quantize(CENT)
