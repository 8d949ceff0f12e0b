"""Unbound extensions and the Redis/RQ accessors; create_app binds them."""
from __future__ import annotations

import redis
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app, g, has_request_context
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from rq import Queue
from sqlalchemy.orm import DeclarativeBase

from app.fast_redis import connection_class_for


class Base(DeclarativeBase):
    """Declarative base shared by every model; constraint names are stable for migrations."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def insert_ignoring_duplicates(model):
    """INSERT ... ON CONFLICT DO NOTHING on the session's database (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)).on_conflict_do_nothing()


def redis_connection(fast: bool = True) -> redis.Redis:
    """The app's Redis client; the web tier's ("fast") gives up quickly so a Slack ack is never late."""
    key = "toktra.redis.fast" if fast else "toktra.redis"
    conn = current_app.extensions.get(key)
    if conn is None:
        options = {}
        if fast:
            options = {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "retry_on_timeout": False,
                "retry": None,
                **connection_class_for(current_app.config["REDIS_URL"]),
            }
        # setdefault: threads asking at once all get the first client stored. A second client would be
        # dropped while its first command ran, and dropping a client closes its connections mid-command.
        conn = current_app.extensions.setdefault(key, redis.Redis.from_url(current_app.config["REDIS_URL"], **options))
    return conn


def note_redis_down() -> None:
    """Remember, for the rest of this request, that Redis did not answer (so nothing waits on it twice)."""
    if has_request_context():
        g.toktra_redis_down = True


def redis_known_down() -> bool:
    """True when Redis already failed to answer during this request."""
    return has_request_context() and g.get("toktra_redis_down", False)


def get_queue(name: str = "default") -> Queue:
    """The RQ queue called name, on the web tier's Redis connection (one per app: it remembers Redis's version)."""
    queues = current_app.extensions.setdefault("toktra.queues", {})
    queue = queues.get(name)
    if queue is None:
        queue = queues.setdefault(name, Queue(name, connection=redis_connection(fast=True)))
    return queue
