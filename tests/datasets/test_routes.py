"""Loading through the API and the upload page (AGG-1): reports by row, no leftovers."""

from __future__ import annotations

from datetime import timedelta

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.identifiers import id_check_char
from gongshu.storage import scratch

from .test_service import approved_entry  # noqa: TID252


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


def csv_bytes(*ids: str, encoding: str = "utf-8") -> bytes:
    lines = ["姓名,公民身份号码,认定日期"] + [f"某{i},{v},20240105" for i, v in enumerate(ids)]
    return ("\n".join(lines) + "\n").encode(encoding)


def test_api_upload_and_read_back(client, session, people, settings) -> None:
    entry = approved_entry(session, people)
    token, _ = accounts.issue_token(
        session, people.clerk_county, kind="api", ttl=timedelta(hours=1)
    )
    session.flush()
    auth = {"Authorization": f"Bearer {token}"}
    good = rid("36010219800101001")
    r = client.post(
        f"/api/v1/catalog/{entry.id}/datasets",
        headers=auth,
        files={"file": ("名单.csv", csv_bytes(good, good[:17] + "Z"), "text/csv")},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows"], body["rows_rejected"], body["version_no"]) == (1, 1, 1)
    assert body["report"]["bad_values"][0]["row"] == 3
    listed = client.get(f"/api/v1/catalog/{entry.id}/datasets", headers=auth).json()
    assert [v["id"] for v in listed] == [body["id"]]
    preview = client.get(f"/api/v1/datasets/{body['id']}/preview", headers=auth).json()
    assert preview["rows"][0][1] == good
    # Nothing left in the upload area (the process's scratch directory; issue 20).
    left = [p for p in scratch.area(settings.datasets_dir).rglob("*") if p.is_file()]
    assert [p for p in left if p.suffix != ".lock" and p.parent.name != "placed"] == []


def test_rejected_upload_answers_400_with_the_report(client, session, people, settings) -> None:
    entry = approved_entry(session, people, policy="reject")
    token, _ = accounts.issue_token(
        session, people.clerk_county, kind="api", ttl=timedelta(hours=1)
    )
    session.flush()
    good = rid("36010219800101001")
    r = client.post(
        f"/api/v1/catalog/{entry.id}/datasets",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("x.csv", csv_bytes(good, "123", encoding="gbk"), "text/csv")},
    )
    assert r.status_code == 400
    assert "第 3 行" in r.json()["message"]
    assert list(settings.datasets_dir.rglob("*.parquet")) == []


def test_upload_page_shows_the_report(client, login, session, people) -> None:
    entry = approved_entry(session, people)
    login("clerk_county")
    good = rid("36010219800101001")
    r = client.post(
        f"/catalog/{entry.id}/load",
        files={"file": ("低保.csv", csv_bytes(good, "36010219800101001X", good, encoding="gbk"))},
    )
    assert r.status_code == 200 and "第 3 行" in r.text and "加载报告" in r.text
    assert "第 1 版" in client.get(f"/catalog/{entry.id}").text
    r = client.post(f"/catalog/{entry.id}/load", files={"file": ("x.doc", b"junk")})
    assert r.status_code == 400 and "不支持的文件格式" in r.text
    assert catalog.get(session, entry.id).status == "approved"
