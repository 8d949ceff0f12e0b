"""The alert digest a digest channel receives: a pure function of the period's loaded alerts."""
from __future__ import annotations

from slack_sdk.models.blocks import ButtonElement, DividerBlock, MarkdownTextObject, SectionBlock

from app.services.digests import DigestContent
from app.slack.actions import ACKNOWLEDGE_ALERT, alert_button_value
from app.slack.blocks.cards import SEVERITY_EMOJI, Message, _message, context, header, section
from app.slack.blocks.format import SECTION_TEXT_LIMIT, clip, plain, slack_time, when

STATUS_WORDS = {"open": "open", "acknowledged": "acknowledged", "resolved": "resolved", "snoozed": "snoozed"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_digest(content: DigestContent, tz: str) -> Message:
    """Daily/weekly digest: the period, counts by severity and status, then the top open alerts with Acknowledge."""
    kind = "Weekly" if content.schedule.delivery == "weekly" else "Daily"
    channel = content.route.channel_name or content.route.channel_id
    title = f"{kind} alert digest — #{channel}"
    period = f"{when(content.start, tz)} – {when(content.end, tz)}"
    if not content.total:
        severities = content.route.severity_list
        words = severities[0] if len(severities) == 1 else ", ".join(severities[:-1]) + " or " + severities[-1]
        text = f"No {words} alerts fired in this period."
        return _message(f"{title}: no alerts", [header(title), context(period), section(text)])
    severities = " · ".join(f"{SEVERITY_EMOJI[s]} {n} {s}" for s, n in content.by_severity.items())
    statuses = " · ".join(f"{n} {STATUS_WORDS.get(s, s)}" for s, n in sorted(content.by_status.items()))
    summary = f"*{_plural(content.total, 'alert')}* · {severities}\nStatus: {statuses}"
    blocks = [header(title), context(period), section(summary)]
    if content.top_open:
        shown = len(content.top_open)
        still_open = content.by_status.get("open", 0)
        more = f" (the {shown} most severe of {still_open})" if still_open > shown else ""
        blocks += [DividerBlock(), section(f"*Still open*{more}")]
        for alert in content.top_open:
            person = f" · {plain(alert.subject_user.name)}" if alert.subject_user else ""
            line = (f"{SEVERITY_EMOJI[alert.severity]} *{plain(clip(alert.policy, 200))}* — "
                    f"{plain(clip(alert.title, 300))}\nFired {slack_time(alert.fired_at, tz)}{person}")
            blocks.append(SectionBlock(
                block_id=f"digest-alert-{alert.id}", text=MarkdownTextObject(text=clip(line, SECTION_TEXT_LIMIT)),
                accessory=ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE_ALERT,
                                        value=alert_button_value(alert.id))))
    else:
        blocks.append(context("Every alert of this period has been handled."))
    text = f"{title}: {_plural(content.total, 'alert')}, {content.by_status.get('open', 0)} still open"
    return _message(text, blocks)
