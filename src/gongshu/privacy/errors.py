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


class NoMobileOnRecord(InvalidInput):
    """The register holds no single mobile number for the person: no code can be sent.
    The look-up itself stays recorded."""

    commit_anyway = True
