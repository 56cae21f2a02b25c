"""A large delivery protected on the cluster is the in-process delivery, byte for byte
(issue 19 item 2): a sealed version of a few thousand residents (ID numbers, mobiles,
addresses) delivered to one recipient under one token gives the same file, the same
marks, whichever engine withheld, masked and marked its batches, and the ledger
records one delivery either way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress import gates, service
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.spark import tasks

SECRET = "spark-egress-secret"
ROWS = 3000
HELD = ROWS // 10  # the rows whose mobile ends in 3
STREETS = ["八一大道", "阳明路", "豫章路", "叠山路", "胜利路"]


def _rid(k: int) -> str:
    body = f"360102{1950 + k % 50}{1 + k % 12:02d}{1 + k % 28:02d}{k % 1000:03d}"
    return body + id_check_char(body)


@pytest.fixture
def sealed_entry(session, people, tmp_path: Path):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0401",
            "name": "城乡居民名单",
            "summary": "居民",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "联系电话"},
                {"name": "住址"},
                {"name": "补助金额"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴磊"]
    lines = ["姓名,公民身份号码,联系电话,住址,补助金额"] + [
        f"{names[k % 10]},{_rid(k)},1{38 + k % 3}{k:08d},"
        f"江西省南昌市东湖区{STREETS[k % 5]}{k % 300 + 1}号,{100 + k % 900}.{k % 100:02d}"
        for k in range(ROWS)
    ]
    csv = tmp_path / "residents.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        csv,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


@pytest.mark.parametrize(
    ("source", "fmt"),
    # sharing keeps the stored order; open data also marks the order of rows in blocks
    # of 8 and numbers them (the open API's row IDs)
    [("sharing", "csv"), ("sharing", "parquet"), ("open", "json")],
)
def test_a_sealed_delivery_protected_on_the_cluster_is_byte_equal(
    on_cluster,  # noqa: ANN001
    session,  # noqa: ANN001
    people,  # noqa: ANN001
    sealed_entry,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    fmt: str,
) -> None:
    version = storage.newest(session, sealed_entry.id)
    assert version.sealed and "公民身份号码" in version.sealed["columns"]
    recipient = people.clerk_prov if source == "sharing" else people.citizen
    if source == "sharing":
        grant = service.take_unconditional(
            session, sealed_entry.id, actor=recipient, scenario="居民补助核验"
        )
    else:
        grant = service.create_grant(
            session,
            sealed_entry,
            recipient_user=recipient,
            purpose="研究；场景：测试",
            source="open",
            policy="open",
            actor=recipient,
        )
    # small batches: a dozen slices over both workers, the last one short, in four jobs
    monkeypatch.setattr(service, "BATCH_ROWS", 248)
    monkeypatch.setattr(tasks, "ORDERED_WINDOW", 4)

    def withhold(request) -> list[gates.Withholding]:  # noqa: ANN001
        def keep(batch) -> list[bool]:  # noqa: ANN001 - pure per row, as the cross-border gate's
            return [not m.endswith("3") for m in batch.column("联系电话").to_pylist()]

        return [gates.Withholding(gate="test", reason="测试扣留", keep=keep)]

    # a gate withholding rows (mobiles ending in 3): decided on the executors too
    monkeypatch.setattr(gates, "withholdings", withhold)
    # one token for both: the recipient's marks are the same (a real token is random)
    monkeypatch.setattr(service.secrets, "token_hex", lambda n: "c1a55e7700000000")

    def deliver(on_cluster: bool) -> tuple[bytes, list]:
        nested = session.begin_nested()  # the token is unique: each delivery rolled back
        try:
            out = service.deliver(
                session,
                grant.id,
                actor=recipient,
                fmt=fmt,
                row_ids=source == "open",
                datasets_dir=tmp_path / "var" / "datasets",
                work_dir=tmp_path / "out",
                secret=SECRET,
                on_cluster=on_cluster,
            )
            data = out.read_bytes()
            out.discard()
            logged = [
                e
                for e in entries(session, action_prefix="egress.delivered", limit=10)
                if e.payload["delivery"] == out.delivery.token
            ]
            assert out.delivery.rows == ROWS - HELD and out.delivery.watermarked
            return data, logged
        finally:
            nested.rollback()

    here, here_logged = deliver(False)
    there, there_logged = deliver(True)
    assert len(here_logged) == 1 and len(there_logged) == 1
    assert there == here
    digest = hashlib.sha256(there).hexdigest()
    assert there_logged[0].payload["sha256"] == digest == here_logged[0].payload["sha256"]
    assert there_logged[0].payload["rows"] == ROWS - HELD
    held = [{"gate": "test", "reason": "测试扣留", "rows": HELD}]
    assert there_logged[0].payload["withheld"] == held == here_logged[0].payload["withheld"]
    # the ID numbers left as pseudonyms, the mobiles masked: nothing in the clear
    if fmt == "csv":
        text = there.decode("utf-8")
        assert _rid(7) not in text and "13800000007" not in text
