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
