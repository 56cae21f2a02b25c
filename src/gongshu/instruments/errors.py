"""Errors of the instruments capability."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class InstrumentNotFound(NotFound): ...


class NotEntitled(Forbidden):
    """The actor's organization may not issue this kind of record for this scope."""


class BadInstrument(InvalidInput):
    """A field of the record is missing or wrong; ``detail["field"]`` names it."""


class InstrumentRequired(Conflict):
    """A control needs a valid record covering the scope and none was found."""
