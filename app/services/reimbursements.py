"""Reimbursement requests: submission, the one final decision, and payroll export batches."""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Organization, PayrollBatch, ReimbursementRequest, User
from app.models.reimbursements import BUDGET_INCREASE, REIMBURSEMENT
from app.models.types import utcnow
from app.services.accounts import find_user
from app.services.budget import forget_unreached_crossings, raise_budget
from app.services.budget_card import refresh_budget_card
from app.services.errors import FORBIDDEN, NOT_FOUND, DomainError
from app.services.home import refresh_homes
from app.services.outbox import add_message, refresh_messages
from app.services.periods import current_period
from app.services.text import text_problem

REQUEST_DM = "reimbursement_request"
EMPLOYEE_NOTICE = "reimbursement_notice"
MAX_AMOUNT = Decimal("1000000")
_PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
FIRST_PERIOD = "2000-01"  # nothing older is a plausible expense, and year 0 is not a date at all
MAX_DESCRIPTION = 2000
MAX_EMAIL = 320
_CURRENCY = re.compile(r"^[A-Z]{3}$")
CSV_COLUMNS = ["request_id", "employee_email", "employee_name", "amount", "currency", "period", "description",
               "approved_by", "approved_at"]


class ReimbursementError(DomainError):
    """A request or decision that cannot be accepted; str() says what is wrong and what would be right."""


def parse_amount(raw) -> Decimal:
    """A positive amount with at most two decimals, from a decimal string (or a whole number)."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise ReimbursementError('amount must be a decimal string such as "42.50"')
    try:
        if not str(raw).isascii():  # Decimal() would also read "٤٢" or "４２"
            raise InvalidOperation
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ReimbursementError('amount must be a decimal string such as "42.50"') from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ReimbursementError("amount must be more than 0 and at most 1,000,000, with at most 2 decimals")
    return amount


def parse_period(raw) -> str:
    """A reimbursed month, "YYYY-MM" from 2000-01 on (the future is checked against the org's calendar)."""
    period = raw.strip() if isinstance(raw, str) else ""
    if not _PERIOD.match(period):
        raise ReimbursementError('period must be a month written YYYY-MM, such as "2025-01"')
    if period < FIRST_PERIOD:
        raise ReimbursementError(f'period {period} is out of range; give a month from {FIRST_PERIOD} on, such as "2025-01"')
    return period


def _checked_text(name: str, value, limit: int) -> str:
    """value as storable text of at most limit characters, or a ReimbursementError naming the field."""
    value = value if isinstance(value, str) else ""
    problem = text_problem(value)
    if problem:
        raise ReimbursementError(f"{name} {problem}")
    if len(value) > limit:
        raise ReimbursementError(f"{name} is longer than {limit:,} characters")
    return value


def submit_request(org: Organization, employee_email: str, amount, currency: str, description: str, period: str,
                   approver_email: str | None = None) -> ReimbursementRequest:
    """Validate and store a pending request; the approver defaults to the employee's manager."""
    employee_email = _checked_text("employee_email", employee_email, MAX_EMAIL)
    approver_email = _checked_text("approver_email", approver_email, MAX_EMAIL) if approver_email else None
    employee = find_user(employee_email, org.id)
    if employee is None:
        raise ReimbursementError(f"employee_email: no user with email {employee_email} in this organization")
    value = parse_amount(amount)
    currency = (currency or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise ReimbursementError('currency must be a three-letter ISO 4217 code such as "USD"')
    description = _checked_text("description", description, 10 * MAX_DESCRIPTION).strip()
    if not description or len(description) > MAX_DESCRIPTION:
        raise ReimbursementError("description must say what the money was spent on (1 to 2,000 characters)")
    period = parse_period(period)
    if period > current_period(org.timezone).key:
        raise ReimbursementError(f"period {period} is in the future")
    if approver_email:
        approver = find_user(approver_email, org.id)
        if approver is None:
            raise ReimbursementError(f"approver_email: no user with email {approver_email} in this organization")
    else:
        approver = employee.manager
        if approver is None:
            raise ReimbursementError(f"{employee.email} has no manager in Toktra; give approver_email")
    if approver.id == employee.id:
        raise ReimbursementError("an employee cannot approve their own request; choose another approver")
    if approver.role not in ("manager", "admin"):
        raise ReimbursementError(f"{approver.email} is not a manager or admin, so cannot approve requests")
    request = ReimbursementRequest(org_id=org.id, employee_id=employee.id, approver_id=approver.id, amount=value,
                                   currency=currency, period=period, description=description)
    db.session.add(request)
    db.session.flush()
    # The approver's DM is written with the request, so it reaches them even if Redis is down right now.
    add_message(f"reimbursement:{request.id}:request", org.id, REQUEST_DM, request.id,
                recipient_email=approver.email)
    refresh_homes(org.id)  # the approver's Home tab lists it
    db.session.commit()
    return request


def may_decide(request: ReimbursementRequest, actor: User) -> bool:
    """Only the assigned approver, or an admin of the same organization, decides a request; never its employee."""
    return (actor.org_id == request.org_id and actor.id != request.employee_id
            and (actor.id == request.approver_id or actor.is_admin))


@dataclass(frozen=True)
class Decision:
    """The outcome of a click: whether it decided the request, and the request as it now stands."""

    decided: bool
    request: ReimbursementRequest


def request_to_decide(request_id: int, actor: User) -> ReimbursementRequest:
    """The request, if actor may decide it (decided or not); else ReimbursementError saying why not."""
    request = db.session.get(ReimbursementRequest, request_id)
    if request is None or request.org_id != actor.org_id:
        raise ReimbursementError("This reimbursement request does not exist.", NOT_FOUND)
    if actor.id == request.employee_id and request.kind == BUDGET_INCREASE:
        raise ReimbursementError("You cannot decide your own budget request; another admin must decide it.", FORBIDDEN)
    if actor.id == request.employee_id:
        raise ReimbursementError("You cannot decide your own reimbursement request; "
                                 f"{request.approver.name} (the assigned approver) or another admin must decide it.", FORBIDDEN)
    if request.kind == BUDGET_INCREASE and not actor.is_admin:
        raise ReimbursementError("Only an admin can decide a budget request.", FORBIDDEN)
    if not may_decide(request, actor):
        raise ReimbursementError(f"Only {request.approver.name} (the assigned approver) or an admin can decide "
                                 "this request.", FORBIDDEN)
    return request


def decide(request_id: int, actor: User, approve: bool, reason: str | None = None) -> Decision:
    """Approve or reject a pending request, once: the first decision wins, races included."""
    request = request_to_decide(request_id, actor)
    values = {"status": "approved" if approve else "rejected", "decided_by_id": actor.id, "decided_at": utcnow()}
    if not approve:
        reason = (reason or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
        values["rejection_reason"] = reason.strip()[:2000] or None
    won = db.session.execute(
        sa.update(ReimbursementRequest)
        .where(ReimbursementRequest.id == request_id, ReimbursementRequest.status == "pending")
        .values(**values)
    ).rowcount == 1
    if won:
        if approve and request.kind == BUDGET_INCREASE:
            # The raise is committed with the decision: exactly one approval raises the limit, once.
            raise_budget(request.organization, request.amount, request.budget_scope, request.period)
            # Thresholds the raised limit puts out of reach fire again if spend reaches them.
            forget_unreached_crossings(request.organization)
            # The living budget card shows the raised limit (and the request's period's card, if another).
            refresh_budget_card(request.organization, periods={request.period})
        # Both follow-ups are committed with the decision itself: nothing can decide without telling.
        refresh_messages(REQUEST_DM, request_id)
        add_message(f"reimbursement:{request_id}:notice", request.org_id, EMPLOYEE_NOTICE, request_id,
                    recipient_email=request.employee.email)
        refresh_homes(request.org_id)
    db.session.commit()
    db.session.refresh(request)
    return Decision(won, request)


def export_batch(org: Organization) -> PayrollBatch | None:
    """Put every approved, not yet exported request into a new batch (each request exactly once)."""
    batch = PayrollBatch(id=f"pb_{utcnow():%Y%m%d}_{secrets.token_hex(6)}", org_id=org.id)
    db.session.add(batch)
    db.session.flush()
    # One conditional UPDATE: concurrent exports can never take the same request.
    claimed = db.session.execute(
        sa.update(ReimbursementRequest)
        .where(ReimbursementRequest.org_id == org.id, ReimbursementRequest.status == "approved",
               ReimbursementRequest.kind == REIMBURSEMENT,  # budget requests are never paid out
               ReimbursementRequest.payroll_batch_id.is_(None))
        .values(payroll_batch_id=batch.id)
        .returning(ReimbursementRequest.id)
    ).scalars().all()
    if not claimed:
        db.session.rollback()
        return None
    batch.request_count = len(claimed)
    db.session.commit()
    return batch


def batch_requests(org_id: int, batch_id: str) -> list[ReimbursementRequest]:
    """The requests in a batch, oldest decision first."""
    return list(db.session.scalars(
        sa.select(ReimbursementRequest)
        .where(ReimbursementRequest.org_id == org_id, ReimbursementRequest.payroll_batch_id == batch_id)
        .options(selectinload(ReimbursementRequest.employee), selectinload(ReimbursementRequest.decided_by))
        .order_by(ReimbursementRequest.decided_at, ReimbursementRequest.id)
    ))


def _cell(value: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def batch_csv(requests: list[ReimbursementRequest]) -> str:
    """The payroll CSV for a batch."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in requests:
        writer.writerow([r.id, r.employee.email, _cell(r.employee.name), f"{r.amount:.2f}", r.currency, r.period,
                         _cell(r.description), r.decided_by.email if r.decided_by else "",
                         r.decided_at.isoformat() if r.decided_at else ""])
    return out.getvalue()
