"""The sharing API: apply, answer, refer and decide, supervise, report (SHR-2..6, QUA-3, GOV-2)."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts
from gongshu.datasets import service as datasets
from gongshu.exchange import service
from gongshu.identifiers import id_check_char
from gongshu.timeutil import BEIJING

from .conftest import APPLICATION


@pytest.fixture
def auth(session, people):  # noqa: ANN001, ANN201
    def headers(user) -> dict:  # noqa: ANN001
        token, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {token}"}

    return headers


def test_apply_approve_and_read_only_the_requested_fields(
    client, auth, session, people, conditional, tmp_path
) -> None:
    ids = [(b := f"36010219800101{i:03d}") + id_check_char(b) for i in range(1, 6)]
    csv = tmp_path / "hk.csv"
    rows = [f"张{i},{rid},东湖区{i}号,1381234000{i}" for i, rid in enumerate(ids)]
    csv.write_text(
        "姓名,公民身份号码,户籍地址,联系电话\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    datasets.load(
        session,
        conditional.id,
        csv,
        actor=people.clerk_prov,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    consumer, provider = auth(people.clerk_county), auth(people.clerk_prov)
    r = client.post(
        "/api/v1/sharing/applications",
        json={"entry_id": conditional.id, **APPLICATION, "requested_fields": ["姓名", "户籍地址"]},
        headers=consumer,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "submitted"
    # Received today: 10 working days left, unless today's period reaches an unscheduled year.
    if body["deadline"] is None:
        assert body["workdays_left"] is None and "节假日安排尚未录入" in body["deadline_warning"]
    else:
        assert body["workdays_left"] == 10 and body["deadline_warning"] is None
    assert body["provider_org"] == "江西省公安厅"
    queue = client.get("/api/v1/sharing/queue", headers=provider).json()
    assert [a["id"] for a in queue] == [body["id"]]
    # The applicant cannot answer its own application.
    r = client.post(
        f"/api/v1/sharing/applications/{body['id']}/approve",
        json={"conditions": "同意"},
        headers=consumer,
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/sharing/applications/{body['id']}/approve",
        json={"conditions": "仅限低保核验"},
        headers=provider,
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    grant_id = r.json()["grant_id"]
    data = client.get(f"/api/v1/grants/{grant_id}/data", params={"limit": 10}, headers=consumer)
    assert data.status_code == 200, data.text
    assert data.json()["columns"] == ["姓名", "户籍地址"] and len(data.json()["rows"]) == 5
    assert ids[0] not in data.text
    mine = client.get("/api/v1/sharing/applications", headers=consumer).json()
    assert mine[0]["grant_id"] == grant_id


def test_no_share_entry_is_refused_with_its_basis(client, auth, people, no_share) -> None:
    r = client.post(
        "/api/v1/sharing/applications",
        json={"entry_id": no_share.id, **APPLICATION},
        headers=auth(people.clerk_county),
    )
    assert r.status_code == 409
    assert "不予共享" in r.json()["message"] and "人民警察法" in r.json()["message"]


def test_missing_fields_are_named(client, auth, people, conditional) -> None:
    r = client.post(
        "/api/v1/sharing/applications",
        json={"entry_id": conditional.id, **APPLICATION, "use": "", "reason": " "},
        headers=auth(people.clerk_county),
    )
    assert r.status_code == 400 and "申请理由、数据用途" in r.json()["message"]


def test_refer_decide_and_supervise(client, auth, session, people, conditional) -> None:
    late = service.apply(
        session,
        conditional.id,
        actor=people.clerk_county,
        received_at=dt.datetime(2024, 9, 27, 10, tzinfo=BEIJING),
        **APPLICATION,
    )
    app = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    r = client.post(
        f"/api/v1/sharing/applications/{app.id}/refer",
        json={"note": "涉及敏感字段，不能确定"},
        headers=auth(people.clerk_prov),
    )
    assert r.status_code == 200 and r.json()["referred_region_code"] == "360000"
    authority = auth(people.reviewer_prov)
    assert [a["id"] for a in client.get("/api/v1/sharing/referred", headers=authority).json()] == [
        app.id
    ]
    r = client.post(
        f"/api/v1/sharing/applications/{app.id}/decide",
        json={"decision": "refuse", "reasons": "超出必要范围"},
        headers=authority,
    )
    assert r.status_code == 400 and "法律依据" in r.json()["message"]
    r = client.post(
        f"/api/v1/sharing/applications/{app.id}/decide",
        json={
            "decision": "refuse",
            "reasons": "超出必要范围",
            "legal_basis": "《个人信息保护法》第六条",
        },
        headers=authority,
    )
    assert r.json()["status"] == "refused" and r.json()["refusal_basis"].endswith("第六条")
    rows = client.get("/api/v1/sharing/overdue", headers=authority).json()
    (police,) = [row for row in rows if row["agency"] == "江西省公安厅"]
    assert (
        police["overdue"] == 1
        and police["overdue_ids"] == [late.id]
        and police["tier"] == "province"
    )


def test_error_report_and_effect_over_the_api(client, auth, session, people, conditional) -> None:
    app = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    service.approve(session, app.id, actor=people.clerk_prov, conditions="仅限核验")
    consumer, provider = auth(people.clerk_county), auth(people.clerk_prov)
    found = (dt.datetime.now(dt.UTC) - timedelta(hours=1)).isoformat()
    r = client.post(
        "/api/v1/sharing/error-reports",
        json={
            "entry_id": conditional.id,
            "field": "姓名",
            "row_description": "第 3 行",
            "description": "姓名含错别字",
            "found_at": found,
        },
        headers=consumer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["late"] in (False, None) and r.json()["status"] == "open"
    assert r.json()["late"] is False or r.json()["report_due"] is None
    (queued,) = client.get("/api/v1/sharing/error-reports/queue", headers=provider).json()
    r = client.post(
        f"/api/v1/sharing/error-reports/{queued['id']}/answer",
        json={"status": "not_error", "answer": "经核对户籍档案，姓名无误"},
        headers=provider,
    )
    assert r.json()["status"] == "not_error"
    assert client.get("/api/v1/sharing/error-reports", headers=consumer).json()[0]["answer"]
    r = client.post(
        f"/api/v1/sharing/applications/{app.id}/effects",
        json={"text": "核验 300 件", "metrics": {"核验件数": 300}},
        headers=consumer,
    )
    assert r.status_code == 201 and r.json()["metrics"] == {"核验件数": 300}
