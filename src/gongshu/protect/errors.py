"""Errors of the protection toolkit; messages name the operator, parameter or key."""

from __future__ import annotations

from gongshu.errors import Conflict, Forbidden, InvalidInput, NotFound


class UnknownOperator(InvalidInput): ...


class InvalidParameter(InvalidInput):
    """A masking operator got a parameter it cannot use."""

    def __init__(self, operator: str, parameter: str, reason: str) -> None:
        super().__init__(
            f"脱敏算子 {operator} 的参数 {parameter} 无效：{reason}",
            detail={"operator": operator, "parameter": parameter},
        )
        self.operator = operator
        self.parameter = parameter


class KeyNotFound(NotFound): ...


class KeyStoreLocked(Forbidden):
    """The instance secret does not open the key store (wrong secret or tampered file)."""


class DecryptionFailed(InvalidInput): ...


class KeysMissing(Conflict):
    """A key file the instance's sealed data or ledger needs is gone. Nothing is
    regenerated: a new key would make the data unreadable or the ledger unverifiable
    for good. Restore it (``gongshu keys import``)."""


class KeysMismatch(Conflict):
    """A key file is not the one the instance's data or ledger was made with."""
