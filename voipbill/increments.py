"""Billing increments `I/N` and the billed seconds of a call (rules §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_INCREMENT = re.compile(r"\s*(\d{1,5})\s*(?:/\s*(\d{1,5})\s*)?")


@dataclass(frozen=True, slots=True)
class Increment:
    """`initial` seconds are billed for any answered call, then blocks of `next` seconds."""

    initial: int
    next: int

    def billed_seconds(self, billsec: int) -> int:
        """rules §6: 0 if d = 0; I if d ≤ I; else I + ceil((d − I)/N) × N."""
        if billsec <= 0:
            return 0
        if billsec <= self.initial:
            return self.initial
        blocks = -(-(billsec - self.initial) // self.next)
        return self.initial + blocks * self.next

    def __str__(self) -> str:
        return f"{self.initial}/{self.next}"


DEFAULT_INCREMENT = Increment(60, 60)


def parse_increment(text: str) -> Increment:
    """Parse `I/N`, or a single `N` meaning `N/N` (rules §3). Raises ValueError."""
    match = _INCREMENT.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not an increment (write I/N, e.g. 6/6, or one number)")
    initial = int(match.group(1))
    following = int(match.group(2)) if match.group(2) is not None else initial
    if following == 0:
        raise ValueError(f"{text!r}: the next increment must be at least 1 second")
    return Increment(initial, following)
