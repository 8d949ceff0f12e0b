"""The slash-command cards, rendered from data: the spec's examples exactly, colours, Slack's limits."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from app.models import Alert, User
from app.services.budget import BudgetStatus
from app.services.periods import period_for
from app.services.usage import ProviderUsage, UsageSummary
from app.slack.actions import (ACKNOWLEDGE_ALERT, ACKNOWLEDGE_WITH_REASON, CREATE_TICKET, LINK_TICKET, RESOLVE_ALERT,
                                SNOOZE_ALERT)
from app.slack.blocks.cards import budget_bar, render_alert_list, render_budget_card, render_usage_card

# The examples of the product specification, "Slash commands", character for character.
SPEC_USAGE_EXAMPLE = """\
Usage Summary — Alice Smith
Period: January 2025
─────────────────────────────
Provider       Tokens      Cost
OpenAI         1,240,500   $24.81
Anthropic        380,200    $3.80
─────────────────────────────
Total          1,620,700   $28.61"""

SPEC_BUDGET_EXAMPLE = """\
Budget Status
────────────────────────────────────
Monthly limit:     $10,000
Spent:             $7,520 (75.2%)
Remaining:         $2,480
Alert threshold:   80%

🟠 ███████████████░░░░░ 75.2%"""


def provider(slug, name, tokens, cost):
    return ProviderUsage(slug, name, tokens, 0, Decimal(cost))


def alice_january() -> UsageSummary:
    providers = [provider("openai", "OpenAI", 1_240_500, "24.81"), provider("anthropic", "Anthropic", 380_200, "3.80")]
    return UsageSummary(period_for("2025-01", "UTC"), providers, provider("total", "Total", 1_620_700, "28.61"))


def test_the_usage_card_matches_the_spec_example_exactly():
    text, blocks = render_usage_card(alice_january(), "Alice Smith")
    assert text == SPEC_USAGE_EXAMPLE
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "Usage Summary — Alice Smith"
    assert blocks[1]["elements"][0]["text"] == "Period: January 2025"
    assert "OpenAI         1,240,500   $24.81" in blocks[2]["text"]["text"]


def test_the_budget_card_matches_the_spec_example_exactly():
    status = BudgetStatus(period_for("2025-01", "UTC"), Decimal("10000"), Decimal("7520"), 80)
    text, blocks = render_budget_card(status, "Acme", "https://toktra.example/settings")
    assert text == SPEC_BUDGET_EXAMPLE
    assert blocks[0]["text"]["text"] == "Budget Status"
    assert "🟠 ███████████████░░░░░ 75.2%" in blocks[1]["text"]["text"]


@pytest.mark.parametrize("spent, expected", [
    ("7490", "🟢 ██████████████░░░░░░ 74.9%"),
    ("7500", "🟠 ███████████████░░░░░ 75.0%"),
    ("9000", "🟠 ██████████████████░░ 90.0%"),
    ("9010", "🔴 ██████████████████░░ 90.1%"),
    ("0", "🟢 ░░░░░░░░░░░░░░░░░░░░ 0.0%"),
    ("10000", "🔴 ████████████████████ 100.0%"),
])
def test_the_bar_colour_changes_at_75_and_above_90(spent, expected):
    status = BudgetStatus(period_for("2025-01", "UTC"), Decimal("10000"), Decimal(spent), 80)
    assert budget_bar(status.percent_used) == expected


def test_over_budget_says_so_and_the_bar_stays_full():
    status = BudgetStatus(period_for("2025-01", "UTC"), Decimal("10000"), Decimal("12345.50"), 80)
    text, _ = render_budget_card(status, "Acme", "https://toktra.example/settings")
    assert "Remaining:         $2,345.50 over budget" in text
    assert "🔴 ████████████████████ 123.5%" in text


def test_no_budget_explains_how_to_set_one():
    status = BudgetStatus(period_for("2025-01", "UTC"), None, Decimal("12"), 80)
    text, _ = render_budget_card(status, "Acme", "https://toktra.example/settings")
    assert "No monthly budget is set for Acme" in text
    assert "<https://toktra.example/settings|Settings>" in text and "PUT /api/v1/budget" in text


def test_no_usage_yet_says_so():
    empty = UsageSummary(period_for("2025-01", "UTC"), [], provider("total", "Total", 0, "0"))
    text, _ = render_usage_card(empty, "Alice Smith")
    assert "No usage recorded for Alice Smith in January 2025 yet." in text


def test_wide_numbers_keep_the_columns_aligned():
    providers = [provider("azure_openai", "Azure OpenAI", 12_345_678_901, "123456.78"), provider("xai", "xAI", 5, "0.01")]
    summary = UsageSummary(period_for("2025-01", "UTC"), providers, provider("total", "Total", 12_345_678_906, "123456.79"))
    text, _ = render_usage_card(summary, "Bob")
    rows = [line for line in text.splitlines() if re.match(r"^(Azure|xAI|Total)", line)]
    assert len({len(row) for row in rows}) == 1
    assert all(row.endswith(("$123,456.78", "$0.01", "$123,456.79")) for row in rows)


def make_alert(n: int, status="open", severity="high") -> Alert:
    alert = Alert(id=n, org_id=1, severity=severity, policy="Secrets in prompts", title=f"AWS key in prompt #{n}",
                  details="x" * 4000, status=status, fired_at=dt.datetime(2025, 1, 5, 9, n % 60, tzinfo=dt.timezone.utc))
    alert.subject_user = User(name="Bob Jones", email="bob@acme.example")
    if status == "acknowledged":
        alert.acknowledged_by = User(name="Ada Admin", email="ada@acme.example")
        alert.acknowledged_at = dt.datetime(2025, 1, 5, 10, 0, tzinfo=dt.timezone.utc)
    return alert


def test_an_alert_card_shows_what_who_when_status_and_buttons():
    [(text, blocks)] = render_alert_list([make_alert(1), make_alert(2, "acknowledged")], "Europe/Paris", True, "Alerts")
    body = json.dumps(blocks, ensure_ascii=False)
    assert "🟠 *High* · *Secrets in prompts*" in body and "AWS key in prompt #1" in body
    fired = int(dt.datetime(2025, 1, 5, 9, 1, tzinfo=dt.timezone.utc).timestamp())
    acked = int(dt.datetime(2025, 1, 5, 10, 0, tzinfo=dt.timezone.utc).timestamp())
    # Each reader sees their own timezone; clients that can't show the organization's time.
    assert "Person: Bob Jones" in body and "Status: Open" in body
    assert f"Fired: <!date^{fired}^{{date_short_pretty}} {{time}}|Jan 5, 2025 10:01 CET>" in body
    assert f"Acknowledged by Ada Admin at <!date^{acked}^{{date_short_pretty}} {{time}}|Jan 5, 2025 11:00 CET>" in body
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == [ACKNOWLEDGE_ALERT, ACKNOWLEDGE_WITH_REASON,
                                                                RESOLVE_ALERT, CREATE_TICKET, LINK_TICKET,
                                                                SNOOZE_ALERT]
    assert [e["action_id"] for e in actions[1]["elements"]] == [RESOLVE_ALERT, CREATE_TICKET, LINK_TICKET,
                                                                SNOOZE_ALERT]
    assert [o["text"]["text"] for o in actions[0]["elements"][-1]["options"]] == [
        "Snooze 1 hour", "Snooze 4 hours", "Snooze 1 day", "Snooze until tomorrow 09:00"]
    assert json.loads(actions[0]["elements"][0]["value"]) == {"alert": 1, "q": "", "page": 0}


def test_create_ticket_appears_only_with_an_active_connector():
    [(_, blocks)] = render_alert_list([make_alert(1)], "UTC", False, "Alerts")
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [ACKNOWLEDGE_ALERT, ACKNOWLEDGE_WITH_REASON, RESOLVE_ALERT,
                                                             SNOOZE_ALERT]


def test_fifty_alerts_are_split_into_messages_within_slacks_limits():
    alerts = [make_alert(n) for n in range(1, 51)]
    messages = render_alert_list(alerts, "UTC", True, "Alerts")
    assert len(messages) > 1
    assert all(len(blocks) <= 50 for _, blocks in messages)
    shown = [b["block_id"] for _, blocks in messages for b in blocks if b.get("block_id", "").startswith("alert-") and
             b["type"] == "section"]
    assert shown == [f"alert-{n}" for n in range(1, 51)]
    assert all(len(b["text"]["text"]) <= 3000 for _, blocks in messages for b in blocks if b["type"] == "section")


def test_the_budget_card_lists_every_threshold_when_there_are_several():
    from decimal import Decimal

    from app.services.budget import BudgetStatus
    from app.services.periods import period_for
    from app.slack.blocks.cards import budget_lines

    status = BudgetStatus(period_for("2025-01", "UTC"), Decimal("10000"), Decimal("7520"), 50, (50, 75, 90))
    assert "Alert thresholds:  50%, 75%, 90%" in budget_lines(status)
    single = BudgetStatus(period_for("2025-01", "UTC"), Decimal("10000"), Decimal("7520"), 80, (80,))
    assert "Alert threshold:   80%" in budget_lines(single)
