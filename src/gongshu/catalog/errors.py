from __future__ import annotations

from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class EntryNotFound(NotFound): ...


class EntryIncomplete(InvalidInput): ...


class NotProvider(Forbidden): ...


class NotReviewer(Forbidden): ...


class OutsideReviewRegion(NotReviewer, OutsideJurisdiction):
    """A reviewer acting on an entry not in its own tier's queue (CAT-2)."""


class WrongStatus(Conflict): ...
