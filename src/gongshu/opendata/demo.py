"""Demo data for open data: the demo's member of the public declares uses of the
unconditional-open entries over the past year and applies for the conditional-open
ones (approved, refused, and one still waiting past its deadline), through the real
services, so the open-data use chart and the providers' inbox have something to show
(OPN-2, OPN-3; issue 17 item 8)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.demo.model import DemoContext
from gongshu.errors import GongshuError
from gongshu.opendata import service
from gongshu.timeutil import utcnow

# Declared uses under which the citizen then takes a page of data through the door, so
# the "files taken under open grants" line of the use chart is not flat.
DOWNLOADS = 3

# (days before now the application was received, outcome, days to the answer)
APPLICATIONS = ((150, "refuse", 8), (70, "approve", 5), (30, "wait", 0))


def _clerk(session: Session, org_id: int) -> User | None:
    for user in session.scalars(select(User).where(User.org_id == org_id).order_by(User.id)):
        if "clerk" in user.roles:
            return user
    return None


def _published(session: Session, opening: str) -> list[CatalogEntry]:
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(
                CatalogEntry.opening_attr == opening,
                CatalogEntry.published_version.is_not(None),
                CatalogEntry.scope == "public",
            )
            .order_by(CatalogEntry.resource_code)
        ).unique()
    )


def seed(session: Session, demo: DemoContext) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    citizen = session.scalar(select(User).where(User.username == "public"))
    if citizen is None or citizen.identity_verified_at is None:
        return
    now = utcnow()
    declared = []
    for i, entry in enumerate(_published(session, "unconditional")):
        try:
            with session.begin_nested():
                declared.append(
                    service.declare_use(
                        session,
                        entry.id,
                        actor=citizen,
                        use="出行与生活服务研究",
                        scenario="个人研究与公益地图",
                        declared_at=now - dt.timedelta(days=10 + i * 47 % 330),
                    )
                )
        except GongshuError:
            continue
    _take(session, demo, citizen, declared[:DOWNLOADS])
    for entry in _published(session, "conditional"):
        provider = _clerk(session, entry.provider_org_id)
        if provider is None:
            continue
        for ago, outcome, delay in APPLICATIONS:
            received = now - dt.timedelta(days=ago)
            try:
                with session.begin_nested():
                    app = service.apply(
                        session,
                        entry.id,
                        actor=citizen,
                        use="城市交通出行研究",
                        scenario="高校课题的统计分析",
                        security_measures="加密存储，专人管理，研究结束后删除",
                        received_at=received,
                    )
                    if outcome != "wait":
                        service.answer(
                            session,
                            app.id,
                            actor=provider,
                            approve=outcome == "approve",
                            reason="" if outcome == "approve" else "申请用途与开放条件不符",
                            legal_basis="" if outcome == "approve" else "本目录的开放条件",
                            conditions="仅用于所述研究，不得再提供给第三方",
                            now=received + dt.timedelta(days=delay),
                        )
            except GongshuError:
                continue


def _take(session: Session, demo: DemoContext, citizen: User, declared: list) -> None:
    """A page of each entry taken under its open grant, through the egress door (masked,
    watermarked and recorded as any delivery is)."""
    from gongshu.egress import service as egress

    settings = demo.settings
    for declaration in declared:
        try:
            with session.begin_nested():
                out = egress.deliver(
                    session,
                    declaration.grant_id,
                    actor=citizen,
                    fmt="json",
                    datasets_dir=settings.datasets_dir,
                    work_dir=settings.data_dir / "egress",
                    secret=settings.secret_key,
                    limit=20,
                    in_memory=True,
                )
                out.discard()
        except GongshuError:
            continue
