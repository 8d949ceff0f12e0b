"""Integrations → Slack → Alert channels: the admin page that routes alert severities to Slack channels."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AlertChannelRoute, SlackWorkspace
from app.slack.client.channels import store_channels
from tests.conftest import csrf_token_from, fresh

PAGE = "/integrations/slack/alert-channels"
CHANNELS = [
    {"id": "C0100", "name": "security-incidents", "is_private": False},
    {"id": "C0200", "name": "it-alerts", "is_private": False},
    {"id": "G0300", "name": "secops-private", "is_private": True},
]


@pytest.fixture
def page(client, login, admin, redis_conn):
    """Sign the admin in; page() GETs the Alert channels page and returns (response, html)."""
    login(admin)

    def get(path=PAGE):
        response = client.get(path)
        return response, response.get_data(as_text=True)

    return get


@pytest.fixture
def cached(workspace, redis_conn):
    """The workspace's channel list as the refresh job would have cached it."""
    store_channels(workspace.id, CHANNELS)
    return CHANNELS


def post(client, path, data, source=PAGE):
    """POST a form on the page with the CSRF token a browser would send."""
    token = csrf_token_from(client.get(source).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def routes() -> list[AlertChannelRoute]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AlertChannelRoute).order_by(AlertChannelRoute.id)))


def row_of(html: str, route_id: int) -> str:
    """The page's table row for one route."""
    match = re.search(rf'<tr id="route-{route_id}">(.*?)</tr>', html, re.S)
    assert match, f"no row for route {route_id}"
    return match.group(1)


def text_of(html: str) -> str:
    """Visible text, roughly: tags dropped, whitespace collapsed, entities for quotes undone."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").replace("&#34;", '"').split())


def add(client, **fields):
    data = {"severities": ["high", "critical"], **fields}
    return post(client, PAGE, data)


# --------------------------------------------------------------------------------------------- access


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["member", "manager"])
def test_only_admins_can_open_or_change_alert_channels(client, login, make_user, workspace, cached, role):
    login(make_user(f"{role}@globex.example", role=role))
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "Your role does not allow this page" in response.get_data(as_text=True)
    token = csrf_token_from(client.get("/settings").get_data(as_text=True))
    for path in (PAGE, f"{PAGE}/refresh", f"{PAGE}/1", f"{PAGE}/1/remove", f"{PAGE}/1/test"):
        response = client.post(path, data={"csrf_token": token, "workspace_id": workspace.id,
                                           "channel_id": "C0100", "severities": "high"})
        assert response.status_code == 403, path
    assert routes() == []
    # The navigation offers the page to admins only.
    assert "Alert channels" not in client.get("/").get_data(as_text=True)


def test_the_page_is_linked_from_slack_and_the_navigation(client, page, workspace, cached):
    slack_page = client.get("/integrations/slack").get_data(as_text=True)
    assert f'href="{PAGE}"' in slack_page and "Alert channels" in slack_page
    response, html = page()
    assert response.status_code == 200
    nav = html.split('<nav class="nav"', 1)[1].split("</nav>", 1)[0]
    assert re.search(rf'<a href="{PAGE}" class="active">Alert channels</a>', nav)


def test_without_a_workspace_the_page_says_so_and_links_to_slack(page):
    response, html = page()
    assert response.status_code == 200
    assert "Toktra is not installed in any active Slack workspace of Globex yet." in html
    assert 'href="/integrations/slack">Integrations → Slack</a>' in html
    assert 'id="add-form"' not in html


# ------------------------------------------------------------------------------------------------ add


def test_add_a_channel_picked_from_the_dropdown(client, page, workspace, cached):
    _, html = page()
    assert '<option value="C0100"' in html and "#security-incidents" in html
    assert "#secops-private (private)" in html
    assert "workspace_id" not in html.split('id="add-form"')[1].split("</form>")[0]  # one workspace: no choice

    response = add(client, channel_id="C0100")

    assert response.status_code == 303
    (route,) = routes()
    assert (route.workspace_id, route.channel_id, route.channel_name, route.severities) == \
        (workspace.id, "C0100", "security-incidents", "high,critical")
    _, html = page()
    assert "#security-incidents now receives high and critical alerts." in html
    row = row_of(html, route.id)
    assert "#security-incidents" in row
    assert '<span class="sev sev-high">High</span>' in row and '<span class="sev sev-critical">Critical</span>' in row
    assert "sev-low" not in row and "Nothing sent yet" in row
    # Already routed: the dropdown no longer offers it.
    assert re.search(r'<option value="C0100"\s+disabled>#security-incidents — already receives alerts', html)


@pytest.mark.parametrize("typed", ["it-alerts", "#it-alerts", "  #IT-Alerts "])
def test_add_a_channel_by_typing_its_name(client, page, workspace, cached, typed):
    response = add(client, channel_name=typed, severities=["medium"])
    assert response.status_code == 303
    (route,) = routes()
    assert (route.channel_id, route.channel_name, route.severities) == ("C0200", "it-alerts", "medium")


def test_a_private_channel_the_bot_is_in_can_be_typed(client, page, workspace, cached):
    assert add(client, channel_name="#secops-private").status_code == 303
    assert routes()[0].channel_id == "G0300"


def test_an_unknown_channel_name_is_explained_next_to_the_field(client, page, workspace, cached):
    response = add(client, channel_name="#nope")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = ("No channel named #nope that Toktra can post to in Acme; invite @Toktra to private channels first, "
               "refresh the list, or type the channel's ID (in Slack: channel details).")
    assert message in text_of(html)
    field = html.split('id="channel_name"', 1)[1].split("</fieldset>", 1)[0]
    assert "field-error" in field and "No channel named #nope" in field
    assert 'value="#nope"' in html  # what was typed stays in the box
    assert routes() == []


def test_at_least_one_severity_is_required(client, page, workspace, cached):
    response = post(client, PAGE, {"channel_id": "C0100"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<p class="field-error">Choose at least one severity: low, medium, high or critical.</p>' in html
    assert re.search(r'<option value="C0100"\s+selected', html)  # the choice is kept
    assert routes() == []


def test_unknown_severities_and_a_missing_channel_are_refused(client, page, workspace, cached):
    response = post(client, PAGE, {"channel_id": "C0100", "severities": ["urgent"]})
    assert response.status_code == 400
    assert "Choose from low, medium, high, critical." in response.get_data(as_text=True)
    response = post(client, PAGE, {"severities": ["high"]})
    assert response.status_code == 400
    assert "Choose a channel from the list, or type its name." in response.get_data(as_text=True)
    response = post(client, PAGE, {"channel_id": "C9999", "severities": ["high"]})
    assert response.status_code == 400
    assert "That channel is not in Toktra&#39;s list for Acme (any more)" in response.get_data(as_text=True)
    response = post(client, PAGE, {"channel_id": "C0100", "channel_name": "it-alerts", "severities": ["high"]})
    assert response.status_code == 400
    assert "You chose #security-incidents in the list but typed #it-alerts; keep only one." in \
        response.get_data(as_text=True)
    assert routes() == []


def test_a_channel_that_already_receives_alerts_is_refused_with_a_message(client, page, workspace, cached):
    assert add(client, channel_id="C0100").status_code == 303
    response = add(client, channel_name="security-incidents", severities=["low"])
    assert response.status_code == 409
    assert "#security-incidents already receives alerts; edit its severities instead." in \
        response.get_data(as_text=True)
    (route,) = routes()
    assert route.severities == "high,critical"


def test_a_form_without_its_csrf_token_is_refused(client, page, workspace, cached):
    response = client.post(PAGE, data={"channel_id": "C0100", "severities": "high"})
    assert response.status_code == 400
    assert routes() == []


# ------------------------------------------------------------------------------------- edit and remove


def test_edit_a_channels_severities(client, page, workspace, cached):
    add(client, channel_id="C0100")
    (route,) = routes()
    _, html = page(f"{PAGE}?edit={route.id}")
    row = row_of(html, route.id)
    assert f'action="{PAGE}/{route.id}"' in row
    assert re.search(r'id="edit-sev-high" name="severities" value="high" checked', row)
    assert re.search(r'id="edit-sev-low" name="severities" value="low"\s*>', row)

    response = post(client, f"{PAGE}/{route.id}", {"severities": ["low", "critical"]})
    assert response.status_code == 303
    assert fresh(route).severities == "low,critical"
    assert "#security-incidents now receives low and critical alerts." in page()[1]

    response = post(client, f"{PAGE}/{route.id}", {})
    assert response.status_code == 400
    row = row_of(response.get_data(as_text=True), route.id)
    assert "Choose at least one severity" in row
    assert fresh(route).severities == "low,critical"

    assert post(client, f"{PAGE}/999", {"severities": ["low"]}).status_code == 404
    assert page(f"{PAGE}?edit=999")[0].status_code == 200  # an unknown route is simply not in edit


def test_edit_a_channels_reminders_per_severity(client, page, workspace, cached):
    add(client, channel_id="C0100", remind_after_minutes="60")
    (route,) = routes()
    edit = f"{PAGE}/{route.id}"
    form = {"severities": ["high", "critical"], "remind_after_minutes": "60"}

    refused = post(client, edit, {**form, "remind_low": "5", "remind_critical": "soon"})
    assert refused.status_code == 400
    row = text_of(row_of(refused.get_data(as_text=True), route.id))
    assert "This channel does not receive low alerts: tick low above or leave this empty." in row
    assert "Leave empty to use the channel's interval, type never for no reminders, or give whole minutes " \
           "from 1 to 10080 (7 days)." in row
    assert fresh(route).remind_after_by_severity is None

    response = post(client, edit, {**form, "remind_critical": "15", "remind_high": "never"})
    assert response.status_code == 303
    assert fresh(route).remind_after_by_severity == {"high": None, "critical": 15}
    shown = row_of(page()[1], route.id)
    assert "Reminder every 60 min until acknowledged (high never, critical every 15 min)" in text_of(shown)
    editing = row_of(page(f"{PAGE}?edit={route.id}")[1], route.id)
    assert re.search(r'id="edit-remind-critical" name="remind_critical" value="15"', editing)
    assert re.search(r'id="edit-remind-high" name="remind_high" value="never"', editing)
    assert re.search(r'id="edit-remind-low" name="remind_low" value=""', editing)

    assert post(client, edit, form).status_code == 303  # empty fields: every severity uses the route's interval
    assert fresh(route).remind_after_by_severity is None
    assert "Reminder every 60 min until acknowledged" in text_of(row_of(page()[1], route.id))


@pytest.mark.parametrize("typed", ["soon", "0", "1.5", "10081", "-5"])
def test_add_a_channel_refuses_a_bad_reminder_per_severity_in_words(client, page, workspace, cached, typed):
    _, html = page()
    add_form = html.split('id="add-form"')[1].split("</form>")[0]
    for severity in ("low", "medium", "high", "critical"):
        assert re.search(rf'id="remind-{severity}" name="remind_{severity}" value=""', add_form)

    refused = add(client, channel_id="C0100", remind_after_minutes="60", remind_critical=typed, remind_low="5")
    assert refused.status_code == 400
    shown = text_of(refused.get_data(as_text=True).split('id="add-form"')[1])
    assert "Leave empty to use the channel's interval, type never for no reminders, or give whole minutes " \
           "from 1 to 10080 (7 days)." in shown
    assert "This channel does not receive low alerts: tick low above or leave this empty." in shown
    assert re.search(rf'id="remind-critical" name="remind_critical" value="{re.escape(typed)}"',
                     refused.get_data(as_text=True))  # what was typed stays, to be corrected
    assert routes() == []


def test_add_a_channel_with_reminders_per_severity(client, page, workspace, cached):
    response = add(client, channel_id="C0100", remind_after_minutes="60", remind_critical=" 15 ",
                   remind_high="never")
    assert response.status_code == 303
    (route,) = routes()
    assert (route.remind_after_minutes, route.remind_after_by_severity) == (60, {"high": None, "critical": 15})
    shown = text_of(row_of(page()[1], route.id))
    assert "Reminder every 60 min until acknowledged (high never, critical every 15 min)" in shown

    # Without an interval for the channel, only the severities given are reminded.
    assert add(client, channel_id="C0200", remind_critical="10080").status_code == 303
    second = routes()[1]
    assert (second.remind_after_minutes, second.remind_after_by_severity) == (None, {"critical": 10080})
    assert "Reminder until acknowledged: critical every 10080 min" in text_of(row_of(page()[1], second.id))


def test_remove_a_channel(client, page, workspace, cached):
    add(client, channel_id="C0100")
    (route,) = routes()
    html = page()[1]
    assert 'data-confirm="Stop sending alerts to #security-incidents?"' in html

    assert client.post(f"{PAGE}/{route.id}/remove").status_code == 400  # no CSRF token
    assert len(routes()) == 1

    route_id = route.id
    response = post(client, f"{PAGE}/{route_id}/remove", {})
    assert response.status_code == 303
    assert routes() == []
    assert "#security-incidents no longer receives alerts." in page()[1]
    assert post(client, f"{PAGE}/{route_id}/remove", {}).status_code == 404


def test_routes_of_another_organization_are_out_of_reach(client, page, workspace, cached, slack):
    from app.services.accounts import create_organization
    from decimal import Decimal

    other = create_organization("Initech", Decimal("100"), 80, "UTC")
    team = slack.add_team("T0009", "Initech")
    theirs = SlackWorkspace(org_id=other.id, team_id=team.id, team_name=team.name, bot_token=team.bot_token)
    db.session.add(theirs)
    db.session.commit()
    route = AlertChannelRoute(workspace_id=theirs.id, channel_id="C0900", channel_name="initech-sec",
                              severities="high")
    db.session.add(route)
    db.session.commit()

    assert "initech-sec" not in page()[1]
    for path in (f"{PAGE}/{route.id}", f"{PAGE}/{route.id}/remove", f"{PAGE}/{route.id}/test"):
        assert post(client, path, {"severities": ["low"]}).status_code == 404, path
    assert post(client, f"{PAGE}/refresh", {"workspace_id": theirs.id}).status_code == 404
    assert fresh(route).severities == "high"


# ------------------------------------------------------------------------------------------ test alert


def test_send_a_test_alert_end_to_end(client, page, workspace, cached, slack, queue, run_worker):
    slack.add_channel("C0100", "security-incidents")
    add(client, channel_id="C0100")
    (route,) = routes()

    response = post(client, f"{PAGE}/{route.id}/test", {})

    assert response.status_code == 303
    (job,) = queue.jobs
    assert (job.func_name, job.kwargs) == ("jobs.alerts.send_test_alert", {"route_id": route.id})
    _, html = page()
    assert "Test alert queued for #security-incidents" in html
    assert "Sending test…" in row_of(html, route.id)
    assert slack.messages("C0100") == []  # the web process never talks to Slack

    run_worker()

    (message,) = slack.messages("C0100")
    assert "Test alert from Toktra" in message["text"] and "#security-incidents" in message["text"]
    row = row_of(page()[1], route.id)
    assert '<span class="badge badge-ok">OK</span>' in row
    assert "Sending test…" not in row
    assert fresh(route).last_delivery_ok is True


def test_a_test_alert_to_an_archived_channel_shows_why_it_failed(client, page, workspace, slack, queue, run_worker):
    slack.add_channel("C0700", "old-alerts", is_archived=True)
    store_channels(workspace.id, [{"id": "C0700", "name": "old-alerts", "is_private": False}])
    add(client, channel_name="old-alerts")
    (route,) = routes()

    post(client, f"{PAGE}/{route.id}/test", {})
    run_worker()

    row = row_of(page()[1], route.id)
    assert '<span class="badge badge-bad">Failed</span>' in row
    assert "The channel is archived." in row
    assert slack.messages("C0700") == []


def test_a_down_queue_is_explained_not_a_500(app, client, page, workspace, cached):
    add(client, channel_id="C0100")
    (route,) = routes()
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down
    app.extensions.pop("toktra.redis.fast", None)
    response = post(client, f"{PAGE}/{route.id}/test", {})
    assert response.status_code == 303
    html = page()[1]
    assert ("Toktra&#39;s job queue is unreachable right now, so the test alert for #security-incidents was not "
            "sent. Try again in a minute.") in html

    post(client, f"{PAGE}/refresh", {"workspace_id": workspace.id})
    assert "so Toktra cannot load the channel list from Slack" in page()[1]


# ---------------------------------------------------------------------------------------- channel list


def test_without_a_cached_list_the_page_queues_one_and_shows_it_once_the_job_ran(
        client, page, workspace, slack, queue, run_worker):
    slack.add_channel("C0001", "general")
    slack.add_channel("C0002", "security-incidents")
    slack.add_channel("G0003", "secops", is_private=True, bot_member=True)
    slack.add_channel("G0004", "hr-private", is_private=True, bot_member=False)
    slack.add_channel("C0005", "old-stuff", is_archived=True)

    response, html = page()

    assert response.status_code == 200
    assert "Loading channels from Slack…" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # reloads itself without JavaScript
    assert 'data-poll' in html  # and polls in place with it
    assert 'form="refresh-form"' in html and ">Refresh channel list</button>" in html
    assert '<select id="channel_id"' not in html
    (job,) = queue.jobs
    assert (job.func_name, job.kwargs) == ("jobs.alerts.refresh_channel_list", {"workspace_id": workspace.id})
    page()
    assert len(queue.jobs) == 1  # a reload while it loads does not queue another listing

    run_worker()

    _, html = page()
    assert "Loading channels from Slack…" not in html
    select = html.split('<select id="channel_id"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\w*)"', select) == ["", "C0001", "G0003", "C0002"]
    assert "#secops (private)" in select
    assert "hr-private" not in html and "old-stuff" not in html
    assert "3 channels: public ones, and private ones Toktra was invited to." in html
    assert len(queue.jobs) == 0

    # A typed name now resolves too.
    assert add(client, channel_name="secops").status_code == 303
    assert routes()[0].channel_id == "G0003"


def test_adding_while_the_list_loads_asks_to_try_again(client, page, workspace, queue):
    response = add(client, channel_name="general")
    assert response.status_code == 409
    assert "Toktra is still loading the channel list of Acme from Slack; try again in a few seconds." in \
        response.get_data(as_text=True)
    assert [j.func_name for j in queue.jobs] == ["jobs.alerts.refresh_channel_list"]


def test_refresh_the_channel_list(client, page, workspace, cached, slack, queue, run_worker):
    slack.add_channel("C0100", "security-incidents")
    slack.add_channel("C0999", "brand-new")
    assert "brand-new" not in page()[1]

    response = post(client, f"{PAGE}/refresh", {"workspace_id": workspace.id})

    assert response.status_code == 303
    (job,) = queue.jobs
    assert (job.func_name, job.kwargs) == ("jobs.alerts.refresh_channel_list", {"workspace_id": workspace.id})
    _, html = page()
    assert "Refreshing the channel list of Acme from Slack…" in html
    assert "Refreshing from Slack…" in html  # the old list stays usable meanwhile
    run_worker()
    _, html = page()
    assert "#brand-new" in html and "Refreshing from Slack…" not in html


def test_several_workspaces_choose_one_and_show_it_per_channel(client, page, workspace, cached, slack, admin, org):
    team = slack.add_team("T0002", "Acme Labs")
    labs = SlackWorkspace(org_id=org.id, team_id=team.id, team_name=team.name, bot_token=team.bot_token,
                          installed_by_id=admin.id)
    db.session.add(labs)
    db.session.commit()
    store_channels(labs.id, [{"id": "C0100", "name": "labs-alerts", "is_private": False}])

    _, html = page()
    assert '<select id="workspace_id" name="workspace_id"' in html
    assert "#security-incidents" in html  # the first workspace's channels
    _, html = page(f"{PAGE}?workspace={labs.id}")
    assert "#labs-alerts" in html and "#security-incidents" not in html

    assert add(client, workspace_id=labs.id, channel_id="C0100").status_code == 303
    assert add(client, workspace_id=workspace.id, channel_id="C0100").status_code == 303  # same id, other team
    response = add(client, workspace_id=999, channel_id="C0100")
    assert response.status_code == 400
    assert "Choose one of your Slack workspaces." in response.get_data(as_text=True)

    _, html = page()
    assert "<th>Workspace</th>" in html
    first, second = routes()
    assert "Acme Labs" in row_of(html, first.id) and "#labs-alerts" in row_of(html, first.id)
    assert "Acme" in row_of(html, second.id) and "#security-incidents" in row_of(html, second.id)


# ------------------------------------------------------------------------------------------- browser


def test_in_a_real_browser_an_admin_routes_a_channel_and_sends_a_test_alert(
        live_server, browser, admin, workspace, cached, redis_conn):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.test_browser import assert_no_sideways_scroll, go, heading, replaced, sign_in, wait

    sign_in(browser, live_server, admin.email)
    go(browser, "Integrations", "Alert channels")
    assert browser.current_url == f"{live_server}{PAGE}"
    assert heading(browser) == "Integrations Slack → Alert channels"

    Select(browser.find_element(By.ID, "channel_id")).select_by_visible_text("#security-incidents")
    for severity in ("high", "critical"):
        box = browser.find_element(By.ID, f"sev-{severity}")
        box.click()
        assert box.is_selected()
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.XPATH, "//form[@id='add-form']//button[normalize-space()='Save']").click()
    wait(browser).until(replaced(old_page))

    assert browser.current_url == f"{live_server}{PAGE}"
    assert browser.find_element(By.CSS_SELECTOR, ".flash-success").text == \
        "#security-incidents now receives high and critical alerts."
    row = browser.find_element(By.CSS_SELECTOR, "#routes tbody tr")
    assert "#security-incidents" in row.text
    assert [b.text for b in row.find_elements(By.CSS_SELECTOR, ".sev")] == ["High", "Critical"]
    assert_no_sideways_scroll(browser, "the alert channels page", 1280)
    browser.save_screenshot("/tmp/toktra-alert-channels.png")

    old_page = browser.find_element(By.TAG_NAME, "html")
    row.find_element(By.XPATH, ".//button[normalize-space()='Send test alert']").click()
    wait(browser).until(replaced(old_page))
    flash = browser.find_element(By.CSS_SELECTOR, ".flash-success")
    assert flash.text == "Test alert queued for #security-incidents"
    assert flash.is_displayed()
    assert "Sending test…" in browser.find_element(By.CSS_SELECTOR, "#routes tbody tr").text

    # On a phone the page does not scroll sideways.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False})
    try:
        browser.get(f"{live_server}{PAGE}")
        assert_no_sideways_scroll(browser, "the alert channels page", 390)
        browser.save_screenshot("/tmp/toktra-alert-channels-phone.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


from tests.test_browser import browser, live_server  # noqa: E402,F401  (fixtures for the browser test)


def test_a_private_channel_can_be_added_by_its_id(client, page, workspace, cached):
    """Without groups:read, private channels are not listed; typing the channel's ID still routes to it."""
    response = add(client, channel_name="G0PRIVATE1")
    assert response.status_code == 303
    (route,) = routes()
    assert route.channel_id == "G0PRIVATE1"
