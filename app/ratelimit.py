"""Per-client rate limits: a token bucket for each client address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Allows `burst` requests at once and `per_minute` on average per client; 0 turns it off.

    Clients are keyed by address. Behind a reverse proxy on the same host, uvicorn takes
    the address from X-Forwarded-For (it trusts loopback proxies), so each resident counts
    separately."""

    MAX_CLIENTS = 10_000  # full, idle buckets are forgotten beyond this many clients

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, time)
        self._lock = threading.Lock()

    def wait_seconds(self, client: str) -> float:
        """Takes one token for `client`: 0 when allowed, else the seconds until one is free."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > self.MAX_CLIENTS:
                self._forget_idle(now)
            return 0.0

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        for client, (_, then) in list(self._buckets.items()):
            if now - then > full_after:
                del self._buckets[client]


def client_address(request: object) -> str:
    """The client's address from a gr.Request (its `client.host`), or "unknown"."""
    return getattr(getattr(request, "client", None), "host", None) or "unknown"
