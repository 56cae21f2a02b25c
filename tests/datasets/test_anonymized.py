"""PIP-9: a version is marked anonymized only after the re-identification check passes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import anonymized, service
from gongshu.datasets.anonymized import NotAnonymous, check_and_mark
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.protect.anonymity import measure
from gongshu.protect.errors import InvalidParameter
from gongshu.storage import scratch, store
from gongshu.storage.atomic import sweep_temp_files

FIELDS = ["出生年份", "性别", "街道", "诊断"]


def load(session, people, tmp_path, rows):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": f"A-{len(rows)}",
            "name": "门诊统计",
            "summary": "匿名化门诊记录",
            "fields": [{"name": f} for f in FIELDS],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / "a.csv"
    csv.write_text(
        "\n".join([",".join(FIELDS)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8"
    )
    version = service.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=tmp_path / "ds"
    )
    service.confirm_tags(
        session,
        version.id,
        {"出生年份": ["BIRTH_DATE"], "性别": ["GENDER"], "街道": ["ADDRESS"], "诊断": ["MEDICAL"]},
        actor=people.clerk_county,
    )
    return version


def rows(extra: list[tuple[str, ...]] = ()) -> list[tuple[str, ...]]:  # noqa: B006
    out = []
    for year in ("1950-1959", "1960-1969"):
        for sex in ("男", "女"):
            for i in range(6):
                out.append((year, sex, "八一街道", ["高血压", "糖尿病"][i % 2]))
    return out + list(extra)


QI = ["出生年份", "性别", "街道"]


def test_a_table_meeting_the_criteria_is_marked(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows())
    check_and_mark(
        session,
        version.id,
        quasi_identifiers=QI,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "ds",
    )
    assert version.anonymized["k"] == 6 and version.anonymized["l"] == 2
    logged = entries(session, action_prefix="dataset.anonymity", limit=1)[0]
    assert logged.payload["passed"] is True


def test_a_unique_person_fails_and_the_failure_is_recorded(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows([("1990-1999", "女", "豫章街道", "高血压")]))
    with pytest.raises(NotAnonymous, match="k=1"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    assert version.anonymized is None
    assert (
        entries(session, action_prefix="dataset.anonymity", limit=1)[0].payload["passed"] is False
    )


def test_identifiers_and_left_out_quasi_identifiers_are_refused(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows())
    with pytest.raises(NotAnonymous, match="街道"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=["出生年份", "性别"],
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    service.confirm_tags(
        session, version.id, {"诊断": ["MEDICAL", "PERSON_NAME"]}, actor=people.clerk_county
    )
    with pytest.raises(NotAnonymous, match="仍含直接标识符列"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    with pytest.raises(Exception, match="匿名化门槛不得低于"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
            k=2,
        )


# ---------------------------------------------------------------- the bounded measurement


def _people_entry(session, people, code: str):  # noqa: ANN001, ANN202
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": "门诊对象",
            "summary": "测算用",
            "fields": [
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "性别"},
                {"name": "街道"},
                {"name": "诊断"},
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


def _resident_id(n: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=n // 900)
    body = f"360102{born:%Y%m%d}{n % 900 + 100:03d}"
    return body + id_check_char(body)


def _load_people(session, people, tmp_path, lines: list[str], code: str):  # noqa: ANN001, ANN202
    entry = _people_entry(session, people, code)
    csv = tmp_path / f"{code}.csv"
    csv.write_text("\n".join(["公民身份号码,性别,街道,诊断,金额", *lines]) + "\n", encoding="utf-8")
    version = service.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=tmp_path / "ds"
    )
    assert "公民身份号码" in (version.sealed or {}).get("columns", ())  # sealed at rest
    return version


def _mixed_lines(n: int) -> list[str]:
    """Nulls in every column, repeated and unique IDs, classes of uneven sizes."""
    out = []
    for i in range(n):
        rid = "" if i % 17 == 0 else _resident_id(i % 97 if i % 5 == 0 else i)
        sex = ["男", "女", ""][i % 3]
        street = ["八一街道", "豫章街道", "", "滕王阁街道"][i % 4 if i % 11 else 2]
        diagnosis = ["高血压", "糖尿病", "", "哮喘"][(i // 3) % 4]
        amount = "" if i % 13 == 0 else f"{i % 7}.50"
        out.append(f"{rid},{sex},{street},{diagnosis},{amount}")
    return out


@pytest.mark.parametrize(
    ("qi", "sensitive"),
    [
        (["街道", "性别"], ["公民身份号码"]),  # sealed, nulls, repeats
        (["街道"], ["诊断", "公民身份号码"]),  # several: l the minimum over them
        (["性别", "金额"], ["诊断"]),  # nulls in a decimal quasi-identifier
        (["公民身份号码"], ["诊断"]),  # a sealed quasi-identifier
        (["街道", "性别"], []),  # no sensitive attribute: l None
    ],
)
def test_the_bounded_measure_gives_the_integers_of_measure(
    session, people, tmp_path, monkeypatch, qi, sensitive
) -> None:
    monkeypatch.setattr(store, "FRAME_ROWS", 70)  # the stream crosses sealed frames
    version = _load_people(session, people, tmp_path, _mixed_lines(600), "B-MIX")
    want = measure(storage.read_table(tmp_path / "ds", version), qi, sensitive or None)
    got = anonymized.measure_bounded(tmp_path / "ds", version, qi, sensitive)
    assert (got.rows, got.k, got.l, got.equivalence_classes) == (
        want.rows,
        want.k,
        want.l,
        want.equivalence_classes,
    )
    monkeypatch.setattr(anonymized, "ROWS_PER_PASS", 150)  # four passes, classes split
    assert anonymized.measure_bounded(tmp_path / "ds", version, qi, sensitive) == got
    assert got.rows == 600 and (got.l is None) == (not sensitive)
    assert not hasattr(got, "t")  # not computed, so not claimed
    assert not list(scratch.owner(tmp_path / "ds").dir.glob("*anonymity*"))  # spill dir gone


@pytest.mark.parametrize("sealed", [False, True])
def test_floats_group_as_measure_groups_them(sealed: bool) -> None:
    """-0.0 is 0.0 and every NaN one value, hashed (sealed) or not, as in ``measure``."""
    nan = float("nan")
    table = pa.table(
        {
            "q": [0.0, -0.0, nan, -nan, None, None, 1.5, 1.5],
            "s": [-0.0, 0.0, nan, -nan, None, 2.0, 1.5, 3.0],
        }
    )
    want = measure(table, ["q"], ["s"])
    assert (want.k, want.l, want.equivalence_classes) == (2, 1, 4)
    con = duckdb.connect()
    try:
        con.register("t", table)
        kinds = {"q": pa.float64(), "s": pa.float64()} if sealed else {}
        ((rows, classes, k, l, _),) = con.execute(  # noqa: E741
            *anonymized._bounded_sql("t", ("q",), ("s",), kinds)
        ).fetchall()
    finally:
        con.close()
    assert (rows, k, l, classes) == (want.rows, want.k, want.l, want.equivalence_classes)


def test_the_bounded_measure_of_an_empty_version(session, people, tmp_path) -> None:
    entry = _people_entry(session, people, "B-EMPTY")
    csv = tmp_path / "empty.csv"
    csv.write_text("公民身份号码,性别,街道,诊断,金额\n", encoding="utf-8")
    version = service.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=tmp_path / "ds"
    )
    table = storage.read_table(tmp_path / "ds", version)
    assert table.num_rows == 0
    for sensitive in (["公民身份号码", "诊断"], []):
        want = measure(table, ["街道"], sensitive or None)
        got = anonymized.measure_bounded(tmp_path / "ds", version, ["街道"], sensitive)
        assert (
            (got.rows, got.k, got.l, got.equivalence_classes)
            == (
                want.rows,
                want.k,
                want.l,
                want.equivalence_classes,
            )
            == (0, 0, None, 0)
        )


def test_the_bounded_measure_refuses_what_measure_refuses(session, people, tmp_path) -> None:
    version = _load_people(session, people, tmp_path, _mixed_lines(20), "B-REFUSE")
    with pytest.raises(InvalidParameter, match="至少需要一个准标识符列"):
        anonymized.measure_bounded(tmp_path / "ds", version, [], ["诊断"])
    with pytest.raises(InvalidParameter, match="不能既是准标识符又是敏感属性"):
        anonymized.measure_bounded(tmp_path / "ds", version, ["诊断"], ["诊断"])


def test_the_spill_directory_goes_on_error_too(session, people, tmp_path, monkeypatch) -> None:
    version = _load_people(session, people, tmp_path, _mixed_lines(200), "B-ERROR")
    monkeypatch.setattr(anonymized, "MEMORY_LIMIT", "1MB")  # below a block: DuckDB fails
    with pytest.raises(duckdb.OutOfMemoryException):
        anonymized.measure_bounded(tmp_path / "ds", version, ["街道"], ["公民身份号码"])
    assert not list(scratch.owner(tmp_path / "ds").dir.glob("*anonymity*"))


SPILL_ROWS = 40_000
ID_PATTERN = re.compile(rb"\d{17}[\dX]")


def _spill_run(session, people, tmp_path, monkeypatch, *, hash_sealed: bool) -> dict:  # noqa: ANN001
    """Measure a version whose resident IDs are sealed under a memory limit small
    enough to spill, watching every file in the scratch area while DuckDB reads the
    stream (between batches) and on a thread throughout; returns what was seen."""
    lines = [
        f"{_resident_id(i)},{['男', '女'][i % 2]},{'南昌市东湖区八一大道' * 30}{i % 50}号,"
        f"{['高血压', '糖尿病'][i % 3 == 0]},1.00"
        for i in range(SPILL_ROWS)
    ]
    version = _load_people(session, people, tmp_path, lines, f"B-SPILL-{hash_sealed}")
    ds = tmp_path / "ds"
    ids = {line.split(",")[0].encode() for line in lines}
    area = scratch.area(ds)
    seen = {"bytes": 0, "ids": set(), "salt": False, "dirs": set()}
    salts: list[str] = []
    real_token = anonymized.secrets.token_hex

    def token_hex(n: int) -> str:
        salts.append(real_token(n))
        return salts[-1]

    def look() -> None:
        try:
            paths = [p for p in area.rglob("*") if p.is_file()]
        except FileNotFoundError:  # a directory removed under us
            return
        for path in paths:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # freed under us
                continue
            if "anonymity" in str(path.parent.name):
                seen["dirs"].add(path.parent)
                seen["bytes"] = max(seen["bytes"], len(data))
            seen["ids"] |= ids & set(ID_PATTERN.findall(data))
            seen["salt"] |= any(s.encode() in data for s in salts)

    real_reader = storage.batch_reader

    def watched_reader(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        reader = real_reader(*args, **kwargs)

        def batches():  # noqa: ANN202
            for batch in reader:
                look()
                yield batch

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    monkeypatch.setattr(storage, "batch_reader", watched_reader)
    monkeypatch.setattr(anonymized.secrets, "token_hex", token_hex)
    monkeypatch.setattr(anonymized, "MEMORY_LIMIT", "40MB")
    monkeypatch.setattr(anonymized, "THREADS", 1)
    if not hash_sealed:  # the control: the same run with the IDs in clear
        real_sql = anonymized._bounded_sql
        monkeypatch.setattr(
            anonymized, "_bounded_sql", lambda s, q, v, sealed, **kw: real_sql(s, q, v, {}, **kw)
        )
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            look()

    watcher = threading.Thread(target=poll)
    watcher.start()
    try:
        got = anonymized.measure_bounded(ds, version, ["街道", "性别"], ["公民身份号码", "诊断"])
    finally:
        stop.set()
        watcher.join()
    want = measure(real_reader(ds, version).read_all(), ["街道", "性别"], ["公民身份号码", "诊断"])
    assert (got.rows, got.k, got.l, got.equivalence_classes) == (
        want.rows,
        want.k,
        want.l,
        want.equivalence_classes,
    )
    seen["left"] = [d for d in seen["dirs"] if d.exists()]
    return seen


def test_a_spill_holds_no_sealed_value_in_clear(session, people, tmp_path, monkeypatch) -> None:
    seen = _spill_run(session, people, tmp_path, monkeypatch, hash_sealed=True)
    assert seen["bytes"] > 1 << 20  # it did spill
    assert not seen["ids"] and not seen["salt"]
    assert seen["dirs"] and not seen["left"]  # the spill directory is gone


def test_the_spill_check_would_see_ids_in_clear(session, people, tmp_path, monkeypatch) -> None:
    """The control: unhashed, the same spill shows the IDs, so the search above can fail."""
    seen = _spill_run(session, people, tmp_path, monkeypatch, hash_sealed=False)
    assert seen["bytes"] > 1 << 20
    assert len(seen["ids"]) > 1000


def test_a_dead_process_spill_goes_at_the_sweep(tmp_path) -> None:
    """A killed measurement's spill directory lives in its process's scratch: the
    start-up sweep removes it once the process is gone."""
    ds = tmp_path / "ds"
    script = (
        "import sys, time; from pathlib import Path; from gongshu.storage import scratch;"
        "d = scratch.new_path(Path(sys.argv[1]), 'anonymity'); d.mkdir();"
        "(d / 'duckdb_temp_storage-0.tmp').write_bytes(b'x' * 1024);"
        "print(d, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen(  # noqa: S603 - this interpreter
        [sys.executable, "-c", script, str(ds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(anonymized.__file__).parents[2])},
    )
    try:
        spill = Path(child.stdout.readline().strip())
        assert (spill / "duckdb_temp_storage-0.tmp").is_file()
        assert sweep_temp_files(ds) == 0 and spill.exists()  # alive: kept
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert sweep_temp_files(ds) >= 1
    assert not spill.exists()
