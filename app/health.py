"""GET /healthz (liveness: the process answers, with its database and Redis) and GET /readyz (readiness)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify
from redis.exceptions import RedisError

from app.extensions import db, redis_connection
from app.heartbeat import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report database and Redis status: 200 when both answer, else 503."""
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis_connection(fast=True).ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503


@bp.get("/readyz")
def readyz():
    """Readiness: database, Redis, a live worker and dispatcher, RQ's scheduler, no job waiting too long.

    200 when every check passes, else 503; the body names each check and says what failed.
    """
    checks = readiness(db, redis_connection(fast=True))
    ready = all(check.ok for check in checks.values())
    body = {"status": "ready" if ready else "not ready",
            "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()},
            "failed": [name for name, check in checks.items() if not check.ok]}
    return jsonify(body), 200 if ready else 503
