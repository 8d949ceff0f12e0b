"""Integrations → ITSM: the organization's ServiceNow and Jira connectors (admins only).

Credentials are stored as the JSON document the clients in app/itsm expect, encrypted by the column
type; they are never rendered back into a page. Testing a connector is an RQ job (jobs.itsm.test_connector):
the web process never calls ServiceNow or Jira itself.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dashboard.auth import role_required
from app.extensions import db
from app.integrations import bp
from app.integrations.forms import ActionForm, ConnectorForm, check_base_url, same_site
from app.integrations.pending import queue_marked, waiting
from jobs.itsm import test_connector
from app.itsm import KIND_LABELS
from app.models import ItsmConnector, Ticket

KIND_TITLES = {"servicenow": "ServiceNow", "jira_cloud": "Jira Cloud", "jira_server": "Jira Server / Data Center"}
URL_NAMES = {"servicenow": "instance URL", "jira_cloud": "site URL", "jira_server": "base URL"}
URL_LABELS = {"servicenow": "Instance URL", "jira_cloud": "Site URL", "jira_server": "Base URL"}
URL_EXAMPLES = {"servicenow": "https://acme.service-now.com", "jira_cloud": "https://acme.atlassian.net",
                "jira_server": "https://jira.acme.example"}


def _test_key(connector_id: int) -> str:
    return f"toktra:itsm-test:{connector_id}"


def _testing(connectors: list[ItsmConnector]) -> set[int]:
    """The connectors whose queued test has not reported back yet."""
    return waiting(connectors, lambda c: _test_key(c.id), lambda c: c.last_test_at)


def _connector_or_404(connector_id: int) -> ItsmConnector:
    connector = db.session.get(ItsmConnector, connector_id)
    if connector is None or connector.org_id != current_user.org_id:
        abort(404, description="That ITSM connector does not exist (any more) in your organization.")
    return connector


def _stored_credentials(connector: ItsmConnector | None) -> dict:
    if connector is None:
        return {}
    try:
        value = json.loads(connector.credentials or "")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _label(connector: ItsmConnector) -> str:
    return connector.name or KIND_LABELS.get(connector.kind, connector.kind)


def _require_https() -> bool:
    return current_app.config.get("TOKTRA_ENV", "production") == "production"


# ----------------------------------------------------------------------------------------------- the list

@bp.get("/integrations/itsm")
@role_required("admin")
def itsm():
    """The organization's connectors, their last test, and the buttons to manage them."""
    connectors = list(db.session.scalars(
        sa.select(ItsmConnector).where(ItsmConnector.org_id == current_user.org_id).order_by(ItsmConnector.id)))
    ticket_counts = dict(db.session.execute(
        sa.select(Ticket.connector_id, sa.func.count()).where(Ticket.connector_id.in_([c.id for c in connectors]))
        .group_by(Ticket.connector_id)).all()) if connectors else {}
    return render_template("itsm_connectors.html", connectors=connectors, testing=_testing(connectors),
                           ticket_counts=ticket_counts, kinds=KIND_TITLES, action_form=ActionForm(),
                           poll=request.method == "GET")


# ------------------------------------------------------------------------------------------- add and edit

def _fill(form: ConnectorForm, connector: ItsmConnector) -> None:
    """The edit form for a stored connector: every field but the secrets."""
    creds = _stored_credentials(connector)
    form.name.data = connector.name
    form.base_url.data = connector.base_url
    if connector.kind == "servicenow":
        form.assignment_group.data = connector.project or ""
        form.auth.data = "oauth" if creds.get("token") else "basic"
        form.username.data = creds.get("username", "")
    else:
        form.project.data = connector.project or ""
        form.issue_type.data = connector.issue_type or "Task"
        if connector.kind == "jira_cloud":
            form.email.data = creds.get("email", "")


def _missing(form_field, message: str) -> None:
    form_field.errors = [*form_field.errors, message]


def _secret(field, stored: str | None, reusable: bool, what: str, why_not: str) -> str:
    """The typed secret, else the stored one when it may be reused, else "" with an error on the field."""
    typed = field.data or ""
    if typed:
        return typed
    if stored and reusable:
        return stored
    _missing(field, f"Enter {what}{why_not}.")
    return ""


def _read(form: ConnectorForm, kind: str, connector: ItsmConnector | None) -> dict | None:
    """The connector's new column values from the form, or None (with errors next to the fields)."""
    form.validate_on_submit()  # field errors stay on the fields; kind-specific checks follow
    try:
        base_url = check_base_url(form.base_url.data or "", _require_https(), URL_NAMES[kind], URL_EXAMPLES[kind])
    except ValueError as exc:
        _missing(form.base_url, str(exc))
        base_url = None
    stored = _stored_credentials(connector)
    # A stored secret is reused only on the same site: it is never sent to a host it was not entered for.
    same_host = connector is not None and base_url is not None and same_site(base_url, connector.base_url)
    url_changed = connector is not None and base_url is not None and not same_host
    why_not = " again: the URL changed" if url_changed else ""
    project, issue_type = None, None

    if kind == "servicenow":
        if form.auth.data == "oauth":
            credentials = {"token": _secret(form.token, stored.get("token"), same_host, "the OAuth token", why_not)}
        else:
            username = form.username.data or ""
            if not username:
                _missing(form.username, "Enter the ServiceNow username Toktra signs in as.")
            same_user = stored.get("username") == username
            password = _secret(form.password, stored.get("password"), same_host and same_user, "the password",
                               why_not or ("" if same_user or not stored.get("password") else " for the new username"))
            credentials = {"username": username, "password": password}
        project = form.assignment_group.data or None
    else:
        if not form.project.data:
            _missing(form.project, "Enter the key of the Jira project tickets go to, such as OPS.")
        project = form.project.data or None
        issue_type = form.issue_type.data or "Task"
        if kind == "jira_cloud":
            email = form.email.data or ""
            if not email:
                _missing(form.email, "Enter the email address of the Atlassian account Toktra uses.")
            same_user = (stored.get("email") or "").lower() == email.lower()
            api_token = _secret(form.api_token, stored.get("api_token"), same_host and same_user, "the API token",
                                why_not or ("" if same_user or not stored.get("api_token") else " for the new email"))
            credentials = {"email": email, "api_token": api_token}
        else:
            credentials = {"token": _secret(form.token, stored.get("token"), same_host, "a personal access token",
                                            why_not)}

    if form.errors:
        return None
    name = form.name.data or (f"{KIND_LABELS[kind]} {project}" if project else KIND_LABELS[kind])
    return {"name": name[:200], "base_url": base_url, "credentials": json.dumps(credentials),
            "project": project, "issue_type": issue_type}


def _render_form(form: ConnectorForm, kind: str, connector: ItsmConnector | None, status: int = 200):
    stored = _stored_credentials(connector)
    has_secret = {
        "password": bool(stored.get("password")), "token": bool(stored.get("token")),
        "api_token": bool(stored.get("api_token")),
    }
    return render_template("itsm_connector_form.html", form=form, kind=kind, kind_title=KIND_TITLES[kind],
                           connector=connector, has_secret=has_secret, url_label=URL_LABELS[kind],
                           url_example=URL_EXAMPLES[kind], require_https=_require_https()), status


@bp.route("/integrations/itsm/new/<kind>", methods=["GET", "POST"])
@role_required("admin")
def itsm_new(kind: str):
    """Add a ServiceNow, Jira Cloud or Jira Server/Data Center connector."""
    if kind not in KIND_TITLES:
        abort(404, description="Choose ServiceNow, Jira Cloud or Jira Server / Data Center.")
    form = ConnectorForm()
    if request.method == "GET":
        form.issue_type.data = "Task"
        return _render_form(form, kind, None)
    values = _read(form, kind, None)
    if values is None:
        return _render_form(form, kind, None, 400)
    connector = ItsmConnector(org_id=current_user.org_id, kind=kind, active=True, **values)
    db.session.add(connector)
    db.session.commit()
    flash(f"Added {values['name']}. Click Test connection to check it.", "success")
    return redirect(url_for("integrations.itsm") + f"#connector-{connector.id}", 303)


@bp.route("/integrations/itsm/<int:connector_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def itsm_edit(connector_id: int):
    """Change a connector; blank secret fields keep the stored secrets."""
    connector = _connector_or_404(connector_id)
    form = ConnectorForm()
    if request.method == "GET":
        _fill(form, connector)
        return _render_form(form, connector.kind, connector)
    values = _read(form, connector.kind, connector)
    if values is None:
        return _render_form(form, connector.kind, connector, 400)
    changed = any(getattr(connector, k) != v for k, v in values.items() if k != "name")
    for key, value in values.items():
        setattr(connector, key, value)
    if changed:  # the last test no longer says anything about these settings
        connector.last_test_at = connector.last_test_ok = connector.last_test_result = None
    db.session.commit()
    flash(f"Saved {values['name']}." + (" Test the connection again to check the new settings." if changed else ""),
          "success")
    return redirect(url_for("integrations.itsm") + f"#connector-{connector.id}", 303)


# ------------------------------------------------------------------------------------------------ buttons

@bp.post("/integrations/itsm/<int:connector_id>/test")
@role_required("admin")
def itsm_test(connector_id: int):
    """Queue a connection test; the list shows its result once the job ran."""
    connector = _connector_or_404(connector_id)
    if ActionForm().validate_on_submit():
        if not queue_marked(_test_key(connector.id), test_connector, connector_id=connector.id, retry=None):
            flash(f"Toktra's job queue is unreachable right now, so {_label(connector)} was not tested. "
                  "Try again in a minute.", "error")
        else:
            flash(f"Testing the connection to {_label(connector)}…", "info")
    return redirect(url_for("integrations.itsm") + f"#connector-{connector.id}", 303)


def _set_active(connector_id: int, active: bool):
    connector = _connector_or_404(connector_id)
    if ActionForm().validate_on_submit():
        connector.active = active
        db.session.commit()
        if active:
            flash(f"{_label(connector)} is active: Create ticket in Slack opens tickets there.", "success")
        else:
            flash(f"{_label(connector)} is inactive: no new tickets are opened there.", "success")
    return redirect(url_for("integrations.itsm") + f"#connector-{connector.id}", 303)


@bp.post("/integrations/itsm/<int:connector_id>/activate")
@role_required("admin")
def itsm_activate(connector_id: int):
    """Open tickets in this connector again."""
    return _set_active(connector_id, True)


@bp.post("/integrations/itsm/<int:connector_id>/deactivate")
@role_required("admin")
def itsm_deactivate(connector_id: int):
    """Stop opening tickets in this connector (its settings are kept)."""
    return _set_active(connector_id, False)


@bp.post("/integrations/itsm/<int:connector_id>/delete")
@role_required("admin")
def itsm_delete(connector_id: int):
    """Delete a connector and its stored credentials."""
    connector = _connector_or_404(connector_id)
    if ActionForm().validate_on_submit():
        name = _label(connector)
        db.session.delete(connector)
        db.session.commit()
        flash(f"Deleted {name} and its stored credentials.", "success")
    return redirect(url_for("integrations.itsm"), 303)
