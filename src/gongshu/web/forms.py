"""A form that failed, rendered again (issue 17 item 6, the GOV.UK pattern): the
error beside its field when the error names one (``errors.InvalidField``, or any
error with a ``field``), otherwise in the summary at the top; what was typed is
kept by the page (``data``). The macros are in ``templates/_forms.html``."""

from __future__ import annotations

from gongshu.errors import GongshuError


def form_errors(exc: GongshuError) -> dict:
    """``{"errors": {field: message}}`` or ``{"error": message}`` for the template."""
    fields = getattr(exc, "fields", None)
    if fields:
        return {"errors": dict(fields)}
    field = getattr(exc, "field", "") or ""
    return {"errors": {field: exc.message}} if field else {"errors": {}, "error": exc.message}
