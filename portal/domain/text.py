"""What counts as text: the characters no input of the portal accepts, whoever sends them (forms, query
strings, file names, the booking import, the API)."""

from __future__ import annotations

import re

# C0 controls except tab, line feed and carriage return, and DEL; and UTF-16 surrogates, which only an
# escaped "\ud800" in JSON can produce and no database or e-mail can store.
_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Paths, keys and file names: no control character at all.
_IN_NAME = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def has_control_characters(text: str, *, in_name: bool = False) -> bool:
    """True when `text` holds a character no input of the portal accepts (tab and line breaks are fine in
    values, never in names)."""
    return bool((_IN_NAME if in_name else _IN_TEXT).search(text))


def describe_bad_character(text: str) -> str:
    """The first unacceptable character of `text`, written so a person can find it ("U+0000")."""
    match = _IN_TEXT.search(text) or _IN_NAME.search(text)
    return f"U+{ord(match.group()):04X}" if match else ""
