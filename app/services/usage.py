"""Usage ingest (idempotent by event id) and period summaries from the rollup."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import Organization, UsageDayTotal, UsagePeriodTotal, UsageRecord, UsageRollup, User
from app.models.types import to_micros, utcnow
from app.services.budget_card import refresh_budget_card
from app.services.pace_nudges import nudge_fast_spenders
from app.services.periods import Period, current_period, period_key, zone
from app.services.providers import display_name, normalize_provider
from app.services.text import text_problem

MAX_TOKENS = 10**12
MAX_EVENT_COST = Decimal("1000000")
ECHO_LIMIT = 256  # a rejected event's id is echoed back, cut to this many characters


@dataclass
class IngestResult:
    """What happened to a batch: how many were new, already known, or refused and why."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ProviderUsage:
    """Tokens and cost for one provider (or the total) in a period."""

    provider: str
    name: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class UsageSummary:
    """A period's usage per provider, biggest first, and the total."""

    period: Period
    providers: list[ProviderUsage]
    total: ProviderUsage


COST_MESSAGE = 'cost_usd must be a decimal string such as "0.0125"'
TIMESTAMP_MESSAGE = 'occurred_at must be an ISO 8601 timestamp such as "2025-01-15T09:30:00Z"'


def parse_cost(raw) -> Decimal:
    """An event's cost: a non-negative decimal string with at most 6 decimals; ValueError says why not."""
    if not isinstance(raw, str):
        raise ValueError(COST_MESSAGE)
    try:
        if not raw.isascii():  # Decimal() would also read "٣" or "３"
            raise InvalidOperation
        cost = Decimal(raw.strip())
        # An exact check: to_micros alone rounds amounts with more than 28 digits.
        if not cost.is_finite() or cost < 0 or cost > MAX_EVENT_COST or cost != cost.quantize(Decimal("0.000001")):
            raise InvalidOperation
        to_micros(cost)
    except (InvalidOperation, ValueError):
        raise ValueError('cost_usd must be a non-negative decimal string with at most 6 decimals, '
                         'such as "0.0125"') from None
    return cost


def parse_occurred_at(raw) -> dt.datetime:
    """When an event happened, in UTC: an ISO 8601 timestamp with a timezone, not in the future."""
    try:
        occurred = dt.datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None
    except ValueError:
        occurred = None
    if occurred is None:
        raise ValueError(TIMESTAMP_MESSAGE)
    if occurred.tzinfo is None:
        raise ValueError('occurred_at must include a timezone, such as "Z" or "+02:00"')
    if occurred > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1):
        raise ValueError("occurred_at is more than a day in the future")
    try:
        return occurred.astimezone(dt.timezone.utc)
    except OverflowError:  # e.g. year 1 with a positive offset
        raise ValueError("occurred_at is out of range") from None


def _short_text(raw, limit: int) -> str | None:
    """raw stripped, if it is storable text of 1 to limit characters."""
    if not isinstance(raw, str) or not 1 <= len(raw.strip()) <= limit or text_problem(raw):
        return None
    return raw.strip()


def _parse_event(raw, org_tz: str, users: dict[str, int]) -> tuple[dict | None, list[str]]:
    """Validate one event; return (row, []) or (None, reasons)."""
    if not isinstance(raw, dict):
        return None, ["each event must be a JSON object"]
    errors: list[str] = []

    event_id = _short_text(raw.get("id"), 200)
    if event_id is None:
        errors.append("id must be a non-empty string of at most 200 characters")

    email = _short_text(raw.get("user_email"), 320)
    user_id = None
    if email is None or "@" not in email:
        errors.append("user_email must be an email address")
    else:
        user_id = users.get(email.lower())
        if user_id is None:
            errors.append(f"no user with email {email} in this organization")

    provider = raw.get("provider")
    slug = normalize_provider(provider) if isinstance(provider, str) else None
    if slug is None:
        errors.append("provider must be a name such as \"openai\" or \"anthropic\"")

    model = _short_text(raw.get("model"), 200)
    if model is None:
        errors.append("model must be a non-empty string of at most 200 characters")

    tokens = {}
    for name in ("input_tokens", "output_tokens"):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
            errors.append(f"{name} must be a whole number from 0 to {MAX_TOKENS:,}")
        else:
            tokens[name] = value

    cost = occurred = period = None
    try:
        cost = parse_cost(raw.get("cost_usd"))
    except ValueError as exc:
        errors.append(str(exc))
    try:
        occurred = parse_occurred_at(raw.get("occurred_at"))
        period = period_key(occurred, org_tz)
    except OverflowError:
        errors.append("occurred_at is out of range")
    except ValueError as exc:
        errors.append(str(exc))

    if errors:
        return None, errors
    return {
        "event_id": event_id,
        "user_id": user_id,
        "provider": slug,
        "model": model,
        "input_tokens": tokens["input_tokens"],
        "output_tokens": tokens["output_tokens"],
        "cost_usd": cost,
        "occurred_at": occurred,
        "period": period,
    }, []


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


COPIED = ("org_id", "event_id", "user_id", "provider", "model", "input_tokens", "output_tokens", "cost_usd",
          "occurred_at", "period", "received_at")


# The new rows of a batch, added to the per-person rollup and to the period and day totals in the same
# statement (PostgreSQL); each upsert takes its keys in order, so concurrent batches cannot deadlock.
_ADD_UP = """
WITH inserted AS (
  INSERT INTO usage_records ({columns}) SELECT {columns} FROM usage_ingest_batch
  ON CONFLICT (org_id, event_id) DO NOTHING
  RETURNING period, user_id, provider, occurred_at, input_tokens, output_tokens, cost_usd
), per_person AS (
  INSERT INTO usage_rollups AS t (org_id, period, user_id, provider, {summed})
  SELECT %(org_id)s, period, user_id, provider, {sums} FROM inserted
  GROUP BY period, user_id, provider ORDER BY period, user_id, provider
  ON CONFLICT (org_id, period, user_id, provider) DO UPDATE SET {added}
), per_period AS (
  INSERT INTO usage_period_totals AS t (org_id, period, {summed})
  SELECT %(org_id)s, period, {sums} FROM inserted GROUP BY period ORDER BY period
  ON CONFLICT (org_id, period) DO UPDATE SET {added}
), per_day AS (
  INSERT INTO usage_day_totals AS t (org_id, day, {summed})
  SELECT %(org_id)s, (occurred_at AT TIME ZONE %(timezone)s)::date, {sums} FROM inserted GROUP BY 2 ORDER BY 2
  ON CONFLICT (org_id, day) DO UPDATE SET {added}
)
SELECT count(*), array_agg(DISTINCT period),
       array_agg(DISTINCT user_id) FILTER (WHERE period = %(current)s AND user_id IS NOT NULL)
FROM inserted
"""


@dataclass
class Stored:
    """What a batch added: how many events were new, their periods, and who spent in the current period."""

    count: int
    periods: set[str]
    current_spenders: set[int]


def _store_new(org: Organization, rows: list[dict], current: str) -> Stored:
    """Insert the rows whose event id is new for their org and add them up (not committed).

    On PostgreSQL the rows are COPYed into a per-connection temporary table and moved with one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING whose new rows the same statement adds to the totals:
    a multi-row INSERT of thousands of rows costs more to build and parse than to run, and PostgreSQL
    sums them faster than Python.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        inserted = db.session.scalars(_insert(UsageRecord).on_conflict_do_nothing(index_elements=["org_id", "event_id"])
                                      .returning(UsageRecord.event_id), rows).all()
        by_id = {row["event_id"]: row for row in rows}
        stored = [by_id[event_id] for event_id in inserted]
        _add_to_rollup(org.id, stored, org.timezone)
        return Stored(len(stored), {row["period"] for row in stored},
                      {row["user_id"] for row in stored if row["period"] == current and row["user_id"] is not None})
    columns = ", ".join(COPIED)
    connection = db.session.connection()
    # The columns' own conversions (Money is stored in micro-dollars), as an INSERT would apply them; only
    # the columns that have one (the constant received_at is converted once).
    names = COPIED[:-1]
    convert = [(index, to_db) for index, name in enumerate(names)
               if (to_db := UsageRecord.__table__.c[name].type.bind_processor(connection.dialect))]
    received = UsageRecord.__table__.c["received_at"].type.bind_processor(connection.dialect)
    received_at = received(utcnow()) if received else utcnow()
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS usage_ingest_batch AS "
                       f"SELECT {columns} FROM usage_records WITH NO DATA")
        with cursor.copy(f"COPY usage_ingest_batch ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [row[name] for name in names]
                for index, to_db in convert:
                    values[index] = to_db(values[index])
                values.append(received_at)
                copy.write_row(values)
        cursor.execute(_ADD_UP.format(columns=columns, summed=", ".join(SUMMED),
                                      sums="sum(input_tokens), sum(output_tokens), sum(cost_usd), count(*)",
                                      added=", ".join(f"{name} = t.{name} + excluded.{name}" for name in SUMMED)),
                       {"org_id": org.id, "timezone": org.timezone, "current": current})
        count, periods, spenders = cursor.fetchone()
        cursor.execute("TRUNCATE usage_ingest_batch")
    return Stored(count, set(periods or ()), set(spenders or ()))


def ingest_usage(org: Organization, events: list) -> IngestResult:
    """Store new events, skip ones already stored, and report each invalid one by index."""
    result = IngestResult()
    emails = {
        e["user_email"].strip().lower()
        for e in events
        if isinstance(e, dict) and isinstance(e.get("user_email"), str) and _short_text(e["user_email"], 320)
    }
    users = dict(
        db.session.execute(
            sa.select(sa.func.lower(User.email), User.id).where(User.org_id == org.id, sa.func.lower(User.email).in_(emails))
        ).all()
    ) if emails else {}

    rows: dict[str, dict] = {}
    for index, raw in enumerate(events):
        row, errors = _parse_event(raw, org.timezone, users)
        if errors:
            item = {"index": index, "errors": errors}
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                item["id"] = raw["id"][:ECHO_LIMIT]
            result.rejected.append(item)
        elif row["event_id"] in rows:
            result.duplicates += 1
        else:
            row["org_id"] = org.id
            rows[row["event_id"]] = row
    if not rows:
        return result

    stored = _store_new(org, list(rows.values()), current_period(org.timezone).key)
    result.accepted = stored.count
    result.duplicates += len(rows) - stored.count
    if stored.count:
        # What the new spend shows in Slack is written with it: the budget card, and any pace nudge it calls for.
        refresh_budget_card(org, stored.periods)
        nudge_fast_spenders(org, stored.current_spenders)
    db.session.commit()
    return result


SUMMED = ("input_tokens", "output_tokens", "cost_usd", "event_count")


def _add(model, keys: list[str], deltas: dict[tuple, list], org_id: int) -> None:
    """Add deltas to a totals table in one upsert; sorted keys keep concurrent batches from deadlocking."""
    stmt = _insert(model)
    stmt = stmt.on_conflict_do_update(
        index_elements=["org_id", *keys],
        set_={column: getattr(model, column) + getattr(stmt.excluded, column) for column in SUMMED},
    )
    db.session.execute(stmt, [
        {"org_id": org_id, **dict(zip(keys, key)), **dict(zip(SUMMED, delta))} for key, delta in sorted(deltas.items())
    ])



def _add_to_rollup(org_id: int, rows: list[dict], tz: str) -> None:
    """Add newly stored events to the per-person rollup and to the organization's period and day totals."""
    per_person: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0])
    per_period: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0])
    per_day: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0])
    local = zone(tz)
    for row in rows:
        day = row["occurred_at"].astimezone(local).date()
        for delta in (per_person[(row["period"], row["user_id"], row["provider"])], per_period[(row["period"],)],
                      per_day[(day,)]):
            delta[0] += row["input_tokens"]
            delta[1] += row["output_tokens"]
            delta[2] += row["cost_usd"]
            delta[3] += 1
    if rows:
        _add(UsageRollup, ["period", "user_id", "provider"], per_person, org_id)
        _add(UsagePeriodTotal, ["period"], per_period, org_id)
        _add(UsageDayTotal, ["day"], per_day, org_id)


def usage_summary(org: Organization, user: User | None = None, period: Period | None = None) -> UsageSummary:
    """A person's (or, without user, the whole org's) usage per provider for a period."""
    period = period or current_period(org.timezone)
    query = (
        sa.select(
            UsageRollup.provider,
            sa.func.sum(UsageRollup.input_tokens),
            sa.func.sum(UsageRollup.output_tokens),
            sa.func.sum(UsageRollup.cost_usd),
        )
        .where(UsageRollup.org_id == org.id, UsageRollup.period == period.key)
        .group_by(UsageRollup.provider)
    )
    if user is not None:
        query = query.where(UsageRollup.user_id == user.id)
    providers = [
        ProviderUsage(slug, display_name(slug), int(i), int(o), Decimal(c))
        for slug, i, o, c in db.session.execute(query).all()
    ]
    providers.sort(key=lambda p: (-p.tokens, p.name))
    total = ProviderUsage(
        "total", "Total",
        sum(p.input_tokens for p in providers),
        sum(p.output_tokens for p in providers),
        sum((p.cost_usd for p in providers), Decimal("0.000000")),
    )
    return UsageSummary(period, providers, total)


def period_spend_query(org_id: int, period_key: str) -> sa.ScalarSelect:
    """The organization's total cost in a period, as a scalar subquery (NULL before any usage)."""
    return sa.select(UsagePeriodTotal.cost_usd).where(UsagePeriodTotal.org_id == org_id,
                                                      UsagePeriodTotal.period == period_key).scalar_subquery()

