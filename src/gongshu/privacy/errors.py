from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class ConsentNotFound(NotFound): ...


class RequestNotFound(NotFound): ...


class MatchNotFound(NotFound): ...


class BadConsent(InvalidInput): ...


class GuardianRequired(InvalidInput): ...


class NotThePerson(Forbidden): ...


class NotHandler(Forbidden): ...


class AlreadyHandled(Conflict): ...


class NoticeNotFound(NotFound): ...
