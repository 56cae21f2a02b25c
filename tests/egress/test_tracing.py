"""A leaked extract names its recipient; an innocent file names nobody (溯源)."""

from __future__ import annotations

import csv
import io

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress import service
from gongshu.egress.tracing import trace_leak
from gongshu.ledger import entries

from .test_service import SECRET, deliver, shared_entry  # noqa: F401, TID252


@pytest.fixture
def payments(session, people, tmp_path):  # noqa: ANN001, ANN201
    """Relief payments: amounts and timestamps give the watermark room."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0401",
            "name": "救助金发放记录",
            "summary": "发放明细",
            "fields": [
                {"name": "发放单号"},
                {"name": "金额", "type": "decimal"},
                {"name": "发放时间", "type": "datetime"},
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
    lines = ["发放单号,金额,发放时间,街道"] + [
        f"FF{100000 + i},{300 + (i * 37) % 900}.{(i * 13) % 90 + 11},"
        f"2024-03-{1 + i % 28:02d} {8 + i % 9:02d}:{i % 60:02d}:{(i * 7) % 60:02d},"
        f"{'八一' if i % 2 else '豫章'}街道"
        for i in range(400)
    ]
    src = tmp_path / "pay.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        src,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


def test_a_leaked_tenth_of_a_delivery_names_the_recipient(
    session, people, payments, tmp_path
) -> None:
    a = service.take_unconditional(session, payments.id, actor=people.clerk_prov, scenario="核验")
    b = service.create_grant(
        session,
        payments,
        recipient_user=people.auditor,
        purpose="审计抽查",
        source="sharing",
        actor=people.admin,
    )
    out_a = deliver(session, a, people.clerk_prov, tmp_path, fmt="csv")
    deliver(session, b, people.auditor, tmp_path, fmt="csv")
    rows = list(csv.reader(io.StringIO(out_a.read_text(encoding="utf-8-sig"))))
    leaked = tmp_path / "泄露.csv"
    leaked.write_text(
        "\n".join(",".join(r) for r in [rows[0], *rows[1:41]]) + "\n", encoding="utf-8"
    )
    verdict = trace_leak(session, leaked, secret=SECRET)
    assert verdict["attributed"], verdict
    assert verdict["delivery_id"] == out_a.delivery.token
    assert verdict["recipient"] == f"org:{people.clerk_prov.org_id}"
    assert verdict["recipient_name"] == "江西省公安厅"
    assert entries(session, action_prefix="egress.traced", limit=1)[0].payload["attributed"]


def test_an_unmarked_file_is_not_attributed(session, people, shared_entry, tmp_path) -> None:  # noqa: F811
    a = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
    )
    deliver(session, a, people.clerk_prov, tmp_path, fmt="csv")
    innocent = tmp_path / "无关.csv"
    innocent.write_text("姓名,联系电话\n张三,138****1234\n李四,139****5678\n", encoding="utf-8")
    assert trace_leak(session, innocent, secret=SECRET)["attributed"] is False


# ---- a real open delivery of the demo's company register (issue 16 item 9) ----

REGISTER_ROWS = 600


def _load_demo_entry(session, people, tmp_path, key: str):  # noqa: ANN001, ANN202
    """A demo entry (its first rows), loaded and opened as the demo loads it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gongshu.demo.province import build_province, entry_rows

    spec = build_province().entry(key)
    entry = catalog.create(
        session,
        {
            "resource_code": spec.resource_code,
            "name": spec.name,
            "summary": spec.summary,
            "fields": [{"name": f.name, "type": f.type, "kind": f.kind} for f in spec.fields],
            "update_frequency": spec.update_frequency,
            "security_grade": spec.security_grade,
            "sharing_attr": spec.sharing_attr,
            "opening_attr": spec.opening_attr,
            "sharing_conditions": spec.sharing_conditions,
            "opening_conditions": spec.opening_conditions,
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    src = tmp_path / f"{key}.parquet"
    pq.write_table(pa.Table.from_batches(list(entry_rows(spec, limit=REGISTER_ROWS))), src)
    datasets.load(
        session,
        entry.id,
        src,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


@pytest.fixture
def register(session, people, tmp_path):  # noqa: ANN001, ANN201
    """The demo's 企业登记信息 (first rows), loaded and opened as the demo loads it."""
    return _load_demo_entry(session, people, tmp_path, "qydj")


def _open_copies(session, people, entry, tmp_path):  # noqa: ANN001, ANN202
    """Two recipients' open deliveries (as the open API pages them: row IDs, open policy)."""
    import pyarrow.parquet as pq

    from gongshu.protect.watermark import Mark

    copies = []
    for user in (people.citizen, people.auditor):
        grant = service.create_grant(
            session,
            entry,
            recipient_user=user,
            purpose="研究；场景：测试",
            source="open",
            policy="open",
            actor=user,
        )
        out = deliver(session, grant, user, tmp_path, fmt="parquet", row_ids=True)
        mark = Mark(out.delivery.recipient, out.delivery.token, entry.id)
        copies.append((mark, pq.read_table(out.open())))
    return copies


@pytest.fixture
def open_copies(session, people, register, tmp_path):  # noqa: ANN001, ANN201
    return _open_copies(session, people, register, tmp_path)


def _trace(leak, copies, register, reference=None):  # noqa: ANN001, ANN202
    from gongshu.egress.marking import door_keys, unmarked_columns
    from gongshu.protect.watermark import Mark
    from gongshu.protect.watermark_trace import attribute

    innocents = [Mark(f"user:{900 + i}", f"{i:016x}", register.id) for i in range(50)]
    unmarked = [*unmarked_columns(register.fields), "_id"]
    key = door_keys(SECRET).watermark
    candidates = [*innocents, *(m for m, _ in copies)]
    return attribute(leak, candidates, key, unmarked=unmarked, reference=reference)


def test_an_open_delivery_is_masked_and_marked_in_several_columns(open_copies) -> None:  # noqa: ANN001
    (_, a), (_, b) = open_copies
    assert a.column_names[0] == "_id" and a.num_rows == REGISTER_ROWS
    names = a.column("法定代表人").to_pylist()
    assert all(n[1:] and set(n[1:]) == {"*"} for n in names)  # surname and stars only
    differ = {c for c in a.column_names if a.sort_by("_id")[c] != b.sort_by("_id")[c]}
    # identifiers, dates and clear text exact; the address masked to the district carries
    # marks in its stars since issue 16 item 9
    assert differ == {"注册资本", "法定代表人", "住所"}
    assert a.column("_id").to_pylist() != sorted(a.column("_id").to_pylist())  # row order


def test_dropping_any_one_column_still_names_the_recipient(open_copies, register) -> None:  # noqa: ANN001
    mark, copy = open_copies[0]
    for column in copy.column_names:
        result = _trace(copy.drop_columns([column]), open_copies, register)
        assert result.mark == mark, column


def test_dropping_any_two_columns_still_names_the_recipient(open_copies, register) -> None:  # noqa: ANN001
    import itertools

    mark, copy = open_copies[0]
    for pair in itertools.combinations(copy.column_names, 2):
        result = _trace(copy.drop_columns(list(pair)), open_copies, register)
        assert result.mark == mark, pair


def test_two_merged_copies_name_one_of_their_recipients_and_no_innocent(
    session, open_copies, register, tmp_path
) -> None:  # noqa: ANN001
    import pyarrow.csv as pacsv

    from tests.protect.leaks import merge, shuffle

    (ma, a), (mb, b) = open_copies
    for seed in range(3):
        merged = merge(a, b, seed)
        assert _trace(merged, open_copies, register).mark in (ma, mb)
        assert _trace(shuffle(merged, seed), open_copies, register).mark in (ma, mb)
    # and through `gongshu trace`: the file, every delivery of the instance as candidates
    leaked = tmp_path / "合并.csv"
    pacsv.write_csv(merge(a, b, 7), leaked)
    verdict = trace_leak(session, leaked, secret=SECRET)
    assert verdict["attributed"] and verdict["delivery_id"] in (ma.delivery_id, mb.delivery_id)


# ---- every open delivery carries its marks in two columns at least (issue 16 item 9) ----

CARRIERS = {
    "yljg": {"联系电话", "地址"},  # the landline replaced by stars, the address cut to its district
    "spjy": {"法定代表人", "经营场所"},  # the masked name, the address cut to its district
}


@pytest.fixture(params=sorted(CARRIERS))
def one_carrier_before(request, session, people, tmp_path):  # noqa: ANN001, ANN201
    """An entry whose open delivery had one carrier column before its address carried marks."""
    entry = _load_demo_entry(session, people, tmp_path, request.param)
    return request.param, entry, _open_copies(session, people, entry, tmp_path)


def test_dropping_either_carrier_and_shuffling_still_names_the_recipient(
    one_carrier_before,  # noqa: ANN001
) -> None:
    """The attack that beat these entries ("all at once" dropping the one carrier): drop a
    carrier column, shuffle rows and columns. The recipient is named, the other copy's
    recipient and the 50 innocents never are, and a copy that is no candidate names nobody."""
    from tests.protect.leaks import shuffle, subset

    key, entry, copies = one_carrier_before
    (mark, a), (other, b) = copies
    differ = {c for c in a.column_names if a.sort_by("_id")[c] != b.sort_by("_id")[c]}
    assert differ == CARRIERS[key]
    addresses = [v for v in a.column("地址" if key == "yljg" else "经营场所").to_pylist() if v]
    assert all(v.endswith(("区***", "区****")) for v in addresses)
    for seed, carrier in enumerate(sorted(CARRIERS[key])):
        leak = shuffle(subset(a.drop_columns([carrier]), 0.5, seed), seed)
        result = _trace(leak, copies, entry)
        assert result.mark == mark, (key, carrier, result.scores[:3])
        assert result.bits > 100 and result.order_pairs > 0
        # the copy of someone who is not a candidate names nobody
        innocent = shuffle(subset(b.drop_columns([carrier]), 0.5, seed), seed)
        assert _trace(innocent, copies[:1], entry).mark is None


def test_gongshu_trace_restores_dropped_columns_from_the_entry_rows(
    session, people, tmp_path
) -> None:  # noqa: ANN001
    """``gongshu trace`` (``trace_leak`` with the instance's data directory) rebuilds the
    entry's rows as the door delivered them and gives the leak its dropped columns back:
    a CSV with the landline and both anchor columns dropped and the rows shuffled is traced
    only with them."""
    import pyarrow.csv as pacsv

    from tests.protect.leaks import shuffle

    entry = _load_demo_entry(session, people, tmp_path, "yljg")
    copies = _open_copies(session, people, entry, tmp_path)
    (mark, a), _ = copies
    leak = shuffle(a.drop_columns(["联系电话", "统一社会信用代码", "备案日期"]), 3)
    leaked = tmp_path / "养老机构.csv"
    pacsv.write_csv(leak, leaked)
    alone = trace_leak(session, leaked, secret=SECRET)
    assert not alone["attributed"] and alone["reference_rows"] == 0
    datasets_dir = tmp_path / "var" / "datasets"
    verdict = trace_leak(session, leaked, secret=SECRET, datasets_dir=datasets_dir)
    assert verdict["reference_rows"] == REGISTER_ROWS
    assert verdict["attributed"] and verdict["delivery_id"] == mark.delivery_id, verdict
    assert entries(session, action_prefix="egress.traced", limit=1)[0].payload["reference_rows"]
    # the same with the CLI's code path: no innocent named for a file nobody was given
    _, b = copies[1]
    stranger = tmp_path / "他人.csv"
    pacsv.write_csv(shuffle(b.drop_columns(["联系电话"]), 4), stranger)
    found = trace_leak(session, stranger, secret=SECRET, datasets_dir=datasets_dir)
    assert found["delivery_id"] in (None, copies[1][0].delivery_id)


def test_the_trace_command_traces_with_the_entry_rows(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """``gongshu trace`` on an instance on disk: the leak with the landline and both anchor
    columns dropped and the rows shuffled names its recipient (it cannot without the
    entry's rows, see above)."""
    import json
    import warnings

    import pyarrow.csv as pacsv

    from gongshu.capabilities import import_all_models
    from gongshu.config import Settings
    from gongshu.db import Base, make_engine, make_session_factory, transaction
    from gongshu.ledger.keys import InstanceKey
    from tests.conftest import seed_people
    from tests.protect.leaks import shuffle

    with warnings.catch_warnings():  # (typer and click 8.5, as in tests/ledger)
        warnings.filterwarnings("ignore", "'click.utils", DeprecationWarning)
        import typer
        from typer.testing import CliRunner

        from gongshu.egress.commands import trace

    app = typer.Typer()  # the command as `gongshu trace` mounts it
    app.command("trace")(trace)
    app.command("unused")(lambda: None)  # (two commands: the name is asked, as in gongshu)

    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    monkeypatch.setenv("GONGSHU_SECRET_KEY", SECRET)
    settings = Settings(data_dir=tmp_path / "var")
    import_all_models()
    engine = make_engine(settings.db_url)
    Base.metadata.create_all(engine)
    InstanceKey.load_or_create(settings.keys_dir)
    with transaction(make_session_factory(engine)) as session:
        people = seed_people(session)
        entry = _load_demo_entry(session, people, tmp_path, "yljg")
        (mark, a), _ = _open_copies(session, people, entry, tmp_path)
    engine.dispose()
    leaked = tmp_path / "养老机构.csv"
    pacsv.write_csv(
        shuffle(a.drop_columns(["联系电话", "统一社会信用代码", "备案日期"]), 5), leaked
    )
    out = CliRunner().invoke(
        app, ["trace", str(leaked), "--json", "--data-dir", str(settings.data_dir)]
    )
    assert out.exit_code == 0, out.output
    verdict = json.loads(out.output)
    assert verdict["attributed"] and verdict["delivery_id"] == mark.delivery_id
    assert verdict["reference_rows"] == REGISTER_ROWS
