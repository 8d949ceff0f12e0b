"""Template filters: money, token counts and times in the organization's timezone."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_login import current_user

from app.dashboard import bp
from app.services.periods import zone


@bp.app_template_filter("usd")
def usd(value: Decimal | None, places: int = 2) -> str:
    """$1,234.56 (negative amounts as -$12.00); an em dash for None."""
    if value is None:
        return "—"
    q = Decimal(1).scaleb(-places)
    amount = Decimal(value).quantize(q, ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


@bp.app_template_filter("thousands")
def thousands(value: int | None) -> str:
    """1,240,500."""
    return "—" if value is None else f"{value:,}"


@bp.app_template_filter("localtime")
def localtime(value: dt.datetime | None) -> str:
    """A UTC datetime shown in the signed-in user's organization timezone."""
    if value is None:
        return "—"
    tz = current_user.organization.timezone if current_user.is_authenticated else "UTC"
    return value.astimezone(zone(tz)).strftime("%b %-d, %Y %H:%M %Z")


@bp.app_template_global("no_worker_alive")
def no_worker_alive() -> bool:
    """True when no worker has beaten recently: admins see a banner (Slack answers would not be sent)."""
    from app.heartbeat import worker_alive

    return not worker_alive()
