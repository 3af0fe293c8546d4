"""Text from a CDR, made safe to show (rules §7).

A caller name or number is whatever a SIP peer sent: an escape sequence in it (an OSC 8
hyperlink, a colour, a cursor move, a title change) would act on the terminal that shows it,
or on the one that later `cat`s a CSV file. So C0 and C1 control characters (and DEL) are
shown as `\\xNN`, on a terminal and in every file; the other characters are kept as written.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def shown(text: str) -> str:
    """`text` with each C0/C1 control character written as `\\xNN` (ESC is `\\x1b`)."""
    if text.isprintable():  # nearly every text: one pass in C, nothing to replace
        return text
    return _CONTROL.sub(_escaped, text)
