"""Integrations → Slack → Alert channels: which Slack channels receive which alert severities (admins only).

The web process never calls Slack: the channel list comes from the cache a job fills
(jobs.alerts.refresh_channel_list) and test alerts are sent by jobs.alerts.send_test_alert.
"""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.dashboard.auth import role_required
from app.errors import status_for

from app.integrations import bp
from app.integrations.forms import (DELIVERY_CHOICES, WEEKDAY_CHOICES, ActionForm, AddChannelForm, BudgetChannelForm,
                                     RouteSeveritiesForm)
from app.integrations.pending import asked_at, queue_marked, waiting
from jobs.alerts import refresh_channel_list, send_test_alert
from app.extensions import db
from app.models import SEVERITIES, BudgetChannel, SlackWorkspace
from app.services.alert_routes import (
    RouteError,
    add_route,
    describe_reminders,
    get_route,
    org_routes,
    org_workspaces,
    parse_remind_minutes,
    remove_route,
    update_route,
)
from app.services.budget_card import card_problem, clear_budget_channel, set_budget_channel
from app.services.delivery_health import recent_deliveries
from app.services.digests import WEEKDAYS, describe_delivery
from app.slack.client.channels import cached_channels, find_channel, resolve_channel

QUEUE_DOWN = "Toktra's job queue is unreachable right now, so {what}. Try again in a minute."


def _list_key(workspace_id: int) -> str:
    return f"toktra:channels:requested:{workspace_id}"


def _test_key(route_id: int) -> str:
    return f"toktra:route-test:{route_id}"


def _testing(routes) -> set[int]:
    """The routes whose queued test alert has not reported back yet."""
    return waiting(routes, lambda r: _test_key(r.id), lambda r: r.last_delivery_at)


def queue_channel_list(workspace: SlackWorkspace, force: bool = False) -> str | None:
    """Queue a listing of the workspace's channels (once per minute unless forced); an error text or None."""
    if not force and asked_at(_list_key(workspace.id)) is not None:
        return None  # already queued recently
    if not queue_marked(_list_key(workspace.id), refresh_channel_list, workspace_id=workspace.id):
        return QUEUE_DOWN.format(what="Toktra cannot load the channel list from Slack")
    return None


# ------------------------------------------------------------------------------------------------- helpers

def _label(workspace: SlackWorkspace) -> str:
    return workspace.team_name or workspace.team_id


def _severity_words(severities: list[str]) -> str:
    if len(severities) == 1:
        return severities[0]
    return ", ".join(severities[:-1]) + " and " + severities[-1]


def _how(delivery: tuple) -> str:
    """" in a daily digest at 09:00" (nothing for real time, the default)."""
    kind, at, weekday = delivery
    if kind == "daily":
        return f" in a daily digest at {at}"
    if kind == "weekly":
        return f" in a weekly digest on {WEEKDAYS[weekday]} at {at}"
    return ""


def _page_url(workspace_id: int | None = None, several: bool = False, **args) -> str:
    if several and workspace_id:
        args["workspace"] = workspace_id
    return url_for("integrations.alert_channels", **args)


def _current_workspace(workspaces: list[SlackWorkspace], wanted: int | None) -> SlackWorkspace | None:
    for workspace in workspaces:
        if workspace.id == wanted:
            return workspace
    return workspaces[0] if workspaces else None


def _route_or_404(route_id: int):
    route = get_route(current_user.org_id, route_id)
    if route is None:
        abort(404, description="That alert channel does not exist (any more) in your organization.")
    return route


def _render(add_form: AddChannelForm | None = None, workspace_id: int | None = None, edit_id: int | None = None,
            edit_form: RouteSeveritiesForm | None = None, status: int = 200,
            budget_form: BudgetChannelForm | None = None):
    """The page: the routed channels and the Add channel form for one workspace."""
    org = current_user.organization
    workspaces = org_workspaces(org.id)
    all_workspaces = org_workspaces(org.id, active_only=False)
    routes = org_routes(org.id)
    workspace = _current_workspace(workspaces, workspace_id)

    channels, listed_at, loading_error, requested_at = None, None, None, None
    if workspace is not None:
        channels, listed_at = cached_channels(workspace.id)
        if channels is None and request.method == "GET":
            loading_error = queue_channel_list(workspace)
        requested_at = asked_at(_list_key(workspace.id))
    refreshing = channels is not None and requested_at is not None and listed_at is not None \
        and requested_at > listed_at

    routed_ids = {r.channel_id for r in routes if workspace is not None and r.workspace_id == workspace.id}
    testing = _testing(routes)

    if add_form is None:
        add_form = AddChannelForm(formdata=None)
    if workspace is not None:
        add_form.workspace_id.data = workspace.id
    options = [("", "Choose a channel…")]
    for channel in channels or []:
        suffix = " (private)" if channel.get("is_private") else ""
        if channel["id"] in routed_ids:
            suffix += " — already receives alerts"
        options.append((channel["id"], f"#{channel['name']}{suffix}"))

    budget_options = [("", "Choose a channel…")] + [
        (c["id"], f"#{c['name']}" + (" (private)" if c.get("is_private") else "")) for c in channels or []]
    if budget_form is None:
        budget_form = BudgetChannelForm(formdata=None)
    if workspace is not None:
        budget_form.workspace_id.data = workspace.id

    if edit_id is not None and edit_form is None:
        route = next((r for r in routes if r.id == edit_id), None)
        if route is not None:
            edit_form = RouteSeveritiesForm(formdata=None, severities=route.severity_list,
                                            remind_after_minutes=str(route.remind_after_minutes or ""),
                                            **RouteSeveritiesForm.by_severity_data(route),
                                            delivery=route.delivery, digest_time=route.digest_time or "09:00",
                                            digest_weekday=route.digest_weekday or 0)
        else:
            edit_id = None

    # Without JavaScript the page reloads itself while the channel list loads; with it, it polls in place.
    poll = request.method == "GET"
    meta_refresh = poll and workspace is not None and channels is None and not loading_error
    return render_template(
        "alert_channels.html",
        workspaces=workspaces, several=len(workspaces) > 1, show_workspace=len(all_workspaces) > 1,
        workspace=workspace, routes=routes, channels=channels, channel_options=options, routed_ids=routed_ids,
        listed_at=dt.datetime.fromtimestamp(listed_at, dt.timezone.utc) if listed_at else None,
        loading_error=loading_error, refreshing=refreshing, testing=testing,
        add_form=add_form, edit_id=edit_id, edit_form=edit_form or RouteSeveritiesForm(formdata=None),
        action_form=ActionForm(), poll=poll, meta_refresh=meta_refresh, severities=SEVERITIES,
        workspace_label=_label, deliveries={r.id: recent_deliveries(r) for r in routes},
        budget_channel=db.session.get(BudgetChannel, org.id), budget_form=budget_form, budget_options=budget_options,
        budget_card_problem=card_problem(org.id),
        describe_delivery=describe_delivery, describe_reminders=describe_reminders,
        delivery_choices=DELIVERY_CHOICES, weekday_choices=WEEKDAY_CHOICES,
    ), status


# -------------------------------------------------------------------------------------------------- routes

@bp.get("/integrations/slack/alert-channels")
@role_required("admin")
def alert_channels():
    """The routed channels, the Add channel form and (with ?edit=<id>) one route's severities in edit."""
    return _render(workspace_id=request.args.get("workspace", type=int),
                   edit_id=request.args.get("edit", type=int))


@bp.post("/integrations/slack/alert-channels")
@role_required("admin")
def alert_channel_add():
    """Route the chosen severities to a channel picked from the list or typed by name."""
    form = AddChannelForm()
    workspaces = org_workspaces(current_user.org_id)
    if not workspaces:
        flash("Toktra is not installed in an active Slack workspace of your organization yet; "
              "install it from Integrations → Slack first.", "error")
        return redirect(url_for("integrations.alert_channels"), 303)
    form.validate_on_submit()  # field errors are shown next to their fields below
    if len(workspaces) == 1:
        workspace = workspaces[0]
        form.workspace_id.errors = []  # not shown: there is nothing to choose
    else:
        workspace = next((w for w in workspaces if w.id == form.workspace_id.data), None)
        if workspace is None:
            form.workspace_id.errors = [*form.workspace_id.errors, "Choose one of your Slack workspaces."]
            return _render(form, status=400)
    channel, status = resolve_form_channel(form, workspace)
    if channel is None or form.errors:
        return _render(form, workspace.id, status=status if channel is None else 400)
    severities = form.severities.data
    ordered = [s for s in SEVERITIES if s in severities]
    try:
        add_route(workspace, channel["id"], channel["name"], ordered,
                  parse_remind_minutes(form.remind_after_minutes.data),
                  remind_after_by_severity=form.remind_by_severity(), delivery=form.delivery_setting)
    except RouteError as exc:
        field = form.channel_name if form.channel_name.data else form.channel_id
        field.errors = [*field.errors, str(exc)]
        return _render(form, workspace.id, status=status_for(exc))
    flash(f"#{channel['name']} now receives {_severity_words(ordered)} alerts{_how(form.delivery_setting)}.", "success")
    return redirect(_page_url(workspace.id, len(workspaces) > 1), 303)


def resolve_form_channel(form: AddChannelForm | BudgetChannelForm,
                         workspace: SlackWorkspace) -> tuple[dict | None, int]:
    """The channel the form names (from the list or typed); field errors otherwise."""
    picked, typed = (form.channel_id.data or "").strip(), (form.channel_name.data or "").strip()
    if not picked and not typed:
        form.channel_id.errors = [*form.channel_id.errors, "Choose a channel from the list, or type its name."]
        return None, 400
    channels, _ = cached_channels(workspace.id)
    if channels is None:
        problem = queue_channel_list(workspace)
        field = form.channel_name if typed else form.channel_id
        field.errors = [*field.errors, problem or (
            f"Toktra is still loading the channel list of {_label(workspace)} from Slack; "
            "try again in a few seconds.")]
        return None, 503 if problem else 409
    chosen = None
    if picked:
        chosen = find_channel(workspace.id, picked)
        if chosen is None or chosen["id"] != picked:
            form.channel_id.errors = [*form.channel_id.errors,
                                      f"That channel is not in Toktra's list for {_label(workspace)} (any more); "
                                      "refresh the channel list and choose again."]
            return None, 400
    if typed:
        named = resolve_channel(workspace.id, typed)
        if named is None:
            form.channel_name.errors = [*form.channel_name.errors,
                                        f"No channel named #{typed.lstrip('#')} that Toktra can post to in "
                                        f"{_label(workspace)}; invite @Toktra to private channels first, "
                                        "refresh the list, or type the channel's ID (in Slack: channel details)."]
            return None, 400
        if chosen is not None and named["id"] != chosen["id"]:
            form.channel_name.errors = [*form.channel_name.errors,
                                        f"You chose #{chosen['name']} in the list but typed #{named['name']}; "
                                        "keep only one."]
            return None, 400
        chosen = named
    return chosen, 200


@bp.post("/integrations/slack/alert-channels/<int:route_id>")
@role_required("admin")
def alert_channel_update(route_id: int):
    """Save the severities a channel receives."""
    route = _route_or_404(route_id)
    form = RouteSeveritiesForm()
    if not form.validate_on_submit():
        return _render(workspace_id=route.workspace_id, edit_id=route.id, edit_form=form, status=400)
    ordered = [s for s in SEVERITIES if s in form.severities.data]
    update_route(route, ordered, parse_remind_minutes(form.remind_after_minutes.data),
                 remind_after_by_severity=form.remind_by_severity(), delivery=form.delivery_setting)
    flash(f"#{route.channel_name or route.channel_id} now receives {_severity_words(ordered)} alerts"
          f"{_how(form.delivery_setting)}.", "success")
    return redirect(url_for("integrations.alert_channels"), 303)


@bp.post("/integrations/slack/alert-channels/<int:route_id>/remove")
@role_required("admin")
def alert_channel_remove(route_id: int):
    """Stop sending alerts to a channel."""
    route = _route_or_404(route_id)
    if ActionForm().validate_on_submit():
        name = route.channel_name or route.channel_id
        remove_route(route)
        flash(f"#{name} no longer receives alerts.", "success")
    return redirect(url_for("integrations.alert_channels"), 303)


@bp.post("/integrations/slack/alert-channels/<int:route_id>/test")
@role_required("admin")
def alert_channel_test(route_id: int):
    """Queue a test message to the channel; the page shows how it went once the job ran."""
    route = _route_or_404(route_id)
    name = route.channel_name or route.channel_id
    if ActionForm().validate_on_submit():
        if not queue_marked(_test_key(route.id), send_test_alert, route_id=route.id):
            flash(QUEUE_DOWN.format(what=f"the test alert for #{name} was not sent"), "error")
        else:
            flash(f"Test alert queued for #{name}", "success")
    return redirect(url_for("integrations.alert_channels") + f"#route-{route.id}", 303)


@bp.post("/integrations/slack/alert-channels/refresh")
@role_required("admin")
def alert_channels_refresh():
    """Queue a fresh listing of a workspace's channels from Slack."""
    workspaces = org_workspaces(current_user.org_id)
    wanted = request.form.get("workspace_id", type=int)
    if wanted is None and len(workspaces) == 1:
        wanted = workspaces[0].id
    workspace = next((w for w in workspaces if w.id == wanted), None)
    if workspace is None:
        abort(404, description="That Slack workspace is not installed (or not active) in your organization.")
    if ActionForm().validate_on_submit():
        problem = queue_channel_list(workspace, force=True)
        if problem:
            flash(problem, "error")
        else:
            flash(f"Refreshing the channel list of {_label(workspace)} from Slack…", "info")
    return redirect(_page_url(workspace.id, len(workspaces) > 1), 303)


@bp.post("/integrations/slack/budget-channel")
@role_required("admin")
def budget_channel_choose():
    """Post the living budget card in the channel picked from the list or typed by name (at once)."""
    form = BudgetChannelForm()
    workspaces = org_workspaces(current_user.org_id)
    if not workspaces:
        flash("Toktra is not installed in an active Slack workspace of your organization yet; "
              "install it from Integrations → Slack first.", "error")
        return redirect(url_for("integrations.alert_channels"), 303)
    form.validate_on_submit()
    workspace = workspaces[0] if len(workspaces) == 1 else next(
        (w for w in workspaces if w.id == form.workspace_id.data), None)
    if workspace is None:
        form.workspace_id.errors = [*form.workspace_id.errors, "Choose one of your Slack workspaces."]
        return _render(budget_form=form, status=400)
    channel, status = resolve_form_channel(form, workspace)
    if channel is None or form.errors:
        return _render(workspace_id=workspace.id, budget_form=form, status=status if channel is None else 400)
    set_budget_channel(current_user.organization, workspace, channel["id"], channel["name"])
    flash(f"The budget card is posted in #{channel['name'] or channel['id']} and kept up to date there.", "success")
    return redirect(url_for("integrations.alert_channels") + "#budget-channel", 303)


@bp.post("/integrations/slack/budget-channel/remove")
@role_required("admin")
def budget_channel_remove():
    """Stop posting the budget card (cards already posted stay as they are)."""
    if ActionForm().validate_on_submit() and clear_budget_channel(current_user.organization):
        flash("Toktra no longer posts the budget card.", "success")
    return redirect(url_for("integrations.alert_channels") + "#budget-channel", 303)
