"""Recipient watermarks and leak tracing (issue 4 item 5; SHR-5)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from gongshu.protect.errors import InvalidParameter
from gongshu.protect.watermark import FAMILY_ALPHA, Mark, embed
from gongshu.protect.watermark_trace import attribute, read_leak, trace_file

KEY = bytes(range(32))
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗") + ["欧阳", "司马"]
DISTRICTS = ["浙江省杭州市西湖区", "浙江省杭州市上城区", "浙江省宁波市鄞州区", "浙江省温州市鹿城区"]
TRUE = Mark("org:7", "d41d8cd98f00b204", 12)
INNOCENTS = [Mark(f"user:{i}", f"{i:016x}", 12) for i in range(200)]


def make_table(n: int, seed: int = 0) -> pa.Table:
    """A masked delivery as the egress door sees it: names, IDs, dates, amounts, counts, places."""
    r = np.random.default_rng(seed)
    sur = np.array(SURNAMES)[r.integers(0, len(SURNAMES), n)]
    names = [s + "*" * int(k) for s, k in zip(sur, r.integers(1, 3, n), strict=True)]
    region = r.choice(["330106", "330102", "330212", "330302", "330602"], n)
    tails = zip(region, r.integers(0, 1000, n), r.choice(list("0123456789X"), n), strict=True)
    ids = [f"{a}********{b:03d}{c}" for a, b, c in tails]
    mobiles = [
        f"1{a}****{b:04d}"
        for a, b in zip(r.choice(["38", "58", "86"], n), r.integers(0, 10000, n), strict=True)
    ]
    letters = r.choice(list("abcdefghijklmnopqrstuvwxyz"), n)
    emails = [
        f"{c}***@{d}"
        for c, d in zip(letters, r.choice(["qq.com", "163.com", "zj.gov.cn"], n), strict=True)
    ]
    addresses = [d + "****" for d in np.array(DISTRICTS)[r.integers(0, len(DISTRICTS), n)]]
    t0 = np.datetime64("2025-01-01T00:00:00")
    cents = r.lognormal(8, 1.2, n).astype(np.int64)
    return pa.table(
        {
            "id": pa.array(np.arange(1, n + 1)),
            "姓名": names,
            "sfzh": ids,
            "mobile": mobiles,
            "email": emails,
            "地址": addresses,
            "xb": r.choice(["男", "女"], n),
            "csrq": pa.array(r.integers(-7000, 12000, n).astype("datetime64[D]"), pa.date32()),
            "办理时间": pa.array(
                t0 + r.integers(0, 365 * 86400, n).astype("timedelta64[s]"), pa.timestamp("s")
            ),
            "金额": pa.array([Decimal(int(c)).scaleb(-2) for c in cents], pa.decimal128(14, 2)),
            "次数": pa.array(r.poisson(6, n).astype(np.int64)),
            "纬度": np.round(30.0 + r.random(n) * 0.6, 6),
            "经度": np.round(120.0 + r.random(n) * 0.6, 6),
        }
    )


@pytest.fixture(scope="module")
def original() -> pa.Table:
    return make_table(5000)


@pytest.fixture(scope="module")
def delivered(original: pa.Table) -> pa.Table:
    return embed(original, TRUE, KEY)


def changed(a: pa.Table, b: pa.Table, column: str) -> np.ndarray:
    x, y = a.column(column), b.column(column)
    diff = pc.fill_null(pc.not_equal(x, y), False)
    return np.asarray(diff.to_numpy(zero_copy_only=False))


# ---- the leak attacks --------------------------------------------------------


def sample_rows(t: pa.Table, share: float, seed: int) -> pa.Table:
    r = np.random.default_rng(seed)
    return t.take(r.choice(t.num_rows, int(t.num_rows * share), replace=False))  # shuffled


def alter_values(t: pa.Table, share: float, seed: int) -> pa.Table:
    """Each cell replaced, with probability ``share``, by the same column's value in another row."""
    r = np.random.default_rng(seed)
    cols = []
    for col in t.columns:
        hit = r.random(t.num_rows) < share
        donor = col.take(pa.array(r.integers(0, t.num_rows, t.num_rows)))
        cols.append(pc.if_else(pa.array(hit), donor, col))
    return pa.table(cols, names=t.column_names)


def csv_to_xlsx(t: pa.Table, tmp: Path) -> pa.Table:
    """Write CSV, then open it the way a spreadsheet does: numbers and times become cells."""
    from openpyxl import Workbook

    pacsv.write_csv(t, tmp / "leak.csv")
    text = read_leak(tmp / "leak.csv")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(text.column_names)

    def cell(v: str | None) -> object:
        if v is None:
            return None
        try:
            return datetime.fromisoformat(v) if ":" in v else float(v)
        except ValueError:
            return v

    for row in zip(*(c.to_pylist() for c in text.columns), strict=True):
        ws.append([cell(v) for v in row])
    wb.save(tmp / "leak.xlsx")
    return read_leak(tmp / "leak.xlsx")


@pytest.mark.parametrize(
    "attack",
    ["10% of rows", "20% of values altered", "columns dropped and reordered", "CSV to XLSX"],
)
def test_each_attack_still_names_the_right_delivery(
    attack: str, delivered: pa.Table, tmp_path: Path
) -> None:
    if attack == "10% of rows":
        leak = sample_rows(delivered, 0.10, seed=1)
    elif attack == "20% of values altered":
        leak = alter_values(delivered, 0.20, seed=2)
    elif attack == "columns dropped and reordered":
        leak = delivered.select(["经度", "email", "次数", "姓名", "办理时间"])
    else:
        leak = csv_to_xlsx(sample_rows(delivered, 0.2, seed=3), tmp_path)
    result = attribute(leak, [*INNOCENTS[:100], TRUE, *INNOCENTS[100:]], KEY)
    assert result.mark == TRUE
    assert result.p_value <= FAMILY_ALPHA / 201
    assert result.confidence > 0.999999
    assert result.scores[0][0] == TRUE
    assert result.scores[1][1] < 8  # the best innocent stays in the noise (-log10 p)


def test_all_attacks_at_once_on_a_small_leak(delivered: pa.Table, tmp_path: Path) -> None:
    leak = alter_values(sample_rows(delivered, 0.10, seed=4), 0.20, seed=5)
    leak = csv_to_xlsx(leak.select(["金额", "纬度", "办理时间", "sfzh", "mobile"]), tmp_path)
    result = attribute(leak, [TRUE, *INNOCENTS], KEY)
    assert result.mark == TRUE
    assert 0 < result.matched_rows <= 500


def test_original_table_sharpens_the_verdict(original: pa.Table, delivered: pa.Table) -> None:
    leak = alter_values(sample_rows(delivered, 0.10, seed=6), 0.20, seed=7)
    alone = attribute(leak, [TRUE, *INNOCENTS], KEY)
    helped = attribute(leak, [TRUE, *INNOCENTS], KEY, original=original)
    assert helped.mark == alone.mark == TRUE
    assert helped.scores[0][1] > alone.scores[0][1]  # altered cells dropped: stronger evidence


def test_reference_restores_dropped_anchor_columns(original: pa.Table, delivered: pa.Table) -> None:
    """Issue 16 item 9: the leaker drops every column the carriers are keyed on and shuffles
    the rows; the entry's rows (any copy: only canonical values are used) give them back."""
    from gongshu.protect.watermark_trace import nearest_rows

    drop = ["csrq", "办理时间", "sfzh", "纬度", "经度"]
    r = np.random.default_rng(8)
    rows = r.choice(delivered.num_rows, 250, replace=False)  # shuffled
    leak = delivered.take(pa.array(rows)).drop_columns(drop)
    alone = attribute(leak, [TRUE, *INNOCENTS], KEY)
    assert alone.mark is None  # every surviving carrier was keyed on a dropped column
    helped = attribute(leak, [TRUE, *INNOCENTS], KEY, reference=original)
    assert helped.mark == TRUE
    assert helped.scores[0][1] > 100
    assert (nearest_rows(leak, original, leak.column_names) == rows).all()
    # someone else's copy, attacked alike and restored alike, names nobody
    other = embed(original, Mark("user:outsider", "0" * 16, 12), KEY)
    outsider = attribute(
        other.take(pa.array(rows)).drop_columns(drop), [TRUE, *INNOCENTS], KEY, reference=original
    )
    assert outsider.mark is None
    assert outsider.p_value > FAMILY_ALPHA


def test_reference_repairs_altered_exact_values(original: pa.Table, delivered: pa.Table) -> None:
    from gongshu.protect.watermark_trace import restore

    rows = np.random.default_rng(9).choice(delivered.num_rows, 200, replace=False)
    leak = delivered.take(pa.array(rows))
    swapped = leak.column("csrq").take(pa.array(np.roll(np.arange(200), 1)))
    leak = leak.set_column(leak.schema.get_field_index("csrq"), "csrq", swapped)
    leak = leak.drop_columns(["sfzh"])
    fixed, restored = restore(leak, original, exact=["csrq"])
    assert restored == ["sfzh"]
    assert fixed.column("csrq").equals(original.column("csrq").take(pa.array(rows)))
    assert fixed.column("sfzh").equals(original.column("sfzh").take(pa.array(rows)))


# ---- innocence ---------------------------------------------------------------


def test_unmarked_table_is_not_attributed(original: pa.Table) -> None:
    result = attribute(original, [TRUE, *INNOCENTS], KEY)
    assert result.mark is None
    assert result.p_value > FAMILY_ALPHA
    assert result.bits > 10_000  # plenty of evidence was read; none of it pointed anywhere


def test_another_recipients_copy_is_not_attributed_to_the_candidates(original: pa.Table) -> None:
    someone_else = embed(original, Mark("org:99", "ffff", 12), KEY)
    result = attribute(sample_rows(someone_else, 0.5, seed=8), INNOCENTS, KEY)
    assert result.mark is None


def test_innocent_p_values_are_calibrated(delivered: pa.Table) -> None:
    """Innocent candidates' p-values behave like uniforms: the binomial bound is honest."""
    many = [Mark(f"user:{i}", "x", 12) for i in range(1000)]
    result = attribute(delivered, many, KEY)
    p = np.array([10**-s for _, s in result.scores])
    assert result.mark is None
    assert 0.002 <= np.mean(p <= 0.01) <= 0.03
    assert 0.06 <= np.mean(p <= 0.1) <= 0.14


def test_wrong_key_reads_nothing(delivered: pa.Table) -> None:
    assert attribute(delivered, [TRUE, *INNOCENTS], b"another instance key").mark is None


# ---- the embedding itself ----------------------------------------------------


def test_marks_are_invisible_small_and_on_the_grid(original: pa.Table, delivered: pa.Table) -> None:
    assert delivered.schema == original.schema
    assert delivered.num_rows == original.num_rows
    for col in ("id", "姓名", "sfzh", "mobile", "xb", "csrq"):
        assert not changed(original, delivered, col).any(), col
    amounts = np.array([float(x) for x in original.column("金额").to_pylist()])
    moved = np.array([float(x) for x in delivered.column("金额").to_pylist()]) - amounts
    assert set(np.round(np.abs(moved[moved != 0]), 2)) == {0.01}
    assert 0.3 < np.mean(moved != 0) < 0.6
    round_cents = np.round(amounts * 100).astype(np.int64) % 10 == 0
    assert not moved[round_cents].any()  # 12.30 and 100.00 are never touched
    counts = delivered.column("次数").to_numpy()
    was = original.column("次数").to_numpy()
    assert np.abs(counts - was).max() == 1 and (counts[was == 0] == 0).all()
    lat_moved = np.abs(delivered.column("纬度").to_numpy() - original.column("纬度").to_numpy())
    assert lat_moved.max() < 1.5e-6
    seconds = pc.subtract(delivered.column("办理时间"), original.column("办理时间"))
    assert {abs(s.total_seconds()) for s in seconds.to_pylist()} == {0, 1}
    stars = pc.count_substring(delivered.column("email"), "*").to_numpy()
    assert set(stars) == {3, 4}
    assert set(pc.utf8_length(delivered.column("地址")).to_numpy()) <= {12, 13}


def test_deterministic_and_the_same_batch_by_batch(original: pa.Table, delivered: pa.Table) -> None:
    assert embed(original, TRUE, KEY).equals(delivered)
    batches = [embed(original.slice(i, 700), TRUE, KEY) for i in range(0, original.num_rows, 700)]
    assert pa.concat_tables(batches).equals(delivered)


def test_each_delivery_gets_its_own_fingerprint(original: pa.Table, delivered: pa.Table) -> None:
    other = embed(original, Mark(TRUE.recipient, "another-delivery", TRUE.entry_id), KEY)
    assert 0.3 < np.mean(changed(delivered, other, "金额")) < 0.7
    assert attribute(other, [TRUE], KEY).mark is None


def test_protected_columns_are_left_untouched(original: pa.Table) -> None:
    marked = embed(original, TRUE, KEY, protected={"金额", "办理时间"})
    assert not changed(original, marked, "金额").any()
    assert not changed(original, marked, "办理时间").any()
    assert changed(original, marked, "次数").any()
    assert attribute(marked, [TRUE, *INNOCENTS], KEY).mark == TRUE


def test_nulls_and_integer_limits_are_respected() -> None:
    n = 400
    t = pa.table(
        {
            "ref": [f"REF{i:08d}" for i in range(n)],
            "small": pa.array([127 if i % 2 else None for i in range(n)], pa.int8()),
            "price": pa.array([None if i % 3 == 0 else 19.97 for i in range(n)]),
        }
    )
    marked = embed(t, TRUE, KEY)
    small = marked.column("small").to_pylist()
    assert all(v is None or v in (126, 127) for v in small) and small[0] is None
    assert pc.is_null(marked.column("price")).equals(pc.is_null(t.column("price")))
    assert set(pc.drop_null(marked.column("price")).to_pylist()) == {19.96, 19.97, 19.98}


def test_integer_identifiers_are_never_moved() -> None:
    t = pa.table({"seq": np.arange(10_000, 11_000), "amount": np.arange(1000) * 7 + 30_003})
    marked = embed(t, TRUE, KEY)
    assert marked.column("seq").equals(t.column("seq"))
    assert not marked.column("amount").equals(t.column("amount"))


def test_text_only_table_has_fewer_channels_and_says_so(original: pa.Table) -> None:
    text = original.select(["姓名", "sfzh", "mobile", "email", "地址", "xb"])
    marked = embed(text, TRUE, KEY)
    full = attribute(marked, [TRUE, *INNOCENTS], KEY)
    rich = attribute(embed(original, TRUE, KEY), [TRUE, *INNOCENTS], KEY)
    assert full.mark == TRUE and full.bits < rich.bits / 2  # (/ 3 before names were read)
    small = attribute(sample_rows(marked, 0.02, seed=9), [TRUE, *INNOCENTS], KEY)
    # (the unmarked names' one- and two-star runs are read too: about 100 more slots)
    assert small.bits <= 300 and small.scores[0][1] < rich.scores[0][1]
    bare = original.select(["姓名", "xb", "csrq"])
    assert embed(bare, TRUE, KEY).equals(bare)  # names not said to be masked: not written
    verdict = attribute(bare, [TRUE], KEY)
    assert verdict.mark is None and verdict.p_value > 1e-3
    nothing = original.select(["xb"])
    verdict = attribute(embed(nothing, TRUE, KEY), [TRUE], KEY)
    assert verdict.bits == verdict.order_pairs == 0 and verdict.p_value == 1.0
    # a masked name column carries bits, and the row order carries more while kept
    names = embed(bare, TRUE, KEY, masked=["姓名"], reorder=True)
    assert not names.equals(bare)
    assert attribute(sample_rows(names, 0.02, seed=9), [TRUE, *INNOCENTS], KEY).mark == TRUE
    assert attribute(names.drop_columns(["姓名"]), [TRUE, *INNOCENTS], KEY).mark == TRUE


def test_empty_key_is_refused(original: pa.Table) -> None:
    with pytest.raises(InvalidParameter, match="水印密钥"):
        embed(original, TRUE, b"")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_trace_file_reports_recipient_delivery_and_confidence(
    fmt: str, delivered: pa.Table, tmp_path: Path
) -> None:
    leak = sample_rows(delivered, 0.1, seed=10)
    path = tmp_path / f"leak.{fmt}"
    pq.write_table(leak, path) if fmt == "parquet" else pacsv.write_csv(leak, path)
    verdict = json.loads(json.dumps(trace_file(path, [*INNOCENTS, TRUE], KEY)))
    assert verdict["attributed"] is True
    assert (verdict["recipient"], verdict["delivery_id"], verdict["entry_id"]) == (
        TRUE.recipient,
        TRUE.delivery_id,
        TRUE.entry_id,
    )
    assert verdict["confidence"] > 0.999999 and verdict["p_value"] < verdict["threshold"]
    assert verdict["matched_rows"] == 500
    assert (
        verdict["candidates"][0]["recipient"] == TRUE.recipient and len(verdict["candidates"]) == 5
    )


def test_trace_file_of_an_unmarked_file_names_nobody(original: pa.Table, tmp_path: Path) -> None:
    pq.write_table(original, tmp_path / "clean.parquet")
    verdict = trace_file(tmp_path / "clean.parquet", [TRUE, *INNOCENTS], KEY)
    assert verdict["attributed"] is False and verdict["recipient"] is None


# ---- speed work must not change the scheme -----------------------------------

# sha256 of the CSV of ``embed(make_table(2000, seed=11), TRUE, KEY)``. Speed work may not
# move the marks. They moved once by design (issue 16 item 9): a cell that its own value
# cannot anchor goes to the rendezvous winner among the row's values *with the most
# digits* (a region code shared by thousands of rows no longer captures them), which
# changes the marks of such cells; with that ranking switched off the marks are still
# bit for bit those of the per-cell implementation (GOLDEN_UNRANKED, checked below).
GOLDEN_SHA256 = "04f6d7adc924527dc4f0a2ee399df98711e9fda1755bb361a5ec4bf80dbed76c"
GOLDEN_UNRANKED = "1e4b3c68081513010d1d610a84532e3d5c44d855cc89dce60a17c33df9198334"


def _marked_csv_sha256() -> str:
    import hashlib
    import io

    buf = io.BytesIO()
    pacsv.write_csv(embed(make_table(2000, seed=11), TRUE, KEY), buf)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_marks_are_the_same_as_before_the_per_value_rewrite() -> None:
    assert _marked_csv_sha256() == GOLDEN_SHA256


def test_only_the_ranking_of_anchors_moved_the_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    from gongshu.protect import watermark_rows

    winner = watermark_rows.winner
    monkeypatch.setattr(
        watermark_rows, "winner", lambda d, e, rank, w: winner(d, e, np.zeros_like(rank), w)
    )
    assert _marked_csv_sha256() == GOLDEN_UNRANKED
    assert _pages_csv_sha256() == GOLDEN_PAGES_UNRANKED


def test_dictionary_encoded_columns_are_marked_the_same_and_come_back_decoded(
    original: pa.Table, delivered: pa.Table
) -> None:
    encoded = pa.table({c: pc.dictionary_encode(original.column(c)) for c in original.column_names})
    marked = embed(encoded, TRUE, KEY)
    assert marked.schema == original.schema
    assert marked.equals(delivered)


def api_pages() -> list[pa.Table]:
    """Pages as the open API serves them: row IDs, numbers as text, a dictionary, decimals."""
    r = np.random.default_rng(12)
    pages = []
    for start, size in ((1, 100), (100_001, 100), (7, 13), (3_000_000, 250)):
        ids = np.arange(start, start + size)
        cents = r.lognormal(9, 1.5, size).astype(np.int64) * r.choice([1, 1, 1, -1], size)
        amounts = [None if i % 17 == 5 else Decimal(int(c)).scaleb(-2) for i, c in enumerate(cents)]
        page = {
            "_id": pa.array(ids),
            "编号": pa.array([str(i - 1) if i % 11 else None for i in ids]),
            "机构": pc.dictionary_encode(pa.array(r.choice(["西湖养老院", "东湖养老院"], size))),
            "金额": pa.array(amounts, pa.decimal128(38, 10)),
            "床位": pa.array([f"{v:.1f}" for v in r.uniform(0, 900, size)]),
        }
        page["地址"] = [
            f"浙江省杭州市西湖区{k}号" + "*" * (3 + k % 2) for k in r.integers(0, 9, size)
        ]
        page["登记"] = [
            f"2025-03-{1 + k % 28:02d} 08:{k % 60:02d}:{k % 59:02d}"
            for k in r.integers(0, 10**6, size)
        ]
        pages.append(pa.table(page))
    return pages


# sha256 of the CSVs of ``api_pages()`` embedded as the egress door does, computed by the
# code before the byte-level text view (watermark_text): a page's marks may not move
# (except by the anchors' ranking, as above: GOLDEN_PAGES_UNRANKED is the hash before it).
GOLDEN_PAGES_SHA256 = "a44f3bc05f10e9e0adaf606a8f43d856fee5cf49e44a340103d155f691a47158"
GOLDEN_PAGES_UNRANKED = "ebd09304c56b2bc593fcec962b5eb6951feb8bf63cf27787376bd39174ed93b9"


def _pages_csv_sha256() -> str:
    import hashlib
    import io

    buf = io.BytesIO()
    for page in api_pages():
        per_row = ["_id", "编号", "金额", "床位", "登记"]
        pacsv.write_csv(embed(page, TRUE, KEY, protected=["_id"], per_row=per_row), buf)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def test_api_page_marks_are_the_same_as_before_the_byte_level_views() -> None:
    assert _pages_csv_sha256() == GOLDEN_PAGES_SHA256
