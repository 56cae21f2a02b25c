"""Rights requests reach free text and JSON (issue 21 item 5): the person's ID number
mentioned in 12345 letters or in a JSON field is found, and a deletion masks the
mention in those cells; the rows (other people's records) stay."""

from __future__ import annotations

import json

import duckdb
import pytest

from gongshu import storage
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.privacy import finder, service
from gongshu.privacy.models import Tombstone
from gongshu.storage import versions_of

from .conftest import IDS, ME, MOBILES, NAMES, datasets_dir
from .test_service import at, file


@pytest.fixture
def letters(session, people, tmp_path):  # noqa: ANN001, ANN201
    """A hotline's letters: 40 callers, a few of whom name the citizen by ID number."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-ZW-12345",
            "name": "12345热线工单",
            "summary": "市民来电工单",
            "fields": [{"name": "工单编号"}, {"name": "来电内容"}, {"name": "扩展信息"}],
            "update_frequency": "每日",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    rows, others = [], [x for x in IDS if x != ME]
    for i in range(40):
        caller, phone = NAMES[i % 20], MOBILES[i % 20]
        about = ME.lower() if i in (7, 23) else others[i % 19]  # lower-case x, as typed
        text = f"市民{caller}来电反映，邻居（身份证号{about}）长期占用楼道，联系电话{phone}。"
        ext = {"caller": {"name": caller, "idCard": ME if i == 31 else others[(i + 1) % 19]}}
        rows.append([f"GD{i:06d}", text, json.dumps(ext, ensure_ascii=False)])
    csv = tmp_path / "letters.csv"
    lines = ["工单编号,来电内容,扩展信息"]
    lines += [f'{a},{b},"{c.replace(chr(34), chr(34) * 2)}"' for a, b, c in rows]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=datasets_dir(tmp_path)
    )
    return entry


def _rows(pi, version) -> list[dict]:  # noqa: ANN001
    con = duckdb.connect()
    try:
        source = storage.relation(con, pi.datasets_dir, version)
        return con.sql(f"SELECT * FROM {source}").to_arrow_table().to_pylist()
    finally:
        con.close()


def test_mentions_in_letters_and_json_are_found_and_masked_not_dropped(
    session, people, citizen, letters, pi
) -> None:
    (v1,) = versions_of(session, letters.id)
    assert finder.text_columns(v1) == ["扩展信息", "来电内容"]
    req = file(session, citizen, pi, kind="delete", now=at(2026, 3, 2))
    (match,) = [m for m in service.matches(session, req) if m.entry_id == letters.id]
    assert sorted(match.columns) == ["扩展信息", "来电内容"] and match.rows == 3
    # found by the verified ID number: no mobile confirmation is asked for
    service.handle(
        session,
        match.id,
        actor=people.clerk_county,
        action="delete",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    stone = session.query(Tombstone).filter_by(entry_id=letters.id).one()
    assert stone.row_numbers == [] and stone.columns == ["扩展信息", "来电内容"]
    before = _rows(pi, v1)
    after = _rows(pi, session.get(type(v1), stone.new_version_id))
    assert len(after) == len(before) == 40  # the rows stay
    for old, new in zip(before, after, strict=True):
        for col in ("来电内容", "扩展信息"):
            assert ME not in new[col].upper()
            if ME not in old[col].upper():
                assert new[col] == old[col]  # other people's cells untouched
    assert "******************" in after[7]["来电内容"] and "来电反映" in after[7]["来电内容"]
    assert json.loads(after[31]["扩展信息"])["caller"]["idCard"] == "*" * 18  # JSON stays JSON
