"""Catalog entries of the county's civil-affairs bureau for instrument tests."""

from __future__ import annotations

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from tests.conftest import clear_party


def make_entry(session, people, code, name, grade="一般数据-2级"):  # noqa: ANN001, ANN201
    return catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": name,
            "fields": [{"name": "姓名"}, {"name": "公民身份号码", "kind": "resident_id"}],
            "update_frequency": "每月",
            "security_grade": grade,
            "sharing_attr": "conditional",
            "sharing_conditions": "按需",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )


@pytest.fixture
def entry(session, people):  # noqa: ANN001, ANN201
    return make_entry(session, people, "360102-MZ-0901", "户籍登记")


@pytest.fixture
def op(session, people, tmp_path):  # noqa: ANN001, ANN201
    """An operator the provincial data authority reviewed, under agreement (SEC-13)."""
    org = accounts.add_organization(
        session, "江西省公共数据运营有限公司", kind="operator", region_code="360000"
    )
    clear_party(session, org, people.reviewer_prov, tmp_path / "var")
    return accounts.create_user(
        session, "operator", "correct-horse-9", org=org, roles=["operator"], display_name="运营"
    )


@pytest.fixture
def new_entry(session, people):  # noqa: ANN001, ANN201
    def make(code, name, grade="一般数据-2级"):  # noqa: ANN001, ANN202
        return make_entry(session, people, code, name, grade)

    return make
