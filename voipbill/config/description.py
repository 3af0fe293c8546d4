"""The description template of an invoice line, checked when the config is read (rules §11).

It belongs to the config, which checks it when the file is read; `invoicing.lines` fills it
in. Kept apart from `invoicing.lines` so the config imports nothing of invoicing.
"""

from __future__ import annotations

import string

DEFAULT_DESCRIPTION = (
    "{category} calls {period_start} to {period_end}: {calls} calls, {minutes} min"
)
PLACEHOLDERS = ("service", "category", "period_start", "period_end", "calls", "minutes", "amount")


def template_problem(template: str) -> str | None:
    """What is wrong with a description template, or None when it is usable."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid template: {exc}"
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            shown = name or ""
            return f"unknown placeholder {{{shown}}}; use {', '.join(PLACEHOLDERS)}"
        if spec or conversion:
            return f"{{{name}}} takes no format or conversion"
    return None
