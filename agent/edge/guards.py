"""Who may open sessions: API tokens, origin checks and per-client rate limits."""

from __future__ import annotations

import hmac
import time
from collections import defaultdict, deque
from collections.abc import Mapping


class RateLimiter:
    """At most `limit` new sessions per `window_s` from one client address (sliding window)."""

    def __init__(self, limit: int, window_s: float = 60.0, clock=time.monotonic) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, client: str) -> float:
        """0 if the client may go ahead now (and count it), else seconds until it may."""
        now = self._clock()
        seen = self._seen[client]
        while seen and now - seen[0] >= self._window_s:
            seen.popleft()
        if len(seen) >= self._limit:
            return self._window_s - (now - seen[0])
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients so memory stays bounded
            for key in [k for k, v in self._seen.items() if not v]:
                del self._seen[key]
        return 0.0

    def refund(self, client: str) -> None:
        """Give back the client's latest admission (it was refused before any work)."""
        seen = self._seen.get(client)
        if seen:
            seen.pop()


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """No list means any origin (development); with a list, a browser's Origin must be in it.

    Requests without an Origin header (native clients, curl) are not browsers and pass.
    """
    if not allowed or origin is None:
        return True
    return origin.rstrip("/") in {a.rstrip("/") for a in allowed}


# The 401 every door answers for a missing or wrong API token (hosts and cluster fronts).
TOKEN_REFUSED = "missing or wrong API token (Authorization: Bearer <token> or ?token=)"
TOKEN_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="eco1"'}


def bearer_value(authorization: str) -> str | None:
    """The token in an `Authorization: Bearer <t>` header value, if that is what it is."""
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a request carries: `Authorization: Bearer <t>`, else `?token=<t>` (the
    browser's WebSocket API cannot set headers)."""
    return bearer_value(headers.get("authorization", "")) or query.get("token") or None


def token_ok(expected: str | None, given: str | None) -> bool:
    """True when no token is required, or the given one matches (constant time)."""
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
