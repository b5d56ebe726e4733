"""Column types that keep the rules: times stored in UTC, money stored exactly."""

from datetime import UTC
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from portal.domain.money import to_amount


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
    """A two-place Decimal stored as an integer count of hundredths (exact on SQLite too)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        return int(to_amount(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))

    def coerce_compared_value(self, op, value):
        return self
