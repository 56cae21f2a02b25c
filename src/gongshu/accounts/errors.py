from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, GongshuError, InvalidInput, NotFound, Unauthorized


class LoginFailed(Unauthorized):
    # The failed-attempt counter must persist although the request fails.
    commit_anyway = True


class AccountLocked(Forbidden):
    commit_anyway = True


class LoginThrottled(GongshuError):
    """Too many failed logins from one address (accounts/throttle.py)."""

    status = 429
    code = "rate_limited"
    commit_anyway = True


class UserNotFound(NotFound): ...


class UsernameTaken(Conflict): ...


class WeakPassword(InvalidInput): ...


class UnknownRole(InvalidInput): ...


class OutsideJurisdiction(Forbidden):
    """An authority, reviewer or regulator acting on an object outside its tier and region."""


class RegistrationRefused(InvalidInput):
    """A registration refused before anything is written; ``field`` names the form
    field the message is about. A refused identity check keeps its ledger entry."""

    commit_anyway = True

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field
