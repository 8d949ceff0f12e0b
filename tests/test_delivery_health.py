"""Delivery health for admins: each alert channel's recent deliveries on its page, failures still failing
highlighted, and one DM to the installing admin after repeated failures (again only after a recovery)."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import AlertChannelRoute
from app.services.alerts import fire_alert


@pytest.fixture
def channel(slack, workspace, admin):
    """#security (C1) receives critical alerts; Slack user U0009 is the installing admin."""
    slack.add_channel("C1", "security")
    slack.add_user("U0009", admin.email, "ada")
    route = AlertChannelRoute(workspace_id=workspace.id, channel_id="C1", channel_name="security",
                              severities="critical")
    db.session.add(route)
    db.session.commit()
    return route


def fire(org, n, title="Leak"):
    for i in range(n):
        fire_alert(org, "critical", "Secrets in prompts", f"{title} {i}")


def admin_dms(slack) -> list[str]:
    """What the installing admin (U0009) received in their DM with Toktra."""
    return [m["text"] for m in slack.messages("D0009")]


def test_repeated_failures_to_a_channel_dm_the_installing_admin_once(app, org, slack, channel, run_worker):
    slack.fail("chat.postMessage", error="not_in_channel", channel="C1", times=None)
    fire(org, 2)
    run_worker()
    assert admin_dms(slack) == []  # two failures: not yet
    fire(org, 2, "More")
    run_worker()
    [dm] = admin_dms(slack)
    # Rendered when sent, like every outbox message: the count is the run of failures at that moment.
    count = re.match(r":warning: Toktra could not deliver the last (\d+) alerts to #security\. "
                     r"Toktra is not in this channel: invite @Toktra to it\.", dm)
    assert count and int(count.group(1)) >= 3, dm
    assert "http://toktra.test/integrations/slack/alert-channels" in dm
    fire(org, 3, "Still")
    run_worker()
    assert len(admin_dms(slack)) == 1  # still the same run of failures: no second DM

    slack.clear_failures()
    fire(org, 1, "Fixed")
    run_worker()
    assert len(slack.messages("C1")) == 1
    slack.fail("chat.postMessage", error="is_archived", channel="C1", times=None)
    fire(org, 3, "Archived")
    run_worker()
    dms = admin_dms(slack)
    assert len(dms) == 2
    assert "The channel is archived." in dms[1]


def test_the_alert_channels_page_shows_recent_deliveries_and_what_still_fails(
        org, slack, channel, run_worker, client, login, admin):
    fire(org, 1, "Delivered")
    run_worker()
    slack.fail("chat.postMessage", error="channel_not_found", channel="C1", times=2)
    fire(org, 2, "Lost")
    run_worker()
    login(admin)
    page = client.get("/integrations/slack/alert-channels").get_data(as_text=True)
    section = page[page.index(f'id="deliveries-{channel.id}"'):]
    section = section[:section.index("</details>")]
    assert "Last 3 deliveries to #security" in section
    assert "2 still failing" in section
    rows = re.findall(r'<tr class="delivery-row ([^"]*)">(.*?)</tr>', section, re.S)
    assert [cls.strip() for cls, _ in rows] == ["still-failing", "still-failing", ""]
    assert "Channel not found: it was deleted, or it is private and Toktra was not invited." in rows[0][1]
    assert "Sent" in rows[2][1]

    slack.clear_failures()
    fire(org, 1, "Back")
    run_worker()
    page = client.get("/integrations/slack/alert-channels").get_data(as_text=True)
    section = page[page.index(f'id="deliveries-{channel.id}"'):]
    section = section[:section.index("</details>")]
    assert "still failing" not in section and section.count("Failed earlier") == 2
