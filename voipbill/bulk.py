"""Building a million small objects quickly: the cycle collector paused while they are made."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector while loading acyclic data (deck rows, pending calls).

    Each collection rescans every container still alive, so a load that keeps a million
    tuples would be rescanned many times over; reference counting still frees everything.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
