"""Demo data for quality: a deadline, the agency's key rule, a report per version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.demo.model import DemoContext
from gongshu.quality import corrections, service

PLANTED_CODE = "360100-MZ-0003"  # 高龄津贴发放名单 (demo/catalog_local.py)
REGISTER_CODE = "360000-GA-0001"  # 户籍人口信息, the household register


def _member(session: Session, org_id: int, role: str) -> User | None:
    for user in session.scalars(select(User).where(User.org_id == org_id).order_by(User.id)):
        if role in user.roles:
            return user
    return None


def seed_demo(session: Session, *, datasets_dir: Path) -> None:
    """Through the real services: the provincial authority sets a 10-working-day
    correction deadline; the civil-affairs bureau declares the ID number the key of
    its subsidy list, whose report is made at once. The other versions' reports are
    the ``quality.report`` jobs the loads enqueued (the server's worker runs them
    within seconds); running them all here would take the demo past 2 s."""
    authority = session.scalar(
        select(Organization).where(
            Organization.kind == "data_authority", Organization.region_code.like("__0000")
        )
    )
    reviewer = _member(session, authority.id, "reviewer") if authority else None
    if reviewer is not None:
        corrections.set_deadline(session, 10, actor=reviewer)
    planted = session.scalar(select(CatalogEntry).where(CatalogEntry.resource_code == PLANTED_CODE))
    if planted is not None:
        version = storage.newest(session, planted.id)
        clerk = _member(session, planted.provider_org_id, "clerk")
        if version is not None and clerk is not None:
            rules = service.ensure_rules(session, planted, version, datasets_dir).rules
            register = session.scalar(
                select(CatalogEntry).where(CatalogEntry.resource_code == REGISTER_CODE)
            )
            if not any(r["expectation"] == "expect_column_values_to_be_unique" for r in rules):
                rules = [
                    *rules,
                    {
                        "id": f"r{len(rules) + 1}",
                        "expectation": "expect_column_values_to_be_unique",
                        "column": "公民身份号码",
                        "mostly": 1.0,
                    },
                ]
                if register is not None:  # the same people as the household register
                    rules.append(
                        {
                            "id": f"r{len(rules) + 1}",
                            "expectation": "expect_column_values_to_match_reference",
                            "column": "公民身份号码",
                            "ref_entry_id": register.id,
                            "ref_column": "公民身份号码",
                            "compare": [
                                ["姓名", "姓名"],
                                ["性别", "性别"],
                                ["出生日期", "出生日期"],
                            ],
                            "mostly": 1.0,
                        }
                    )
                service.update_rules(
                    session,
                    planted.id,
                    rules,
                    actor=clerk,
                    reason="每人每月只发放一次；与户籍人口信息比对",
                )
        if version is not None:
            service.run_report(session, version.id, datasets_dir=datasets_dir)


def seed(session: Session, demo: DemoContext) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    seed_demo(session, datasets_dir=demo.settings.datasets_dir)
