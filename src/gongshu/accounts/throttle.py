"""Login throttling per address as well as per account (issue 16 item 5).

Kept in this process, per app (``guard_for``), like the open API's rate limit:

* failures from one address, whatever the usernames, drain a token bucket; an empty
  bucket refuses that address's logins for a while (guessing across many accounts);
* failures for one username from one address lock that pair only, for the lockout
  period: the owner signing in from elsewhere is not locked out by a stranger;
  unknown usernames are counted the same way, so the answer names no account.

The account-wide lock in the database counts *distinct* addresses that failed
(``first_failure``), so only several addresses together can lock an account.
"""

from __future__ import annotations

import threading
import time

from starlette.requests import Request

from gongshu.web.ratelimit import TokenBuckets

ADDRESS_FAILURES_PER_MINUTE = 10
ADDRESS_FAILURE_BURST = 30


class LoginGuard:
    def __init__(
        self,
        *,
        max_failed: int,
        lockout_minutes: int,
        rate_per_minute: int = ADDRESS_FAILURES_PER_MINUTE,
        burst: int = ADDRESS_FAILURE_BURST,
    ) -> None:
        self.max_failed = max_failed
        self.lockout = lockout_minutes * 60.0
        self.addresses = TokenBuckets(rate_per_minute, burst)
        self.blocked: dict[str, float] = {}  # address -> monotonic time it may try again
        self.pairs: dict[tuple[str, str], tuple[int, float]] = {}  # -> (failures, until)
        self.lock = threading.Lock()

    @staticmethod
    def _pair(username: str, address: str) -> tuple[str, str]:
        return (username.strip().lower(), address)

    def address_wait(self, address: str, now: float | None = None) -> float:
        """Seconds until ``address`` may try again (0.0: now)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            return max(0.0, self.blocked.get(address, 0.0) - now)

    def pair_locked(self, username: str, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            count, until = self.pairs.get(self._pair(username, address), (0, 0.0))
            return count >= self.max_failed and until > now

    def first_failure(self, username: str, address: str, now: float | None = None) -> bool:
        """Whether this pair has no failure on record in the lockout period."""
        now = time.monotonic() if now is None else now
        with self.lock:
            count, until = self.pairs.get(self._pair(username, address), (0, 0.0))
            return count == 0 or until <= now

    def fail(self, username: str, address: str, now: float | None = None) -> bool:
        """Count a failure; True when it locks the (username, address) pair."""
        now = time.monotonic() if now is None else now
        wait = self.addresses.take(address, now)
        with self.lock:
            if wait > 0:
                self.blocked[address] = now + wait
            key = self._pair(username, address)
            count, until = self.pairs.get(key, (0, 0.0))
            if until <= now:
                count = 0
            count += 1
            self.pairs[key] = (count, now + self.lockout)
            return count >= self.max_failed

    def succeed(self, username: str, address: str) -> None:
        with self.lock:
            self.pairs.pop(self._pair(username, address), None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def guard_for(request: Request) -> LoginGuard:
    """The app's guard, made on first use from its settings."""
    state = request.app.state
    guard = getattr(state, "login_guard", None)
    if guard is None:
        s = state.settings
        guard = state.login_guard = LoginGuard(
            max_failed=s.max_failed_logins, lockout_minutes=s.lockout_minutes
        )
    return guard
