"""Sandbox runs (OPR-4): the operator's one SELECT over the entries of its agreement,
checked for disclosure; every run is recorded, passed or refused, and a passed result
waits under the datasets dir until it is made a product (``products``).

Each table the run loads is first put to the door's gates as a delivery would be
(``egress.gates``): a refusal stops the run, and rows a gate withholds (OPR-3: persons
who gave the operator no consent, ``privacy.operation``) never reach the sandbox; the
counts are kept on the run (``withheld``) and in its ledger entry."""

from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.egress import gates
from gongshu.egress import service as egress
from gongshu.egress.marking import door_keys
from gongshu.egress.models import Grant, MaskingPolicy
from gongshu.egress.versions import column_tags, version_for
from gongshu.errors import InvalidField
from gongshu.instruments import parties
from gongshu.ledger import record
from gongshu.operation import sandbox, service
from gongshu.operation.errors import AgreementInactive, ExportRefused, NotOperator, RunNotFound
from gongshu.operation.models import OperatorAgreement, SandboxRun
from gongshu.timeutil import as_utc, utcnow

RUNS_DIR = "operation-runs"  # under the datasets dir: passed results awaiting a product


@dataclass
class RunSettings:
    datasets_dir: Path
    secret: str
    min_group: int = 10
    timeout: float = 20.0
    memory_limit: str = "1GB"
    max_rows: int = 100000


def sources_of(session: Session, agreement: OperatorAgreement) -> list[sandbox.Source]:
    out = []
    for item in agreement.items:
        grant = session.get(Grant, item.grant_id)
        version = version_for(session, grant)
        column_tags(item.entry, version)  # an unclassified version cannot be used
        out.append(
            sandbox.Source(item.entry, version, grant, session.get(MaskingPolicy, grant.policy_id))
        )
    return out


def run_query(
    session: Session, agreement_id: int, sql: str, *, actor: User, settings: RunSettings
) -> SandboxRun:
    """Run the operator's SQL in the sandbox and check the result for disclosure (OPR-4).

    Every run is recorded, passed or refused. A refusal raises ``ExportRefused``
    (which commits its record) naming the rule broken; a passed result is kept
    under the data dir until it is made a product.
    """
    agreement = service.get(session, agreement_id)
    if "admin" not in actor.roles and actor.org_id != agreement.operator_org_id:
        raise NotOperator("只有被授权的运营机构可以使用该协议的沙箱")
    service.expire_due(session)
    if agreement.status != "active" or as_utc(agreement.starts_at) > utcnow():
        raise AgreementInactive("授权运营协议不在有效期内")
    # SEC-13: a review or agreement that lapsed or was revoked since the licence stops the work.
    operator = session.get(Organization, agreement.operator_org_id)
    parties.require_cleared(session, operator, action="使用授权运营沙箱")
    sql = (sql or "").strip()
    if not sql:
        raise InvalidField("请输入 SQL 查询", field="sql")
    run = SandboxRun(
        agreement_id=agreement.id,
        operator_org_id=agreement.operator_org_id,
        actor=actor.actor,
        sql=sql,
        status="refused",
        min_group=settings.min_group,
    )
    # Only the tables the query names are loaded; the others cannot be read by it anyway.
    sources = [s for s in sources_of(session, agreement) if re.search(rf"\b{s.table}\b", sql)]
    for source in sources:
        egress.check_grant(source.grant, actor)
        # Every read asks the door's gates, as a delivery does: one may refuse, and one
        # may keep rows back (OPR-3: the rows of persons who gave the operator no consent).
        request = gates.DeliveryRequest(
            session, source.grant, source.entry, source.version, actor, settings.secret
        )
        gates.check_delivery(request)
        source.withheld = gates.withholdings(request)
    key = door_keys(settings.secret).pseudonyms
    try:
        con = sandbox.open_sandbox(
            sources,
            datasets_dir=settings.datasets_dir,
            pseudonym_key=key,
            purpose=f"org-{agreement.operator_org_id}",
            memory_limit=settings.memory_limit,
        )
        run.withheld = withheld(sources)
        try:
            result = sandbox.run(
                con, sql, sources, timeout=settings.timeout, max_rows=settings.max_rows
            )
        finally:
            con.close()
        run.kind, run.sources = result.kind, [s.entry.id for s in result.sources]
        run.smallest_group, run.duration_ms = result.smallest_group, result.duration_ms
        run.rows, run.columns = result.table.num_rows, result.table.column_names
        sandbox.check(result, min_group=settings.min_group)
    except sandbox.Refusal as refusal:
        run.rule, run.reason = refusal.rule, refusal.message
        _record_run(session, run)
        notes = "".join(f"；{n}" for n in withheld_notes(run))
        raise ExportRefused(
            f"导出被拒绝：{refusal.message}{notes}", detail={"run": run.id}
        ) from None
    run.status = "passed"
    # Kept inside the platform (beside the versions) until the operator makes it a
    # product, sealed whole through the storage layer like a quarantine (SEC-9): the
    # result may hold pseudonymized or masked personal information.
    rel = Path(RUNS_DIR) / f"run-{uuid.uuid4().hex}.parquet"
    data = io.BytesIO()
    pq.write_table(result.table, data, compression="zstd")
    run.result_sha256 = hashlib.sha256(data.getvalue()).hexdigest()
    run.result_path = storage.seal_bytes(
        settings.datasets_dir, rel.as_posix(), data.getvalue(), session=session
    )
    _record_run(session, run)
    return run


def withheld(sources: list[sandbox.Source]) -> list[dict] | None:
    """What the gates kept back from the sandbox, per entry and gate: counts, never rows."""
    out = [
        {
            "entry": s.entry.id,
            "name": s.entry.name,
            "gate": w.gate,
            "reason": w.reason,
            "rows": n,
            "left": s.rows_loaded,
        }
        for s in sources
        for w, n in zip(s.withheld, s.withheld_rows, strict=True)
    ]
    return out or None


def withheld_notes(run: SandboxRun) -> list[str]:
    """The withholding said to the operator, in Chinese (a run's page, a refusal)."""
    notes = []
    for w in run.withheld or []:
        if w["rows"] and not w["left"]:
            notes.append(
                f"「{w['name']}」依据个人同意运营，目前没有个人同意向本机构提供其信息，"
                f"沙箱中该目录没有可用的记录（{w['rows']} 条未予使用）"
            )
        elif w["rows"]:
            notes.append(
                f"「{w['name']}」依据个人同意运营，{w['rows']} 条未取得本人同意的记录未予使用，"
                f"沙箱中可用 {w['left']} 条"
            )
    return notes


def _record_run(session: Session, run: SandboxRun) -> None:
    session.add(run)
    session.flush()
    record(
        session,
        f"operation.run_{run.status}",
        actor=run.actor,
        subject=f"operator:{run.operator_org_id}",
        payload={
            "run": run.id,
            "agreement": run.agreement_id,
            "sql": run.sql,
            "kind": run.kind,
            "rule": run.rule,
            "reason": run.reason,
            "rows": run.rows,
            "sources": run.sources,
            "smallest_group": run.smallest_group,
            "min_group": run.min_group,
            "sha256": run.result_sha256,
            **({"withheld": run.withheld} if run.withheld else {}),
        },
    )


def get_run(session: Session, run_id: int) -> SandboxRun:
    run = session.get(SandboxRun, run_id)
    if run is None:
        raise RunNotFound(f"沙箱运行记录不存在：{run_id}")
    return run


def runs_of(session: Session, agreement_id: int, limit: int = 50) -> list[SandboxRun]:
    return list(
        session.scalars(
            select(SandboxRun)
            .where(SandboxRun.agreement_id == agreement_id)
            .order_by(SandboxRun.id.desc())
            .limit(limit)
        )
    )
