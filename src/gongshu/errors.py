"""Domain errors. Each has an HTTP status; one handler renders them (web.py)."""

from __future__ import annotations


class GongshuError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str, *, detail: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(GongshuError):
    status = 400
    code = "invalid_input"


class InvalidField(InvalidInput):
    """Bad input in named form fields: a page shows each message beside its field
    (issue 17 item 6); the API sends the messages joined, like any invalid input.
    ``InvalidField(message, field=name)`` for one, ``InvalidField.of(problems)`` for
    every problem of a form at once."""

    def __init__(self, message: str, *, field: str, detail: object | None = None) -> None:
        super().__init__(message, detail=detail)
        self.field = field
        self.fields = {field: message}

    @classmethod
    def of(cls, problems: dict[str, str]) -> InvalidField:
        first = next(iter(problems))
        error = cls("；".join(problems.values()), field=first)
        error.fields = dict(problems)
        return error


class Unauthorized(GongshuError):
    status = 401
    code = "unauthorized"


class Forbidden(GongshuError):
    status = 403
    code = "forbidden"


class NotFound(GongshuError):
    status = 404
    code = "not_found"


class Conflict(GongshuError):
    status = 409
    code = "conflict"
