"""Raw LLM usage events and the per-period rollup that answers summaries fast."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import Money, UTCDateTime, utcnow


class UsageRecord(db.Model):
    """One usage event as reported to the API; (org, event id) makes ingest idempotent."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(sa.String(64))
    model: Mapped[str] = mapped_column(sa.String(200))
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger)
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger)
    cost_usd: Mapped[Decimal] = mapped_column(Money)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    period: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM in the org's timezone
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("org_id", "event_id", name="uq_usage_org_event"),
        sa.Index("ix_usage_org_user_occurred", "org_id", "user_id", "occurred_at"),
    )


class UsageRollup(db.Model):
    """Totals per org, user, provider and billing period, kept in step with UsageRecord."""

    __tablename__ = "usage_rollups"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    event_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class UsagePeriodTotal(db.Model):
    """The organization's totals per billing period: its budget figure is one row, however many people."""

    __tablename__ = "usage_period_totals"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    event_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class UsageDayTotal(db.Model):
    """An organization's totals for one day (in its timezone), kept with the rollup: the forecast reads these."""

    __tablename__ = "usage_day_totals"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    event_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
