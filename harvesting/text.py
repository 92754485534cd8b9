"""Text that came from outside (remote titles, URLs, error fields) made safe to
show: no control characters, no bidirectional overrides, bounded length.

Remote data is stored as it came; only what we print is escaped, so `--json`
and the records keep the original text.
"""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates: U+202E makes "gpj.exe" read as "exe.jpg".
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _unsafe(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")


def terminal_safe(text: str) -> str:
    """Every control or format character shown as an escape (`\\x1b`, `\\u202e`),
    so a title can never move the cursor, retitle the terminal or clear it."""
    if text.isprintable() and not any(ch in _BIDI for ch in text):
        return text
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in text)


def printable(text: str, limit: int = 200) -> str:
    """One line for a message: whitespace folded, controls escaped, cut to `limit`."""
    flat = terminal_safe(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
