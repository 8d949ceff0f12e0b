"""The pace nudge DM: a person's own spend this month against their usual, and how to stop these nudges."""
from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from app.services.pace_nudges import Pace
from app.slack.actions import NUDGES_OFF
from app.slack.blocks.cards import Message, _message, context, header, section
from app.slack.blocks.format import dollars

RULE = ("Toktra sends this at most once a month, when your projected month is at least 1.5× your usual month and "
        "$20 more (your usual month: the median of your last three months with usage), or reaches the monthly "
        "allowance an admin set for you.")


def render_pace_nudge(pace: Pace, name: str, user_id: int, dashboard_url: str, nudges_on: bool) -> Message:
    """The DM: spent so far, projected, usual (or allowance), where to see details, and the Stop button."""
    title = "Your LLM spend is running fast this month"
    if pace.usual_usd is None:
        usual = "more than usual"
    elif pace.allowance:
        usual = f"your monthly allowance of *{dollars(pace.usual_usd)}*"
    else:
        months = "month" if pace.history_months == 1 else f"{pace.history_months} months"
        usual = f"your usual *{dollars(pace.usual_usd)}* a month (the median of your last {months} with usage)"
    first_name = name.split()[0] if name.split() else name
    text = (f"Hi {first_name}, you have spent *{dollars(pace.spent_usd)}* on LLM providers so far in "
            f"{pace.period.label}, on pace for about *{dollars(pace.projected_usd)}* by the end of the month: "
            f"well above {usual}.")
    details = (f"See where it goes with `/toktra-usage` in Slack, or on the <{dashboard_url}|Toktra dashboard>.")
    blocks = [header(title), section(text), section(details)]
    if nudges_on:
        blocks.append(context(RULE))
        blocks.append(ActionsBlock(block_id="nudge-actions", elements=[
            ButtonElement(text="Stop these nudges", action_id=NUDGES_OFF, value=str(user_id))]))
    else:
        blocks.append(context("🔕 You turned these nudges off: Toktra will not send you pace nudges any more."))
    fallback = (f"{title}: {dollars(pace.spent_usd)} so far in {pace.period.label}, "
                f"on pace for {dollars(pace.projected_usd)}.")
    return _message(fallback, blocks)
