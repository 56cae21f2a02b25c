from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class EntryNotLoadable(Conflict): ...


class NotDataProvider(Forbidden): ...


class NothingRejected(NotFound): ...
