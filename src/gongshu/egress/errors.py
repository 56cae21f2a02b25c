from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class GrantNotFound(NotFound): ...


class GrantInactive(Forbidden): ...


class NotRecipient(Forbidden): ...


class NotClassified(Conflict): ...


class BadRowFilter(InvalidInput): ...


class NotGrantable(Conflict): ...
