"""Errors of the compliance capability."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class IncidentNotFound(NotFound): ...


class AuditNotFound(NotFound): ...


class AssessmentNotFound(NotFound): ...


class NotYourOrganization(Forbidden):
    """The record belongs to another organization."""


class InstitutionLimit(Conflict):
    """The same institution would audit the same subject a fourth time in a row (AUD-5)."""


class AuditSigned(Conflict):
    """A signed audit report is not changed any more (AUD-3)."""


class RetentionPeriod(Conflict):
    """A record is still inside its statutory retention period (PIP-8, SEC-6, SEC-7)."""


class AssessmentRequired(Conflict):
    """An activity PIP-8 names was attempted without a current impact assessment."""


class BadFacts(InvalidInput):
    """The facts entered do not make sense together."""


class TransferRouteRequired(Conflict):
    """Personal information to a recipient abroad without an assessment, contract or
    certification on record (XBR-1, XBR-2)."""


class AuthorityConsentRequired(Conflict):
    """Important data provided without the data authority's consent on record (SEC-8)."""
