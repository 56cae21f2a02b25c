"""A form that failed, rendered again (issue 17 item 6, the GOV.UK pattern): the
error beside its field when the error names one (``errors.InvalidField``, or any
error with a ``field``), otherwise in the summary at the top; what was typed is
kept by the page (``data``). The macros are in ``templates/_forms.html``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.errors import GongshuError


def form_errors(exc: GongshuError) -> dict:
    """``{"errors": {field: message}}`` or ``{"error": message}`` for the template."""
    fields = getattr(exc, "fields", None)
    if fields:
        return {"errors": dict(fields)}
    field = getattr(exc, "field", "") or ""
    return {"errors": {field: exc.message}} if field else {"errors": {}, "error": exc.message}


def refused(session: Session, exc: GongshuError) -> dict:
    """A refused post shown again on its page: undo what the refused step had begun
    (the unit of work would commit the page's answer) unless the refusal is evidence
    that stays (``commit_anyway``), and say it as ``form_errors`` does."""
    if not getattr(exc, "commit_anyway", False):
        session.rollback()
    return form_errors(exc)


def keyed(said: dict, key: str) -> dict:
    """``form_errors`` for one card of a page with several forms of the same fields:
    each field is named ``name-key`` (the ``id`` of the ``field`` macro)."""
    if not key:
        return said
    return {**said, "errors": {f"{name}-{key}": text for name, text in said["errors"].items()}}
