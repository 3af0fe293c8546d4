"""Splitting a billing period into export requests (docs/fusionpbx.md §2)."""

from __future__ import annotations

from voipbill.errors import UsageError


def chunk_bounds(start_epoch: int, end_epoch: int, chunk_seconds: int) -> list[tuple[int, int]]:
    """Inclusive (start, stop) pairs covering every second of [start_epoch, end_epoch) once.

    FusionPBX filters `start_epoch BETWEEN start AND stop`, both ends inclusive
    (docs/fusionpbx.md §2), so chunk k asks for [s_k, s_{k+1} - 1]: no second is asked twice
    or skipped.
    PHP reads "0" as "not given" and would export everything (docs/fusionpbx.md §2), so a range
    reaching epoch 0 is refused rather than sent.
    """
    if chunk_seconds < 1:
        raise ValueError("chunk_seconds must be at least 1")
    if end_epoch <= start_epoch:
        return []
    if start_epoch < 1:
        raise UsageError(
            "the period reaches back to 1970-01-01 00:00 UTC (epoch 0), which FusionPBX "
            "reads as 'no date filter' and would export every CDR",
            hint="choose a period that starts after 1970-01-01",
        )
    bounds = []
    start = start_epoch
    while start < end_epoch:
        following = min(start + chunk_seconds, end_epoch)
        bounds.append((start, following - 1))
        start = following
    return bounds
