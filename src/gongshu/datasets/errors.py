from __future__ import annotations

from gongshu.errors import Conflict, Forbidden


class EntryNotLoadable(Conflict): ...


class NotDataProvider(Forbidden): ...
