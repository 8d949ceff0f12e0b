"""Property-based: any slash-command text and any button value gets a 200 and a helpful answer within Slack's limits.

Each example is a really signed request through the app, its job run by a real RQ worker, and its answer posted
to the Slack emulator, which refuses messages over Slack's limits. Examples are derandomized, so CI is
reproducible; budgets are small so the suite stays quick.
"""
from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Alert, ReimbursementRequest
from app.slack.actions import (
    ACKNOWLEDGE_ALERT,
    APPROVE_REIMBURSEMENT,
    CREATE_TICKET,
    REJECT_REIMBURSEMENT,
    alert_button_value,
)
from app.slack.blocks.reimbursement_cards import REASON_ACTION, REASON_BLOCK
from tests.conftest import fresh
from tests.test_reimbursements import submit, team  # noqa: F401 (fixture)
from tests.test_slack_hostile_input import ACK_LIMIT, nothing_failed
from tests.test_slash_commands import add_alerts, people  # noqa: F401 (fixture)

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
names = itertools.count()

# Text that looks like arguments, with the odd characters that broke parsing before: other digits, NUL,
# tabs, long runs, mailto links, huge numbers.
digits = st.sampled_from(["5", "05", "0" * 3000 + "5", "²", "①", "١", "５", "99999999999999999999", "-1", "1.5", ""])
pieces = st.one_of(
    st.sampled_from(["severity:", "limit:", "SEVERITY:", "Limit:", "sort:", ":", "high", "critical", "low"]),
    st.builds(lambda key, number: key + number, st.sampled_from(["limit:", "LIMIT:"]), digits),
    st.builds(lambda level: "severity:" + level, st.sampled_from(["low", "MEDIUM", "high", "critical", "urgent", ""])),
    st.sampled_from(["alice@globex.example", "ada@globex.example", "nobody@globex.example", "a\x00@b.com",
                     "<mailto:Alice@Globex.example|Alice@Globex.example>", "<mailto:x>", "a@b", "@",
                     "a" * 300 + "@b.co"]),
    st.builds(lambda c, n: c * n, st.characters(), st.integers(1, 5000)),
    st.text(max_size=30),
)
spaces = st.sampled_from([" ", "  ", "\t", "\t" * 2000, "\n", "\u00a0", "\u3000"])
separators = st.one_of(spaces, st.just(""))
command_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.tuples(pieces, separators), max_size=5).map(lambda parts: "".join(p + s for p, s in parts)),
)


def padded(words: list[str], separators: list[str]) -> str:
    """The words with odd whitespace around and between them."""
    return "".join(s + w for s, w in zip(separators, words)) + separators[-1]


def arguments(*words) -> st.SearchStrategy[str]:
    """Valid arguments (each word may be absent), in any order, with odd whitespace: what careful users type."""
    optional = [st.one_of(st.just(""), word) for word in words]
    return st.builds(lambda ws, order, seps: padded([ws[i] for i in order if ws[i]], seps),
                     st.tuples(*optional), st.permutations(range(len(words))),
                     st.lists(spaces, min_size=len(words) + 1, max_size=len(words) + 1))


alerts_text = st.one_of(command_text, arguments(
    st.builds(lambda key, level: key + level, st.sampled_from(["severity:", "Severity:"]),
              st.sampled_from(["low", "MEDIUM", "high", "critical"])),
    st.builds(lambda key, n: f"{key}{n}", st.sampled_from(["limit:", "LIMIT:", "limit:000"]), st.integers(1, 50))))
usage_text = st.one_of(command_text, arguments(st.sampled_from([
    "alice@globex.example", "ADA@globex.example", "<mailto:Alice@Globex.example|Alice@Globex.example>",
    "nobody@globex.example", "élodie@globex.example"])))
budget_text = st.one_of(command_text, separators)


def command_answers(signed, slack, run_worker, queue, command, text, user) -> list[dict]:
    """Send a command; check its ack; return the answers posted to its response_url (none if refused at once)."""
    name = f"fuzz-{next(names)}"
    response = signed.command(command, text, user_id=user, response_url=slack.response_url(name))
    assert response.status_code == 200
    ack = response.get_data(as_text=True)
    event("refused in the ack" if ack else "answered by the job")
    if ack:
        assert len(ack) <= ACK_LIMIT and f"Use `{command}`" in ack, ack
        assert len(queue) == 0
        return []
    run_worker()
    answers = slack.responses(name)
    assert answers, f"{command} {text!r} was acknowledged but never answered"
    assert all(a["text"] and a["response_type"] == "ephemeral" for a in answers)
    assert nothing_failed(queue)
    return answers


@FUZZ
@given(text=alerts_text, user=st.sampled_from(["U0001", "U0002"]))
def test_any_alerts_text_is_answered_within_slacks_limits(signed, slack, run_worker, people, org, queue, text, user):
    if not db.session.query(Alert).count():
        add_alerts(org, 55)
    for answer in command_answers(signed, slack, run_worker, queue, "/toktra-alerts", text, user):
        for block in answer["blocks"]:
            for element in block.get("elements", []):
                assert element.get("type") != "button" or len(element["value"]) < 100


@FUZZ
@given(text=usage_text, user=st.sampled_from(["U0001", "U0002"]))
def test_any_usage_text_is_answered_within_slacks_limits(signed, slack, run_worker, people, queue, text, user):
    command_answers(signed, slack, run_worker, queue, "/toktra-usage", text, user)


@FUZZ
@given(text=budget_text)
def test_any_budget_text_is_answered_within_slacks_limits(signed, slack, run_worker, people, queue, text):
    command_answers(signed, slack, run_worker, queue, "/toktra-budget", text, "U0001")


# --- buttons -------------------------------------------------------------------------------------

numbers = st.one_of(st.integers(-5, 5), st.integers(), st.sampled_from([2**31 - 1, 2**31, 10**20]), st.booleans(),
                    st.floats(allow_nan=False), st.none(), digits, st.text(max_size=5))
button_values = st.one_of(
    digits,
    st.builds(alert_button_value, st.integers(1, 4), st.sampled_from([None, "", "severity:low", "limit:3"]),
              st.integers(0, 2)),
    st.integers(1, 3).map(str),
    st.text(max_size=40),
    st.integers().map(str),
    st.builds(lambda alert, q, page: json.dumps({"alert": alert, "q": q, "page": page}), numbers,
              st.one_of(command_text, numbers), numbers),
    st.builds(lambda c, n: c * n, st.sampled_from(["[", "{", "1", "١", "\x00"]), st.integers(1, 3000)),
    st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.sampled_from(["alert", "q", "page", "id"]), inner, max_size=3)).map(json.dumps),
)

# What a clicker may be told; an accepted click on a channel card is answered by the card itself changing.
CLEAR_ANSWERS = ("That button is no longer valid", "This alert no longer exists in Toktra.",
                 "This alert was already acknowledged by", "No active ServiceNow or Jira connector",
                 "This reimbursement request does not exist.", "This request was already decided:",
                 "the assigned approver) or an admin can decide")


def click_answers(signed, slack, run_worker, queue, action, value, user, reason=None) -> list[dict]:
    """Click a button carrying value; check the ack; return what reached the clicker's response_url."""
    name = f"click-{next(names)}"
    state = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}}} if reason else None
    response = signed.action(action, value, user_id=user, response_url=slack.response_url(name), state=state)
    assert response.status_code == 200
    run_worker()
    assert nothing_failed(queue)
    answers = slack.responses(name)
    if currently_in_test_context():
        event(answers[0]["text"][:30] if answers else "no answer")
    assert all(any(clear in a["text"] for clear in CLEAR_ANSWERS) for a in answers), answers
    return answers


@FUZZ
@given(value=button_values, action=st.sampled_from([ACKNOWLEDGE_ALERT, CREATE_TICKET]))
def test_any_alert_button_value_gets_a_clear_answer(signed, slack, run_worker, people, org, queue, value, action):
    if not db.session.query(Alert).count():
        add_alerts(org, 3)
    before = {a.id: a.status for a in db.session.query(Alert)}
    answers = click_answers(signed, slack, run_worker, queue, action, value, "U0001")
    after = {a.id: fresh(a).status for a in db.session.query(Alert)}
    assert len(answers) == 1 or (action == ACKNOWLEDGE_ALERT and after != before), (value, answers)


@FUZZ
@given(value=button_values, approve=st.booleans(), reason=st.one_of(st.none(), st.text(max_size=50)))
def test_any_reimbursement_button_value_gets_a_clear_answer(api, signed, slack, run_worker, team, queue, value,
                                                            approve, reason):
    if not db.session.query(ReimbursementRequest).count():
        submit(api)
        run_worker()
    before = [r.status for r in db.session.query(ReimbursementRequest)]
    modals = len(slack.modals())
    action = APPROVE_REIMBURSEMENT if approve else REJECT_REIMBURSEMENT
    answers = click_answers(signed, slack, run_worker, queue, action, value, "UMAX", reason)
    after = [fresh(r).status for r in db.session.query(ReimbursementRequest)]
    # A valid Reject without an inline reason (today's DMs) answers with the reason modal.
    assert len(answers) == 1 or after != before or len(slack.modals()) == modals + 1, (value, answers)


@pytest.mark.parametrize("reason", ["no\x00pe", "\ud7ff" * 3000, "x" * 5000])
def test_a_rejection_reason_with_a_nul_or_too_long_reaches_the_employee_cleaned(api, signed, slack, run_worker, team,
                                                                              queue, reason):
    request_id = submit(api).json["id"]
    run_worker()
    assert click_answers(signed, slack, run_worker, queue, REJECT_REIMBURSEMENT, str(request_id), "UMAX", reason) == []
    stored = fresh(db.session.get(ReimbursementRequest, request_id)).rejection_reason
    assert "\x00" not in stored and len(stored) <= 2000
