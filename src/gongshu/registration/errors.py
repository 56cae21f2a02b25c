"""Errors of registration."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class RegistrationNotFound(NotFound): ...


class NotRegistrant(Forbidden): ...


class NotRegistrationReviewer(Forbidden): ...


class WrongRegistrationStatus(Conflict): ...
