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


def test_a_refused_load_comes_back_beside_the_file_field(client, login, session, people) -> None:
    from gongshu.ledger.models import LedgerEntry
    from gongshu.storage.models import DatasetVersion

    entry = approved_entry(session, people)
    login("clerk_county")
    written = session.query(LedgerEntry).count()
    r = client.post(f"/catalog/{entry.id}/load", files={"file": ("说明.doc", b"junk")})
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="file-error">不支持的文件格式：.doc' in r.text and 'href="#file"' in r.text
    assert 'aria-describedby="file-hint file-error"' in r.text
    r = client.post(f"/catalog/{entry.id}/load", data={"note": ""})
    assert r.status_code == 400 and 'id="file-error">请选择要上传的数据文件' in r.text
    assert session.query(DatasetVersion).filter_by(entry_id=entry.id).count() == 0
    assert session.query(LedgerEntry).count() == written


def test_rejected_rows_download_and_live_job_status(
    client, login, session, session_factory, people, settings
) -> None:  # noqa: ANN001
    """Issue 17 item 8: the clerk downloads the set-aside rows to correct them (CSV and
    XLSX, own agency only); the version page polls its background jobs."""
    import io

    from openpyxl import load_workbook

    from gongshu.capabilities import load_job_handlers
    from gongshu.jobs import Worker

    entry = approved_entry(session, people)
    login("clerk_county")
    form = client.get(f"/catalog/{entry.id}/load")
    assert 'data-upload-progress="upload-progress"' in form.text and 'id="upload-bar"' in form.text
    good, bad = rid("36010219800101001"), "36010219800101001X"
    r = client.post(
        f"/catalog/{entry.id}/load",
        files={"file": ("低保.csv", csv_bytes(good, bad, good))},
        follow_redirects=False,
    )
    version_id = int(r.headers["location"].split("/")[2].split("?")[0])
    page = client.get(f"/datasets/{version_id}").text
    assert f'href="/datasets/{version_id}/rejected.xlsx"' in page
    assert f'data-poll="/datasets/{version_id}/jobs"' in page and "已完成 <span" in page
    status = client.get(f"/datasets/{version_id}/jobs").json()
    assert status["total"] == 2 and status["finished"] == 0 and not status["all_finished"]
    assert {j["label"] for j in status["jobs"]} == {"敏感数据全量识别", "数据质量报告"}
    assert {j["status_label"] for j in status["jobs"]} == {"排队中"}
    csv_file = client.get(f"/datasets/{version_id}/rejected.csv")
    assert csv_file.status_code == 200 and csv_file.content.startswith(b"\xef\xbb\xbf")
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "原文件行号,错误原因,姓名,公民身份号码,认定日期"
    assert len(lines) == 2 and lines[1].startswith("3,公民身份号码：") and bad in lines[1]
    xlsx = client.get(f"/datasets/{version_id}/rejected.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("原文件行号", "错误原因") and rows[1][3] == bad
    assert client.get(f"/datasets/{version_id}/rejected.txt").status_code == 404
    login("clerk_prov")  # another agency: not its data
    assert client.get(f"/datasets/{version_id}/rejected.csv").status_code == 403
    login("clerk_county")
    load_job_handlers()
    while Worker(session_factory, settings=settings).run_once():
        pass
    status = client.get(f"/datasets/{version_id}/jobs").json()
    assert status["all_finished"] and {j["status_label"] for j in status["jobs"]} == {"已完成"}
    page = client.get(f"/datasets/{version_id}").text
    assert "data-poll" not in page and "后台处理已结束" in page and "全量识别" in page
