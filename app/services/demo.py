"""A realistic demo organization for local runs and product tours."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models import Alert, Organization, ReimbursementRequest
from app.models.types import utcnow
from app.services import accounts
from app.services.periods import current_period, period_for
from app.services.usage import ingest_usage

DEMO_ORG_NAME = "Acme Corp (demo)"
DEMO_ADMIN_EMAIL = "admin@acme.example"

PEOPLE = [
    # email, name, role, manager
    (DEMO_ADMIN_EMAIL, "Priya Patel", "admin", None),
    ("manager@acme.example", "Marcus Chen", "manager", None),
    ("alice@acme.example", "Alice Smith", "member", "manager@acme.example"),
    ("bob@acme.example", "Bob Jones", "member", "manager@acme.example"),
    ("carol@acme.example", "Carol Diaz", "member", "manager@acme.example"),
]

# provider, model, $ per 1k input tokens, $ per 1k output tokens
MODELS = [
    ("openai", "gpt-4o", Decimal("0.0025"), Decimal("0.01")),
    ("openai", "gpt-4o-mini", Decimal("0.00015"), Decimal("0.0006")),
    ("anthropic", "claude-sonnet-4", Decimal("0.003"), Decimal("0.015")),
    ("anthropic", "claude-haiku-3.5", Decimal("0.0008"), Decimal("0.004")),
]

ALERTS = [
    ("critical", "Data exfiltration", "Customer PII sent to an external model", "bob@acme.example"),
    ("high", "Secrets in prompts", "AWS access key detected in a prompt", "carol@acme.example"),
    ("medium", "Unapproved model", "Request to a model outside the approved list", "alice@acme.example"),
    ("low", "After-hours usage", "Unusual usage at 03:12 local time", "bob@acme.example"),
]


def _usage_events(rng: random.Random, emails: list[str], start: dt.datetime, end: dt.datetime, count: int) -> list[dict]:
    span = (end - start).total_seconds()
    events = []
    for n in range(count):
        provider, model, per_in, per_out = rng.choice(MODELS)
        tokens_in, tokens_out = rng.randint(1_000, 200_000), rng.randint(200, 40_000)
        cost = (per_in * tokens_in + per_out * tokens_out) / 1000
        events.append({
            "id": f"demo-{start:%Y%m}-{n}",
            "user_email": rng.choice(emails),
            "provider": provider,
            "model": model,
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "cost_usd": str(cost.quantize(Decimal("0.000001"))),
            "occurred_at": (start + dt.timedelta(seconds=rng.uniform(0, span))).isoformat(),
        })
    return events


def seed_demo(password: str) -> tuple[Organization, bool]:
    """Create the demo organization unless it exists; return (org, created)."""
    org = db.session.scalar(sa.select(Organization).where(Organization.name == DEMO_ORG_NAME))
    if org is not None:
        return org, False
    # Check up front: a half-built demo org would later be reported as existing.
    if len(password) < 8:
        raise ValueError("the password must be at least 8 characters long")
    for email, *_ in PEOPLE:
        if accounts.find_user(email) is not None:
            raise ValueError(f"a user with email {email} already exists outside the demo organization")
    org = accounts.create_organization(DEMO_ORG_NAME, Decimal("1000"), 80, "UTC")
    users = {}
    for email, name, role, manager in PEOPLE:
        users[email] = accounts.create_user(org, email, name, role, password, manager)

    rng = random.Random(2025)
    now = utcnow()
    this_month = current_period(org.timezone, now)
    last_key = (this_month.starts_at - dt.timedelta(days=1)).strftime("%Y-%m")
    last_month = period_for(last_key, org.timezone)
    emails = list(users)
    # Seeded history is not news: no pace nudge DMs for it (they are on for the usage that comes after).
    org.pace_nudges_enabled = False
    ingest_usage(org, _usage_events(rng, emails, last_month.starts_at, last_month.ends_at, 900))
    ingest_usage(org, _usage_events(rng, emails, this_month.starts_at, now, 600))
    org.pace_nudges_enabled = True

    for hours_ago, (severity, policy, title, subject) in enumerate(ALERTS):
        db.session.add(Alert(org_id=org.id, severity=severity, policy=policy, title=title,
                             details=f"{title}. Detected by the {policy} policy.",
                             subject_user_id=users[subject].id, fired_at=now - dt.timedelta(hours=hours_ago * 5 + 1)))
    db.session.add(ReimbursementRequest(
        org_id=org.id, employee_id=users["alice@acme.example"].id, approver_id=users["manager@acme.example"].id,
        amount=Decimal("42.50"), currency="USD", period=last_key,
        description="Personal ChatGPT Plus subscription used for customer research"))
    db.session.commit()
    return org, True
