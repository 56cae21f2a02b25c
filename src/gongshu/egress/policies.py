"""Masking policies: which operator each entity code gets, per kind of release.

A column's entity codes come from discovery (confirmed in the catalog) and
from the catalog's own identifier kinds. A policy maps codes to operators
(gongshu.protect). A column tagged with a code the policy has no rule for is
masked anyway: policies fail closed, never open (issue 4 item 2).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.egress.models import MaskingPolicy, MaskingPolicyVersion
from gongshu.errors import InvalidInput
from gongshu.protect.keyed import pseudonymize
from gongshu.protect.operators import apply

log = logging.getLogger(__name__)
KEEP = {"op": "keep"}
# How strongly an operator hides a value: when a column carries several codes,
# the strongest rule wins.
STRENGTH = {
    "keep": 0,
    "partial": 2,
    "generalize_date": 2,
    "generalize_address": 2,
    "age_band": 2,
    "coordinate_grid": 2,
    "truncate": 2,
    "pseudonymize": 3,
    "replace": 4,
    "nullify": 5,
}
KIND_ENTITIES = {"resident_id": "CN_RESIDENT_ID", "uscc": "CN_USCC"}  # catalog field kinds

_PERSONAL_MASKED = {
    "PERSON_NAME": {"op": "partial"},
    "CN_RESIDENT_ID": {"op": "partial"},
    "PASSPORT": {"op": "replace"},
    "HK_MACAO_PERMIT": {"op": "replace"},
    "CN_MOBILE": {"op": "partial"},
    "CN_LANDLINE": {"op": "replace"},
    "EMAIL": {"op": "partial"},
    # the stars stand for the street part cut off, whatever its length; they carry the
    # recipient's watermark, so no delivery has its marks in one column only (issue 16 item 9)
    "ADDRESS": {"op": "generalize_address", "level": "district", "mask": "****"},
    "BIRTH_DATE": {"op": "generalize_date", "level": "year"},
    "GENDER": KEEP,
    "ETHNICITY": KEEP,
    "EDUCATION": KEEP,
    "RELIGION": {"op": "nullify"},
    "MEDICAL": {"op": "nullify"},
    "BANK_CARD": {"op": "partial"},
    "ACCOUNT_ID": {"op": "replace"},
    "IP_ADDRESS": {"op": "replace"},
    "MAC_ADDRESS": {"op": "replace"},
    "IMEI": {"op": "replace"},
    "LICENSE_PLATE": {"op": "replace"},
    "VEHICLE_VIN": {"op": "replace"},
    "GEO_COORDINATE": {"op": "nullify"},
    "BIOMETRIC": {"op": "nullify"},
    "CN_USCC": KEEP,
    "ORG_NAME": KEEP,
}

DEFAULT_POLICIES: dict[str, tuple[str, dict[str, dict]]] = {
    # Open data to the public (OPN-2): personal information never leaves in the clear.
    "open": ("开放数据默认策略", dict(_PERSONAL_MASKED)),
    # Unconditional sharing (SHR-2): no application states a basis, so identity
    # numbers become per-recipient pseudonyms (joins within the recipient still work).
    "share-unconditional": (
        "无条件共享默认策略",
        {
            **_PERSONAL_MASKED,
            "PERSON_NAME": KEEP,
            "CN_RESIDENT_ID": {"op": "pseudonymize"},
            "BIRTH_DATE": {"op": "generalize_date", "level": "month"},
        },
    ),
    # Conditional sharing (SHR-3/4): the approved application names the fields and
    # the legal basis; identifiers pass, special categories stay protected.
    "share-conditional": (
        "有条件共享默认策略",
        {
            **{code: KEEP for code in _PERSONAL_MASKED},
            "BANK_CARD": {"op": "partial"},
            "BIOMETRIC": {"op": "nullify"},
            "RELIGION": {"op": "nullify"},
        },
    ),
}


# Higher grades get stricter defaults (SEC-1, SEC-3: measures by grade): from
# 一般数据-4级 up, sensitive personal information never leaves in the clear, even
# under conditional sharing; important and core data have no default at all.
HIGH_GRADES = ("一般数据-4级", "重要数据")
NO_DEFAULT_GRADES = ("核心数据",)
_SENSITIVE_CODES = (
    "CN_RESIDENT_ID",
    "PASSPORT",
    "HK_MACAO_PERMIT",
    "RELIGION",
    "MEDICAL",
    "BANK_CARD",
    "GEO_COORDINATE",
    "BIOMETRIC",
)
DEFAULT_POLICIES["share-conditional-high"] = (
    "有条件共享（高级别数据）默认策略",
    {
        **DEFAULT_POLICIES["share-conditional"][1],
        "CN_RESIDENT_ID": {"op": "pseudonymize"},
        "PASSPORT": {"op": "pseudonymize"},
        "HK_MACAO_PERMIT": {"op": "pseudonymize"},
        "MEDICAL": {"op": "nullify"},
        "GEO_COORDINATE": {"op": "nullify"},
    },
)


def default_policy(source: str, sharing_attr: str, grade: str) -> str:
    """The shipped default for a release, by its kind, the entry's attribute and grade."""
    from gongshu.egress.errors import NotGrantable

    if grade in NO_DEFAULT_GRADES:
        raise NotGrantable("核心数据没有默认脱敏策略，须由数据管理部门指定")
    if source == "open":
        return "open"
    if sharing_attr == "unconditional":
        return "share-unconditional"
    return "share-conditional-high" if grade in HIGH_GRADES else "share-conditional"


def ensure_default_policies(session: Session) -> None:
    """Create the shipped policies once; an administrator's edits are kept."""
    existing = set(session.scalars(select(MaskingPolicy.name)))
    for name, (title, rules) in DEFAULT_POLICIES.items():
        if name not in existing:
            policy = MaskingPolicy(name=name, title=title, rules=rules, version_no=1)
            session.add(policy)
            session.flush()
            session.add(
                MaskingPolicyVersion(policy_id=policy.id, version_no=1, rules=rules, actor="system")
            )
    session.flush()


def get_policy(session: Session, name: str) -> MaskingPolicy:
    ensure_default_policies(session)
    policy = session.scalar(select(MaskingPolicy).where(MaskingPolicy.name == name))
    if policy is None:
        raise InvalidInput(f"脱敏策略不存在：{name}")
    return policy


@dataclass
class ColumnAction:
    column: str
    tags: tuple[str, ...]
    rule: dict[str, Any] = field(default_factory=lambda: dict(KEEP))
    entity: str | None = None  # the code whose rule was chosen
    fail_closed: bool = False


def plan(
    columns: list[str], tags: dict[str, list[str]], rules: dict[str, dict]
) -> list[ColumnAction]:
    """Decide each column's operator; an unknown code masks the column (fail closed)."""
    actions = []
    for col in columns:
        codes = tuple(sorted(set(tags.get(col) or ())))
        action = ColumnAction(col, codes)
        for code in codes:
            rule = rules.get(code)
            if rule is None:
                rule, action.fail_closed = {"op": "replace"}, True
            if STRENGTH.get(rule["op"], 4) > STRENGTH.get(action.rule["op"], 4):
                action.rule, action.entity = dict(rule), code
        actions.append(action)
    return actions


def apply_actions(
    batch: pa.RecordBatch,
    actions: list[ColumnAction],
    *,
    pseudonym_key: bytes,
    pseudonym_purpose: str,
) -> pa.RecordBatch:
    """Mask one batch; any column an operator cannot handle is nulled (fail closed)."""
    arrays, names = [], []
    for action in actions:
        values = batch.column(action.column)
        rule = dict(action.rule)
        op = rule.pop("op")
        if op != "keep":
            try:
                if op == "pseudonymize":
                    values = pseudonymize(values, pseudonym_key, pseudonym_purpose)
                else:
                    if op in ("partial", "replace", "truncate") and not pa.types.is_string(
                        values.type
                    ):
                        values = pc.cast(values, pa.string())
                    if op == "partial" and "entity" not in rule:
                        rule["entity"] = action.entity
                    values = apply(op, values, **rule)
            except Exception:  # noqa: BLE001 - a rule that cannot run must not let data out
                log.warning(
                    "masking %s with %s failed; column nulled (fail closed)",
                    action.column,
                    op,
                    exc_info=True,
                )
                action.fail_closed = True
                values = pa.nulls(len(values), type=values.type)
        arrays.append(values)
        names.append(action.column)
    return pa.RecordBatch.from_arrays(arrays, names=names)
