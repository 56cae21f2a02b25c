"""The demo province loads through the real services into an embedded instance,
its accounts log in, its catalog spans the three tiers, and `gongshu ledger
verify` passes on it and fails, naming the position, on an edited copy."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gongshu import cli
from gongshu.app.factory import create_app
from gongshu.app.server import init_instance
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.demo.loader import ensure_demo
from gongshu.runtime import Instance


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    instance = Instance.open(Settings(data_dir=data_dir, demo=True))
    init_instance(instance)
    lines: list[str] = []
    ensure_demo(instance, echo=lines.append, limit=300)
    assert any("演示省份已载入" in line for line in lines)
    instance.close()
    return data_dir


def test_running_again_reuses_the_instance(demo_dir: Path) -> None:
    instance = Instance.open(Settings(data_dir=demo_dir, demo=True))
    lines: list[str] = []
    ensure_demo(instance, echo=lines.append, limit=300)
    instance.close()
    assert "演示数据已存在，直接使用" in lines[0]
    assert any(line.strip().startswith("admin") for line in lines)


def test_catalog_spans_three_tiers_and_every_attribute(demo_dir: Path) -> None:
    instance = Instance.open(Settings(data_dir=demo_dir, demo=True))
    with transaction(instance.session_factory) as session:
        from gongshu.accounts.service import get_user

        result = catalog_search.search(session, actor=get_user(session, "admin"), limit=100)
        published = [e for e in result.entries if e.published_version]
        assert {e.tier for e in published} == {"province", "city", "county"}
        assert {e.sharing_attr for e in published} == {"unconditional", "conditional", "none"}
        assert {e.opening_attr for e in published} == {"unconditional", "conditional", "none"}
        assert any(e.provincial and e.tier == "county" for e in published)
        reviewers = [
            "reviewer",
            "reviewer_nc",
            "reviewer_gz",
            "reviewer_dh",
            "reviewer_xh",
            "reviewer_zg",
            "reviewer_nk",
        ]
        waiting = [
            e for r in reviewers for e in catalog.review_queue(session, get_user(session, r))
        ]
        assert len(waiting) == sum(1 for e in result.entries if e.status == "submitted") >= 3
    instance.close()


def test_every_demo_account_logs_in(demo_dir: Path) -> None:
    from gongshu.demo.province import build_province

    app = create_app(Settings(data_dir=demo_dir, demo=True))
    with TestClient(app) as client:
        for user in build_province().users:
            client.cookies.clear()
            r = client.post(
                "/login",
                data={"username": user.username, "password": user.password},
                follow_redirects=False,
            )
            assert r.status_code == 303, user.username
            assert client.get("/").status_code == 200
    app.state.instance.close()


def test_the_demo_s_real_people_register_and_its_rights_request_came_with_a_code(
    demo_dir: Path,
) -> None:
    """The register (户籍人口基本信息, with 手机号码) is loaded: a resident in it registers
    with their name, ID number and mobile; an invented name does not (OPN-2). The demo's
    rights request was filed with the code sent to the mobile on record (PIP-5)."""
    from datetime import date

    from gongshu.demo.loader import SEED
    from gongshu.demo.province import build_province, entry_rows
    from gongshu.privacy.person import age_on

    spec = next(e for e in build_province(SEED).entries if e.key == "hjrk")
    rows = next(entry_rows(spec, seed=SEED, limit=300, batch_rows=300)).to_pylist()
    with sqlite3.connect(demo_dir / "gongshu.db") as db:
        assert db.execute("SELECT count(*) FROM rights_requests").fetchone()[0] >= 1
        assert db.execute("SELECT count(*) FROM outbox_messages").fetchone()[0] >= 1
    app = create_app(Settings(data_dir=demo_dir, demo=True))
    with TestClient(app) as client:
        person = next(p for p in reversed(rows) if age_on(p["公民身份号码"], date.today()) >= 18)
        form = {
            "username": "demo-resident",
            "password": "resident-password-1",
            "name": person["姓名"],
            "id_number": person["公民身份号码"],
            "mobile": person["手机号码"],
        }
        r = client.post("/register", data=form | {"name": "赵虚构"})
        assert r.status_code == 400 and "未能通过户籍信息核验" in r.text
        r = client.post("/register", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
    app.state.instance.close()


def test_ledger_verify_passes_and_names_an_edited_row(demo_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    cli._mount_capability_commands()
    ok = runner.invoke(cli.app, ["ledger", "verify", "--data-dir", str(demo_dir)])
    assert ok.exit_code == 0, ok.output
    assert "账本校验通过" in ok.output

    copy = tmp_path / "var"
    shutil.copytree(demo_dir, copy)
    with sqlite3.connect(copy / "gongshu.db") as db:
        db.execute("UPDATE ledger_entries SET actor = 'user:intruder' WHERE position = 7")
    bad = runner.invoke(cli.app, ["ledger", "verify", "--data-dir", str(copy)])
    assert bad.exit_code == 1
    assert "账本校验失败" in bad.output and "7" in bad.output


def test_the_demo_market_lists_only_a_sandbox_product(demo_dir: Path) -> None:
    db = sqlite3.connect(demo_dir / "gongshu.db")
    try:
        rows = db.execute(
            'SELECT e.scope, l."check" FROM market_listings l '
            "JOIN catalog_entries e ON e.id = l.data_entry_id"
        ).fetchall()
    finally:
        db.close()
    assert rows and all(scope == "product" for scope, _ in rows)
    assert all('"provenance": {"sandbox_run"' in check for _, check in rows)


def test_the_demo_fills_every_chart_and_queue_of_the_dashboards(demo_dir: Path) -> None:
    """Issue 17 item 8: late, overdue and refused sharing cases and open-data use, so the
    supervision dashboard's and the statistics' charts and queues are not empty."""
    import json

    def data(page: str, block: str) -> dict:
        start = page.index(f'id="{block}">') + len(block) + 6
        return json.loads(page[start : page.index("</script>", start)])

    app = create_app(Settings(data_dir=demo_dir, demo=True))
    with TestClient(app) as client:
        r = client.post(
            "/login",
            data={"username": "reviewer", "password": "gongshu-demo"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        sup = client.get("/sharing/supervision").text
        trend = data(sup, "trend-chart-data")
        assert {"province", "city", "county"} <= set(trend["late_by_tier"])
        assert len(trend["late_by_agency"]) >= 3
        assert sum(trend["turnaround"]["in_time"]) > 0 and sum(trend["turnaround"]["late"]) > 0
        assert sum(r["overdue"] for r in data(sup, "overdue-chart-data")) >= 2
        assert 'class="badge warn"' in sup  # an overdue application in the queue
        assert sum(r["errors"] for r in data(sup, "overdue-chart-data")) >= 1
        assert "/sharing/applications/" in client.get("/sharing/referred").text
        use = data(client.get("/quality/statistics").text, "open-use-data")
        assert sum(use["declared"]) > 0 and sum(use["approved"]) > 0 and sum(use["refused"]) > 0
        assert use["downloads"][-1] > 0  # pages taken under open grants, this month
    app.state.instance.close()
    db = sqlite3.connect(demo_dir / "gongshu.db")
    try:
        statuses = dict(
            db.execute("SELECT status, count(*) FROM sharing_applications GROUP BY 1").fetchall()
        )
    finally:
        db.close()
    assert statuses.get("refused", 0) > 0 and statuses.get("submitted", 0) > 0
    assert statuses.get("referred", 0) > 0  # the authority's queue of referred ones


def test_the_demo_operator_is_reviewed_and_under_agreement_so_its_licence_stands(
    demo_dir: Path,
) -> None:
    """SEC-13: the provincial data authority reviewed the demo operator and signed the
    confidentiality agreement with it (two PDFs on record), so its licence was granted."""
    with sqlite3.connect(demo_dir / "gongshu.db") as db:
        (op_id,) = db.execute("SELECT id FROM organizations WHERE kind = 'operator'").fetchone()
        kinds = db.execute(
            "SELECT i.kind, o.kind, i.document_path FROM instruments i "
            "JOIN organizations o ON o.id = i.issuer_org_id "
            "WHERE i.recipient_org_id = ? AND i.kind LIKE 'party_%' ORDER BY i.kind",
            (op_id,),
        ).fetchall()
        assert [(k, issuer) for k, issuer, _ in kinds] == [
            ("party_agreement", "data_authority"),
            ("party_review", "data_authority"),
        ]
        assert all((demo_dir / path).read_bytes().startswith(b"%PDF-") for _, _, path in kinds)
        status = db.execute(
            "SELECT status FROM operator_agreements WHERE operator_org_id = ?", (op_id,)
        ).fetchall()
        assert status == [("active",)]
