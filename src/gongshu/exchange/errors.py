"""Errors of the sharing workflow."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class ApplicationNotFound(NotFound): ...


class ErrorReportNotFound(NotFound): ...


class NotApplicable(Conflict):
    """The entry cannot be applied for (no-share, unconditional, own data, unpublished)."""


class WrongStatus(Conflict): ...


class NotProvider(Forbidden): ...


class NotAuthority(Forbidden): ...


class NotApplicant(Forbidden): ...
