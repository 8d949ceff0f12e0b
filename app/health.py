"""GET /healthz: is the database and Redis reachable?"""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify
from redis.exceptions import RedisError

from app.extensions import db, redis_connection

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
