"""Block Kit to HTML, looking like a Slack client's rendering.

Blocks and elements are rendered by small functions registered by type, so a new surface (an App
Home tab, a modal) renders its blocks with render_blocks() and a new block or element type is one
more entry in BLOCKS or ELEMENTS. Interactive elements carry data-* attributes (action_id, block_id,
value, confirm) that the page's script turns into block_actions payloads.
"""
from __future__ import annotations

import html
import json
from typing import Callable

from devtools.sandbox.mrkdwn import Directory, plain_to_html, to_html

BlockRenderer = Callable[[dict, Directory], str]


def text_html(obj: dict | str | None, directory: Directory) -> str:
    """A text object (plain_text or mrkdwn) as HTML."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return plain_to_html(obj)
    if obj.get("type") == "mrkdwn":
        return to_html(obj.get("text", ""), directory)
    return plain_to_html(obj.get("text", ""), obj.get("emoji", True))


def _attr(value) -> str:
    return html.escape(str(value), quote=True)


def _data(element: dict, block_id: str) -> str:
    """The data-* attributes a click or input needs to rebuild Slack's payload."""
    attrs = {"action-id": element.get("action_id", ""), "block-id": block_id, "type": element.get("type", "")}
    if "value" in element:
        attrs["value"] = element["value"]
    if element.get("confirm"):
        attrs["confirm"] = json.dumps(element["confirm"])
    return " ".join(f'data-{k}="{_attr(v)}"' for k, v in attrs.items())


# --------------------------------------------------------------------- elements


def _button(element: dict, block_id: str, directory: Directory) -> str:
    style = element.get("style")
    classes = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
    label = text_html(element.get("text"), directory)
    if element.get("url"):
        return (f'<a class="{classes}" href="{_attr(element["url"])}" target="_blank" rel="noopener" '
                f'{_data(element, block_id)}>{label}</a>')
    return f'<button type="button" class="{classes}" {_data(element, block_id)}>{label}</button>'


def _plain_text_input(element: dict, block_id: str, directory: Directory) -> str:
    placeholder = (element.get("placeholder") or {}).get("text", "")
    common = (f'class="bk-input" {_data(element, block_id)} placeholder="{_attr(placeholder)}"'
              + (f' maxlength="{int(element["max_length"])}"' if element.get("max_length") else ""))
    initial = element.get("initial_value", "")
    if element.get("multiline"):
        return f"<textarea {common} rows=\"3\">{html.escape(initial)}</textarea>"
    return f'<input type="text" {common} value="{_attr(initial)}">'


def _image(element: dict, block_id: str, directory: Directory) -> str:
    return f'<img class="bk-image-element" src="{_attr(element.get("image_url", ""))}" alt="{_attr(element.get("alt_text", ""))}">'


def _static_select(element: dict, block_id: str, directory: Directory) -> str:
    options = "".join(f'<option value="{_attr(o.get("value", ""))}">{text_html(o.get("text"), directory)}</option>'
                      for o in element.get("options", []))
    return f'<select class="bk-select" {_data(element, block_id)}>{options}</select>'


def _overflow(element: dict, block_id: str, directory: Directory) -> str:
    """An overflow menu (⋯): choosing an option is the click."""
    options = "".join(f'<option value="{_attr(o.get("value", ""))}">{text_html(o.get("text"), directory)}</option>'
                      for o in element.get("options", []))
    return (f'<select class="bk-overflow" aria-label="More actions" data-overflow="1" {_data(element, block_id)}>'
            f'<option value="">⋯</option>{options}</select>')


ELEMENTS: dict[str, Callable[[dict, str, Directory], str]] = {
    "button": _button,
    "overflow": _overflow,
    "plain_text_input": _plain_text_input,
    "image": _image,
    "static_select": _static_select,
}


def element_html(element: dict, block_id: str, directory: Directory) -> str:
    """One block element; an unknown type says so visibly rather than vanishing."""
    if element.get("type") in ("plain_text", "mrkdwn"):
        return f'<span class="bk-context-text">{text_html(element, directory)}</span>'
    render = ELEMENTS.get(element.get("type", ""))
    if render is None:
        return f'<span class="bk-unsupported">[{html.escape(str(element.get("type")))} element]</span>'
    return render(element, block_id, directory)


# --------------------------------------------------------------------- blocks


def _header(block: dict, directory: Directory) -> str:
    return f'<div class="bk-header">{text_html(block.get("text"), directory)}</div>'


def _section(block: dict, directory: Directory) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{text_html(block["text"], directory)}</div>')
    if block.get("fields"):
        fields = "".join(f'<div class="bk-field">{text_html(f, directory)}</div>' for f in block["fields"])
        parts.append(f'<div class="bk-fields">{fields}</div>')
    body = f'<div class="bk-section-body">{"".join(parts)}</div>'
    accessory = block.get("accessory")
    if accessory:
        body += f'<div class="bk-accessory">{element_html(accessory, block.get("block_id", ""), directory)}</div>'
    return f'<div class="bk-section">{body}</div>'


def _context(block: dict, directory: Directory) -> str:
    items = []
    for element in block.get("elements", []):
        if element.get("type") == "image":
            items.append(f'<img class="bk-context-image" src="{_attr(element.get("image_url", ""))}" '
                         f'alt="{_attr(element.get("alt_text", ""))}">')
        else:
            items.append(f'<span class="bk-context-text">{text_html(element, directory)}</span>')
    return f'<div class="bk-context">{"".join(items)}</div>'


def _divider(block: dict, directory: Directory) -> str:
    return '<hr class="bk-divider">'


def _actions(block: dict, directory: Directory) -> str:
    block_id = block.get("block_id", "")
    inner = "".join(element_html(e, block_id, directory) for e in block.get("elements", []))
    return f'<div class="bk-actions">{inner}</div>'


def _input(block: dict, directory: Directory) -> str:
    label = text_html(block.get("label"), directory)
    optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
    hint = f'<div class="bk-hint">{text_html(block["hint"], directory)}</div>' if block.get("hint") else ""
    element = element_html(block.get("element") or {}, block.get("block_id", ""), directory)
    return f'<label class="bk-input-block"><span class="bk-label">{label}{optional}</span>{element}{hint}</label>'


def _image_block(block: dict, directory: Directory) -> str:
    title = f'<div class="bk-image-title">{text_html(block["title"], directory)}</div>' if block.get("title") else ""
    return (f'<figure class="bk-image">{title}<img src="{_attr(block.get("image_url", ""))}" '
            f'alt="{_attr(block.get("alt_text", ""))}"></figure>')


BLOCKS: dict[str, BlockRenderer] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "input": _input,
    "image": _image_block,
}


def render_blocks(blocks: list[dict], directory: Directory) -> str:
    """A blocks array as HTML (any surface: message, App Home, modal)."""
    out = []
    for block in blocks or []:
        render = BLOCKS.get(block.get("type", "")) if isinstance(block, dict) else None
        if render is None:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            out.append(f'<div class="bk-unsupported">[{html.escape(str(kind))} block]</div>')
            continue
        block_id = _attr(block.get("block_id", ""))
        out.append(f'<div class="bk-block bk-{_attr(block["type"])}-block" data-block-id="{block_id}">'
                   f"{render(block, directory)}</div>")
    return "".join(out)


def _attachment(attachment: dict, directory: Directory) -> str:
    color = attachment.get("color", "")
    color = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}.get(color, color)
    style = f' style="border-left-color:{_attr(color if color.startswith("#") else "#" + color)}"' if color else ""
    body = render_blocks(attachment["blocks"], directory) if attachment.get("blocks") else to_html(
        attachment.get("text") or attachment.get("fallback", ""), directory)
    return f'<div class="bk-attachment"{style}>{body}</div>'


def render_message(message: dict, directory: Directory) -> str:
    """A message's body: its blocks (else its text as mrkdwn), then its attachments."""
    body = (render_blocks(message["blocks"], directory) if message.get("blocks")
            else f'<div class="bk-text">{to_html(message.get("text", ""), directory)}</div>')
    body += "".join(_attachment(a, directory) for a in message.get("attachments") or [] if isinstance(a, dict))
    return body
