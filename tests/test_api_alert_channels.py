"""Alert channels as code: GET/POST /api/v1/alert-channels and PUT/DELETE /api/v1/alert-channels/<id>."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import SlackWorkspace
from app.slack.client.channels import store_channels

CHANNELS = [{"id": "C1", "name": "security-incidents", "is_private": False},
            {"id": "C2", "name": "it-alerts", "is_private": False}]


@pytest.fixture
def listed(workspace, redis_conn):
    """The workspace's channel list, as the listing job caches it."""
    store_channels(workspace.id, CHANNELS)
    return workspace


def test_route_a_channel_by_name_then_change_and_remove_it(api, listed):
    created = api("post", "/alert-channels", json={"channel_name": "#security-incidents", "severities": ["critical"]})
    assert created.status_code == 201
    route = created.json
    assert (route["channel_id"], route["channel_name"], route["severities"], route["team_id"]) == (
        "C1", "security-incidents", ["critical"], "T0001")
    changed = api("put", f"/alert-channels/{route['id']}", json={"severities": ["critical", "HIGH"]})
    assert changed.json["severities"] == ["high", "critical"]
    assert [r["id"] for r in api("get", "/alert-channels").json["alert_channels"]] == [route["id"]]
    assert api("delete", f"/alert-channels/{route['id']}").status_code == 204
    assert api("get", "/alert-channels").json["alert_channels"] == []


def test_route_a_channel_with_a_reminder_interval_per_severity(api, listed):
    created = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high", "critical"],
                                                   "remind_after_minutes": 60,
                                                   "remind_after_by_severity": {"critical": 15}})
    assert created.status_code == 201
    assert (created.json["remind_after_minutes"], created.json["remind_after_by_severity"]) == (60, {"critical": 15})
    assert api("get", "/alert-channels").json["alert_channels"] == [created.json]


def test_route_a_channel_by_id(api, listed):
    response = api("post", "/alert-channels", json={"channel_id": "C2", "severities": "low,medium"})
    assert response.status_code == 201 and response.json["channel_name"] == "it-alerts"


@pytest.mark.parametrize("body, status, message", [
    ({"channel_name": "nope", "severities": ["high"]}, 404, "no channel named #nope that Toktra can post to in Acme"),
    ({"channel_name": "it-alerts", "severities": []}, 400, "choose at least one severity"),
    ({"channel_name": "it-alerts", "severities": ["urgent"]}, 400, "unknown severity urgent"),
    ({"severities": ["high"]}, 400, "give channel_id (e.g. C0123ABCD) or channel_name"),
    ({"channel_id": "C2", "severities": ["high"], "remind_after_by_severity": {"critical": 15}}, 400,
     "remind_after_by_severity names critical, which this channel does not receive; give intervals only for its "
     "severities (high), or add it to severities"),
    ({"channel_id": "C2", "severities": ["high"], "remind_after_by_severity": {"high": -1}}, 400,
     "remind_after_by_severity.high must be a whole number of minutes from 1 to 10080"),
    ({"channel_id": "C2", "severities": ["high"], "remind_after_by_severity": "high=5"}, 400,
     'remind_after_by_severity must be an object of severity to minutes, such as {"critical": 15, "low": null}'),
])
def test_bad_routes_are_refused_with_a_reason(api, listed, body, status, message):
    response = api("post", "/alert-channels", json=body)
    assert response.status_code == status
    assert message in response.json["error"]["message"]


def test_a_channel_routed_twice_is_refused(api, listed):
    api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"]})
    again = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["low"]})
    assert again.status_code == 409
    assert "#security-incidents already receives alerts" in again.json["error"]["message"]


def test_several_workspaces_need_a_team_id(api, listed, org, slack):
    db.session.add(SlackWorkspace(org_id=org.id, team_id="T0002", team_name="Beta", bot_token="xoxb-2", scopes=""))
    db.session.commit()
    response = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"]})
    assert response.status_code == 400
    assert "several workspaces; say which with team_id: T0001 (Acme), T0002 (Beta)" in response.json["error"]["message"]
    assert api("post", "/alert-channels", json={"channel_id": "C9", "severities": ["high"],
                                                 "team_id": "T0002"}).json["team_id"] == "T0002"


def test_without_a_channel_list_the_api_asks_to_retry_and_lists_the_channels(api, workspace, slack, queue,
                                                                             run_worker):
    slack.add_channel("C7", "ops")
    response = api("post", "/alert-channels", json={"channel_name": "ops", "severities": ["high"]})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    run_worker()  # the listing job fills the cache
    assert api("post", "/alert-channels", json={"channel_name": "ops", "severities": ["high"]}).status_code == 201


def test_no_workspace_yet_says_so(api, org):
    response = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"]})
    assert response.status_code == 409
    assert "not installed in any active Slack workspace" in response.json["error"]["message"]


def test_another_organizations_route_is_not_found(api, listed):
    from app.services.accounts import create_api_key, create_organization

    route_id = api("post", "/alert-channels", json={"channel_id": "C1", "severities": ["high"]}).json["id"]
    other_key = create_api_key(create_organization("Umbrella"), "k")[1]
    headers = {"Authorization": f"Bearer {other_key}"}
    assert api("delete", f"/alert-channels/{route_id}", headers=headers).status_code == 404


def test_a_private_channel_id_typed_as_the_name_works_in_the_api_as_on_the_page(api, slack, workspace, redis_conn):
    from app.slack.client.channels import store_channels

    store_channels(workspace.id, [{"id": "C0PUBLIC1", "name": "general", "is_private": False}])
    response = api("post", "/alert-channels", json={"channel_name": "G0PRIVATE9", "severities": ["critical"]})
    assert response.status_code == 201, response.json
    assert response.json["channel_id"] == "G0PRIVATE9"
