"""Unbound extensions and the Redis/RQ accessors; create_app binds them."""
from __future__ import annotations

from typing import Callable, TypeVar

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


T = TypeVar("T")

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def insert_ignoring_duplicates(model):
    """INSERT ... ON CONFLICT DO NOTHING on the session's database (PostgreSQL or SQLite)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert(model) if dialect == "postgresql" else sqlite.insert(model)).on_conflict_do_nothing()


def per_app(key: str, make: Callable[[], T]) -> T:
    """The current app's object under key, made by make() on first use.

    Threads asking at once all get the first object stored (setdefault): a second one would be dropped
    while in use, and dropping a Redis client closes its connections under a command in flight.
    """
    found = current_app.extensions.get(key)
    if found is None:
        found = current_app.extensions.setdefault(key, make())
    return found


def redis_connection(fast: bool = True) -> redis.Redis:
    """The app's Redis client; the web tier's ("fast") gives up quickly so a Slack ack is never late."""
    return per_app("toktra.redis.fast" if fast else "toktra.redis", lambda: _redis_client(fast))


def _redis_client(fast: bool) -> redis.Redis:
    options = {}
    if fast:
        options = {
            "socket_connect_timeout": 0.5,
            "socket_timeout": 0.5,
            "retry_on_timeout": False,
            "retry": None,
            **connection_class_for(current_app.config["REDIS_URL"]),
        }
    return redis.Redis.from_url(current_app.config["REDIS_URL"], **options)


def note_redis_down() -> None:
    """Remember, for the rest of this request, that Redis did not answer (so nothing waits on it twice)."""
    if has_request_context():
        g.toktra_redis_down = True


def redis_known_down() -> bool:
    """True when Redis already failed to answer during this request."""
    return has_request_context() and g.get("toktra_redis_down", False)


def get_queue(name: str = "default") -> Queue:
    """The RQ queue called name, on the web tier's Redis connection (one per app: it remembers Redis's version)."""
    return per_app(f"toktra.queue.{name}", lambda: Queue(name, connection=redis_connection(fast=True)))
