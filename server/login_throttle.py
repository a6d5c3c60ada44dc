"""Per-address throttling of failed password logins: a sliding window, in memory, per web process.

Why in memory: a wrong username has no aggregate to record an event on, and web processes must not
write read models. The price: each gunicorn worker counts on its own, so the effective limit is
`limit x workers` per address, and a restart forgets. The per-account lockout (events on the Account)
is the durable, exact defence; this one only slows down one address spraying many usernames.

Mobile carriers in Indonesia put many phones behind one address (CGNAT), so the default limit is generous
and only failures count, never successful logins.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from server.per_process import per_process


class AddressThrottle:
    """At most `limit` failed logins per address within `window` seconds."""

    def __init__(
        self,
        limit: int = 30,
        window: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        # Bounded: the least recently failing addresses are forgotten first, so a flood cannot grow memory.
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until this address may try again, or None if it may try now."""
        with self._lock:
            failures = self._recent(address)
            if failures is None or len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + self.window - self.clock()))

    def failed(self, address: str) -> None:
        """Count one failed login from this address."""
        with self._lock:
            failures = self._recent(address)
            if failures is None:
                failures = self._failures[address] = deque()
            failures.append(self.clock())
            self._failures.move_to_end(address)
            while len(failures) > self.limit:
                failures.popleft()
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures


def address_throttle() -> AddressThrottle:
    """This process's throttle for the current Flask app."""
    return per_process("pantau.login_throttle", lambda settings: AddressThrottle(limit=settings.login_address_limit))
