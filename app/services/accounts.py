"""Organizations, people and API keys: creation and lookup."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from app import crypto
from app.extensions import db
from app.models import ApiKey, Organization, Role, User
from app.models.types import utcnow
from app.services.periods import zone


def normalize_email(raw: str) -> str:
    """A lower-cased, syntax-checked email address; ValueError says what is wrong."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"{raw!r} is not a valid email address: {exc}") from None


def create_organization(name: str, monthly_budget_usd: Decimal | None = None,
                        alert_threshold_pct: int = 80, timezone: str = "UTC") -> Organization:
    """Create and commit an organization."""
    if not name.strip():
        raise ValueError("the organization needs a name")
    zone(timezone)
    org = Organization(name=name.strip(), monthly_budget_usd=monthly_budget_usd,
                       alert_threshold_pct=alert_threshold_pct, timezone=timezone)
    db.session.add(org)
    db.session.commit()
    return org


def find_user(email: str, org_id: int | None = None) -> User | None:
    """The user with this email (case-insensitive), optionally within one organization."""
    query = sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
    if org_id is not None:
        query = query.where(User.org_id == org_id)
    return db.session.scalar(query)


def create_user(org: Organization, email: str, name: str, role: str, password: str | None = None,
                manager_email: str | None = None) -> User:
    """Create and commit a user; ValueError explains any invalid field."""
    email = normalize_email(email)
    if role not in {r.value for r in Role}:
        raise ValueError(f"role must be admin, manager or member, not {role!r}")
    if find_user(email) is not None:
        raise ValueError(f"a user with email {email} already exists")
    if password is not None and len(password) < 8:
        raise ValueError("the password must be at least 8 characters long")
    manager = None
    if manager_email:
        manager = find_user(manager_email, org.id)
        if manager is None:
            raise ValueError(f"no user with email {manager_email} in {org.name} to be the manager")
    user = User(org_id=org.id, email=email, name=name.strip() or email, role=role, manager=manager)
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def create_api_key(org: Organization, name: str) -> tuple[ApiKey, str]:
    """Create an API key; return the row and the full key, which is never stored."""
    key, prefix, key_hash = crypto.generate_api_key()
    api_key = ApiKey(org_id=org.id, name=name.strip() or "API key", prefix=prefix, key_hash=key_hash)
    db.session.add(api_key)
    db.session.commit()
    return api_key, key


def authenticate_api_key(key: str) -> ApiKey | None:
    """The live API key matching key, or None."""
    prefix = crypto.api_key_prefix(key)
    if prefix is None:
        return None
    api_key = db.session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))
    if api_key is None or api_key.revoked_at is not None:
        return None
    if not crypto.hashes_match(api_key.key_hash, crypto.hash_api_key(key)):
        return None
    return api_key


def touch_api_key(api_key: ApiKey) -> None:
    """Record that the key was just used (no more than once a minute per key)."""
    now = utcnow()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        api_key.last_used_at = now
        db.session.commit()
