"""Alerts: listing and the organization's ticketing capability."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Alert, ItsmConnector, Organization


def recent_alerts(org: Organization, severity: str | None = None, limit: int = 10) -> list[Alert]:
    """The organization's most recent alerts, newest first."""
    query = (
        sa.select(Alert)
        .where(Alert.org_id == org.id)
        .options(selectinload(Alert.subject_user), selectinload(Alert.acknowledged_by))
        .order_by(Alert.fired_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if severity:
        query = query.where(Alert.severity == severity)
    return list(db.session.scalars(query))


def has_active_itsm(org: Organization) -> bool:
    """True when the organization has at least one active ServiceNow or Jira connector."""
    return db.session.scalar(
        sa.select(sa.exists().where(ItsmConnector.org_id == org.id, ItsmConnector.active.is_(True)))
    )
