"""The circuit breaker: a rewritten request the API rejected stops rewriting its route a while.

A 400/413/422 after a rewrite may mean the rewrite broke something the API checks. The
breaker cannot tell, so it errs on the side of the original bytes: requests to the same
(host, path, model) go out unchanged for the cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Key = tuple[str, str, str]  # host, path without the query, model ("" when unknown)


def key(host: str, path: str, model: str | None) -> Key:
    return host.lower(), path.partition("?")[0], model or ""


class Breaker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._open_until: dict[Key, float] = {}

    def is_open(self, k: Key) -> bool:
        until = self._open_until.get(k)
        if until is None:
            return False
        if self._clock() >= until:
            del self._open_until[k]
            return False
        return True

    def trip(self, k: Key, cooldown_s: float) -> None:
        self._open_until[k] = self._clock() + cooldown_s

    def open_keys(self) -> list[Key]:
        return [k for k in list(self._open_until) if self.is_open(k)]
