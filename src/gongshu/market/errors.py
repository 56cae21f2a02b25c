"""Errors of the data market."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, NotFound


class ListingNotFound(NotFound): ...


class OrderNotFound(NotFound): ...


class DisputeNotFound(NotFound): ...


class NotTradable(Conflict):
    """The tradability check failed; ``detail`` carries every reason (TRD-3)."""

    commit_anyway = True  # the failed check is evidence: its ledger entry stays


class NotRegistered(Conflict):
    """Listing needs an approved product registration (REG-1)."""

    commit_anyway = True  # the refused listing's check stays in the ledger


class NotSeller(Forbidden): ...


class NotBuyer(Forbidden): ...


class NotParty(Forbidden): ...


class WrongMarketStatus(Conflict): ...


class NoFeeSchedule(Conflict): ...


class WelfareApprovalRequired(Conflict):
    """A free welfare use of an operation product without the authority's approval (OPR-7)."""
