"""Per-client rate limits: a token bucket for each client address, kept in this process or,
for replicas behind one proxy, in their shared PostgreSQL database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from nanhai_qa.app.storage.database import Database, PostgresDatabase


class Limiter(Protocol):
    def wait_seconds(self, client: str) -> float:
        """Takes one token for `client`: 0 when allowed, else the seconds until one is free."""


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


# One atomic upsert takes a token: `available` is the bucket refilled since its last use, at most the burst.
_REFILLED = "(rate_buckets.tokens + (excluded.at - rate_buckets.at) * ?)"
_AVAILABLE = f"CASE WHEN {_REFILLED} < ? THEN {_REFILLED} ELSE ? END"  # rate, burst, rate, burst
TAKE_TOKEN = (
    "INSERT INTO rate_buckets (name, client, tokens, at, allowed) VALUES (?, ?, ?, ?, 1)"
    " ON CONFLICT (name, client) DO UPDATE SET"
    f" tokens = CASE WHEN {_AVAILABLE} >= 1 THEN {_AVAILABLE} - 1 ELSE {_AVAILABLE} END,"
    f" allowed = CASE WHEN {_AVAILABLE} >= 1 THEN 1 ELSE 0 END,"
    " at = excluded.at"
    " RETURNING tokens, allowed"
)


# A bucket unused for longer than it takes to refill is full: the same as no row at all.
FORGET_FULL = "DELETE FROM rate_buckets WHERE name = ? AND at < ?"


class SharedRateLimiter:
    """The same token bucket, kept in the database the replicas share, so a client's limit
    holds across them. Each request is one atomic upsert: concurrent requests from any
    replica serialise on the client's row. Clocks of the replicas' hosts must agree (NTP).
    Every `PRUNE_EVERY` requests a replica deletes the rows of buckets that have refilled,
    so the table holds the clients of the last few minutes, not every client ever seen."""

    PRUNE_EVERY = 1_000

    def __init__(
        self, database: Database, name: str, per_minute: float, burst: int, clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.name = name  # one table holds every limit, told apart by name
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.clock = clock
        self._requests = 0

    def wait_seconds(self, client: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        bounds = (self.rate, self.burst, self.rate, self.burst)  # one `available`
        params = (self.name, client, self.burst - 1, now, *bounds * 4)
        with self.database.transaction() as db:
            row = db.execute(TAKE_TOKEN, params).fetchone()
        self._requests += 1  # a miscount under threads only moves the next pruning
        if self._requests % self.PRUNE_EVERY == 0:
            self.forget_full(now)
        return 0.0 if row["allowed"] else (1 - row["tokens"]) / self.rate

    def forget_full(self, now: float) -> int:
        """Deletes this limit's buckets that have refilled by `now`; how many."""
        with self.database.transaction() as db:
            return db.execute(FORGET_FULL, (self.name, now - self.burst / self.rate)).rowcount


def limiter_for(database: Database, name: str, per_minute: float, burst: int) -> Limiter:
    """Where replicas share a PostgreSQL database, limits are kept there; a single process
    (SQLite) keeps them in memory."""
    if isinstance(database, PostgresDatabase):
        return SharedRateLimiter(database, name, per_minute, burst)
    return RateLimiter(per_minute, burst)


def client_address(request: object) -> str:
    """The client's address from a gr.Request (its `client.host`), or "unknown"."""
    return getattr(getattr(request, "client", None), "host", None) or "unknown"
