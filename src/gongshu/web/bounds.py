"""Bounded input types for every API parameter and request field (issue 20 item 6).

A value the database cannot hold, a page size nobody needs, a name of a megabyte:
each is refused at the edge with a 422 naming the field, and each bound is in the
OpenAPI document, so a client (and schemathesis) knows it in advance. The integer
bounds are PostgreSQL's ``integer`` (the id and count columns); strings are sized
by what they hold. ``tests/web/test_bounds.py`` walks the OpenAPI document and
fails on any integer, string or list without bounds.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

# PostgreSQL ``integer``: the widest value an id or count column holds.
MAX_INT = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_INT)]
"""A row's id (path or body)."""
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
"""A count, an offset, a number of rows or days."""
Year = Annotated[int, Field(ge=1949, le=2200)]
"""A calendar year the platform can hold schedules and reports for."""
Page = Annotated[int, Field(ge=1, le=100_000)]
"""A page number of a listing."""
Limit = Annotated[int, Field(ge=1, le=1000)]
"""A page size."""
Days = Annotated[int, Field(ge=0, le=3660)]
"""A term in days (at most ten years)."""
Percent = Annotated[float, Field(ge=0, le=100)]
"""A share in per cent."""

Code = Annotated[str, StringConstraints(max_length=64)]
"""An identifier, code, kind or status word."""
Name = Annotated[str, StringConstraints(max_length=200)]
"""A name, title or short label."""
Text = Annotated[str, StringConstraints(max_length=4000)]
"""A reason, description or other free text."""
LongText = Annotated[str, StringConstraints(max_length=200_000)]
"""A document pasted whole (rules, notices)."""
FilledName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""A name a form must fill (a form's empty field is a missing one)."""
FilledText = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
"""A free text a form must fill."""
Secret = Annotated[str, StringConstraints(max_length=256)]
"""A password or token."""
Search = Annotated[str, StringConstraints(max_length=200)]
"""A search query."""
Digest = Annotated[str, StringConstraints(max_length=128)]
"""A hex digest."""

MAX_ITEMS = 1000
"""The most items a list field takes (field lists, column lists, answers)."""

Names = Annotated[list[Name], Field(max_length=MAX_ITEMS)]
"""A list of names (fields, columns, kinds)."""
Ids = Annotated[list[Id], Field(max_length=MAX_ITEMS)]
"""A list of row ids."""
Texts = Annotated[list[Text], Field(max_length=MAX_ITEMS)]
"""A list of free texts."""
TextMap = Annotated[dict[Name, Text], Field(max_length=MAX_ITEMS)]
"""Names to free texts (corrections by field, answers by question)."""
Metric = (
    Annotated[float, Field(ge=-1e15, le=1e15)] | Annotated[str, StringConstraints(max_length=200)]
)
"""One effect metric: a number or a short text."""
