"""Column types: money as exact integer micro-dollars, UTC datetimes, encrypted secrets."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from app import crypto

MICROS = Decimal(1_000_000)


def to_micros(amount: Decimal) -> int:
    """Exact micro-dollars for a Decimal amount; ValueError if it has more than 6 decimals."""
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise ValueError("amounts are kept to at most 6 decimal places")
    return int(micros)


def from_micros(micros: int | None) -> Decimal:
    """The Decimal dollar amount for integer micro-dollars (None counts as zero)."""
    return (Decimal(micros or 0) / MICROS).quantize(Decimal("0.000001"))


class Money(sa.types.TypeDecorator):
    """A Decimal in Python, a BIGINT of micro-dollars in the database: never a float."""

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else to_micros(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else from_micros(value)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware datetimes, stored in UTC on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class EncryptedText(sa.types.TypeDecorator):
    """A secret encrypted with TOKTRA_ENCRYPTION_KEY before it reaches the database."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return crypto.encrypt(current_app.config["TOKTRA_ENCRYPTION_KEY"], value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return crypto.decrypt(current_app.config["TOKTRA_ENCRYPTION_KEY"], value)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def render_migration_item(type_, obj, autogen_context):
    """Alembic hook: write our column types into migrations as their plain SQL types."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False
