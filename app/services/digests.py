"""Digest channels: a route that receives one message per day or week (at a local time) instead of each alert.

The scheduler round (jobs/outbox.py dispatch_due) writes each due digest as an outbox message keyed
f"digest:{route_id}:{period_start}", so a period's digest reaches its channel once, however many
workers run the round; the message is rendered from the alerts' state when it is sent.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import SEVERITIES, Alert, AlertChannelRoute, Organization, SlackWorkspace
from app.models.types import utcnow
from app.services.errors import DomainError
from app.models.outbox import OutboxMessage
from app.services.outbox import add_message, refresh_message
from app.services.periods import zone

DIGEST_KIND = "alert_digest"
DELIVERIES = ("realtime", "daily", "weekly")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_DIGEST_TIME = "09:00"
TOP_OPEN = 10
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


class DigestError(DomainError):
    """A digest setting that cannot be used; str() says what would work."""


@dataclass(frozen=True)
class DigestSchedule:
    """When a route's digest goes out: daily or weekly, at a local HH:MM, on a weekday (0 = Monday) if weekly."""

    delivery: str
    time: str
    weekday: int | None
    tz: str

    def latest_end(self, now: dt.datetime) -> dt.datetime:
        """The most recent digest time at or before now (UTC)."""
        local = now.astimezone(zone(self.tz))
        day = local.date()
        if self.delivery == "weekly":
            day -= dt.timedelta(days=(day.weekday() - self.weekday) % 7)
        end = self._at(day)
        return end if end <= now else self._at(day - dt.timedelta(days=self._days))

    def start_of(self, end: dt.datetime) -> dt.datetime:
        """The start of the period ending at end (the digest time one day or week earlier, local time)."""
        return self._at(end.astimezone(zone(self.tz)).date() - dt.timedelta(days=self._days))

    def end_of(self, start: dt.datetime) -> dt.datetime:
        """The end of the period starting at start."""
        return self._at(start.astimezone(zone(self.tz)).date() + dt.timedelta(days=self._days))

    @property
    def _days(self) -> int:
        return 7 if self.delivery == "weekly" else 1

    def _at(self, day: dt.date) -> dt.datetime:
        hour, minute = map(int, self.time.split(":"))
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone(self.tz)).astimezone(dt.timezone.utc)


def schedule_for(route: AlertChannelRoute, tz: str) -> DigestSchedule:
    """The route's digest schedule (daily at 09:00 when a setting is missing)."""
    delivery = route.delivery if route.delivery in ("daily", "weekly") else "daily"
    weekday = route.digest_weekday if route.digest_weekday is not None else 0
    return DigestSchedule(delivery, route.digest_time or DEFAULT_DIGEST_TIME, weekday, tz)


def check_delivery(delivery, digest_time, digest_weekday) -> tuple[str, str | None, int | None]:
    """(delivery, digest_time, digest_weekday) validated; DigestError says what is wrong and what would be right."""
    delivery = delivery or "realtime"
    delivery = delivery.strip().lower() if isinstance(delivery, str) else delivery
    if delivery not in DELIVERIES:
        raise DigestError(f"delivery must be realtime, daily or weekly, not {str(delivery)[:40]!r}")
    if delivery == "realtime":
        return delivery, None, None
    digest_time = (digest_time or DEFAULT_DIGEST_TIME)
    if not isinstance(digest_time, str) or not _HHMM.fullmatch(digest_time.strip()):
        raise DigestError(f"digest_time must be a local time as HH:MM (24-hour), such as 09:00, "
                          f"not {str(digest_time)[:40]!r}")
    if delivery == "daily":
        return delivery, digest_time.strip(), None
    if isinstance(digest_weekday, str):
        names = [d.lower() for d in WEEKDAYS]
        digest_weekday = names.index(digest_weekday.strip().lower()) if digest_weekday.strip().lower() in names \
            else (int(digest_weekday) if digest_weekday.strip().isdigit() else digest_weekday)
    if digest_weekday is None:
        digest_weekday = 0
    if isinstance(digest_weekday, bool) or not isinstance(digest_weekday, int) or not 0 <= digest_weekday <= 6:
        raise DigestError("digest_weekday must be 0 (Monday) to 6 (Sunday), or the day's name, for a weekly digest")
    return delivery, digest_time.strip(), digest_weekday


def set_delivery(route: AlertChannelRoute, delivery: str, digest_time: str | None, digest_weekday: int | None,
                 tz: str, now: dt.datetime | None = None) -> None:
    """Set how a route receives alerts (in the caller's transaction); a new digest schedule starts with the
    next digest time, so switching never posts a digest at once."""
    changed = (delivery, digest_time, digest_weekday) != (route.delivery, route.digest_time, route.digest_weekday)
    route.delivery, route.digest_time, route.digest_weekday = delivery, digest_time, digest_weekday
    if changed and route.is_digest:
        route.last_digest_at = schedule_for(route, tz).latest_end(now or utcnow())


def describe_delivery(route: AlertChannelRoute) -> str:
    """"Real time", "Daily digest at 09:00", "Weekly digest on Monday at 09:00"."""
    if route.delivery == "daily":
        return f"Daily digest at {route.digest_time}"
    if route.delivery == "weekly":
        return f"Weekly digest on {WEEKDAYS[route.digest_weekday or 0]} at {route.digest_time}"
    return "Real time"


def digest_key(route_id: int, period_start: dt.datetime) -> str:
    """The outbox key of one period's digest in one channel: writing it twice keeps one message."""
    return f"digest:{route_id}:{period_start.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H:%MZ')}"


def period_start_from_key(key: str) -> dt.datetime | None:
    """The period start a digest key names."""
    try:
        return dt.datetime.strptime(key.split(":", 2)[2], "%Y-%m-%dT%H:%MZ").replace(tzinfo=dt.timezone.utc)
    except (IndexError, ValueError):
        return None


def _digest_routes() -> list[tuple[AlertChannelRoute, str]]:
    return [(route, tz) for route, tz in db.session.execute(
        sa.select(AlertChannelRoute, Organization.timezone)
        .join(SlackWorkspace, AlertChannelRoute.workspace_id == SlackWorkspace.id)
        .join(Organization, SlackWorkspace.org_id == Organization.id)
        .where(SlackWorkspace.active.is_(True), AlertChannelRoute.delivery.in_(("daily", "weekly")))
        .order_by(AlertChannelRoute.id))]


def write_due_digests(now: dt.datetime | None = None) -> int:
    """The scheduler's round: write the digest of every digest route whose digest time has passed (committed).

    Marking the route (a conditional UPDATE) and the message's unique key each make it once per period and
    channel, whatever the number of workers. Only the latest period is written: a scheduler that was down
    for days posts one digest, not a backlog.
    """
    now = now or utcnow()
    written = 0
    for route, tz in _digest_routes():
        schedule = schedule_for(route, tz)
        end = schedule.latest_end(now)
        if route.last_digest_at is not None and route.last_digest_at >= end:
            continue
        marked = db.session.execute(
            sa.update(AlertChannelRoute)
            .where(AlertChannelRoute.id == route.id,
                   sa.or_(AlertChannelRoute.last_digest_at.is_(None), AlertChannelRoute.last_digest_at < end))
            .values(last_digest_at=end).execution_options(synchronize_session=False)).rowcount == 1
        if marked:
            add_message(digest_key(route.id, schedule.start_of(end)), route.workspace.org_id, DIGEST_KIND, route.id,
                        workspace_id=route.workspace_id, channel_id=route.channel_id, route_id=route.id)
            written += 1
        db.session.commit()
    return written


def refresh_digests_showing(alert: Alert) -> int:
    """The alert changed (acknowledged, resolved...): the digests of its period that count it are updated in
    place, in the caller's transaction, so a click on a digest's button shows. Returns how many."""
    candidates = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == DIGEST_KIND, OutboxMessage.org_id == alert.org_id,
        OutboxMessage.created_at >= alert.fired_at,
        OutboxMessage.created_at <= alert.fired_at + dt.timedelta(days=8))).all()
    refreshed = 0
    for message in candidates:
        route = db.session.get(AlertChannelRoute, message.subject_id)
        start = period_start_from_key(message.key)
        if route is None or start is None or alert.severity not in route.severity_list:
            continue
        if start <= alert.fired_at < schedule_for(route, route.workspace.organization.timezone).end_of(start):
            refreshed += refresh_message(message.key)
    return refreshed


@dataclass(frozen=True)
class DigestContent:
    """What one digest shows: the period, counts by severity and status, and the top open alerts."""

    route: AlertChannelRoute
    schedule: DigestSchedule
    start: dt.datetime
    end: dt.datetime
    total: int
    by_severity: dict[str, int]
    by_status: dict[str, int]
    top_open: list[Alert]


SEVERITY_RANK = sa.case({s: i for i, s in enumerate(SEVERITIES)}, value=Alert.severity)


def digest_content(route: AlertChannelRoute, tz: str, start: dt.datetime) -> DigestContent:
    """The period's alerts of the route's severities, counted as they stand now, and the most severe (then
    newest) still open ones."""
    schedule = schedule_for(route, tz)
    end = schedule.end_of(start)
    in_period = sa.and_(Alert.org_id == route.workspace.org_id, Alert.severity.in_(route.severity_list),
                        Alert.fired_at >= start, Alert.fired_at < end)
    counts = db.session.execute(sa.select(Alert.severity, Alert.status, sa.func.count())
                                .where(in_period).group_by(Alert.severity, Alert.status)).all()
    by_severity = {s: 0 for s in reversed(route.severity_list)}
    by_status: dict[str, int] = {}
    for severity, status, count in counts:
        by_severity[severity] = by_severity.get(severity, 0) + count
        by_status[status] = by_status.get(status, 0) + count
    top_open = list(db.session.scalars(
        sa.select(Alert).where(in_period, Alert.status == "open")
        .options(selectinload(Alert.subject_user))
        .order_by(SEVERITY_RANK.desc(), Alert.fired_at.desc(), Alert.id.desc()).limit(TOP_OPEN)))
    return DigestContent(route, schedule, start, end, sum(by_status.values()), by_severity, by_status, top_open)
