"""Sensitive columns sealed at rest with SM4 (issue 4 item 4; SEC-3, SEC-9)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.datasets.jobs import run_full_scan
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.protect.errors import DecryptionFailed, KeyStoreLocked
from gongshu.protect.keystore import FileKeyStore

SECRET = "storage-test-secret"


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


IDS = [rid(f"36010219800101{i:03d}") for i in range(1, 301)]


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    d = tmp_path / "var" / "datasets"
    storage.unlock(d, FileKeyStore(tmp_path / "var" / "keys" / "keystore.json", SECRET))
    return d


def _entry(session, people, code: str = "360102-MZ-0901"):  # noqa: ANN001, ANN202
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": "低保对象名单",
            "summary": "低保对象",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "街道"},
                {"name": "金额", "type": "decimal"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-3级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


def _load(session, people, entry, ds: Path, tmp_path: Path, ids=IDS):  # noqa: ANN001, ANN202
    csv = tmp_path / "in.csv"
    lines = ["姓名,公民身份号码,街道,金额"] + [
        f"张{k},{v},{'八一' if k % 2 else '豫章'}街道,{k}.50" for k, v in enumerate(ids)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return datasets.load(session, entry.id, csv, actor=people.clerk_county, datasets_dir=ds)


def test_resident_ids_are_not_on_disk_in_the_clear(session, people, ds, tmp_path) -> None:
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    assert version.sealed["columns"] == ["公民身份号码"]
    assert version.sealed["algorithm"] == "SM4-GCM"
    files = [p for p in ds.rglob("*") if p.is_file()]
    # Only the plain remainder and the sealed file: the whole file of the load is gone.
    assert sorted(p.suffix for p in files) == [".parquet", ".sealed"]
    for path in files:
        data = path.read_bytes()
        assert IDS[0].encode() not in data and IDS[-1][:14].encode() not in data
    plain = pq.read_table(ds / version.path)
    assert plain.column_names == ["姓名", "街道", "金额"]
    # The metadata names the key, never the key itself; the key store file neither.
    key_id = version.sealed["key_id"]
    store = storage.keystore(ds)
    raw_key = store.get(key_id)
    assert raw_key.hex() not in json.dumps(version.sealed)
    keystore_text = (tmp_path / "var" / "keys" / "keystore.json").read_bytes()
    assert raw_key not in keystore_text and raw_key.hex().encode() not in keystore_text
    (e,) = entries(session, action_prefix="storage.sealed")
    assert e.payload["columns"] == ["公民身份号码"] and e.payload["key_id"] == key_id


def test_readers_see_the_whole_table_in_order(session, people, ds, tmp_path) -> None:
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    con = duckdb.connect()
    try:
        rel = storage.relation(con, ds, version)
        rows = con.execute(f'SELECT * FROM {rel} WHERE "街道" = ? ORDER BY "金额"', ["豫章街道"])
        names = [d[0] for d in rows.description]
        got = rows.fetchall()
    finally:
        con.close()
    assert names == ["姓名", "公民身份号码", "街道", "金额"]
    assert got[0][:2] == ("张0", IDS[0]) and got[1][:2] == ("张2", IDS[2])
    assert len(got) == 150
    table = storage.read_table(ds, version)
    assert table.column("公民身份号码").to_pylist() == IDS
    assert table.column("姓名").to_pylist()[299] == "张299"
    # The provider's preview reads through the same door.
    cols, rows = datasets.preview(
        session, version.id, actor=people.clerk_county, datasets_dir=ds, limit=2, offset=298
    )
    assert cols[1] == "公民身份号码" and [r[1] for r in rows] == IDS[298:300]


def test_full_scan_reads_the_sealed_columns(session, people, ds, tmp_path) -> None:
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    result = run_full_scan(session, {"version_id": version.id, "datasets_dir": str(ds)})
    assert result["version_id"] == version.id
    found = {c["name"]: c["entities"] for c in version.discovery["columns"]}
    assert "CN_RESIDENT_ID" in found["公民身份号码"]
    assert version.discovery["rows"] == 300


def test_rotation_keeps_old_versions_readable_and_reseal_moves_them(
    session, people, ds, tmp_path
) -> None:
    entry = _entry(session, people)
    old = _load(session, people, entry, ds, tmp_path)
    first_key = old.sealed["key_id"]
    new_key = storage.rotate(ds)
    assert new_key != first_key
    newer = _load(session, people, entry, ds, tmp_path, ids=IDS[:10])
    assert newer.sealed["key_id"] == new_key
    # No downtime: the old version still reads under its own key.
    assert storage.read_table(ds, old).column("公民身份号码").to_pylist() == IDS
    assert storage.reseal(session, datasets_dir=ds, by="admin") == 1
    assert old.sealed["key_id"] == new_key
    assert storage.read_table(ds, old).column("公民身份号码").to_pylist() == IDS
    assert storage.reseal(session, datasets_dir=ds, by="admin") == 0
    (e,) = entries(session, action_prefix="storage.resealed")
    assert e.payload == {"dataset_version": old.id, "from": first_key, "to": new_key}


def test_a_wrong_secret_cannot_open_sealed_data(session, people, ds, tmp_path) -> None:
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    storage.unlock(ds, FileKeyStore(tmp_path / "var" / "keys" / "keystore.json", "wrong"))
    with pytest.raises(KeyStoreLocked):
        storage.read_table(ds, version)


def test_a_version_without_sensitive_columns_stays_plain(session, people, ds, tmp_path) -> None:
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0902",
            "name": "养老机构名录",
            "summary": "机构",
            "fields": [{"name": "机构名称"}, {"name": "床位数", "type": "integer"}],
            "update_frequency": "每年",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": "unconditional",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / "plain.csv"
    csv.write_text("机构名称,床位数\n东湖敬老院,120\n", encoding="utf-8")
    version = datasets.load(session, entry.id, csv, actor=people.clerk_county, datasets_dir=ds)
    assert version.sealed is None
    assert pq.read_table(ds / version.path).num_rows == 1


def test_the_door_delivers_sealed_columns_masked(session, people, ds, tmp_path) -> None:
    from gongshu.egress import service as egress

    entry = _entry(session, people)
    _load(session, people, entry, ds, tmp_path)
    grant = egress.take_unconditional(
        session, entry.id, actor=people.clerk_prov, scenario="低保资格核查"
    )
    out = egress.deliver(
        session,
        grant.id,
        actor=people.clerk_prov,
        fmt="json",
        datasets_dir=ds,
        work_dir=tmp_path / "out",
        secret=SECRET,
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["rows"]) == 300
    ids = [r[doc["columns"].index("公民身份号码")] for r in doc["rows"]]
    assert IDS[0] not in ids and all(v and v not in IDS for v in ids)


def test_the_quarantine_of_rejected_rows_is_sealed_too(session, people, ds, tmp_path) -> None:
    entry = _entry(session, people, code="360102-MZ-0903")
    bad = IDS[1][:17] + ("0" if IDS[1][17] != "0" else "1")
    version = _load(session, people, entry, ds, tmp_path, ids=[IDS[0], bad, IDS[2]])
    assert version.rows == 2 and version.quarantine_path.endswith(".quarantine.sealed")
    for path in ds.rglob("*"):
        if path.is_file():
            assert bad.encode() not in path.read_bytes() and "张1".encode() not in path.read_bytes()
    rejected = storage.open_file(ds, version.quarantine_path)
    assert rejected.column("公民身份号码").to_pylist() == [bad]


def test_sealed_columns_are_framed_and_read_one_frame_at_a_time(
    session, people, ds, tmp_path, monkeypatch
) -> None:
    from gongshu.storage import store

    monkeypatch.setattr(store, "FRAME_ROWS", 70)  # 300 rows: five frames
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    sealed = ds / version.sealed["path"]
    assert sealed.read_bytes().startswith(store.MAGIC_FRAMED)
    frames = list(store._sealed_frames(ds, version.sealed))
    assert [f.num_rows for f in frames] == [70, 70, 70, 70, 20]
    # Batches of another size are cut from the frames in order.
    got = [b for b in storage.stream(ds, version, rows_per_batch=64).batches]
    assert [b.num_rows for b in got] == [64, 64, 64, 64, 44]
    assert sum((b.column(1).to_pylist() for b in got), []) == IDS
    assert storage.read_table(ds, version).column("公民身份号码").to_pylist() == IDS
    assert storage.schema(ds, version).names == ["姓名", "公民身份号码", "街道", "金额"]
    # A file cut after a whole frame, or a frame moved, does not decrypt.
    blob = sealed.read_bytes()
    header = blob.index(b"\n", len(store.MAGIC_FRAMED)) + 1
    first = header + 4 + int.from_bytes(blob[header : header + 4], "big")
    sealed.write_bytes(blob[:first])
    with pytest.raises(DecryptionFailed):
        list(store._sealed_frames(ds, version.sealed))
    second = first + 4 + int.from_bytes(blob[first : first + 4], "big")
    sealed.write_bytes(blob[:header] + blob[first:second] + blob[header:first] + blob[second:])
    with pytest.raises(DecryptionFailed):
        list(store._sealed_frames(ds, version.sealed))


def test_a_sealed_file_of_the_first_format_stays_readable(session, people, ds, tmp_path) -> None:
    import io

    from gongshu.storage import store

    version = _load(session, people, _entry(session, people), ds, tmp_path)
    table = storage.read_table(ds, version, ["公民身份号码"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    old = store.encrypt_to(ds, "entry-old/v1.sealed", buf.getvalue(), storage.keystore(ds))
    assert (ds / old["path"]).read_bytes().startswith(store.MAGIC)
    version.sealed = {**version.sealed, **old}
    got = [b for b in storage.stream(ds, version, rows_per_batch=128).batches]
    assert sum((b.column(1).to_pylist() for b in got), []) == IDS


def _rows(con, source: str) -> list[tuple]:  # noqa: ANN001
    return con.execute(f"SELECT * FROM {source}").fetchall()


def test_the_streamed_relation_gives_the_relation_s_rows(
    session, people, ds, tmp_path, monkeypatch
) -> None:
    from gongshu.storage import store

    monkeypatch.setattr(store, "FRAME_ROWS", 70)  # 300 rows: five frames
    version = _load(session, people, _entry(session, people), ds, tmp_path)
    decrypted: list[int] = []
    monkeypatch.setattr(store, "frame_hooks", [lambda number, size: decrypted.append(number)])
    con = duckdb.connect()
    try:
        for numbered in (False, True):
            old = _rows(con, storage.relation(con, ds, version, row_numbers=numbered))
            new = _rows(con, storage.streamed(con, ds, version, row_numbers=numbered))
            assert new == old and len(new) == 300
        assert [r[0] for r in new] == list(range(300))  # file_row_number, 0-based
        assert [r[2] for r in new] == IDS
        # Only the columns asked for, in that order; batches cut across frames.
        reader = storage.batch_reader(
            ds, version, ["金额", "公民身份号码"], row_numbers=True, rows_per_batch=64
        )
        got = reader.read_all()
        assert got.column_names == ["file_row_number", "金额", "公民身份号码"]
        want = storage.read_table(ds, version, ["金额", "公民身份号码"])
        assert got.drop_columns(["file_row_number"]).equals(want)
        # A stream is scanned once: a second scan fails rather than reading nothing.
        name = storage.streamed(con, ds, version, ["公民身份号码"])
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(300,)]
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT count(*) FROM {name}").fetchall()
        # No sealed column asked for: the sealed file is not even opened.
        decrypted.clear()
        rows = _rows(con, storage.streamed(con, ds, version, ["街道", "姓名"]))
        assert rows == [(f"{'八一' if k % 2 else '豫章'}街道", f"张{k}") for k in range(300)]
        assert decrypted == []
    finally:
        con.close()


def test_streaming_holds_one_sealed_frame_not_the_column(
    session, people, ds, tmp_path, monkeypatch
) -> None:
    """Arrow memory while DuckDB scans a sealed column stays near one frame, where
    the relation holds the whole decrypted column (issue 19 item 3)."""
    import datetime

    import pyarrow as pa

    from gongshu.storage import store

    days = [datetime.date(1970, 1, 1) + datetime.timedelta(days=d) for d in range(40)]
    ids = [rid(f"360102{d:%Y%m%d}{i:03d}") for d in days for i in range(1, 1000)]
    monkeypatch.setattr(store, "FRAME_ROWS", 1000)  # 39,960 rows: forty frames
    version = _load(session, people, _entry(session, people), ds, tmp_path, ids=ids)
    whole = storage.read_table(ds, version, ["公民身份号码"]).nbytes
    held: list[int] = []
    monkeypatch.setattr(
        store, "frame_hooks", [lambda number, size: held.append(pa.total_allocated_bytes())]
    )
    con = duckdb.connect()
    try:
        base = pa.total_allocated_bytes()
        source = storage.streamed(con, ds, version, ["公民身份号码"])
        sql = f'SELECT count(DISTINCT "公民身份号码") FROM {source}'
        assert con.execute(sql).fetchall() == [(len(ids),)]
        assert len(held) == 40
        streamed_peak = max(held) - base
        growth = max(held[20:]) - min(held[1:20])  # what piles up frame after frame
        held.clear()
        base = pa.total_allocated_bytes()
        relation = storage.relation(con, ds, version)
        relation_held = pa.total_allocated_bytes() - base  # the registered column
        assert con.execute(sql.replace(source, relation)).fetchall() == [(len(ids),)]
    finally:
        con.close()
    assert relation_held >= whole * 0.9
    assert streamed_peak < whole / 3, (streamed_peak, whole)  # a frame is whole / 40
    assert growth < whole / 10, (growth, whole)


@pytest.mark.parametrize(
    ("qi", "sensitive"),
    [
        (["街道"], ["公民身份号码"]),  # sealed, near-unique
        (["街道"], ["金额"]),  # numeric: ordered t
        (["街道", "金额"], ["公民身份号码", "姓名"]),
        (["姓名"], []),
        (["街道"], ["空列"]),  # one value only (all null)
    ],
)
def test_k_anonymity_streamed_equals_the_whole_table_measure(
    session, people, ds, tmp_path, monkeypatch, qi, sensitive
) -> None:
    from gongshu.datasets.anonymized import _measure
    from gongshu.protect.anonymity import measure
    from gongshu.storage import store

    monkeypatch.setattr(store, "FRAME_ROWS", 70)
    entry = _entry(session, people)
    entry.fields = [*entry.fields, {"name": "空列"}]
    csv = tmp_path / "in.csv"
    lines = ["姓名,公民身份号码,街道,金额,空列"] + [
        f"张{k % 7},{v},{['八一街道', '豫章街道', ''][k % 3]},{k % 11}.50,"
        for k, v in enumerate(IDS)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    version = datasets.load(session, entry.id, csv, actor=people.clerk_county, datasets_dir=ds)
    table = storage.read_table(ds, version)
    want = measure(table, qi, sensitive or None)
    got = _measure(ds, version, qi, sensitive or None)
    assert (got.rows, got.k, got.l, got.equivalence_classes) == (
        want.rows,
        want.k,
        want.l,
        want.equivalence_classes,
    )
    assert not hasattr(got, "t")  # not computed on this path, so not claimed
