"""Put the demo province into an instance through the real services.

Everything goes the way a real province's data would: organizations and
accounts, entries compiled by agency clerks and reviewed tier by tier up to
the provincial catalog (CAT-2), tables loaded and checked (AGG-1, AGG-3),
every step in the ledger. Running it again on a loaded instance does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts import service as accounts
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import ORG_KINDS, ROLE_LABELS
from gongshu.capability import installed
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.demo.model import DemoContext, DemoEntry, DemoProvince
from gongshu.demo.province import build_province, entry_rows
from gongshu.ledger import checkpoint
from gongshu.ledger.keys import InstanceKey
from gongshu.runtime import Instance
from gongshu.timeutil import utcnow

Echo = Callable[[str], None]
SEED = 2026


def is_loaded(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None


def ensure_demo(
    instance: Instance, *, echo: Echo = print, seed: int = SEED, limit: int | None = None
) -> DemoProvince:
    """Load the demo province unless the instance already has accounts; print the accounts."""
    province = build_province(seed)
    with transaction(instance.session_factory) as session:
        loaded = is_loaded(session)
    if loaded:
        echo("演示数据已存在，直接使用。")
    else:
        load_demo(instance, province, echo=echo, seed=seed, limit=limit)
    print_accounts(province, echo)
    return province


def load_demo(
    instance: Instance,
    province: DemoProvince,
    *,
    echo: Echo = print,
    seed: int = SEED,
    limit: int | None = None,
) -> None:
    """Load everything; ``limit`` caps the rows per table (tests)."""
    started = time.monotonic()
    with transaction(instance.session_factory) as session:
        _people(session, province)
    demo = DemoContext(province, instance.settings, seed, limit)
    _seed(instance, "before_data", demo)  # e.g. PIP-8 assessments before any grant
    datasets_dir = instance.settings.datasets_dir
    rows = 0
    for spec in province.entries:
        with transaction(instance.session_factory) as session:
            rows += _entry(session, province, spec, datasets_dir, seed=seed, limit=limit)
    _seed(instance, "entries_loaded", demo)  # e.g. PIP-8 assessments scoped to the entries
    _seed(instance, "after_data", demo)
    with transaction(instance.session_factory) as session:
        checkpoint(session, InstanceKey.require(instance.settings.keys_dir))
    echo(
        f"演示省份已载入：{len(province.orgs)} 个机构，{len(province.entries)} "
        f"条目录，{rows} 行数据，用时 {time.monotonic() - started:.1f} 秒。"
    )


def _seed(instance: Instance, stage: str, demo: DemoContext) -> None:
    """Every capability's demo seed of ``stage``, in the registry's order, each in its
    own transaction (``Capability.demo``)."""
    for _seed_spec, fn in installed().demo_seeds(stage):
        with transaction(instance.session_factory) as session:
            fn(session, demo)


def _people(session: Session, province: DemoProvince) -> None:
    order = {"province": 0, "city": 1, "county": 2}
    for region in sorted(province.regions, key=lambda r: order[r.tier]):
        accounts.add_region(session, region.code, region.name, parent=region.parent_code)
    orgs = {}
    for org in province.orgs:
        orgs[org.key] = accounts.add_organization(
            session, org.name, kind=org.kind, region_code=org.region_code, by="demo"
        )
    for user in province.users:
        created = accounts.create_user(
            session,
            user.username,
            user.password,
            display_name=user.full_name,
            org=orgs[user.org_key] if user.org_key else None,
            roles=list(user.roles),
            by="demo",
        )
        if user.org_key is None:  # the demo's member of the public is taken as verified
            created.identity_verified_at, created.identity_method = utcnow(), "demo"
    session.flush()


def _member(session: Session, org: Organization, role: str) -> User:
    """The demo account acting for ``org`` in ``role``; created if the province has none."""
    candidates = session.scalars(select(User).where(User.org_id == org.id).order_by(User.id))
    for user in candidates:
        if role in user.roles:
            return user
    return accounts.create_user(
        session,
        f"{role}-{org.id}",
        f"demo-{role}-{org.id}-account",
        display_name=f"{org.name}{ROLE_LABELS[role]}",
        org=org,
        roles=[role],
        by="demo",
    )


def _reviewer(session: Session, region_code: str) -> User:
    org = session.scalar(
        select(Organization).where(
            Organization.region_code == region_code, Organization.kind == "data_authority"
        )
    )
    if org is None:
        from gongshu.accounts.models import Region

        region = session.get(Region, region_code)
        org = accounts.add_organization(
            session,
            f"{region.name}数据管理部门",
            kind="data_authority",
            region_code=region_code,
            by="demo",
        )
    return _member(session, org, "reviewer")


def _entry(
    session: Session,
    province: DemoProvince,
    spec: DemoEntry,
    datasets_dir: Path,
    *,
    seed: int,
    limit: int | None,
) -> int:
    org_name = next(o.name for o in province.orgs if o.key == spec.org_key)
    org = accounts.find_org(session, org_name)
    clerk = _member(session, org, "clerk")
    entry = catalog.create(
        session,
        {
            "resource_code": spec.resource_code,
            "name": spec.name,
            "summary": spec.summary,
            "fields": [
                {
                    "name": f.name,
                    "type": f.type,
                    "description": f.description,
                    "kind": f.kind,
                    "required": f.required,
                }
                for f in spec.fields
            ],
            "update_frequency": spec.update_frequency,
            "security_grade": spec.security_grade,
            "sharing_attr": spec.sharing_attr,
            "sharing_conditions": spec.sharing_conditions,
            "no_share_basis": spec.no_share_basis,
            "opening_attr": spec.opening_attr,
            "opening_conditions": spec.opening_conditions,
            "formats": list(spec.formats),
            "load_policy": spec.load_policy,
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    if not spec.approved:  # left in a review queue, so the reviewers have work
        return 0
    while entry.review_region_code is not None:
        catalog.approve(session, entry.id, actor=_reviewer(session, entry.review_region_code))
    # The source file is written encrypted in scratch, like an upload: the demo's
    # resident IDs are invented, but a killed demo load leaves nothing readable either.
    with storage.EphemeralFile(datasets_dir, f"{spec.resource_code}.parquet") as source:
        writer = None
        for batch in entry_rows(spec, seed=seed, limit=limit):
            if writer is None:
                writer = pq.ParquetWriter(source.writer(), batch.schema)
            writer.write_batch(batch)
        if writer is None:
            return 0
        writer.close()
        version = datasets.load(
            session,
            entry.id,
            source.close(),
            actor=clerk,
            datasets_dir=datasets_dir,
            source_name=f"{spec.name}.parquet",
        )
    return version.rows


def print_accounts(province: DemoProvince, echo: Echo) -> None:
    orgs = {o.key: o for o in province.orgs}
    echo("演示账户：")
    for user in province.users:
        roles = "、".join(ROLE_LABELS.get(r, r) for r in user.roles)
        org = orgs[user.org_key] if user.org_key else None
        where = f"{org.name}（{ORG_KINDS[org.kind]}）" if org else "社会公众"
        echo(f"  {user.username:<16} 密码 {user.password}  {roles} · {where}")
