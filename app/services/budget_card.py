"""The living budget card: one card per organization and period in its budget channel, edited as spend moves.

The card is an outbox message rendered at send time from the current BudgetStatus: posted once, then
updated in place (chat.update) at most once a minute, the latest figures winning. Its key names the
period, so the first spend, crossing or channel choice of a new period starts a new card.
"""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import BudgetChannel, Organization, SlackWorkspace
from app.models.outbox import OutboxMessage
from app.services.outbox import add_message, add_reply, refresh_message
from app.services.periods import current_period

BUDGET_CARD = "budget_card"
BUDGET_REPLY = "budget_reply"  # a threshold crossing, told in the card's thread; subject_id is the threshold
# The card is edited at most this often (seconds); refreshes in between coalesce into one update.
CARD_MIN_INTERVAL = 60


def card_key(org_id: int, period_key: str, channel_id: str) -> str:
    """The outbox key of an organization's card for a period in a channel (a new channel starts a new card)."""
    return f"budget-card:{org_id}:{period_key}:{channel_id}"


def card_period(key: str) -> str:
    """The period ("YYYY-MM") a card's key names."""
    return key.split(":")[2]


def budget_channel(org_id: int) -> BudgetChannel | None:
    """The organization's budget channel, if one is chosen and its workspace is still active."""
    chosen = db.session.get(BudgetChannel, org_id)
    if chosen is None or chosen.workspace is None or not chosen.workspace.active:
        return None
    return chosen


def set_budget_channel(org: Organization, workspace: SlackWorkspace, channel_id: str, channel_name: str) -> None:
    """Post the budget card in this channel from now on (committed); the current period's card is posted at once."""
    chosen = db.session.get(BudgetChannel, org.id)
    if chosen is not None and (chosen.workspace_id, chosen.channel_id) == (workspace.id, channel_id):
        chosen.channel_name = channel_name or chosen.channel_name
        refresh_budget_card(org, retry_failed=True)  # choosing it again retries a card that could not be posted
        db.session.commit()
        return
    _drop_unposted_cards(org.id)
    workspace_id = workspace.id  # read first: loading an expired workspace would flush a half-made row
    if chosen is None:
        chosen = BudgetChannel(org_id=org.id)
        db.session.add(chosen)
    chosen.workspace_id, chosen.channel_id, chosen.channel_name = workspace_id, channel_id, channel_name
    db.session.flush()
    db.session.refresh(chosen)
    refresh_budget_card(org)
    db.session.commit()


def clear_budget_channel(org: Organization) -> bool:
    """Stop posting the budget card (committed); cards already posted stay as they are. False if none was set."""
    chosen = db.session.get(BudgetChannel, org.id)
    if chosen is None:
        return False
    _drop_unposted_cards(org.id)
    db.session.delete(chosen)
    db.session.commit()
    return True


def _drop_unposted_cards(org_id: int) -> None:
    # A card still waiting for its first post would land in the old channel: it is no longer wanted.
    db.session.execute(sa.delete(OutboxMessage).where(
        OutboxMessage.org_id == org_id, OutboxMessage.kind == BUDGET_CARD, OutboxMessage.message_ts.is_(None),
        OutboxMessage.state.in_(("pending", "failed"))).execution_options(synchronize_session=False))


def refresh_budget_card(org: Organization, periods: set[str] | frozenset[str] = frozenset(),
                        retry_failed: bool = False) -> str | None:
    """The budget moved: post the current period's card if it has none yet, else update it (at most once a
    minute); cards of the other periods given (late usage for a past month) are updated too if they exist.

    In the caller's transaction. Returns the current card's key, or None without a budget channel. A card that
    could not be sent (Toktra not in the channel...) is retried only with retry_failed, not at every spend.
    """
    chosen = budget_channel(org.id)
    if chosen is None:
        return None
    current = current_period(org.timezone).key
    for period in sorted(periods - {current}):
        refresh_message(card_key(org.id, period, chosen.channel_id), CARD_MIN_INTERVAL, revive_failed=False)
    key = card_key(org.id, current, chosen.channel_id)
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)) is None:
        add_message(key, org.id, BUDGET_CARD, org.id, workspace_id=chosen.workspace_id, channel_id=chosen.channel_id)
    else:
        refresh_message(key, CARD_MIN_INTERVAL, revive_failed=retry_failed)
    return key


def card_problem(org_id: int) -> str | None:
    """Why the organization's latest budget card could not be sent, if it could not (for the admin's page)."""
    latest = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.org_id == org_id, OutboxMessage.kind == BUDGET_CARD).order_by(OutboxMessage.id.desc())
        .limit(1)).first()
    return latest.last_error if latest is not None and latest.state == "failed" else None


def reply_key(org_id: int, period_key: str, threshold: int) -> str:
    """The outbox key of a crossing's reply: once per organization, period and threshold (0: the forecast)."""
    return f"budget-reply:{org_id}:{period_key}:{threshold}"


def reply_period(key: str) -> str:
    """The period ("YYYY-MM") a reply's key names."""
    return key.split(":")[2]


def add_crossing_reply(org: Organization, period_key: str, threshold: int) -> bool:
    """Tell a threshold crossing (0: the forecast passing the budget) in the thread of the period's card, in the
    caller's transaction; the card is written first if the period has none yet. False without a budget channel."""
    chosen = budget_channel(org.id)
    if chosen is None:
        return False
    key = card_key(org.id, period_key, chosen.channel_id)
    add_message(key, org.id, BUDGET_CARD, org.id, workspace_id=chosen.workspace_id, channel_id=chosen.channel_id)
    return add_reply(reply_key(org.id, period_key, threshold), key, BUDGET_REPLY, threshold)
