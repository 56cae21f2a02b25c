"""Erasure is real (issue 16 item 7; PIP-4, PIP-6): after a deletion is handled and its
job has run, the person's ID number and name are in no file under the data directory
(plain bytes, Parquet cells, sealed files decrypted) and no reader of any version,
old or new, returns their rows; a version under a legal hold keeps them but the door
never serves them; a rewrite that dies leaves the old files or the new ones, whole."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import time
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from gongshu import storage
from gongshu.capability import installed
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress import service as egress
from gongshu.egress.errors import GrantInactive
from gongshu.jobs import Worker
from gongshu.jobs.models import Job
from gongshu.ledger import entries
from gongshu.privacy import erasure, service
from gongshu.privacy.errors import NotHandler
from gongshu.storage import rewrite
from gongshu.timeutil import BEIJING
from tests.privacy.conftest import IDS, ME, MOBILES, SECRET, code_for

MY_NAME = "欧阳娜娜"  # nobody else has it
OTHERS = ["张伟", "王芳", "李娜", "刘洋", "陈静"] * 4


def _csv(tmp_path: Path, name: str, rows: list[tuple[str, str, str, str]]) -> Path:
    src = tmp_path / "src" / name
    src.parent.mkdir(exist_ok=True)
    lines = ["姓名,公民身份号码,联系电话,出生日期"] + [",".join(r) for r in rows]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def _row(i: int, birth: str = "1980-01-01") -> tuple[str, str, str, str]:
    return (MY_NAME if IDS[i] == ME else OTHERS[i], IDS[i], MOBILES[i], birth)


@pytest.fixture
def history(session, people, settings, tmp_path):  # noqa: ANN001, ANN201
    """Three versions of one entry holding the citizen, and a quarantine (v2) holding a
    second row of theirs whose date was refused."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0401",
            "name": "困难群众救助名单",
            "summary": "救助名单",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "联系电话"},
                {"name": "出生日期", "type": "date"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    loads = [
        [_row(i) for i in range(12)],
        [_row(i) for i in range(16)]
        + [(MY_NAME, ME, MOBILES[3], "不详"), ("赵六", f"{ME}（重复）", MOBILES[5], "1990-01-01")],
        [_row(i) for i in range(2, 20)],
    ]
    for n, rows in enumerate(loads, 1):
        src = _csv(tmp_path, f"v{n}.csv", rows)
        datasets.load(
            session, entry.id, src, actor=people.clerk_county, datasets_dir=settings.datasets_dir
        )
        src.unlink()  # the upload is not part of the data directory
    versions = list(reversed(storage.versions_of(session, entry.id)))
    assert [v.version_no for v in versions] == [1, 2, 3]
    assert versions[1].quarantine_path and not versions[0].quarantine_path
    session.commit()
    return entry


def _delete(session, people, citizen, settings, entry):  # noqa: ANN001, ANN201
    req = service.file_request(
        session,
        user=citizen,
        kind="delete",
        id_number=ME,
        secret=SECRET,
        datasets_dir=settings.datasets_dir,
        code=code_for(session, citizen),
    )
    (match,) = [m for m in service.matches(session, req) if m.entry_id == entry.id]
    service.handle(
        session,
        match.id,
        actor=people.clerk_county,
        action="delete",
        secret=SECRET,
        datasets_dir=settings.datasets_dir,
    )
    session.commit()
    return req


def _run_jobs(session, session_factory, settings) -> int:  # noqa: ANN001
    """Run the queued erasure jobs with a real worker of the instance (its settings
    give the datasets directory and the secret); returns how many ran."""
    installed().load_job_handlers()  # as `gongshu worker` does (Capability.jobs)
    worker = Worker(session_factory, worker_id="w", kinds=[erasure.ERASURE_JOB], settings=settings)
    ran = 0
    while worker.run_once():
        ran += 1
    session.expire_all()
    failed = session.scalars(select(Job).where(Job.status == "failed")).all()
    assert not failed, [j.error for j in failed]
    return ran


def _cells(table) -> set[str]:  # noqa: ANN001
    return {str(v) for col in table.columns for v in col.to_pylist() if v is not None}


def _mine(cells: set[str]) -> bool:
    return any(ME in c or MY_NAME in c for c in cells)


def _secrets_in_files(settings, work_dir: Path) -> list[str]:  # noqa: ANN001
    """Every file under the data directory (stored versions, quarantines, scratch,
    keys) and the export work directory that holds the ID number or the name: in its
    bytes, in its Parquet cells, or in its sealed content once decrypted."""
    needles = (ME.encode(), MY_NAME.encode("utf-8"))
    hits = []
    for root in (settings.data_dir, work_dir):
        for path in Path(root).rglob("*"):
            if not path.is_file():
                continue
            data = path.read_bytes()
            if any(n in data for n in needles):
                hits.append(f"{path} (bytes)")
                continue
            cells: set[str] = set()
            if path.suffix == ".parquet":
                cells = _cells(pq.read_table(path))
            elif path.suffix == ".sealed":
                rel = path.relative_to(settings.datasets_dir).as_posix()
                cells = _cells(storage.open_file(settings.datasets_dir, rel))
            if _mine(cells):
                hits.append(f"{path} (content)")
    return hits


def _deliver(session, grant, user, settings, work_dir) -> list[dict]:  # noqa: ANN001
    out = egress.deliver(
        session,
        grant.id,
        actor=user,
        fmt="json",
        datasets_dir=settings.datasets_dir,
        work_dir=work_dir,
        secret=SECRET,
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    out.discard()
    return [dict(zip(doc["columns"], row, strict=True)) for row in doc["rows"]]


def _readers_return_me(session, people, settings, version) -> list[str]:  # noqa: ANN001
    """Which in-platform readers return the person from ``version``."""
    d, found = settings.datasets_dir, []
    if _mine(_cells(storage.read_table(d, version))):
        found.append("read_table")
    streamed = set()
    for batch in storage.stream(d, version, rows_per_batch=4).batches:
        streamed |= {str(v) for col in batch.columns for v in col.to_pylist() if v is not None}
    if _mine(streamed):
        found.append("stream")
    con = duckdb.connect()
    try:
        source = storage.relation(con, d, version, row_numbers=True)
        n = con.execute(
            f'SELECT count(*) FROM {source} WHERE "公民身份号码" = ? OR "姓名" = ?', [ME, MY_NAME]
        ).fetchone()[0]
    finally:
        con.close()
    if n:
        found.append("relation")
    if version.quarantine_path and _mine(_cells(storage.open_file(d, version.quarantine_path))):
        found.append("open_file(quarantine)")
    _, rows = datasets.preview(
        session, version.id, actor=people.clerk_county, datasets_dir=d, limit=1000
    )
    if _mine({str(v) for r in rows for v in r}):
        found.append("preview")
    if ME in json.dumps(version.report, ensure_ascii=False):
        found.append("report")
    return found


def test_erased_person_is_in_no_file_and_no_reader(
    session, session_factory, people, citizen, settings, history, tmp_path
) -> None:
    work_dir = tmp_path / "out"
    before = {
        v.version_no: (v.id, v.sha256, v.rows) for v in storage.versions_of(session, history.id)
    }
    assert _secrets_in_files(settings, work_dir), "the check finds the person before"
    assert all(
        _readers_return_me(session, people, settings, v)
        for v in storage.versions_of(session, history.id)
    )
    pinned = {
        no: egress.create_grant(
            session,
            history,
            recipient_org_id=people.org["police"].id,
            purpose="核查",
            source="sharing",
            actor=people.admin,
            dataset_version_id=vid,
        )
        for no, (vid, _, _) in before.items()
    }

    # a quality report of v1 shows masked example rows, the person's (row 3) among them
    from gongshu.quality.models import QualityReport

    report = QualityReport(
        entry_id=history.id,
        dataset_version_id=before[1][0],
        version_no=1,
        rules_version=1,
        rows=12,
        results=[{"id": "r1", "examples": [{"row": 3, "姓名": "欧**"}, {"row": 5, "姓名": "刘*"}]}],
        scores={},
        overall=90.0,
    )
    session.add(report)
    session.commit()

    req = _delete(session, people, citizen, settings, history)
    (job_erasure,) = erasure.of_request(session, req.id)
    assert job_erasure.status == "queued" and job_erasure.lookup_enc
    job = session.scalar(select(Job).where(Job.kind == erasure.ERASURE_JOB))
    assert job.payload == {"erasure": job_erasure.id}  # an id: no path, no ID number

    assert _run_jobs(session, session_factory, settings) == 1
    session.refresh(job_erasure)
    assert job_erasure.status == "done" and job_erasure.lookup_enc is None
    assert job_erasure.completed_at is not None and not job_erasure.held
    assert job_erasure.completed_at <= job_erasure.due_at  # PIP-4: within 15 days
    (done,) = [e for e in entries(session) if e.action == "privacy.erasure_done"]
    assert done.payload["on_time"] is True and done.payload["reports_scrubbed"] == [2]
    assert done.payload["quality_examples_removed"] == 1
    session.refresh(report)
    assert report.results[0]["examples"] == [{"row": 4, "姓名": "刘*"}]  # renumbered

    assert _secrets_in_files(settings, work_dir) == []
    versions = storage.versions_of(session, history.id)
    assert [v.version_no for v in versions] == [4, 3, 2, 1]
    for v in versions:
        assert _readers_return_me(session, people, settings, v) == [], v.version_no
        # the rewritten version keeps its identity; its row says what its file is
        if v.version_no in before:
            vid, old_sha, old_rows = before[v.version_no]
            assert v.id == vid and v.sha256 != old_sha and v.rows == old_rows - 1
        plain = settings.datasets_dir / v.path
        assert hashlib.sha256(plain.read_bytes()).hexdigest() == v.sha256
        assert rewrite.verify(session, settings.datasets_dir, v) == []  # on record, not tampering
        assert len(rewrite.trail(session, v)) == (v.version_no in before)
        assert v.rows == pq.ParquetFile(plain).metadata.num_rows
    # v2 also lost the quarantined row; its other 16 rows remain
    assert storage.versions_of(session, history.id)[2].rows == 15
    rewrites = [
        e.payload
        for e in entries(session)
        if e.action == rewrite.REWRITTEN and e.subject == f"entry:{history.id}"
    ]
    assert {(p["version_no"], p["file"]) for p in rewrites} == {
        (1, "version"),
        (2, "version"),
        (2, "quarantine"),
        (3, "version"),
    }
    assert all(p["ref"] == f"erasure:{job_erasure.id}" for p in rewrites)
    assert all(p["old_sha256"] != p["new_sha256"] for p in rewrites if p["file"] == "version")

    # the door: grants pinned to each version and one to the latest
    latest = egress.create_grant(
        session,
        history,
        recipient_org_id=people.org["police"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
    )
    for grant in [*pinned.values(), latest]:
        rows = _deliver(session, grant, people.clerk_prov, settings, work_dir)
        assert rows and ME not in {r["公民身份号码"] for r in rows}
        assert MY_NAME not in {r["姓名"] for r in rows}
    assert _secrets_in_files(settings, work_dir) == []
    assert storage.sweep_orphans(session, settings.datasets_dir) == 0  # nothing left over
    # a file changed behind the ledger's back does not verify
    v1 = storage.versions_of(session, history.id)[-1]
    (settings.datasets_dir / v1.path).write_bytes(b"tampered")
    assert "the stored file's hash" in rewrite.verify(session, settings.datasets_dir, v1)[0]


def test_a_legal_hold_keeps_one_version_the_door_still_filters_it(
    session, session_factory, people, citizen, settings, history, tmp_path
) -> None:
    v1 = storage.versions_of(session, history.id)[-1]
    until = dt.datetime(2099, 6, 30, 17, 0)  # typed by a person: Beijing time
    with pytest.raises(NotHandler):
        erasure.place_hold(
            session,
            v1.id,
            actor=people.clerk_county,
            reason="自留",
            case_reference="无",
            expires_at=until,
        )
    hold = erasure.place_hold(
        session,
        v1.id,
        actor=people.reviewer_city,  # the city's data authority covers the county
        reason="涉嫌骗取救助金案件调查，须保存原始名单",
        case_reference="（2026）赣0102刑初123号",
        expires_at=until,
    )
    assert hold.expires_at.astimezone(BEIJING).hour == 17
    assert any(e.action == "privacy.legal_hold_placed" for e in entries(session))
    session.commit()

    req = _delete(session, people, citizen, settings, history)
    assert "法律保全" in req.answer and "（2026）赣0102刑初123号" in req.answer
    assert "2099年06月30日" in req.answer
    assert _run_jobs(session, session_factory, settings) == 1
    (done,) = erasure.of_request(session, req.id)
    assert done.status == "held" and [h["version_no"] for h in done.held] == [1]
    assert done.lookup_enc, "kept (sealed) to finish when the hold ends"

    versions = {v.version_no: v for v in storage.versions_of(session, history.id)}
    assert _readers_return_me(session, people, settings, versions[1]) == [
        "read_table",
        "stream",
        "relation",
        "preview",
    ]
    for no in (2, 3, 4):
        assert _readers_return_me(session, people, settings, versions[no]) == []
    pinned = egress.create_grant(
        session,
        history,
        recipient_org_id=people.org["police"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
        dataset_version_id=versions[1].id,
    )
    rows = _deliver(session, pinned, people.clerk_prov, settings, tmp_path / "out")
    assert rows and ME not in {r["公民身份号码"] for r in rows}

    # the hold ends: the deferred version is rewritten at once
    erasure.release_hold(session, hold.id, actor=people.admin)
    session.commit()
    assert _run_jobs(session, session_factory, settings) == 1
    session.refresh(done)
    assert done.status == "done" and done.lookup_enc is None and not done.held
    session.refresh(req)
    assert "第 1 版数据的法律保全已结束，已于" in req.answer
    assert _secrets_in_files(settings, tmp_path / "out") == []
    assert _readers_return_me(session, people, settings, versions[1]) == []


def test_a_rewrite_that_dies_leaves_the_old_files_whole(
    session, people, settings, history, monkeypatch
) -> None:
    monkeypatch.setattr(rewrite, "BATCH_ROWS", 3)
    d = settings.datasets_dir
    version = storage.versions_of(session, history.id)[-1]
    files = {version.path: (d / version.path).read_bytes()}
    files[version.sealed["path"]] = (d / version.sealed["path"]).read_bytes()
    stored_before = sorted(p.name for p in (d / f"entry-{history.id}").iterdir())

    def dies(batch, mask):  # noqa: ANN001, ANN202
        if batch.num_rows and dies.calls:
            raise OSError("disk gone")
        dies.calls += 1
        return batch.filter(mask)

    dies.calls = 0
    with pytest.raises(OSError):
        rewrite.rewrite_version(
            session, d, version, dies, rows=[3], by="system:erasure", reason="t", ref="t"
        )
    session.rollback()
    session.refresh(version)
    assert {version.path, version.sealed["path"]} == set(files)
    assert all((d / rel).read_bytes() == data for rel, data in files.items())
    assert sorted(p.name for p in (d / f"entry-{history.id}").iterdir()) == stored_before
    scratch = d.parent / "tmp"
    left = [p for p in scratch.rglob("*") if p.is_file() and "placed" not in p.parts]
    assert [p for p in left if not p.name.endswith(".lock")] == []

    # Killed after the commit, before the old files were unlinked: the row names the
    # new files whole, and the start-up sweep removes the old ones.
    rewrite.rewrite_version(
        session,
        d,
        version,
        lambda batch, mask: batch,
        rows=[3],
        by="system:erasure",
        reason="t",
        ref="t",
    )
    session.info.pop(rewrite._DOOMED)  # noqa: SLF001 - the process dies before unlinking
    session.commit()
    assert all((d / rel).exists() for rel in files)
    assert storage.sweep_orphans(session, d) == 2
    assert not any((d / rel).exists() for rel in files)
    assert storage.read_table(d, version).num_rows == version.rows


@pytest.mark.parametrize("kill_at", ["writing", "placed"])
def test_a_killed_rewrite_leaves_the_old_files_and_the_sweep_the_rest(
    session, people, settings, history, monkeypatch, kill_at
) -> None:
    """SIGKILL in a forked process half-way through writing, or after the new files
    were renamed into place but before the row changed: the row still names the old
    files, which are whole, and the start-up sweep removes what the dead process left."""
    monkeypatch.setattr(rewrite, "BATCH_ROWS", 3)
    d = settings.datasets_dir
    version = storage.versions_of(session, history.id)[-1]
    files = {rel: (d / rel).read_bytes() for rel in (version.path, version.sealed["path"])}
    listing = sorted(p.name for p in (d / f"entry-{history.id}").iterdir())

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def change(batch, mask):  # noqa: ANN001, ANN202
        if kill_at == "writing" and change.calls:
            die()
        change.calls += 1
        return batch.filter(pc.invert(mask))

    change.calls = 0
    pid = os.fork()
    if pid == 0:  # the child never touches the database: it dies first
        try:
            if kill_at == "placed":
                session.flush = die  # the new files are in place; the row is next
            rewrite.rewrite_version(
                session, d, version, change, rows=[3], by="system:erasure", reason="t", ref="t"
            )
        finally:
            os._exit(3)  # not reached
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:  # a child stuck after fork must not hang the suite
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked rewrite did not reach its kill point")
        time.sleep(0.02)
    status = done[1]
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    left = sorted(p.name for p in (d / f"entry-{history.id}").iterdir())
    if kill_at == "placed":
        assert len(left) == len(listing) + 2, "the new files were in place"
    scratch = d.parent / "tmp"
    if kill_at == "writing":
        assert [p for p in scratch.glob("*/*") if p.is_file()], "a half-written file in scratch"
    session.refresh(version)
    assert {version.path, version.sealed["path"]} == set(files)
    assert all((d / rel).read_bytes() == data for rel, data in files.items())
    storage.sweep_orphans(session, d)
    assert sorted(p.name for p in (d / f"entry-{history.id}").iterdir()) == listing
    assert [p for p in scratch.glob("*/*") if p.is_file()] == []  # no copy in scratch
    assert ME in storage.read_table(d, version).column("公民身份号码").to_pylist()


def test_rows_left_only_in_older_versions_are_found_and_erased(
    session, session_factory, people, citizen, settings, history, tmp_path
) -> None:
    """The latest version no longer holds the person, an older one is not classified:
    the deletion still finds them and the job still takes them out."""
    src = _csv(tmp_path, "v4.csv", [_row(i) for i in range(4, 20)])
    datasets.load(
        session, history.id, src, actor=people.clerk_county, datasets_dir=settings.datasets_dir
    )
    src.unlink()
    versions = {v.version_no: v for v in storage.versions_of(session, history.id)}
    versions[1].column_tags = None  # loaded before discovery existed
    row_grant = egress.create_grant(
        session,
        history,
        recipient_org_id=people.org["police"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
        dataset_version_id=versions[3].id,
        row_filter=[{"op": "rows", "value": [5, 6]}],
    )
    session.commit()

    req = _delete(session, people, citizen, settings, history)
    (match,) = service.matches(session, req)
    assert match.dataset_version_id == versions[3].id and match.outcome == "deleted"
    assert match.new_version_id is None  # the latest version had nothing to remove
    assert storage.newest(session, history.id).id == versions[4].id
    assert _run_jobs(session, session_factory, settings) == 1
    assert _secrets_in_files(settings, tmp_path / "out") == []
    for v in storage.versions_of(session, history.id):
        assert _readers_return_me(session, people, settings, v) == [], v.version_no
    # positions in v3 moved: the grant naming rows by position stops
    with pytest.raises(GrantInactive):
        _deliver(session, row_grant, people.clerk_prov, settings, tmp_path / "out")


def test_legal_holds_over_the_api_only_by_the_authority_over_the_provider(
    client, session, people, history
) -> None:
    from gongshu.accounts import service as accounts

    accounts.add_region(session, "360200", "景德镇市", parent="360000")
    other = accounts.add_organization(
        session, "景德镇市数据局", kind="data_authority", region_code="360200"
    )
    outsider = accounts.create_user(
        session, "reviewer_jdz", "correct-horse-9", org=other, roles=["reviewer"]
    )

    def bearer(user) -> dict:  # noqa: ANN001
        plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=dt.timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {plaintext}"}

    v1 = storage.versions_of(session, history.id)[-1]
    body = {
        "dataset_version_id": v1.id,
        "reason": "涉嫌骗取救助金案件调查",
        "case_reference": "（2026）赣0102刑初123号",
        "expires_at": "2099-06-30T17:00:00",
    }
    assert (
        client.post(
            "/api/v1/privacy/holds", json=body, headers=bearer(people.clerk_county)
        ).status_code
        == 403
    )
    r = client.post("/api/v1/privacy/holds", json=body, headers=bearer(outsider))
    assert r.status_code == 403 and "无权为东湖区" in r.json()["message"], r.text
    r = client.post(
        "/api/v1/privacy/holds",
        json={**body, "case_reference": " "},
        headers=bearer(people.reviewer_county),
    )
    assert r.status_code == 400 and "案号" in r.json()["message"]
    r = client.post("/api/v1/privacy/holds", json=body, headers=bearer(people.reviewer_county))
    assert r.status_code == 201, r.text
    hold = r.json()
    assert dt.datetime.fromisoformat(hold["expires_at"]).astimezone(BEIJING).hour == 17
    assert erasure.active_hold(session, v1.id).id == hold["id"]
    r = client.post(f"/api/v1/privacy/holds/{hold['id']}/release", headers=bearer(people.admin))
    assert r.status_code == 200 and r.json()["released_at"]
    assert erasure.active_hold(session, v1.id) is None


def test_a_hold_placed_before_the_job_runs_is_kept_and_told(
    session, session_factory, people, citizen, settings, history
) -> None:
    req = _delete(session, people, citizen, settings, history)
    assert req.status == "answered" and "法律保全" not in req.answer
    v2 = storage.versions_of(session, history.id)[-2]
    erasure.place_hold(
        session,
        v2.id,
        actor=people.admin,
        reason="行政复议案件证据",
        case_reference="赣民复〔2026〕7号",
        expires_at=dt.datetime(2099, 1, 1, tzinfo=BEIJING),
    )
    session.commit()
    assert _run_jobs(session, session_factory, settings) == 1
    session.refresh(req)
    assert "第 2 版数据因法律保全（案号：赣民复〔2026〕7号）暂缓删除" in req.answer
    assert "open_file(quarantine)" in _readers_return_me(session, people, settings, v2)
    v1 = storage.versions_of(session, history.id)[-1]
    assert _readers_return_me(session, people, settings, v1) == []
    assert any(e.action == "rights.answer_amended" for e in entries(session))
