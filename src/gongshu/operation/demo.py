"""Demo data for authorized operation: an agreement over three open entries, one refused
export and one product made in the sandbox, all through the real services."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.demo.model import DemoContext
from gongshu.documents import Document, Section, render_pdf
from gongshu.operation import products, runs, service
from gongshu.operation.errors import ExportRefused

CODES = ("360000-JY-0001", "360000-JT-0001", "360000-MZ-0001")


def seed_demo(session: Session, *, datasets_dir: Path, data_dir: Path, secret: str) -> None:
    """Authorize the demo operator (account ``operator``) and make one product."""
    operator = session.scalar(select(User).where(User.username == "operator"))
    authority = session.scalar(select(User).where(User.username == "reviewer"))
    entries = list(
        session.scalars(
            select(CatalogEntry)
            .where(
                CatalogEntry.resource_code.in_(CODES), CatalogEntry.published_version.is_not(None)
            )
            .order_by(CatalogEntry.resource_code)
        ).unique()
    )
    if operator is None or authority is None or operator.org is None or not entries:
        return
    if session.get(Organization, operator.org_id).kind != "operator":
        return
    report = render_pdf(
        Document(
            title="公共数据授权运营安全风险评估报告",
            facts=[("被评估单位", operator.org.name), ("结论", "风险可控，同意授权")],
            sections=[Section("评估范围", ["学校名录、道路运输经营许可信息、社会组织登记信息。"])],
        )
    )
    path, sha = service.store_report(report, "安全风险评估报告.pdf", data_dir=data_dir)
    agreement = service.authorize(
        session,
        actor=authority,
        operator_org_id=operator.org_id,
        title="教育交通社会组织数据授权运营（演示）",
        entries=[{"entry_id": e.id} for e in entries],
        term_days=730,
        revenue_method="按成本加合理利润核定运营服务费，利润率不超过 8%，公益用途免费",
        security_requirements="仅在平台沙箱内处理；结果经披露检查后经统一出口交付，带数字水印",
        disposal="到期删除沙箱中间结果，已交付产品停止更新并下架",
        report_name="安全风险评估报告.pdf",
        report_path=path,
        report_sha256=sha,
    )
    settings = runs.RunSettings(datasets_dir=datasets_dir, secret=secret)
    schools = next(e for e in entries if e.resource_code == "360000-JY-0001")
    table = f"entry_{schools.id}"
    try:  # row-level output from data not anonymized: refused, and on record (OPR-9)
        runs.run_query(
            session,
            agreement.id,
            f"SELECT 学校名称, 在校学生数 FROM {table} LIMIT 20",
            actor=operator,
            settings=settings,
        )
    except ExportRefused:
        pass
    for sql in (
        f"SELECT 办学类型, count(*) AS 学校数, sum(在校学生数) AS 在校学生数, "
        f"sum(专任教师数) AS 专任教师数 FROM {table} GROUP BY 办学类型 HAVING count(*) >= 10",
        f"SELECT count(*) AS 学校数, sum(在校学生数) AS 在校学生数 FROM {table}",
    ):
        try:
            run = runs.run_query(session, agreement.id, sql, actor=operator, settings=settings)
        except ExportRefused:
            continue
        entry = products.materialize_product(
            session,
            run.id,
            actor=operator,
            name="全省学校规模统计（按办学类型）",
            summary="按办学类型汇总的学校数、在校学生数和专任教师数，来自学校名录，沙箱内计算。",
            datasets_dir=datasets_dir,
        )
        products.product_grant(session, entry, actor=operator)
        return


def seed(session: Session, demo: DemoContext) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    settings = demo.settings
    seed_demo(
        session,
        datasets_dir=settings.datasets_dir,
        data_dir=settings.data_dir,
        secret=settings.secret_key,
    )
