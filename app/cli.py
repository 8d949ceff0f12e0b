"""`flask --app wsgi toktra ...`: operator commands."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db
from app.models import Organization
from app.services import accounts
from app.services.budget import parse_budget_limit, parse_threshold

toktra_cli = AppGroup("toktra", help="Toktra operator commands.")


def _org(ref: str) -> Organization:
    """An organization by id or exact name, or a clear usage error."""
    # Ids beyond the integer column's range would make PostgreSQL refuse the query.
    org = db.session.get(Organization, int(ref)) if ref.isdigit() and int(ref) < 2**31 else None
    org = org or db.session.scalar(sa.select(Organization).where(Organization.name == ref))
    if org is None:
        raise click.BadParameter(f"no organization with id or name {ref!r}", param_hint="--org")
    return org


def _checked(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _parsed_by(parse):
    """An option callback that parses the value, naming the option in any error."""

    def callback(ctx, param, value):
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@toktra_cli.command("create-org")
@click.option("--name", required=True, help="Organization name.")
@click.option("--monthly-budget", default=None, callback=_parsed_by(parse_budget_limit),
              help="Monthly budget in USD, e.g. 10000.")
@click.option("--alert-threshold", default="80", show_default=True, callback=_parsed_by(parse_threshold),
              help="Budget alert threshold, percent.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA timezone of the billing month.")
def create_org(name, monthly_budget, alert_threshold, timezone):
    """Create an organization and print its id."""
    org = _checked(accounts.create_organization, name, monthly_budget, alert_threshold, timezone)
    click.echo(org.id)


@toktra_cli.command("create-user")
@click.option("--org", "org_ref", required=True, help="Organization id or name.")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "member"]))
@click.option("--password", default=None, help="Dashboard password (at least 8 characters).")
@click.option("--manager", "manager_email", default=None, help="Email of this person's manager.")
def create_user(org_ref, email, name, role, password, manager_email):
    """Create a user in an organization."""
    org = _org(org_ref)
    user = _checked(accounts.create_user, org, email, name, role, password, manager_email)
    click.echo(f"Created {user.role} {user.email} (id {user.id}) in {org.name}.")


@toktra_cli.command("create-api-key")
@click.option("--org", "org_ref", required=True, help="Organization id or name.")
@click.option("--name", required=True, help="What the key is for.")
def create_api_key(org_ref, name):
    """Create an API key and print it once; only its hash is stored."""
    org = _org(org_ref)
    _, key = accounts.create_api_key(org, name)
    click.echo(key)


@toktra_cli.command("seed-demo")
@click.option("--password", default="toktra-demo", show_default=True, help="Password for every demo account.")
def seed_demo_command(password):
    """Create a realistic demo organization (idempotent) and print how to sign in."""
    from flask import current_app

    from app.services.demo import DEMO_ADMIN_EMAIL, seed_demo

    org, created = _checked(seed_demo, password)
    base = current_app.config["PUBLIC_BASE_URL"]
    if created:
        click.echo(f"Demo organization '{org.name}' created (id {org.id}).")
    else:
        click.echo(f"Demo organization '{org.name}' already exists (id {org.id}); left as it is.")
    click.echo(f"Sign in at {base}/login as {DEMO_ADMIN_EMAIL} with password '{password}'.")


@toktra_cli.command("connect-workspace")
@click.option("--org", "org_ref", required=True, help="Organization id or name.")
def connect_workspace(org_ref):
    """Single-workspace mode: record SLACK_BOT_TOKEN's workspace (found with auth.test) for an organization."""
    from flask import current_app
    from slack_sdk.errors import SlackApiError

    from app.slack.client.web import connect_single_workspace

    org = _org(org_ref)
    if not current_app.config["SLACK_BOT_TOKEN"]:
        raise click.UsageError("SLACK_BOT_TOKEN is not set: single-workspace mode needs the workspace's bot token.")
    try:
        workspace = connect_single_workspace(org)
    except SlackApiError as exc:
        raise click.ClickException(f"Slack refused the bot token: {exc.response.get('error')}") from None
    except PermissionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Connected Slack workspace {workspace.team_name} ({workspace.team_id}) to {org.name}.")


@toktra_cli.command("slack-manifest")
@click.option("--socket-mode", is_flag=True, help="For Socket Mode: no request URLs, socket_mode_enabled true.")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True,
              help="JSON or YAML (Slack accepts either under Create New App → From an app manifest).")
def slack_manifest(socket_mode, fmt):
    """Print the Slack app manifest for this deployment (URLs from PUBLIC_BASE_URL), generated from the code."""
    from flask import current_app

    from app.slack.manifest import build_manifest, manifest_json, manifest_yaml

    manifest = build_manifest(current_app.config, socket_mode=socket_mode)
    click.echo(manifest_json(manifest) if fmt == "json" else manifest_yaml(manifest), nl=fmt == "json")


@toktra_cli.command("dispatch")
def dispatch():
    """Queue every outbox message that is due now (the worker's dispatcher does this continuously)."""
    from jobs.outbox import dispatch_due

    click.echo(f"Queued {dispatch_due()} outbox messages.")


@toktra_cli.command("payroll-export")
@click.option("--org", "org_ref", required=True, help="Organization id or name.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV here instead of printing it.")
def payroll_export(org_ref, output):
    """Export every approved, not yet exported reimbursement as a CSV batch (each request exactly once)."""
    from app.services.reimbursements import batch_csv, batch_requests, export_batch

    org = _org(org_ref)
    batch = export_batch(org)
    if batch is None:
        click.echo("Nothing to export: no approved requests are waiting.", err=True)
        return
    body = batch_csv(batch_requests(org.id, batch.id))
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(body)
        click.echo(f"Exported {batch.request_count} requests in batch {batch.id} to {output}.", err=True)
    else:
        click.echo(body, nl=False)
        click.echo(f"Exported {batch.request_count} requests in batch {batch.id}.", err=True)
