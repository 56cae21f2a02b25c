from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class EntryNotFound(NotFound): ...


class EntryIncomplete(InvalidInput): ...


class NotProvider(Forbidden): ...


class NotReviewer(Forbidden): ...


class WrongStatus(Conflict): ...
