"""Slack mrkdwn to HTML, as a Slack client shows it: bold, italic, strike, code, quotes, links, mentions,
:emoji: shortcodes and <!date^...> tokens. Every piece of the input is HTML-escaped."""
from __future__ import annotations

import datetime as dt
import html
import re
from typing import Protocol

import emoji

CODE_BLOCK = re.compile(r"```(.*?)```", re.S)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
ANGLE = re.compile(r"<([^<>\n]+)>")
BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")
HOLE = re.compile("\x00(\\d+)\x00")

# Slack's names that the emoji package spells differently.
SLACK_EMOJI = {"large_orange_circle": "🟠", "large_yellow_circle": "🟡", "large_green_circle": "🟢",
               "large_purple_circle": "🟣", "large_brown_circle": "🟤", "slack": "💬"}


class Directory(Protocol):
    """Looks up names for mentions."""

    def user_name(self, user_id: str) -> str | None: ...
    def channel_name(self, channel_id: str) -> str | None: ...


def unescape_slack(text: str) -> str:
    """Slack's three entities (&amp; &lt; &gt;) back to characters."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emojize(text: str) -> str:
    """:shortcode: -> the Unicode emoji (unknown shortcodes are left as typed)."""
    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in SLACK_EMOJI:
            return SLACK_EMOJI[name]
        for language in ("alias", "en"):
            found = emoji.emojize(f":{name}:", language=language)
            if found != f":{name}:":
                return found
        return match.group(0)

    return SHORTCODE.sub(one, text)


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def format_date_token(timestamp: int, template: str, now: dt.datetime | None = None) -> str:
    """Fill a <!date^...> template ({date_short}, {time}...) for a Unix time, in UTC."""
    when = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    clock = when.strftime("%I:%M %p").lstrip("0")
    day_word = {0: "today", 1: "yesterday", -1: "tomorrow"}.get((now.date() - when.date()).days)
    long_date = f"{when:%B} {_ordinal(when.day)}, {when.year}"
    values = {
        "date_num": when.strftime("%Y-%m-%d"),
        "date": long_date,
        "date_short": f"{when:%b} {when.day}, {when.year}",
        "date_long": f"{when:%A}, {long_date}",
        "time": clock,
        "time_secs": when.strftime("%I:%M:%S %p").lstrip("0"),
        "ago": _ago(now - when),
    }
    values["date_pretty"] = day_word.capitalize() if day_word else values["date"]
    values["date_short_pretty"] = day_word.capitalize() if day_word else values["date_short"]
    values["date_long_pretty"] = day_word.capitalize() if day_word else values["date_long"]
    filled = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)
    return f"{filled} UTC" if "{time" in template else filled  # the sandbox shows times in UTC


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if abs(seconds) < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if abs(seconds) >= size:
            n = abs(seconds) // size
            words = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "just now"


def _angle(inner: str, directory: Directory) -> str:
    """One <...> token as HTML."""
    target, _, label = inner.partition("|")
    label = unescape_slack(label)
    if target.startswith("@"):
        name = label or directory.user_name(target[1:]) or target[1:]
        return f'<span class="mention" data-user="{html.escape(target[1:])}">@{html.escape(name)}</span>'
    if target.startswith("#"):
        name = label or directory.channel_name(target[1:]) or target[1:]
        return f'<span class="mention channel" data-channel="{html.escape(target[1:])}">#{html.escape(name)}</span>'
    if target.startswith("!date^"):
        parts = target.split("^")
        try:
            text = format_date_token(int(parts[1]), parts[2] if len(parts) > 2 else "{date_short}")
        except (ValueError, OverflowError, OSError, IndexError):
            text = label or target
        text = html.escape(text)
        if len(parts) > 3:
            return f'<a href="{html.escape(unescape_slack(parts[3]))}" target="_blank" rel="noopener">{text}</a>'
        return f'<time class="date">{text}</time>'
    if target.startswith("!subteam^"):
        return f'<span class="mention">@{html.escape(label or target[9:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{html.escape(label or target[1:])}</span>'
    url = unescape_slack(target)
    if re.match(r"(https?|mailto|tel):", url, re.I):
        text = html.escape(label or url)
        return f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{text}</a>'
    return html.escape(f"<{unescape_slack(inner)}>")


def _inline(text: str, directory: Directory) -> str:
    """Spans of one stretch outside code blocks: code, tokens, styles, emoji, quotes, line breaks."""
    holes: list[str] = []

    def hole(fragment: str) -> str:
        holes.append(fragment)
        return f"\x00{len(holes) - 1}\x00"

    text = INLINE_CODE.sub(lambda m: hole(f"<code>{html.escape(unescape_slack(m.group(1)))}</code>"), text)
    text = ANGLE.sub(lambda m: hole(_angle(m.group(1), directory)), text)
    text = html.escape(unescape_slack(text), quote=False)
    text = BOLD.sub(r"<b>\1</b>", text)
    text = ITALIC.sub(r"<i>\1</i>", text)
    text = STRIKE.sub(r"<s>\1</s>", text)
    text = emojize(text)
    text = _quotes(text)
    while HOLE.search(text):  # a token may sit inside a code span's hole: fill until none is left
        text = HOLE.sub(lambda m: holes[int(m.group(1))], text)
    return text


def _quotes(text: str) -> str:
    """Lines starting with > become a blockquote (a block: no line break around it); other newlines <br>."""
    out = ""
    quote: list[str] = []
    for line in text.split("\n"):
        if line.startswith("&gt;"):
            quote.append(line[5:] if line[4:5] == " " else line[4:])
            continue
        if quote:
            out += f"<blockquote>{'<br>'.join(quote)}</blockquote>"
            quote = []
        elif out:
            out += "<br>"
        out += line
    if quote:
        out = (out[:-4] if out.endswith("<br>") else out) + f"<blockquote>{'<br>'.join(quote)}</blockquote>"
    return out


def to_html(text: str, directory: Directory) -> str:
    """Render a mrkdwn string as safe HTML."""
    pieces = []
    last = 0
    for match in CODE_BLOCK.finditer(text or ""):
        pieces.append(_inline(text[last:match.start()], directory))
        body = match.group(1).strip("\n")
        pieces.append(f'<pre class="code-block">{html.escape(unescape_slack(body))}</pre>')
        last = match.end()
    pieces.append(_inline((text or "")[last:], directory))
    return "".join(pieces)


def plain_to_html(text: str, emoji_on: bool = True) -> str:
    """Render a plain_text string: escaped, shortcodes turned into emoji (Slack's default), newlines kept."""
    escaped = html.escape(text or "")
    return (emojize(escaped) if emoji_on else escaped).replace("\n", "<br>")
