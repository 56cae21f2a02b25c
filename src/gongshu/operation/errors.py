from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class AgreementNotFound(NotFound): ...


class RunNotFound(NotFound): ...


class RequestNotFound(NotFound): ...


class NotAuthority(Forbidden): ...


class NotOperator(Forbidden): ...


class NotOperable(Conflict):
    """An entry may not be operated (OPR-3); the message says why."""


class AgreementInactive(Forbidden): ...


class ExportRefused(Conflict):
    """The disclosure check refused the result; the rule broken is named (OPR-4)."""

    commit_anyway = True  # the refusal is evidence: its run row and ledger entry stay


class WrongStatus(Conflict): ...
