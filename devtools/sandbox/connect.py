"""Connect the sandbox's demo workspace to the demo organization, as an admin would with real Slack.

    python -m devtools.sandbox.connect     (bin/serve runs it; needs SLACK_BOT_TOKEN and SLACK_API_URL)

It records the workspace (single-workspace mode, like `flask toktra connect-workspace`), routes alerts
to the demo's alert channels, and sends what an installed app would already have sent: the first
time, the demo's open alerts to their channels; every time, pending reimbursement requests whose
approver has no DM yet.
"""
from __future__ import annotations

import sys

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Alert, AlertChannelRoute, AlertDelivery, Organization, ReimbursementRequest
from app.services.alert_routes import add_route
from app.services.alerts import matching_routes
from app.services.demo import DEMO_ORG_NAME
from app.slack.store import connect_single_workspace
from devtools.sandbox.workspace import CHANNELS
from jobs import enqueue


def _add_demo_routes(workspace) -> bool:
    """Route the demo channels' severities; True if any route is new."""
    existing = set(db.session.scalars(
        sa.select(AlertChannelRoute.channel_id).where(AlertChannelRoute.workspace_id == workspace.id)))
    added = False
    for channel in CHANNELS:
        if channel.severities and channel.id not in existing:
            add_route(workspace, channel.id, channel.name, list(channel.severities))
            added = True
    return added


def _deliver_open_alerts(org: Organization) -> int:
    """Give each open alert without deliveries one per matching channel, and queue them; returns how many."""
    delivered = sa.select(AlertDelivery.alert_id)
    alerts = db.session.scalars(sa.select(Alert).where(
        Alert.org_id == org.id, Alert.status == "open", Alert.id.not_in(delivered)).order_by(Alert.fired_at))
    ids = []
    for alert in alerts:
        for route in matching_routes(org.id, alert.severity):
            delivery = AlertDelivery(alert_id=alert.id, workspace_id=route.workspace_id, route_id=route.id,
                                     channel_id=route.channel_id)
            db.session.add(delivery)
            db.session.flush()
            ids.append(delivery.id)
    db.session.commit()
    try:
        from jobs.alerts import queue_deliveries
    except ImportError:  # the worker's sweeper picks pending deliveries up within a minute anyway
        return len(ids)
    queue_deliveries(ids)
    return len(ids)


def _notify_pending_requests(org: Organization) -> int:
    """Queue the approver's DM of every pending request that has none yet; returns how many."""
    pending = list(db.session.scalars(sa.select(ReimbursementRequest.id).where(
        ReimbursementRequest.org_id == org.id, ReimbursementRequest.status == "pending",
        ReimbursementRequest.slack_message_ts.is_(None))))
    for request_id in pending:
        enqueue("jobs.reimbursements.notify_approver", request_id)
    return len(pending)


def main() -> None:
    """Connect the workspace and print what was done."""
    app = create_app()
    with app.app_context():
        org = db.session.scalar(sa.select(Organization).where(Organization.name == DEMO_ORG_NAME))
        if org is None:
            sys.exit(f"No organization named {DEMO_ORG_NAME!r}: run `flask toktra seed-demo` first.")
        workspace = connect_single_workspace(org)
        first_time = _add_demo_routes(workspace)
        print(f"Slack sandbox workspace {workspace.team_name} ({workspace.team_id}) connected to {org.name}; alerts go "
              + ", ".join(f"{', '.join(c.severities)} to #{c.name}" for c in CHANNELS if c.severities) + ".")
        alerts = _deliver_open_alerts(org) if first_time else 0
        requests = _notify_pending_requests(org)
        if alerts or requests:
            print(f"Sending the demo's open alerts ({alerts} cards) and pending reimbursement requests ({requests}).")


if __name__ == "__main__":
    main()
