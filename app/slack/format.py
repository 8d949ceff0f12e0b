"""How numbers, money and times read in Slack messages."""
from __future__ import annotations

import datetime as dt
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
