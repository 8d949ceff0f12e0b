"""Job functions the queue tests enqueue (importable by a real worker process)."""
from __future__ import annotations

from app.extensions import db
from app.models import Organization


def rename_org(org_id: int, name: str) -> str:
    """Rename an organization; proves the job ran in an app context with database access."""
    org = db.session.get(Organization, org_id)
    org.name = name
    db.session.commit()
    return name


def always_fails(org_id: int) -> None:
    """Raise, so RQ records the failure and retries."""
    raise RuntimeError(f"deliberate failure for org {org_id}")
