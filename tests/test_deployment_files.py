"""The deployment files agree with the code: app.json (Heroku-style), the Dockerfile and docker-compose.yml."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from app.config import REQUIRED_IN_PRODUCTION

ROOT = Path(__file__).resolve().parents[1]
# Set by the platform or an add-on (app.json), by compose itself, or read by bin/serve only.
NOT_IN_APP_JSON = {"DATABASE_URL", "REDIS_URL", "PORT", "LOCAL_REDIS_PORT", "SLACK_SANDBOX_PORT"}


def env_example() -> list[str]:
    return re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)


def test_app_json_provisions_postgres_and_redis_and_describes_every_variable():
    app = json.loads((ROOT / "app.json").read_text())
    assert {addon["plan"] for addon in app["addons"]} == {"heroku-postgresql", "heroku-redis"}
    assert set(app["formation"]) == {"web", "worker"}
    env = app["env"]
    assert set(env) == set(env_example()) - NOT_IN_APP_JSON
    assert all(entry["description"] for entry in env.values())
    for name in set(REQUIRED_IN_PRODUCTION) - {"DATABASE_URL", "REDIS_URL"}:
        assert env[name]["required"] is True, name
    assert env["SECRET_KEY"]["generator"] == "secret"
    assert "Fernet.generate_key()" in env["TOKTRA_ENCRYPTION_KEY"]["description"]
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile["release"] == "flask --app wsgi db upgrade"  # the release phase migrates before each release
    assert procfile["worker"] == "python -m jobs.worker"


def test_compose_runs_postgres_redis_the_migrations_the_web_and_the_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "release", "web", "worker"}
    assert services["worker"]["command"] == ["python", "-m", "jobs.worker"]
    assert services["release"]["command"] == ["flask", "--app", "wsgi", "db", "upgrade"]
    for name in ("web", "worker"):
        assert services[name]["build"] == "."
        assert services[name]["depends_on"]["release"]["condition"] == "service_completed_successfully"
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        # Secrets come from the environment, never from the file.
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
        assert env["TOKTRA_ENCRYPTION_KEY"].startswith("${TOKTRA_ENCRYPTION_KEY:?")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt -c constraints.txt" in dockerfile
    assert "FROM python:3.11" in dockerfile


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.mark.skipif(_compose_command() is None, reason="docker compose is not installed")
def test_compose_file_passes_compose_own_check():
    env = {**os.environ, "SECRET_KEY": "x", "TOKTRA_ENCRYPTION_KEY": "y"}
    result = subprocess.run([*_compose_command(), "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
