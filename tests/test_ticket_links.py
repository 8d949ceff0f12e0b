"""Tickets that stay current: Link ticket (modal, validated against the connector), the status poller (Jira and
ServiceNow, Retry-After and back-off), status changes told once in the alert's thread, and the same alert firing
again showing its existing ticket."""
from __future__ import annotations

import datetime as dt
import html
import json
import threading

import pytest
import responses
import sqlalchemy as sa
import time_machine
from responses import matchers

from app.extensions import db
from app.models import AlertChannelRoute, ItsmConnector, Ticket
from app.models.types import utcnow
from app.services.alerts import acknowledge_alert, fire_alert
from app.slack.actions import CREATE_TICKET, LINK_TICKET, RESOLVE_ALERT, alert_button_value
from app.slack.blocks.modals import LINK_CONNECTOR_ACTION, LINK_CONNECTOR_BLOCK, LINK_KEY_ACTION, LINK_KEY_BLOCK
from tests.conftest import csrf_token_from, fresh

JIRA = "https://acme.atlassian.net"
SN = "https://acme.service-now.com"
SYS_ID = "9d385017c611228701d22104cc95c371"


def jira_issue(key="OPS-7", status="In Progress", category="indeterminate", issue_id="10007"):
    """GET /rest/api/3/issue/{key}?fields=status, as Jira Cloud answers it."""
    return {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue_id, "self": f"{JIRA}/rest/api/3/issue/{issue_id}", "key": key,
            "fields": {"status": {
                "self": f"{JIRA}/rest/api/3/status/3", "description": "", "name": status, "id": "3",
                "iconUrl": f"{JIRA}/images/icons/statuses/inprogress.png",
                "statusCategory": {"self": f"{JIRA}/rest/api/3/statuscategory/4", "id": 4, "key": category,
                                   "colorName": "yellow", "name": category.title()}}}}


def sn_incident(state="2", label="In Progress", number="INC0010042"):
    """GET /api/now/table/incident?sysparm_display_value=all, as ServiceNow's Table API answers it."""
    return {"result": [{
        "number": {"display_value": number, "value": number},
        "state": {"display_value": label, "value": state},
        "sys_id": {"display_value": SYS_ID, "value": SYS_ID},
    }]}


@pytest.fixture
def jira(org):
    connector = ItsmConnector(org_id=org.id, kind="jira_cloud", name="Jira", base_url=JIRA, project="OPS",
                              issue_type="Task", credentials=json.dumps({"email": "ada@acme.example",
                                                                         "api_token": "atlassian-api-token"}))
    db.session.add(connector)
    db.session.commit()
    return connector


@pytest.fixture
def servicenow(org):
    connector = ItsmConnector(org_id=org.id, kind="servicenow", name="ServiceNow", base_url=SN,
                              credentials=json.dumps({"username": "toktra.bot", "password": "s3cret"}))
    db.session.add(connector)
    db.session.commit()
    return connector


@pytest.fixture
def route(slack, workspace, member):
    """#security (C1) takes critical alerts; Slack user U0001 is Alice."""
    slack.add_channel("C1", "security")
    slack.add_user("U0001", member.email, "alice")
    db.session.add(AlertChannelRoute(workspace_id=workspace.id, channel_id="C1", channel_name="security",
                                     severities="critical"))
    db.session.commit()


def fire(org, member, dedup_key=None):
    return fire_alert(org, "critical", "Data exfiltration", "Customer PII sent to an external model",
                      "A prompt carried 40 customer records.", member, dedup_key=dedup_key).alert


@pytest.fixture
def http():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def buttons(message) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "button"]


def open_link_modal(signed, slack, alert, run_worker) -> dict:
    signed.action(LINK_TICKET, alert_button_value(alert.id), user_id="U0001", channel_id="C1",
                  response_url=slack.response_url("link"))
    run_worker()
    [modal] = slack.modals()
    return modal


def link_values(connector, typed):
    return {LINK_CONNECTOR_BLOCK: {LINK_CONNECTOR_ACTION: {"type": "static_select",
                                                           "selected_option": {"value": str(connector.id)}}},
            LINK_KEY_BLOCK: {LINK_KEY_ACTION: {"type": "plain_text_input", "value": typed}}}


def card_and_thread(slack):
    [card] = slack.channel_messages("C1")
    return card, [m["text"] for m in slack.thread("C1", card["ts"])]


def jira_get(http, body=None, key="OPS-7", **kwargs):
    return http.get(f"{JIRA}/rest/api/3/issue/{key}", match=[matchers.query_param_matcher({"fields": "status"})],
                    json=body if body is not None else jira_issue(key), **kwargs)


def test_link_ticket_checks_the_issue_in_jira_and_the_card_and_thread_show_it(org, member, route, jira, slack, signed,
                                                                              http, run_worker):
    alert = fire(org, member)
    run_worker()
    [card] = slack.channel_messages("C1")
    assert buttons(card) == ["Acknowledge", "Acknowledge with reason…", "Resolve", "Create ticket", "Link ticket…"]
    modal = open_link_modal(signed, slack, alert, run_worker)
    assert modal["title"]["text"] == "Link ticket"
    jira_get(http)
    answer = signed.view_submission(modal, link_values(jira, f"{JIRA}/browse/OPS-7"), user_id="U0001")
    assert answer.json["response_action"] == "update"
    assert "Checking OPS-7 in Jira…" in dumps(answer.json["view"])
    run_worker()
    [shown] = slack.modals()
    assert "Linked <https://acme.atlassian.net/browse/OPS-7|OPS-7> (In Progress) to this alert" in dumps(shown)
    card, thread = card_and_thread(slack)
    assert f"Ticket: <{JIRA}/browse/OPS-7|OPS-7> In Progress" in dumps(card["blocks"])
    assert "Create ticket" not in buttons(card) and "Link ticket…" not in buttons(card)
    assert thread == [f"🔗 Ticket linked by Alice Smith: <{JIRA}/browse/OPS-7|OPS-7> (In Progress)"]
    ticket = db.session.scalar(sa.select(Ticket))
    assert (ticket.linked, ticket.external_key, ticket.external_id, ticket.status_category) == \
        (True, "OPS-7", "10007", "open")


@pytest.mark.parametrize("typed, problem", [
    ("", "Enter the ticket's key or URL, such as OPS-123"),
    ("fix the thing", "“fix the thing” is not a Jira issue key; enter something like OPS-123"),
    ("https://evil.example/browse/OPS-7", "That URL is not on Jira (acme.atlassian.net)"),
])
def test_a_key_of_the_wrong_form_is_refused_in_the_modal_without_calling_jira(org, member, route, jira, slack,
                                                                              signed, http, run_worker, typed,
                                                                              problem):
    alert = fire(org, member)
    modal = open_link_modal(signed, slack, alert, run_worker)
    answer = signed.view_submission(modal, link_values(jira, typed), user_id="U0001")
    assert answer.json["response_action"] == "errors"
    assert answer.json["errors"][LINK_KEY_BLOCK].startswith(problem)
    assert len(http.calls) == 0


def test_a_ticket_jira_does_not_know_is_shown_in_the_modal_to_correct(org, member, route, jira, slack, signed, http,
                                                                      run_worker):
    alert = fire(org, member)
    modal = open_link_modal(signed, slack, alert, run_worker)
    jira_get(http, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {}}, key="OPS-99", status=404)
    signed.view_submission(modal, link_values(jira, "ops-99"), user_id="U0001")
    run_worker()
    [shown] = slack.modals()
    assert "Jira at acme.atlassian.net has no issue OPS-99 that this connector's account can see." in dumps(shown)
    assert shown["submit"]["text"] == "Link"  # the form again, with what was typed
    assert [b.get("element", {}).get("initial_value") for b in shown["blocks"] if b["type"] == "input"][1] == "ops-99"
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def link_by_modal(org, member, connector, slack, signed, run_worker, typed, dedup_key=None):
    alert = fire(org, member, dedup_key)
    run_worker()
    modal = open_link_modal(signed, slack, alert, run_worker)
    signed.view_submission(modal, link_values(connector, typed), user_id="U0001")
    run_worker()
    return alert


def test_a_jira_status_change_reaches_the_thread_once_and_a_done_ticket_says_so(org, member, route, jira, slack,
                                                                                  signed, http, run_worker, api):
    jira_get(http)
    alert = link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", json=jira_issue(status="Done", category="done"))
    due = db.session.scalar(sa.select(Ticket.next_poll_at))
    with time_machine.travel(due - dt.timedelta(seconds=1), tick=False):
        run_worker()  # not due yet
    assert len(http.calls) == 1
    with time_machine.travel(utcnow() + dt.timedelta(seconds=301), tick=False):
        run_worker()
        run_worker()  # nothing new: one poll, one reply
    with time_machine.travel(utcnow() + dt.timedelta(seconds=301 + 3601), tick=False):
        run_worker()  # a closed ticket is still read (hourly), and an unchanged status says nothing
    assert len(http.calls) == 3
    card, thread = card_and_thread(slack)
    assert thread[1:] == ["🎫 Ticket updated: OPS-7 is now Done — the ticket is closed; resolve the alert if the "
                          "work is done."]
    assert f"<{JIRA}/browse/OPS-7|OPS-7> ✅ Done" in dumps(card["blocks"])
    [resolve] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e.get("action_id") == RESOLVE_ALERT]
    assert resolve["style"] == "primary"  # the ticket is done: Resolve is the suggested next step
    assert fresh(db.session.scalar(sa.select(Ticket))).status_category == "closed"
    assert fresh(alert).status == "open"  # a ticket closing never changes the alert by itself
    [listed] = api("get", "/alerts").json["alerts"]
    assert listed["tickets"] == [{"key": "OPS-7", "url": f"{JIRA}/browse/OPS-7", "status": "Done", "closed": True,
                                  "linked": True}]


def test_a_servicenow_incident_is_linked_by_number_and_its_state_followed(org, member, route, servicenow, slack,
                                                                         signed, http, run_worker):
    query = {"sysparm_query": "number=INC0010042", "sysparm_fields": "number,state,sys_id",
             "sysparm_display_value": "all", "sysparm_limit": "1"}
    http.get(f"{SN}/api/now/table/incident", match=[matchers.query_param_matcher(query)], json=sn_incident())
    link_by_modal(org, member, servicenow, slack, signed, run_worker, "inc0010042")
    http.replace(responses.GET, f"{SN}/api/now/table/incident", match=[matchers.query_param_matcher(query)],
                 json=sn_incident("6", "Resolved"))
    with time_machine.travel(utcnow() + dt.timedelta(seconds=301), tick=False):
        run_worker()
    card, thread = card_and_thread(slack)
    url = f"{SN}/nav_to.do?uri=incident.do?sys_id={SYS_ID}"
    assert thread == [f"🔗 Ticket linked by Alice Smith: <{url}|INC0010042> (In Progress)",
                      "🎫 Ticket updated: INC0010042 is now Resolved — the ticket is closed; resolve the alert if the "
                      "work is done."]
    assert f"<{url}|INC0010042> ✅ Resolved" in dumps(card["blocks"])


def test_a_rate_limited_poll_waits_for_retry_after_and_changes_nothing(org, member, route, jira, slack, signed, http,
                                                                       run_worker):
    jira_get(http)
    link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", status=429, headers={"Retry-After": "900"},
                 json={"errorMessages": ["Rate limit exceeded"], "errors": {}})
    start = utcnow()
    with time_machine.travel(start + dt.timedelta(seconds=301), tick=False):
        run_worker()
    ticket = fresh(db.session.scalar(sa.select(Ticket)))
    assert (ticket.status, ticket.poll_errors) == ("In Progress", 1)
    assert "rate limiting requests (429); try again in 900 s" in ticket.last_poll_error
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", json=jira_issue(status="In Review"))
    with time_machine.travel(start + dt.timedelta(seconds=301 + 899), tick=False):
        run_worker()  # Retry-After not over
    assert len(http.calls) == 2
    with time_machine.travel(start + dt.timedelta(seconds=301 + 901), tick=False):
        run_worker()
    assert len(http.calls) == 3
    assert card_and_thread(slack)[1][1:] == ["🎫 Ticket updated: OPS-7 is now In Review"]


def test_server_errors_back_off_longer_each_time(org, member, route, jira, slack, signed, http, run_worker):
    jira_get(http)
    link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", status=503, body="")
    now, gaps = utcnow(), []
    for _ in range(3):
        due = fresh(db.session.scalar(sa.select(Ticket))).next_poll_at
        now = due + dt.timedelta(seconds=1)
        with time_machine.travel(now, tick=False):
            run_worker()
        gaps.append(round((fresh(db.session.scalar(sa.select(Ticket))).next_poll_at - now).total_seconds()))
    assert gaps == [300, 600, 1200]  # 5, 10, 20 minutes
    ticket = fresh(db.session.scalar(sa.select(Ticket)))
    assert (ticket.status, ticket.poll_errors) == ("In Progress", 3)
    assert len(card_and_thread(slack)[1]) == 1  # only "linked": an error is never news


def test_two_schedulers_poll_a_due_ticket_once(app, org, member, route, jira, slack, signed, http, run_worker):
    from jobs.ticket_status import queue_ticket_polls

    jira_get(http)
    link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", json=jira_issue(status="Done", category="done"))
    counts, barrier = [], threading.Barrier(2)

    def scheduler_round():
        with app.app_context():
            barrier.wait()
            counts.append(queue_ticket_polls())
            db.session.remove()

    with time_machine.travel(utcnow() + dt.timedelta(seconds=301), tick=False):
        rounds = [threading.Thread(target=scheduler_round) for _ in range(2)]
        [t.start() for t in rounds]
        [t.join() for t in rounds]
        run_worker()
    assert sorted(counts) == [0, 1]
    assert len(http.calls) == 2  # the link's check, and one poll
    assert len(card_and_thread(slack)[1]) == 2


def test_the_same_alert_firing_again_shows_its_existing_ticket(org, member, route, jira, slack, signed, http,
                                                               run_worker):
    jira_get(http)
    first = link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7", dedup_key="exfil:alice")
    acknowledge_alert(first.id, member)
    again = fire(org, member)  # another problem: offers a ticket
    repeat = fire(org, member, dedup_key="exfil:alice")
    assert repeat.id not in (first.id, again.id)
    run_worker()
    cards = {m["blocks"][0]["block_id"]: m for m in slack.channel_messages("C1")}
    repeated = cards[f"alert-{repeat.id}"]
    assert f"<{JIRA}/browse/OPS-7|OPS-7> In Progress" in dumps(repeated["blocks"])
    assert "Create ticket" not in buttons(repeated) and "Link ticket…" not in buttons(repeated)
    assert "Create ticket" in buttons(cards[f"alert-{again.id}"])
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.alert_id == repeat.id))
    assert (ticket.linked, ticket.external_key) == (True, "OPS-7")


def test_a_created_ticket_gets_its_status_on_the_card_without_a_thread_message(org, member, route, jira, slack,
                                                                                signed, http, run_worker):
    alert = fire(org, member)
    run_worker()
    http.post(f"{JIRA}/rest/api/3/issue", status=201,
              json={"id": "10008", "key": "OPS-8", "self": f"{JIRA}/rest/api/3/issue/10008"})
    jira_get(http, jira_issue("OPS-8", "To Do", "new", "10008"), key="OPS-8")
    signed.action(CREATE_TICKET, alert_button_value(alert.id), user_id="U0001", response_url=slack.response_url("t"))
    run_worker()
    card, thread = card_and_thread(slack)
    assert f"<{JIRA}/browse/OPS-8|OPS-8> To Do" in dumps(card["blocks"])
    assert thread == [f"🎫 Ticket created by Alice Smith: <{JIRA}/browse/OPS-8|OPS-8>"]


@pytest.mark.parametrize("state", [
    {"values": {LINK_CONNECTOR_BLOCK: ["not", "a", "dict"], LINK_KEY_BLOCK: "OPS-7"}},
    {"values": {LINK_CONNECTOR_BLOCK: {LINK_CONNECTOR_ACTION: {"selected_option": {"value": "999999"}}}}},
    {"values": {LINK_CONNECTOR_BLOCK: {LINK_CONNECTOR_ACTION: {"selected_option": "1"}}}},
    "garbage",
])
def test_a_forged_link_submission_is_answered_in_the_modal(org, member, route, jira, slack, signed, http, run_worker,
                                                           state):
    alert = fire(org, member)
    modal = open_link_modal(signed, slack, alert, run_worker)
    answer = signed.send_form({"payload": json.dumps({
        "type": "view_submission", "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": "U0001", "username": "u0001", "name": "u0001", "team_id": "T0001"},
        "api_app_id": "A0001", "token": "legacy-verification-token", "trigger_id": "1.2",
        "view": {**modal, "state": state}})})
    assert answer.status_code == 200
    assert answer.json == {"response_action": "errors",
                           "errors": {LINK_CONNECTOR_BLOCK: "Choose one of your active ticketing systems."}}
    assert len(http.calls) == 0


@pytest.mark.parametrize("kind, base, typed, key", [
    ("jira_cloud", JIRA, "ops-7", "OPS-7"),
    ("jira_cloud", JIRA, f"{JIRA}/browse/OPS-7", "OPS-7"),
    ("jira_cloud", JIRA, f"{JIRA}/jira/software/projects/OPS/boards/1?selectedIssue=OPS-7", "OPS-7"),
    ("servicenow", SN, "inc0010042", "INC0010042"),
    ("servicenow", SN, SYS_ID, SYS_ID),
    ("servicenow", SN, f"{SN}/nav_to.do?uri=incident.do%3Fsys_id%3D{SYS_ID}", SYS_ID),
    ("servicenow", SN, f"{SN}/incident.do?sysparm_query=number=INC0010042", "INC0010042"),
])
def test_keys_and_links_people_paste_are_understood(kind, base, typed, key):
    from app.services.tickets import ticket_key_from

    assert ticket_key_from(ItsmConnector(kind=kind, name="", base_url=base), typed) == key


def test_linking_a_second_ticket_in_the_same_connector_is_refused_in_the_modal(org, member, route, jira, slack,
                                                                               signed, http, run_worker):
    jira_get(http)
    jira_get(http, jira_issue("OPS-8", issue_id="10008"), key="OPS-8")
    alert = fire(org, member)
    first = open_link_modal(signed, slack, alert, run_worker)
    # Both submissions were made from modals opened before either was linked (two people at once).
    signed.action(LINK_TICKET, alert_button_value(alert.id), user_id="U0001", response_url=slack.response_url("l2"))
    run_worker()
    second = [m for m in slack.modals() if m["id"] != first["id"]][0]
    signed.view_submission(first, link_values(jira, "OPS-7"), user_id="U0001")
    run_worker()
    signed.view_submission(second, link_values(jira, "OPS-8"), user_id="U0001")
    run_worker()
    shown = {m["id"]: dumps(m) for m in slack.modals()}
    assert "Linked <https://acme.atlassian.net/browse/OPS-7|OPS-7>" in shown[first["id"]]
    assert "This alert already has OPS-7 in Jira." in shown[second["id"]]
    assert db.session.scalars(sa.select(Ticket.external_key)).all() == ["OPS-7"]


def test_a_deactivated_connector_stops_being_read_for_a_while(org, member, route, jira, slack, signed, http,
                                                              run_worker):
    jira_get(http)
    link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    jira.active = False
    db.session.commit()
    with time_machine.travel(utcnow() + dt.timedelta(seconds=301), tick=False):
        run_worker()
        later = fresh(db.session.scalar(sa.select(Ticket))).next_poll_at - utcnow()
    assert len(http.calls) == 1 and later == dt.timedelta(hours=1)


def test_a_status_name_from_the_connector_cannot_mention_the_channel(org, member, route, jira, slack, signed, http,
                                                                     run_worker):
    jira_get(http)
    link_by_modal(org, member, jira, slack, signed, run_worker, "OPS-7")
    http.replace(responses.GET, f"{JIRA}/rest/api/3/issue/OPS-7", json=jira_issue(status="<!channel> look"))
    with time_machine.travel(utcnow() + dt.timedelta(seconds=301), tick=False):
        run_worker()
    card, thread = card_and_thread(slack)
    assert thread[1] == "🎫 Ticket updated: OPS-7 is now &lt;!channel&gt; look"
    assert "<!channel>" not in dumps(card["blocks"]) and "&lt;!channel&gt; look" in dumps(card["blocks"])


def test_link_ticket_works_from_the_home_tab(org, member, route, jira, slack, signed, http, run_worker):
    jira_get(http)
    alert = fire(org, member)
    signed.event({"type": "app_home_opened", "user": "U0001", "channel": "DU0001", "tab": "home",
                  "event_ts": "1.0"})
    run_worker()
    home = slack.home_view("U0001")
    assert "Link ticket…" in dumps(home)
    signed.view_action(LINK_TICKET, alert_button_value(alert.id), home, user_id="U0001")
    run_worker()
    [modal] = slack.modals()
    signed.view_submission(modal, link_values(jira, "OPS-7"), user_id="U0001")
    run_worker()
    assert "Linked <https://acme.atlassian.net/browse/OPS-7|OPS-7>" in dumps(slack.modals())
    assert f"<{JIRA}/browse/OPS-7|OPS-7> In Progress" in dumps(slack.home_view("U0001"))


# --- Link ticket on the dashboard's Alerts page --------------------------------------------------

def alerts_page(client) -> str:
    """The Alerts page as its reader sees the text (entities decoded)."""
    return html.unescape(client.get("/alerts").get_data(as_text=True))


def link_on_dashboard(client, alert, connector, typed, token=None):
    token = token or csrf_token_from(alerts_page(client))
    return client.post(f"/alerts/{alert.id}/link-ticket",
                       data={"csrf_token": token, "connector": str(connector.id), "key": typed})


def row_of(page: str, alert) -> str:
    start = page.index(f'id="alert-{alert.id}"')
    return page[start:page.index("</tr>", start)]


def test_link_ticket_on_the_dashboard_checks_the_issue_in_jira_and_the_page_shows_it(
        org, member, route, jira, slack, http, run_worker, client, login):
    alert = fire(org, member)
    run_worker()
    login(member)
    page = alerts_page(client)
    assert "Link existing ticket" in row_of(page, alert) and "Link Jira ticket" in row_of(page, alert)
    jira_get(http)
    answer = link_on_dashboard(client, alert, jira, f"{JIRA}/browse/OPS-7")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/alerts#alert-{alert.id}")
    assert len(http.calls) == 0  # the web process never calls Jira: a job does
    page = alerts_page(client)
    assert "Checking OPS-7 in Jira…" in page and "data-poll" in row_of(page, alert) and "toktraPoll()" in page
    run_worker()
    row = row_of(alerts_page(client), alert)
    assert f'<a href="{JIRA}/browse/OPS-7"' in row and "(In Progress)" in row
    assert "Linked OPS-7 (In Progress) in Jira; Toktra keeps its status current." in row and "data-poll" not in row
    ticket = db.session.scalar(sa.select(Ticket))
    assert (ticket.linked, ticket.external_key, ticket.status, ticket.requested_by_id) == (
        True, "OPS-7", "In Progress", member.id)
    run_worker()
    card, thread = card_and_thread(slack)  # Slack's copies follow, as for a link made in Slack
    assert f"Ticket: <{JIRA}/browse/OPS-7|OPS-7> In Progress" in dumps(card["blocks"])
    assert thread == [f"🔗 Ticket linked by Alice Smith: <{JIRA}/browse/OPS-7|OPS-7> (In Progress)"]


@pytest.mark.parametrize("typed, problem", [
    ("", "Ticket not linked: Enter the ticket's key or URL, such as OPS-123"),
    ("fix the thing", "Ticket not linked: “fix the thing” is not a Jira issue key; enter something like OPS-123"),
    ("https://evil.example/browse/OPS-7", "Ticket not linked: That URL is not on Jira (acme.atlassian.net)"),
])
def test_a_key_of_the_wrong_form_is_refused_on_the_dashboard_without_calling_jira(
        org, member, jira, http, run_worker, client, login, queue, typed, problem):
    alert = fire(org, member)
    login(member)
    link_on_dashboard(client, alert, jira, typed)
    assert problem in alerts_page(client)
    assert len(queue) == 0 and len(http.calls) == 0


def test_a_ticket_jira_does_not_know_is_shown_on_the_dashboard_in_words(org, member, jira, http, run_worker, client,
                                                                        login):
    alert = fire(org, member)
    login(member)
    jira_get(http, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                    "errors": {}}, key="OPS-99", status=404)
    link_on_dashboard(client, alert, jira, "ops-99")
    run_worker()
    row = row_of(alerts_page(client), alert)
    assert "Jira at acme.atlassian.net has no issue OPS-99 that this connector's account can see." in row
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_the_dashboard_refuses_a_second_ticket_a_forged_form_and_another_orgs_alert(
        org, member, jira, http, run_worker, client, login):
    from app.services.accounts import create_organization

    alert = fire(org, member)
    login(member)
    jira_get(http)
    link_on_dashboard(client, alert, jira, "OPS-7")
    run_worker()
    link_on_dashboard(client, alert, jira, "OPS-8")
    assert "Ticket not linked: This alert already has OPS-7 in Jira." in alerts_page(client)
    assert client.post(f"/alerts/{alert.id}/link-ticket", data={"connector": str(jira.id), "key": "OPS-8"}
                       ).status_code == 400  # no CSRF token
    other = create_organization("Initech")
    stranger = fire_alert(other, "high", "Secrets in prompts", "Not yours").alert
    assert link_on_dashboard(client, stranger, jira, "OPS-8").status_code == 404
    link_on_dashboard(client, alert, ItsmConnector(id=999999), "OPS-8")
    assert "Ticket not linked: That ticketing system is no longer set up in Toktra; choose another." in \
        alerts_page(client)
    assert db.session.scalars(sa.select(Ticket.external_key)).all() == ["OPS-7"]


def test_without_an_active_connector_the_dashboard_offers_no_link(org, member, client, login):
    alert = fire(org, member)
    login(member)
    assert "Link existing ticket" not in row_of(alerts_page(client), alert)
