"""The tradability check before listing (TRD-3, TRD-8, SEC-8, PIP-9, REG-1, REG-4).

Not tradable (TRD-3): data that infringes privacy or others' rights, lacks the
rights holder's authorization, or that law forbids. The platform checks what
its records can show, and every reason is given in Chinese:

- the product is registered and approved, with no change pending (REG-1), and
  the registrant holds the product operation right (REG-4);
- identifier columns (the direct identifiers of PIP-9, by the data's entity
  tags) appear only if the version carries the PIP-9 anonymized mark or the
  registration records the rights holders' explicit authorization (TRD-8);
- every source entry, and the product's data entry, is the seller's own or is
  under an active operation grant to the seller (rights holder's authorization);
- core data is never tradable; important data needs the competent authority's
  consent (SEC-8); entity kinds an administrator lists as prohibited are not;
- products of authorized operation follow OPR-7 pricing: a fee item of the
  government-guided schedule in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.datasets.anonymized import DIRECT_IDENTIFIERS
from gongshu.egress.errors import NotClassified
from gongshu.egress.versions import column_tags
from gongshu.entities import ENTITY_LABELS, SENSITIVE
from gongshu.ledger import record
from gongshu.market import authorizations, provenance
from gongshu.market.models import FeeSchedule, ProhibitedKind
from gongshu.registration.gaps import operated_entry_ids
from gongshu.registration.models import Registration
from gongshu.storage.models import DatasetVersion


@dataclass
class Check:
    passed: bool
    reasons: list[dict] = field(default_factory=list)  # [{rule, code, message}]
    operation_product: bool = False
    identifier_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "operation_product": self.operation_product,
            "identifier_columns": self.identifier_columns,
        }


def latest_version(session: Session, entry_id: int) -> DatasetVersion | None:
    return storage.newest(session, entry_id)


def current_fee_schedule(session: Session) -> FeeSchedule | None:
    return session.scalar(select(FeeSchedule).order_by(FeeSchedule.version_no.desc()).limit(1))


def check(session: Session, reg: Registration, *, seller_org_id: int) -> Check:
    """Every reason the product may not be listed by ``seller_org_id``; none means it may."""
    reasons: list[dict] = []

    def no(rule: str, code: str, message: str) -> None:
        reasons.append({"rule": rule, "code": code, "message": message})

    result = Check(passed=False)
    if reg.kind != "product":
        no("REG-1", "not_product", "只有登记为数据产品的才能挂牌交易")
    if reg.approved_version_no is None:
        no("REG-1", "unregistered", "该产品尚未完成登记审核，未登记的产品不得挂牌")
    elif reg.status != "approved":
        no("REG-1", "change_pending", "该产品的登记变更尚待审核，审核通过后方可挂牌")
    if reg.registrant_org_id != seller_org_id:
        no("REG-4", "not_registrant", "挂牌方不是该产品的登记主体")
    if "operation" not in (reg.rights or []):
        no("REG-4", "no_operation_right", "登记主体未持有数据产品经营权，不能挂牌交易")
    if reg.data_entry_id is None:
        no("TRD-3", "no_data", "登记未指明产品数据目录，平台无法核验和交付")
        result.reasons = reasons
        return result

    entry = catalog.get(session, reg.data_entry_id)
    for code, message in provenance.reasons(session, entry):  # OPR-4: never raw rows
        no("OPR-4", code, message)
    version = latest_version(session, entry.id)
    tags: dict[str, list[str]] = {}
    if version is None:
        no("TRD-3", "no_version", f"产品数据“{entry.name}”尚未加载数据，无法核验")
    else:
        try:
            tags = column_tags(entry, version)
        except NotClassified:
            no("TRD-3", "not_classified", f"产品数据“{entry.name}”尚未完成敏感数据识别，无法核验")
    identifiers = sorted(c for c, codes in tags.items() if DIRECT_IDENTIFIERS & set(codes))
    result.identifier_columns = identifiers
    # The rights holders are those of the data the product was made from; the product's
    # own entry needs one only if someone other than the seller provides it.
    own = [entry.id] if entry.provider_org_id != seller_org_id else []
    source_entries = [catalog.get(session, i) for i in dict.fromkeys([*reg.source_entry_ids, *own])]
    unauthorized = authorizations.unauthorized_sources(session, source_entries, seller_org_id)
    lacking = "、".join(f"“{s.name}”" for s in unauthorized)
    if identifiers and not (version and version.anonymized) and unauthorized:
        kinds = sorted(
            {
                ENTITY_LABELS.get(c, c)
                for col in identifiers
                for c in tags[col]
                if c in DIRECT_IDENTIFIERS
            }
        )
        no(
            "TRD-8",
            "identifiers",
            f"产品数据含可识别特定个人的标识符列（{'、'.join(identifiers)}：{'、'.join(kinds)}），"
            f"既未通过匿名化认定，来源数据{lacking}也没有权利人出具的"
            "授权交易记录，不得交易",
        )

    # Sensitive personal information (PIPL art. 28) beyond the identifiers: the
    # attributes alone are personal information until the PIP-9 check says otherwise.
    sensitive = sorted(
        c for c, codes in tags.items() if (SENSITIVE - DIRECT_IDENTIFIERS) & set(codes)
    )
    if sensitive and not (version and version.anonymized) and unauthorized:
        kinds = sorted(
            {ENTITY_LABELS.get(c, c) for col in sensitive for c in tags[col] if c in SENSITIVE}
        )
        no(
            "TRD-3",
            "sensitive",
            f"产品数据含敏感个人信息列（{'、'.join(sensitive)}：{'、'.join(kinds)}），"
            f"未通过匿名化认定，来源数据{lacking}也没有权利人出具的授权交易记录，"
            "不得交易",
        )

    operated = operated_entry_ids(session, seller_org_id).get(seller_org_id, set())
    sources = list(dict.fromkeys([*reg.source_entry_ids, entry.id]))
    for entry_id in sources:
        src = catalog.get(session, entry_id)
        if entry_id in operated:
            result.operation_product = True
        elif src.provider_org_id != seller_org_id:
            no(
                "TRD-3",
                "unauthorized_source",
                f"来源数据“{src.name}”（{src.resource_code}）既非挂牌方持有，"
                "也未授权挂牌方运营，缺少权利人授权",
            )
        if src.security_grade == "核心数据":
            no("TRD-3", "core_data", f"来源数据“{src.name}”为核心数据，禁止交易")
        elif src.security_grade == "重要数据" and not authorizations.important_consent(
            session, src, seller_org_id
        ):
            no(
                "SEC-8",
                "important_data",
                f"来源数据“{src.name}”为重要数据，交易须有数据管理部门出具的同意交易记录，目前没有",
            )
    prohibited = {
        p.entity_code: p
        for p in session.scalars(select(ProhibitedKind).where(ProhibitedKind.active.is_(True)))
    }
    for col, codes in sorted(tags.items()):
        for code in codes:
            if code in prohibited:
                no(
                    "TRD-3",
                    "prohibited_kind",
                    f"字段“{col}”属于禁止交易的数据类型“{ENTITY_LABELS.get(code, code)}”："
                    f"{prohibited[code].reason} (TRD-3)",
                )
    if result.operation_product:
        schedule = current_fee_schedule(session)
        if reg.price_mode != "guided" or not reg.fee_item:
            no(
                "OPR-7",
                "guided_price",
                "授权运营的公共数据产品：公益用途免费，产业用途须执行政府指导价，"
                "请在登记中选择指导价收费项目",
            )
        elif schedule is None or reg.fee_item not in schedule.items:
            no("OPR-7", "fee_item", f"政府指导价收费标准中没有收费项目“{reg.fee_item}”")
    result.reasons = reasons
    result.passed = not reasons
    return result


def check_and_record(
    session: Session, reg: Registration, *, seller_org_id: int, actor: User
) -> Check:
    result = check(session, reg, seller_org_id=seller_org_id)
    record(
        session,
        "market.checked",
        actor=actor.actor,
        subject=f"registration:{reg.id}",
        payload={"passed": result.passed, "reasons": [r["code"] for r in result.reasons]},
    )
    return result
