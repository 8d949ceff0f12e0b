"""Organizations, their people and their API keys."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.types import Money, UTCDateTime, utcnow


class Role(str, enum.Enum):
    """What a person may do in Toktra."""

    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"


class Organization(db.Model):
    """A customer company: its budget, alert threshold and billing timezone."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(Money)
    alert_threshold_pct: Mapped[int] = mapped_column(sa.SmallInteger, default=80)
    # Every threshold that fires a budget alert, ascending, comma-separated ("50,75,90"); the lowest is
    # alert_threshold_pct. None means just alert_threshold_pct. 100% always fires as well.
    alert_thresholds: Mapped[str | None] = mapped_column(sa.String(64))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Personal pace nudges (a DM when someone's own spend runs far above their usual); admins may turn them off.
    pace_nudges_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")

    @property
    def thresholds(self) -> list[int]:
        """The alert thresholds (%), ascending."""
        if self.alert_thresholds:
            return [int(t) for t in self.alert_thresholds.split(",")]
        return [self.alert_threshold_pct]

    __table_args__ = (
        sa.CheckConstraint("alert_threshold_pct BETWEEN 1 AND 100", name="threshold_range"),
        sa.CheckConstraint("monthly_budget_usd IS NULL OR monthly_budget_usd >= 0", name="budget_non_negative"),
    )


class BudgetCrossing(db.Model):
    """A budget threshold crossed in a period: the row exists once, so its alert fires once, races included."""

    __tablename__ = "budget_crossings"

    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    threshold: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    crossed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(UserMixin, db.Model):
    """A person in an organization; signs in to the dashboard with email and password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.MEMBER.value)
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # False once the person clicked "Stop these nudges" in a pace nudge DM.
    pace_nudges: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # An admin-set monthly allowance: their pace is measured against it instead of their own history.
    monthly_allowance_usd: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="users")
    manager: Mapped[User | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'manager', 'member')", name="role"),
    )

    def set_password(self, password: str) -> None:
        """Store a salted hash of password; the password itself is never kept."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when password matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        """Admins install Slack, change settings and look up anyone's usage."""
        return self.role == Role.ADMIN.value

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active


class ApiKey(db.Model):
    """A REST API key: only its SHA-256 hash and a lookup prefix are stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
