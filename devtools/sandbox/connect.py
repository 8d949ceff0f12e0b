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
from app.models import Alert, AlertChannelRoute, Organization, OutboxMessage, ReimbursementRequest
from app.models.types import utcnow
from app.services.alert_routes import add_route
from app.services.alerts import ALERT_CARD, alert_copy_key, matching_routes
from app.services.outbox import add_message
from app.services.reimbursements import REQUEST_DM
from app.services.demo import DEMO_ORG_NAME
from app.slack.client.web import connect_single_workspace
from devtools.sandbox.workspace import CHANNELS


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
    """Give each open alert without channel copies one outbox message per matching channel; returns how many."""
    posted = sa.select(OutboxMessage.subject_id).where(OutboxMessage.kind == ALERT_CARD)
    alerts = db.session.scalars(sa.select(Alert).where(
        Alert.org_id == org.id, Alert.status == "open", Alert.id.not_in(posted)).order_by(Alert.fired_at)).all()
    count = 0
    for alert in alerts:
        for route in matching_routes(org.id, alert.severity):
            add_message(alert_copy_key(alert.id, route.workspace_id, route.channel_id), org.id, ALERT_CARD, alert.id,
                        workspace_id=route.workspace_id, channel_id=route.channel_id, route_id=route.id)
            count += 1
    db.session.commit()  # the worker's dispatcher sends them
    return count


def _notify_pending_requests(org: Organization) -> int:
    """Send again the approver DM of every pending request that has none (it failed while no workspace was
    connected); returns how many."""
    pending = db.session.scalars(sa.select(ReimbursementRequest).where(
        ReimbursementRequest.org_id == org.id, ReimbursementRequest.status == "pending",
        ReimbursementRequest.slack_message_ts.is_(None))).all()
    for request in pending:
        key = f"reimbursement:{request.id}:request"
        add_message(key, org.id, REQUEST_DM, request.id, recipient_email=request.approver.email)
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.key == key, OutboxMessage.state == "failed")
                           .values(state="pending", attempts=0, last_error=None, not_before=utcnow()))
        request.notify_error = None
    db.session.commit()
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
