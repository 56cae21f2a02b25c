"""Quality errors; messages name the field, with the English key term."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class ReportNotFound(NotFound):
    pass


class TaskNotFound(NotFound):
    pass


class NotQualityOwner(Forbidden):
    pass


class NotAuthority(Forbidden):
    pass


class TaskClosed(Conflict):
    pass
