"""Every action_id and slash command the app handles, named once; and what their buttons carry."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from app.slack.arguments import PG_INT_MAX, ArgumentError, bounded_int, parse_alerts_args
from app.slack.blocks.format import BUTTON_VALUE_LIMIT

ACKNOWLEDGE_ALERT = "toktra_alert_acknowledge"
CREATE_TICKET = "toktra_alert_create_ticket"
LINK_TICKET = "toktra_alert_link_ticket"
ACKNOWLEDGE_WITH_REASON = "toktra_alert_acknowledge_with_reason"
RESOLVE_ALERT = "toktra_alert_resolve"
REOPEN_ALERT = "toktra_alert_reopen"
SNOOZE_ALERT = "toktra_alert_snooze"  # an overflow menu; each option's value is snooze_option_value(...)
APPROVE_REIMBURSEMENT = "toktra_reimbursement_approve"
REJECT_REIMBURSEMENT = "toktra_reimbursement_reject"
REQUEST_MORE_BUDGET = "request_more_budget"  # on budget cards and budget alerts; its value is the org id
NUDGES_OFF = "nudges_off"  # "Stop these nudges" in a pace nudge DM

USAGE_COMMAND = "/toktra-usage"
BUDGET_COMMAND = "/toktra-budget"
ALERTS_COMMAND = "/toktra-alerts"
COMMANDS = (USAGE_COMMAND, BUDGET_COMMAND, ALERTS_COMMAND)
BUTTONS = (ACKNOWLEDGE_ALERT, ACKNOWLEDGE_WITH_REASON, CREATE_TICKET, LINK_TICKET, RESOLVE_ALERT, REOPEN_ALERT,
           SNOOZE_ALERT, APPROVE_REIMBURSEMENT, REJECT_REIMBURSEMENT, REQUEST_MORE_BUDGET, NUDGES_OFF)
REJECT_MODAL = "toktra_reimbursement_reject_modal"  # the callback_id of the Reject-with-a-reason modal
ACKNOWLEDGE_MODAL = "toktra_alert_acknowledge_modal"  # the callback_id of the Acknowledge-with-a-reason modal
BUDGET_REQUEST_MODAL = "toktra_budget_request_modal"  # the callback_id of the Request-more-budget modal
LINK_TICKET_MODAL = "toktra_alert_link_ticket_modal"  # the callback_id of the Link existing ticket modal
VIEWS = (REJECT_MODAL, ACKNOWLEDGE_MODAL, BUDGET_REQUEST_MODAL, LINK_TICKET_MODAL)
# The Events API events the app subscribes to (the manifest's bot_events).
EVENTS = ("app_mention", "app_home_opened", "app_uninstalled", "tokens_revoked")

INVALID_BUTTON = ("That button is no longer valid: Toktra can't tell which item it was for. "
                  "Use the buttons on a fresh message (run `/toktra-alerts` again, or open the latest DM).")
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # PostgreSQL refuses NUL; the rest is noise
MAX_LIST_PAGE = 50  # a list of at most 50 alerts never needs more messages than this


@dataclass(frozen=True)
class AlertButton:
    """What an alert card's button says: the alert, and for /toktra-alerts lists the query and page shown."""

    alert_id: int
    query: str = ""
    page: int = 0


def alert_button_value(alert_id: int, query: str | None = None, page: int = 0) -> str:
    """The value of an alert card's buttons; query (canonical /toktra-alerts arguments) marks a list's card."""
    value = json.dumps({"alert": alert_id} if query is None else {"alert": alert_id, "q": query, "page": page})
    return value if len(value) <= BUTTON_VALUE_LIMIT else json.dumps({"alert": alert_id})


OPTION_VALUE_LIMIT = 150  # Slack's limit on a menu option's value


def snooze_option_value(alert_id: int, choice: str, query: str | None = None, page: int = 0) -> str:
    """The value of one Snooze menu option: the alert button's fields plus the chosen duration."""
    fields = {"alert": alert_id} if query is None else {"alert": alert_id, "q": query, "page": page}
    value = json.dumps({**fields, "snooze": choice})
    return value if len(value) <= OPTION_VALUE_LIMIT else json.dumps({"alert": alert_id, "snooze": choice})


def parse_snooze_choice(value) -> str | None:
    """The duration a Snooze option's value carries (not checked against the choices), or None."""
    try:
        fields = json.loads(value) if isinstance(value, str) and len(value) <= BUTTON_VALUE_LIMIT else None
    except (ValueError, RecursionError):
        return None
    choice = fields.get("snooze") if isinstance(fields, dict) else None
    return choice if isinstance(choice, str) else None


def _whole(value, low: int, high: int) -> int | None:
    """A JSON number that is a whole number from low to high, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def parse_alert_button(value) -> AlertButton | None:
    """The AlertButton a clicked value carries, or None when it is not one we made (never raises)."""
    if not isinstance(value, str) or len(value) > BUTTON_VALUE_LIMIT:
        return None
    plain = bounded_int(value, 1, PG_INT_MAX)  # cards posted before the value became JSON
    if plain is not None:
        return AlertButton(plain)
    try:
        fields = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(fields, dict):
        return None
    alert_id = _whole(fields.get("alert"), 1, PG_INT_MAX)
    page = _whole(fields.get("page", 0), 0, MAX_LIST_PAGE)
    query = fields.get("q", "")
    if alert_id is None or page is None or not isinstance(query, str):
        return None
    try:
        query = parse_alerts_args(query).as_text()
    except ArgumentError:
        return None
    return AlertButton(alert_id, query, page)


def request_button_value(request_id: int) -> str:
    """The value of a reimbursement DM's Approve and Reject buttons."""
    return str(request_id)


def parse_request_id(value) -> int | None:
    """The reimbursement request id a clicked value carries, or None when it is not one we made (never raises)."""
    return bounded_int(value, 1, PG_INT_MAX)


def budget_button_value(org_id: int) -> str:
    """The value of a Request more budget button: the organization's id."""
    return str(org_id)


def parse_org_id(value) -> int | None:
    """The organization id a Request more budget button carries, or None when it is not one we made (never raises)."""
    return bounded_int(value, 1, PG_INT_MAX)


REASON_LIMIT = 2000  # the reason input's max_length; a forged payload may carry more


def typed_reason(value) -> str:
    """A reason typed into a DM's input, fit to store: no NUL or other control characters but newlines, clipped."""
    if not isinstance(value, str):
        return ""
    return _UNSTORABLE.sub("", value)[:REASON_LIMIT]
