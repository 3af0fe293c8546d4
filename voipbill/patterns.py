"""`exclude` and `no_charge` patterns (rules §4.7).

A pattern is digits, `*`, `#` and `x`/`X` (any one digit), matched against the whole original
text (trimmed, `+` kept) or the whole normalised number; `[word]` matches the call's category
(before `special`) or its direction.
"""

from __future__ import annotations

import re

WORDS = (
    "local",
    "inbound",
    "outbound",
    "tollfree",
    "international",
    "national",
    "mobile",
    "premium",
    "shared",
    "short",
)


def _compile(pattern: str) -> re.Pattern[str]:
    parts = ("[0-9]" if char in "xX" else re.escape(char) for char in pattern)
    return re.compile("".join(parts))


class PatternSet:
    """An ordered list of patterns; `match` returns the one that matched, for `explain`."""

    __slots__ = ("_numbers", "_words", "patterns")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self._words = {p[1:-1] for p in patterns if p.startswith("[")}
        self._numbers = tuple((p, _compile(p)) for p in patterns if not p.startswith("["))

    def match(self, original: str, normalised: str, category: str, direction: str) -> str | None:
        if category in self._words:
            return f"[{category}]"
        if direction in self._words:
            return f"[{direction}]"
        for text, compiled in self._numbers:
            if compiled.fullmatch(original) or compiled.fullmatch(normalised):
                return text
        return None

    def __bool__(self) -> bool:
        return bool(self.patterns)
