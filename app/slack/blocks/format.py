"""How numbers, money and times read in Slack messages."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

from app.services.periods import zone


def tokens(n: int) -> str:
    """1,240,500."""
    return f"{n:,}"


def dollars(amount: Decimal) -> str:
    """$24.81, $1,240.50 (cents always), -$3.00."""
    amount = Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def whole_dollars(amount: Decimal) -> str:
    """$10,000 for whole amounts, $10,000.50 otherwise (budget figures)."""
    cents = Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if cents == cents.to_integral_value():
        return f"{'-' if cents < 0 else ''}${abs(cents):,.0f}"
    return dollars(cents)


def when(moment: dt.datetime, tz: str) -> str:
    """Nov 30, 2026 09:15 CET, in the organization's timezone."""
    return moment.astimezone(zone(tz)).strftime("%b %-d, %Y %H:%M %Z")


def slack_time(moment: dt.datetime, tz: str) -> str:
    """A moment as Slack shows it, in each reader's own timezone; the organization's time where a client can't."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{when(moment, tz)}>"


# Slack's Block Kit limits, in characters (https://docs.slack.dev/reference/block-kit).
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
FALLBACK_TEXT_LIMIT = 3000  # ours: notification text is a summary, far under Slack's 40,000
ECHO_LIMIT = 80  # how much of a user's own input we quote back to them

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def plain(text: str) -> str:
    """Text from people or the API, escaped for mrkdwn so it can't become a link or a mention (<!channel>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DATE_TOKEN = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<([^|>]+)\|([^>]*)>")


def unformatted(mrkdwn: str) -> str:
    """Our mrkdwn as plain text for pages and the API: a date token reads as its fallback, a link as its words."""
    text = _LINK.sub(r"\2", _DATE_TOKEN.sub(r"\1", mrkdwn))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clip(text: str, limit: int) -> str:
    """text cut to at most limit characters, ending in … when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """User input fit to quote back in `code`: control characters shown as �, no backticks, clipped."""
    return clip(_CONTROL.sub("\ufffd", text).replace("`", "'").replace("\n", " ").replace("\t", " "), limit)
