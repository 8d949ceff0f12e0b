"""Alert channels: which Slack channels receive which severities."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import SEVERITIES, AlertChannelRoute, Organization, SlackWorkspace
from app.services.digests import set_delivery
from app.services.errors import CONFLICT, DomainError


class RouteError(DomainError):
    """A channel route request that cannot be honoured; str() says why and what would work."""


def parse_severities(raw) -> list[str]:
    """Severities from a list or a comma-separated string, validated and in canonical order."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise RouteError('severities must be a list such as ["high", "critical"]')
    chosen = {i.strip().lower() for i in items if i.strip()}
    unknown = chosen - set(SEVERITIES)
    if unknown:
        raise RouteError(f"unknown severit{'y' if len(unknown) == 1 else 'ies'} {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(SEVERITIES)}")
    if not chosen:
        raise RouteError("choose at least one severity: low, medium, high or critical")
    return [s for s in SEVERITIES if s in chosen]


def org_workspaces(org_id: int, active_only: bool = True) -> list[SlackWorkspace]:
    """The organization's Slack workspaces."""
    query = sa.select(SlackWorkspace).where(SlackWorkspace.org_id == org_id).order_by(SlackWorkspace.id)
    if active_only:
        query = query.where(SlackWorkspace.active.is_(True))
    return list(db.session.scalars(query))


def pick_workspace(org: Organization, team_id: str | None) -> SlackWorkspace:
    """The workspace a route goes in: the given team, or the organization's only active workspace."""
    workspaces = org_workspaces(org.id)
    if not workspaces:
        raise RouteError("Toktra is not installed in any active Slack workspace of this organization yet.", CONFLICT)
    if team_id:
        for workspace in workspaces:
            if workspace.team_id == team_id:
                return workspace
        raise RouteError(f"no active workspace {team_id}; this organization has "
                         + ", ".join(f"{w.team_id} ({w.team_name})" for w in workspaces))
    if len(workspaces) > 1:
        raise RouteError("this organization has several workspaces; say which with team_id: "
                         + ", ".join(f"{w.team_id} ({w.team_name})" for w in workspaces))
    return workspaces[0]


def org_routes(org_id: int) -> list[AlertChannelRoute]:
    """The organization's channel routes, by workspace then channel name."""
    return list(db.session.scalars(
        sa.select(AlertChannelRoute).join(SlackWorkspace, AlertChannelRoute.workspace_id == SlackWorkspace.id)
        .where(SlackWorkspace.org_id == org_id).order_by(SlackWorkspace.id, AlertChannelRoute.channel_name)
    ))


def get_route(org_id: int, route_id: int) -> AlertChannelRoute | None:
    """One of the organization's routes."""
    route = db.session.get(AlertChannelRoute, route_id)
    return route if route is not None and route.workspace.org_id == org_id else None


MAX_REMIND_MINUTES = 7 * 24 * 60
REMIND_WORDS = f"remind_after_minutes must be a whole number of minutes from 1 to {MAX_REMIND_MINUTES} (7 days), or null for no reminders"


def parse_remind_minutes(raw) -> int | None:
    """A route's reminder interval: None (no reminders), or whole minutes from 1 to 7 days (ValueError says so).

    Accepts a JSON number or a form's text ("" is none).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) <= 6:
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_REMIND_MINUTES:
        raise ValueError(REMIND_WORDS)
    return raw


BY_SEVERITY_WORDS = ('remind_after_by_severity must be an object of severity to minutes, such as '
                     '{"critical": 15, "low": null} (null: no reminders for that severity), or null for none')


def parse_remind_by_severity(raw) -> dict[str, int | None] | None:
    """Per-severity reminder intervals: None (none), or {severity: minutes 1..7 days or None} (ValueError says so)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(BY_SEVERITY_WORDS)
    unknown = sorted(str(k) for k in raw if k not in SEVERITIES)
    if unknown:
        raise ValueError(f"remind_after_by_severity: unknown severit{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(unknown)}; choose from {', '.join(SEVERITIES)}")
    parsed = {}
    for severity in SEVERITIES:
        if severity not in raw:
            continue
        value = raw[severity]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1 <= value <= MAX_REMIND_MINUTES):
            raise ValueError(f"remind_after_by_severity.{severity} must be a whole number of minutes from 1 to "
                             f"{MAX_REMIND_MINUTES} (7 days), or null for no reminders of {severity} alerts")
        parsed[severity] = value
    return parsed or None


def _check_by_severity(by_severity: dict | None, severities: list[str]) -> None:
    """Refuse intervals for severities the channel does not receive (RouteError says which it does)."""
    stray = [s for s in by_severity or {} if s not in severities]
    if stray:
        raise RouteError(f"remind_after_by_severity names {', '.join(stray)}, which this channel does not receive; "
                         f"give intervals only for its severities ({', '.join(severities)}), or add "
                         f"{'it' if len(stray) == 1 else 'them'} to severities")


def describe_reminders(route: AlertChannelRoute) -> str:
    """The route's reminders in words for the admin page ("" when it has none)."""
    overrides = {s: m for s, m in (route.remind_after_by_severity or {}).items() if s in route.severity_list}
    if route.remind_after_minutes:
        exceptions = [f"{s} {f'every {m} min' if m else 'never'}" for s, m in overrides.items()]
        return f"Reminder every {route.remind_after_minutes} min until acknowledged" + \
            (f" ({', '.join(exceptions)})" if exceptions else "")
    reminded = [f"{s} every {m} min" for s, m in overrides.items() if m]
    return f"Reminder until acknowledged: {', '.join(reminded)}" if reminded else ""


def add_route(workspace: SlackWorkspace, channel_id: str, channel_name: str, severities: list[str],
              remind_after_minutes: int | None = None, *, remind_after_by_severity: dict | None = None,
              delivery: tuple[str, str | None, int | None] = ("realtime", None, None)) -> AlertChannelRoute:
    """Route severities to a channel (reminding it of unacknowledged alerts every N minutes, if given, or as
    remind_after_by_severity says for a severity), in real time or as a digest (check_delivery's answer);
    routing starts with the next alert."""
    _check_by_severity(remind_after_by_severity, severities)
    route = AlertChannelRoute(workspace_id=workspace.id, channel_id=channel_id, channel_name=channel_name.lstrip("#"),
                              severities=",".join(severities), remind_after_minutes=remind_after_minutes,
                              remind_after_by_severity=remind_after_by_severity or None, delivery="realtime")
    set_delivery(route, *delivery, tz=workspace.organization.timezone)
    db.session.add(route)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RouteError(f"#{channel_name or channel_id} already receives alerts; edit its severities instead.", CONFLICT) from None
    return route


KEEP = object()  # update_route: leave the reminder interval as it is


def update_route(route: AlertChannelRoute, severities: list[str] | None, remind_after_minutes=KEEP, *,
                 remind_after_by_severity=KEEP, delivery: tuple[str, str | None, int | None] | None = None) -> None:
    """Change which severities a channel receives (None keeps them), its reminder interval and per-severity
    intervals unless KEEP (None turns them off), and how it receives alerts (check_delivery's answer; None keeps it).

    Kept per-severity intervals of severities no longer received are dropped. Reminders already written keep
    their time; one for a route whose reminders were turned off is skipped.
    """
    severities = severities if severities is not None else route.severity_list
    if remind_after_by_severity is KEEP:
        kept = {s: m for s, m in (route.remind_after_by_severity or {}).items() if s in severities}
        remind_after_by_severity = kept
    _check_by_severity(remind_after_by_severity, severities)
    route.remind_after_by_severity = remind_after_by_severity or None
    route.severities = ",".join(severities)
    if remind_after_minutes is not KEEP:
        route.remind_after_minutes = remind_after_minutes
    if delivery is not None:
        set_delivery(route, *delivery, tz=route.workspace.organization.timezone)
    db.session.commit()


def remove_route(route: AlertChannelRoute) -> None:
    """Stop routing alerts to a channel."""
    db.session.delete(route)
    db.session.commit()
