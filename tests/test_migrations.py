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


def test_upgrading_keeps_deliveries_fired_thresholds_and_fills_day_totals(fresh_app):
    upgrade(revision="0001")
    with db.engine.begin() as conn:
        run = lambda sql: conn.execute(sa.text(sql))  # noqa: E731
        run("INSERT INTO organizations (id, name, monthly_budget_usd, alert_threshold_pct, timezone, created_at) "
            "VALUES (1, 'Globex', 10000000000, 80, 'America/New_York', '2025-01-01 00:00:00')")
        run("INSERT INTO users (id, org_id, email, name, role, active, created_at) "
            "VALUES (1, 1, 'a@globex.example', 'A', 'member', true, '2025-01-01 00:00:00')")
        run("INSERT INTO slack_workspaces (id, org_id, team_id, enterprise_id, team_name, scopes, active, installed_at) "
            "VALUES (1, 1, 'T1', '', 'Acme', '', true, '2025-01-01 00:00:00')")
        run("INSERT INTO alerts (id, org_id, severity, policy, title, details, status, dedup_key, fired_at) "
            "VALUES (1, 1, 'high', 'Budget', 'B', '', 'open', 'budget:2025-01:80', '2025-01-20 10:00:00')")
        run("INSERT INTO alert_deliveries (alert_id, workspace_id, channel_id, state, message_ts, attempts, created_at) "
            "VALUES (1, 1, 'C1', 'sent', '1.2', 1, '2025-01-20 10:00:00')")
        for n, moment in enumerate(("2025-01-15 03:00:00", "2025-01-15 12:00:00")):  # 22:00 on the 14th in New York
            run(f"INSERT INTO usage_records (org_id, event_id, user_id, provider, model, input_tokens, output_tokens, "
                f"cost_usd, occurred_at, period, received_at) VALUES (1, 'e{n}', 1, 'openai', 'gpt', 1, 2, 1500000, "
                f"'{moment}', '2025-01', '{moment}')")
    upgrade()
    with db.engine.connect() as conn:
        rows = lambda sql: [tuple(r) for r in conn.execute(sa.text(sql))]  # noqa: E731
        assert rows("SELECT key, state, message_ts FROM outbox_messages") == [("alert:1:1:C1", "sent", "1.2")]
        assert rows("SELECT org_id, period, threshold FROM budget_crossings") == [(1, "2025-01", 80)]
        assert [(str(day), cost) for day, cost in rows("SELECT day, cost_usd FROM usage_day_totals ORDER BY day")] == [
            ("2025-01-14", 1500000), ("2025-01-15", 1500000)]
