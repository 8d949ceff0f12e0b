"""Personal pace nudges: a DM, at most once a period, to someone whose own spend runs far above their usual pace.

The rule: a person is nudged when their projected spend for the month (what they spent so far, scaled to
the whole month; the first three days count as three, so one busy morning is not a month's pace) is
  - at least their monthly allowance, when an admin set one; otherwise
  - at least 1.5 times their usual month AND at least $20 more than it, their usual month being the
    median of their spend in those of the previous three months in which they used any (no history, no nudge).
Nobody is nudged twice for a period (the DM's outbox key names the person and the period); people turn
nudges off with the DM's button, and admins for the whole organization.
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa

from app.extensions import db
from app.models import Organization, UsageRollup, User
from app.services.outbox import add_message, refresh_messages
from app.services.periods import Period, current_period, period_for

PACE_NUDGE = "pace_nudge"
HISTORY_PERIODS = 3
FACTOR = Decimal("1.5")
MARGIN_USD = Decimal("20")
MIN_ELAPSED = dt.timedelta(days=3)
MAX_ALLOWANCE = Decimal("1000000")


@dataclass(frozen=True)
class Pace:
    """A person's spend this period against their usual (or their allowance)."""

    period: Period
    spent_usd: Decimal
    projected_usd: Decimal
    usual_usd: Decimal | None  # None without history or allowance
    allowance: bool  # usual_usd is the allowance an admin set
    history_months: int

    @property
    def far_above(self) -> bool:
        """The nudge rule (see the module's docstring)."""
        if self.usual_usd is None:
            return False
        if self.allowance:
            return self.projected_usd >= self.usual_usd and self.spent_usd > 0
        return self.projected_usd >= self.usual_usd * FACTOR and self.projected_usd >= self.usual_usd + MARGIN_USD


def nudge_key(user_id: int, period_key: str) -> str:
    """The outbox key of a person's nudge for a period: one per person and period, ever."""
    return f"nudge:{user_id}:{period_key}"


def nudge_period(key: str) -> str:
    """The period ("YYYY-MM") a nudge's key names."""
    return key.split(":")[2]


def previous_periods(key: str, count: int) -> list[str]:
    """The `count` period keys before key, most recent first."""
    year, month = (int(part) for part in key.split("-"))
    keys = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        keys.append(f"{year:04d}-{month:02d}")
    return keys


def projected(spent: Decimal, period: Period, now: dt.datetime) -> Decimal:
    """Spend so far scaled to the whole period (at least three days count as elapsed)."""
    length = period.ends_at - period.starts_at
    elapsed = min(max(now - period.starts_at, MIN_ELAPSED), length)
    return (spent * Decimal(length.total_seconds()) / Decimal(elapsed.total_seconds())).quantize(
        Decimal("0.01"), ROUND_HALF_UP)


def _spend_by_period(org_id: int, user_ids: set[int], keys: list[str]) -> dict[int, dict[str, Decimal]]:
    """{user id: {period: cost}} in one aggregate query over the per-person rollup."""
    rows = db.session.execute(
        sa.select(UsageRollup.user_id, UsageRollup.period, sa.func.sum(UsageRollup.cost_usd))
        .where(UsageRollup.org_id == org_id, UsageRollup.user_id.in_(user_ids), UsageRollup.period.in_(keys))
        .group_by(UsageRollup.user_id, UsageRollup.period)).all()
    spend: dict[int, dict[str, Decimal]] = {}
    for user_id, period, cost in rows:
        spend.setdefault(user_id, {})[period] = Decimal(cost)
    return spend


def _pace(user: User, period: Period, spend: dict[str, Decimal], now: dt.datetime) -> Pace:
    spent = spend.get(period.key, Decimal(0))
    history = [spend[k] for k in previous_periods(period.key, HISTORY_PERIODS) if spend.get(k)]
    if user.monthly_allowance_usd is not None:
        usual, allowance = user.monthly_allowance_usd, True
    else:
        usual = Decimal(statistics.median(history)).quantize(Decimal("0.01"), ROUND_HALF_UP) if history else None
        allowance = False
    return Pace(period, spent, projected(spent, period, now), usual, allowance, len(history))


def person_pace(user: User, period_key: str, now: dt.datetime | None = None) -> Pace:
    """A person's pace in a period, as their nudge shows it."""
    now = now or dt.datetime.now(dt.timezone.utc)
    period = period_for(period_key, user.organization.timezone)
    keys = [period.key, *previous_periods(period.key, HISTORY_PERIODS)]
    return _pace(user, period, _spend_by_period(user.org_id, {user.id}, keys).get(user.id, {}), now)


def nudge_fast_spenders(org: Organization, user_ids: set[int], now: dt.datetime | None = None) -> int:
    """Write a nudge DM (in the caller's transaction) for each of these people whose spend this period runs far
    above their usual pace and who has not been nudged this period; returns how many were written."""
    if not user_ids or not org.pace_nudges_enabled:
        return 0
    now = now or dt.datetime.now(dt.timezone.utc)
    period = current_period(org.timezone, now)
    people = db.session.scalars(sa.select(User).where(
        User.org_id == org.id, User.id.in_(user_ids), User.active.is_(True), User.pace_nudges.is_(True))).all()
    if not people:
        return 0
    keys = [period.key, *previous_periods(period.key, HISTORY_PERIODS)]
    spend = _spend_by_period(org.id, {p.id for p in people}, keys)
    written = 0
    for person in people:
        if _pace(person, period, spend.get(person.id, {}), now).far_above:
            add_message(nudge_key(person.id, period.key), org.id, PACE_NUDGE, person.id, recipient_email=person.email)
            written += 1
    return written


def stop_nudges(user: User) -> None:
    """The person turned pace nudges off (committed); their nudge DMs are updated to say so."""
    user.pace_nudges = False
    refresh_messages(PACE_NUDGE, user.id)
    db.session.commit()


def parse_allowance(raw) -> Decimal | None:
    """A monthly allowance from user input ("150", "150.00"; None or "" clears it); ValueError says why not."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    problem = ValueError('monthly_allowance_usd must be an amount in dollars from 0 to 1,000,000, such as "150.00" '
                         "(at most 2 decimals), or null for none")
    if not isinstance(raw, (str, int)) or isinstance(raw, bool) or (isinstance(raw, str) and not raw.isascii()):
        raise problem
    try:
        value = Decimal(str(raw).strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise problem from None
    if not value.is_finite() or not 0 <= value <= MAX_ALLOWANCE or value != value.quantize(Decimal("0.01")):
        raise problem
    return value


def set_allowance(user: User, amount: Decimal | None) -> None:
    """Measure this person's pace against amount a month (None: against their own history) (committed)."""
    user.monthly_allowance_usd = amount
    db.session.commit()


def people_with_allowances(org_id: int) -> list[User]:
    """The organization's people who have an allowance, by name."""
    return list(db.session.scalars(sa.select(User).where(User.org_id == org_id,
                                                         User.monthly_allowance_usd.is_not(None)).order_by(User.name)))
