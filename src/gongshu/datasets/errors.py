from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class DatasetNotFound(NotFound): ...


class EntryNotLoadable(Conflict): ...


class NotDataProvider(Forbidden): ...
