"""An opt-in retry policy: how often to try again, how long to wait, and for which errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more tries after the first, waiting `backoff_s`, then twice that, and so on.

    Only errors of the `retryable` types are tried again; the default policy never retries.
    A caller retries only what is safe to repeat: never a write whose answer was lost.
    """

    retries: int = 0
    backoff_s: float = 1.0
    retryable: tuple[type[BaseException], ...] = ()
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def run(
        self, action: Callable[[], _T], *, before_retry: Callable[[], None] = lambda: None
    ) -> _T:
        attempt = 0
        while True:
            try:
                return action()
            except self.retryable:
                if attempt >= self.retries:
                    raise
                before_retry()
                self.sleep(self.backoff_s * 2**attempt)
                attempt += 1


NO_RETRY = RetryPolicy()
