"""Two entries holding the same people (the county civil-affairs bureau's subsistence
list and the police's household register), loaded as real Parquet, and a verified
citizen whose ID number is one of the rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.identifiers import id_check_char
from gongshu.privacy.person import person_hash

SECRET = "test-secret-key-not-for-production"  # the settings fixture's secret


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


IDS = [rid(f"36010219800101{i:03d}") for i in range(1, 21)]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静"] * 4
MOBILES = [f"1381234{i:04d}" for i in range(20)]
ME = IDS[3]  # the citizen
CHILD = rid("36010220200601001")  # born 2020-06-01
PARENT = rid("36010219900301002")
REGISTER_CODE = "360000-GA-0001"  # the settings' default identity register


def publish_and_load(  # noqa: ANN201
    session,  # noqa: ANN001
    people,  # noqa: ANN001
    tmp_path: Path,
    *,
    code,  # noqa: ANN001
    name,  # noqa: ANN001
    provider,  # noqa: ANN001
    reviewer,  # noqa: ANN001
    rows,  # noqa: ANN001
    phone: str = "联系电话",
):
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": name,
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": phone},
                {"name": "街道"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=provider,
    )
    catalog.submit(session, entry.id, actor=provider)
    catalog.approve(session, entry.id, actor=reviewer)
    csv = tmp_path / f"{code}.csv"
    lines = [f"姓名,公民身份号码,{phone},街道"] + [
        f"{n},{i},{m},{'八一' if k % 2 else '豫章'}街道" for k, (n, i, m) in enumerate(rows)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(session, entry.id, csv, actor=provider, datasets_dir=datasets_dir(tmp_path))
    return entry


def datasets_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "datasets"


@pytest.fixture
def citizen(session, people):  # noqa: ANN001, ANN201
    people.citizen.id_number_hash = person_hash(ME, SECRET)
    session.flush()
    return people.citizen


@pytest.fixture
def entries(session, people, tmp_path):  # noqa: ANN001, ANN201
    rows = list(zip(NAMES, IDS, MOBILES, strict=True))
    county = publish_and_load(
        session,
        people,
        tmp_path,
        code="360102-MZ-0301",
        name="低保对象名单",
        provider=people.clerk_county,
        reviewer=people.reviewer_county,
        rows=rows,
    )
    police = publish_and_load(
        session,
        people,
        tmp_path,
        code=REGISTER_CODE,  # the police's entry is the resident register checks read
        name="户籍人口信息",
        provider=people.clerk_prov,
        reviewer=people.reviewer_prov,
        rows=rows[:10],
        phone="手机号码",
    )
    return county, police


@pytest.fixture
def pi(tmp_path):  # noqa: ANN001, ANN201
    """The fixed people and paths the tests use."""
    from types import SimpleNamespace

    return SimpleNamespace(
        ids=IDS,
        me=ME,
        my_mobile=MOBILES[3],
        child=CHILD,
        parent=PARENT,
        secret=SECRET,
        datasets_dir=datasets_dir(tmp_path),
        work_dir=tmp_path / "out",
        rid=rid,
    )


@pytest.fixture
def mobile_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    """An entry with mobile numbers and no ID column (a hotline's callers)."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0302",
            "name": "救助热线来电登记",
            "summary": "来电登记",
            "fields": [{"name": "姓名"}, {"name": "联系电话"}, {"name": "事由"}],
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
    csv = tmp_path / "hotline.csv"
    lines = ["姓名,联系电话,事由"] + [
        f"{n},{m},咨询低保政策" for n, m in zip(NAMES, MOBILES, strict=True)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=datasets_dir(tmp_path)
    )
    return entry


def code_for(session, user, mobile: str = MOBILES[3], secret: str = SECRET) -> str:  # noqa: ANN001
    """A one-time code sent to ``user``'s phone and read there (the outbox), as the
    person would. Earlier codes are aged past the resend pause (a test files several
    requests within a minute)."""
    import re
    from datetime import timedelta

    from sqlalchemy import update

    from gongshu.accounts import otp
    from gongshu.accounts.models import OneTimeCode
    from gongshu.accounts.notify import OutboxNotifier, outbox
    from gongshu.timeutil import utcnow

    session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.user_id == user.id)
        .values(created_at=utcnow() - timedelta(minutes=2))
    )
    otp.issue(
        session, user, purpose="rights", mobile=mobile, notifier=OutboxNotifier(), secret=secret
    )
    return re.search(r"\d{6}", outbox(session, limit=1)[0].text).group(0)
