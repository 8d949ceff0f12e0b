"""Rules every piece of stored text obeys, whichever door it came in by."""
from __future__ import annotations


def text_problem(value: str) -> str | None:
    """Why value cannot be stored as text, or None: PostgreSQL refuses NUL, UTF-8 refuses lone surrogates."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (it contains a lone surrogate such as \\ud800)"
    return None
