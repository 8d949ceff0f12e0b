"""Migrations: upgrade and downgrade on fresh PostgreSQL and SQLite, and agreement with the models."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from app.extensions import db
from tests.conftest import make_overrides, throwaway_database


@pytest.fixture
def fresh_postgres():
    """An empty PostgreSQL database, dropped afterwards."""
    with throwaway_database("toktra_mig") as url:
        yield url


@pytest.fixture(params=["postgresql", "sqlite"])
def fresh_app(request, tmp_path, encryption_key):
    """An app on an empty database of each kind."""
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres")
    else:
        url = f"sqlite:///{tmp_path / 'toktra.db'}"
    app = create_app(make_overrides(url, encryption_key))
    with app.app_context():
        yield app
        db.engine.dispose()


def _diff() -> list:
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)


def test_upgrade_creates_every_model_table_and_matches_the_models(fresh_app):
    upgrade()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert _diff() == []


def test_downgrade_removes_everything_and_upgrade_works_again(fresh_app):
    upgrade()
    downgrade(revision="base")
    assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert _diff() == []
