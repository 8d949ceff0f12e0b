"""How deliveries to Slack are going, read from the outbox: counts by state and the oldest unsent message."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models.outbox import OutboxMessage
from app.models.types import utcnow

UNSENT = ("pending", "sending", "posting")


def live_state_counts() -> tuple[dict[str, int], float]:
    """Outbox messages by state, and the age in seconds of the oldest one not yet sent (0 when none)."""
    rows = db.session.execute(sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state))
    counts = {state: count for state, count in rows}
    oldest = db.session.scalar(sa.select(sa.func.min(OutboxMessage.created_at))
                               .where(OutboxMessage.state.in_(UNSENT)))
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return counts, max(age, 0.0)
