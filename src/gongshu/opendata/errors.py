"""Open-data errors; each maps to an HTTP status through gongshu.errors."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidField, NotFound


class OpenEntryNotFound(NotFound): ...


class ApplicationNotFound(NotFound): ...


class AgreementNotFound(NotFound): ...


class WrongOpeningAttr(Conflict): ...


class AlreadyAnswered(Conflict): ...


class NotProvider(Forbidden): ...


class NotApplicant(Forbidden): ...


class NoOpenGrant(Forbidden): ...


class BadAnswer(InvalidField): ...
