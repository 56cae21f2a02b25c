"""Open entries with data: one unconditional-open, one conditional-open, one not open."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets

BUSES = [(f"{i:03d}路", "东湖区" if i % 2 else "西湖区", i * 3) for i in range(1, 31)]


def _entry(session, people, tmp_path: Path, code: str, opening: str, **extra):  # noqa: ANN001, ANN003, ANN202
    data = {
        "resource_code": code,
        "name": extra.pop("name", f"公交线路 {code}"),
        "summary": "公交线路与站点数量",
        "fields": [
            {"name": "线路", "type": "string"},
            {"name": "区", "type": "string"},
            {"name": "站点数", "type": "integer"},
        ],
        "update_frequency": extra.pop("update_frequency", "每日"),
        "security_grade": "一般数据-1级",
        "sharing_attr": "unconditional",
        "opening_attr": opening,
        "opening_conditions": "仅用于交通研究" if opening == "conditional" else None,
        "formats": extra.pop("formats", ["csv", "xlsx"]),
        "themes": extra.pop("themes", ["交通"]),
        **extra,
    }
    entry = catalog.create(session, data, actor=people.clerk_county)
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / f"{code}.csv"
    csv.write_text(
        "线路,区,站点数\n" + "".join(f"{a},{b},{c}\n" for a, b, c in BUSES), encoding="utf-8"
    )
    datasets.load(
        session,
        entry.id,
        csv,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


@pytest.fixture
def open_data(session, people, tmp_path):  # noqa: ANN001, ANN201
    free = _entry(session, people, tmp_path, "360102-JT-0001", "unconditional")
    cond = _entry(
        session,
        people,
        tmp_path,
        "360102-JT-0002",
        "conditional",
        themes=["交通", "城建"],
        formats=["csv"],
        update_frequency="每月",
    )
    closed = _entry(session, people, tmp_path, "360102-JT-0003", "none")
    enterprise = accounts.create_user(session, "acme", "correct-horse-9", roles=["enterprise"])
    session.flush()
    return SimpleNamespace(free=free, cond=cond, closed=closed, enterprise=enterprise)


@pytest.fixture
def api_token(session):  # noqa: ANN001, ANN201
    def issue(user):  # noqa: ANN001, ANN202
        plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return plaintext

    return issue
