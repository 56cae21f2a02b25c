"""The egress door (DESIGN.md mechanism 1): grant checks, masking, recording."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress import masking, service
from gongshu.egress.errors import GrantInactive, NotClassified, NotGrantable, NotRecipient
from gongshu.egress.policies import get_policy, plan
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.timeutil import utcnow

SECRET = "egress-test-secret"


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


IDS = [rid(f"36010219800101{i:03d}") for i in range(1, 41)]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"] * 5
MOBILES = [f"1381234{i:04d}" for i in range(40)]


@pytest.fixture
def shared_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0301",
            "name": "低保对象名单",
            "summary": "低保对象",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "联系电话"},
                {"name": "街道"},
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
    csv = tmp_path / "in.csv"
    lines = ["姓名,公民身份号码,联系电话,街道"] + [
        f"{n},{i},{m},{'八一' if k % 2 else '豫章'}街道"
        for k, (n, i, m) in enumerate(zip(NAMES, IDS, MOBILES, strict=True))
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        csv,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


def deliver(session, grant, user, tmp_path, fmt="json", **kw):  # noqa: ANN001, ANN003, ANN201
    return service.deliver(
        session,
        grant.id,
        actor=user,
        fmt=fmt,
        datasets_dir=tmp_path / "var" / "datasets",
        work_dir=tmp_path / "out",
        secret=SECRET,
        **kw,
    )


def read_json(out: service.DeliveryFile) -> dict:
    return json.loads(out.read_text(encoding="utf-8"))


def test_unconditional_share_is_masked_by_policy_and_recorded(
    session, people, shared_entry, tmp_path
) -> None:
    grant = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="户籍与低保交叉核验"
    )
    out = deliver(session, grant, people.clerk_prov, tmp_path)
    data = read_json(out)
    assert data["columns"] == ["姓名", "公民身份号码", "联系电话", "街道"]
    assert len(data["rows"]) == 40 == out.delivery.rows
    row = data["rows"][0]
    assert row[0] == "张伟"  # names pass under unconditional sharing
    assert row[1] != IDS[0] and len(row[1]) == 16  # identity numbers become pseudonyms
    assert row[2].startswith("138") and "*" in row[2]  # mobiles partially masked
    # The same person gets the same pseudonym in every delivery to this recipient.
    again = read_json(deliver(session, grant, people.clerk_prov, tmp_path))
    assert again["rows"][0][1] == row[1]

    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    logged = [
        e
        for e in entries(session, action_prefix="egress.", limit=10)
        if e.payload["delivery"] == out.delivery.token
    ]
    assert logged and logged[0].payload["sha256"] == digest
    assert logged[0].payload["recipient"] == f"org:{people.clerk_prov.org_id}"
    assert logged[0].payload["rows"] == 40 and logged[0].payload["purpose"] == "户籍与低保交叉核验"


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_an_in_memory_delivery_never_lies_on_disk(
    session, people, shared_entry, tmp_path, fmt
) -> None:
    grant = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
    )
    page = deliver(session, grant, people.clerk_prov, tmp_path, fmt=fmt, in_memory=True)
    assert page.file is None and not (tmp_path / "out").exists()
    assert hashlib.sha256(page.content).hexdigest() == page.delivery.sha256
    on_disk = deliver(session, grant, people.clerk_prov, tmp_path, fmt=fmt)
    assert page.delivery.rows == on_disk.delivery.rows == 40
    if fmt == "json":  # the same rows and masks; only the watermark differs by delivery
        mem, disk = json.loads(page.content), read_json(on_disk)
        assert mem["columns"] == disk["columns"] and len(mem["rows"]) == len(disk["rows"])
        assert [r[1] for r in mem["rows"]] == [r[1] for r in disk["rows"]]  # pseudonyms
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(page.content)).num_rows == 40


def test_columns_rows_and_formats_follow_the_grant(session, people, shared_entry, tmp_path) -> None:
    grant = service.create_grant(
        session,
        shared_entry,
        recipient_org_id=people.clerk_prov.org_id,
        purpose="核验",
        source="sharing",
        actor=people.admin,
        columns=["姓名", "街道"],
        row_filter=[{"column": "街道", "op": "=", "value": "八一街道"}],
    )
    out = deliver(session, grant, people.clerk_prov, tmp_path, fmt="parquet")
    table = pq.read_table(out.open())
    assert table.column_names == ["姓名", "街道"] and table.num_rows == 20
    assert set(table.column("街道").to_pylist()) == {"八一街道"}
    page = read_json(deliver(session, grant, people.clerk_prov, tmp_path, offset=5, limit=10))
    assert len(page["rows"]) == 10
    csv = deliver(session, grant, people.clerk_prov, tmp_path, fmt="csv").read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and "八一街道".encode() in csv


def test_expired_revoked_and_foreign_grants_stop_at_once(
    session, people, shared_entry, tmp_path
) -> None:
    grant = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
    )
    with pytest.raises(NotRecipient):
        deliver(session, grant, people.auditor, tmp_path)
    grant.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(GrantInactive, match="授权已过期"):
        deliver(session, grant, people.clerk_prov, tmp_path)
    grant.expires_at = utcnow() + timedelta(days=1)
    service.revoke_grant(session, grant.id, actor=people.clerk_county, reason="场景已结束")
    with pytest.raises(GrantInactive, match="授权已被撤销"):
        deliver(session, grant, people.clerk_prov, tmp_path)
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_no_share_and_conditional_entries_cannot_be_taken(session, people, shared_entry) -> None:
    catalog.update(
        session,
        shared_entry.id,
        {"sharing_attr": "none", "no_share_basis": "《个人信息保护法》第二十八条"},
        actor=people.clerk_county,
    )
    shared_entry.published_version = shared_entry.version_no  # keep it published for the check
    with pytest.raises(NotGrantable, match="不是无条件共享"):
        service.take_unconditional(session, shared_entry.id, actor=people.clerk_prov, scenario="x")
    with pytest.raises(NotGrantable, match="第二十八条"):
        service.create_grant(
            session,
            shared_entry,
            recipient_org_id=people.clerk_prov.org_id,
            purpose="x",
            source="sharing",
            actor=people.admin,
        )


def test_policies_fail_closed_and_unclassified_versions_stay_in(
    session, people, shared_entry, tmp_path
) -> None:
    actions = plan(
        ["a", "b", "c"],
        {"a": ["CN_MOBILE"], "b": ["SOMETHING_NEW"]},
        {"CN_MOBILE": {"op": "partial"}},
    )
    assert [(a.rule["op"], a.fail_closed) for a in actions] == [
        ("partial", False),
        ("replace", True),
        ("keep", False),
    ]
    # An administrator weakens nothing by forgetting a code: the column is still masked.
    get_policy(session, "share-unconditional").rules = {"PERSON_NAME": {"op": "keep"}}
    grant = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
    )
    row = read_json(deliver(session, grant, people.clerk_prov, tmp_path))["rows"][0]
    assert row[1] == "***" and row[2] == "***"

    version = storage.versions_of(session, shared_entry.id)[0]
    version.column_tags = None
    with pytest.raises(NotClassified):
        deliver(session, grant, people.clerk_prov, tmp_path)


def test_defaults_follow_the_grade(session, people, shared_entry) -> None:
    from gongshu.egress.policies import default_policy

    assert default_policy("sharing", "conditional", "一般数据-2级") == "share-conditional"
    assert default_policy("sharing", "conditional", "一般数据-4级") == "share-conditional-high"
    assert default_policy("sharing", "conditional", "重要数据") == "share-conditional-high"
    assert default_policy("open", "none", "一般数据-1级") == "open"
    with pytest.raises(NotGrantable, match="核心数据没有默认脱敏策略"):
        default_policy("sharing", "conditional", "核心数据")
    shared_entry.security_grade = "核心数据"
    with pytest.raises(NotGrantable, match="核心数据没有默认脱敏策略"):
        service.take_unconditional(
            session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
        )


def test_masking_once_per_distinct_value_equals_masking_every_cell() -> None:
    """The door masks each distinct value of a batch once; recipients must see the same
    masked values as the per-cell operators give (SEC-3), nulls included."""
    import pyarrow as pa

    from gongshu.egress.policies import DEFAULT_POLICIES, apply_actions

    n = 400
    batch = pa.RecordBatch.from_pydict(
        {
            "name": [None if i % 7 == 0 else NAMES[i % 40] for i in range(n)],
            "sfzh": [IDS[i % 40] for i in range(n)],
            "mobile": [f"138{i:08d}" for i in range(n)],  # all distinct: masked per cell
            "addr": [["江西省南昌市东湖区八一大道1号", None][i % 2] for i in range(n)],
        }
    )
    tags = {
        "name": ["PERSON_NAME"],
        "sfzh": ["CN_RESIDENT_ID"],
        "mobile": ["CN_MOBILE"],
        "addr": ["ADDRESS"],
    }
    for policy in ("open", "share-unconditional"):
        actions = plan(batch.schema.names, tags, DEFAULT_POLICIES[policy][1])
        key = b"k" * 32
        fast = masking.decoded(masking.mask(batch, actions, key, "org-9"))
        slow = apply_actions(batch, actions, pseudonym_key=key, pseudonym_purpose="org-9")
        assert fast.equals(slow), policy
        assert fast.column("sfzh")[0].as_py() != IDS[0]


def test_call_filters_search_and_order_apply_before_the_page_and_only_in_the_clear(
    session, people, shared_entry, tmp_path
) -> None:
    """Per-call filters are ANDed with the grant's row filter over the whole view, counted
    for ``total``; a masked column cannot be filtered, searched or sorted on (SHR-5)."""
    from gongshu.egress.errors import BadRowFilter

    grant = service.create_grant(
        session,
        shared_entry,
        recipient_org_id=people.clerk_prov.org_id,
        purpose="核验",
        source="sharing",
        actor=people.admin,
        policy="open",  # names, IDs and mobiles masked; the street in the clear
        row_filter=[{"column": "街道", "op": "!=", "value": "无"}],
    )
    user = people.clerk_prov
    out = deliver(
        session,
        grant,
        user,
        tmp_path,
        filters=[{"column": "街道", "op": "=", "value": "八一街道"}],
        order_by=[("_id", True)],
        row_ids=True,
        count=True,
        offset=2,
        limit=3,
    )
    data = read_json(out)
    assert out.total == 20 and data["columns"][0] == "_id"
    assert [r[0] for r in data["rows"]] == [36, 34, 32]  # 八一: 2, 4 .. 40
    found = deliver(session, grant, user, tmp_path, search="豫章", count=True, limit=1)
    assert found.total == 20
    assert deliver(session, grant, user, tmp_path, search="无此街道", count=True).total == 0
    logged = entries(session, action_prefix="egress.delivered", limit=1)[0]
    assert logged.payload["search"] == "无此街道"
    for probe in (
        {"filters": [{"column": "公民身份号码", "op": "=", "value": IDS[0]}]},
        {"order_by": [("联系电话", False)]},
    ):
        with pytest.raises(BadRowFilter):
            deliver(session, grant, user, tmp_path, **probe)
    # search looks only at the clear columns: a resident ID is not found through its mask
    assert deliver(session, grant, user, tmp_path, search=IDS[0], count=True).total == 0


def test_a_large_delivery_goes_to_the_cluster_only_when_spark_is_the_engine(
    session, people, shared_entry, tmp_path, monkeypatch
) -> None:
    """The selection alone (tests/spark/test_egress.py compares the bytes on a real
    cluster): the cluster's function is stood in for by the same work in process."""
    from gongshu.egress import cluster

    calls = []

    def stand_in(batches, protection, withheld_rows):  # noqa: ANN001, ANN202
        calls.append(protection)
        for batch in batches:
            out, held = protection(batch)
            yield out

    monkeypatch.setattr(cluster, "protected", stand_in)
    monkeypatch.setattr(service, "CLUSTER_ROWS", 40)
    grant = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="户籍与低保交叉核验"
    )
    monkeypatch.delenv("GONGSHU_ENGINE", raising=False)
    deliver(session, grant, people.clerk_prov, tmp_path, fmt="csv")
    assert not calls
    monkeypatch.setenv("GONGSHU_ENGINE", "spark")
    out = deliver(session, grant, people.clerk_prov, tmp_path, fmt="csv")
    assert len(calls) == 1 and out.delivery.rows == 40
    deliver(session, grant, people.clerk_prov, tmp_path, fmt="csv", limit=39)  # fewer rows
    deliver(session, grant, people.clerk_prov, tmp_path, fmt="json", in_memory=True)  # a page
    assert len(calls) == 1
