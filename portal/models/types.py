"""Column types that keep the rules: times stored in UTC, money stored exactly."""

from datetime import UTC
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, DateTime
from sqlalchemy.types import TypeDecorator

from portal.domain.money import UNSUPPORTED_CURRENCIES, to_hundredths


class UTCDateTime(TypeDecorator):
    """An aware datetime, stored as naive UTC on every database; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must carry their offset")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Amount(TypeDecorator):
    """A Decimal stored as an integer count of hundredths (exact on SQLite too); more decimals are refused."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        return to_hundredths(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))

    def coerce_compared_value(self, op, value):
        return self


_LETTERS = ", ".join(f"'{chr(c)}'" for c in range(ord("A"), ord("Z") + 1))


def currency_check_sql(column: str = "currency") -> str:
    """SQL: three letters A-Z, and not a currency whose decimals the Amount column cannot hold.

    Each letter is compared with IN (equality), not a range, so a case-insensitive or linguistic
    collation cannot let 'a' through on PostgreSQL; it reads the same on SQLite.
    """
    letters = " AND ".join(f"substr({column}, {i}, 1) IN ({_LETTERS})" for i in (1, 2, 3))
    refused = ", ".join(f"'{code}'" for code in sorted(UNSUPPORTED_CURRENCIES))
    return f"length({column}) = 3 AND {letters} AND {column} NOT IN ({refused})"


def currency_check(column: str = "currency") -> CheckConstraint:
    """The CHECK every currency column carries (see portal.domain.money for the rule)."""
    return CheckConstraint(currency_check_sql(column), name=f"{column}_supported")
