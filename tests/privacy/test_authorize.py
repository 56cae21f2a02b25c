"""PIP-10: the person authorizes a market entity to use their own data gathered
through the platform; withdrawing the consent stops the grant at once."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gongshu.accounts import service as accounts
from gongshu.egress import service as egress
from gongshu.egress.errors import GrantInactive
from gongshu.errors import InvalidInput
from gongshu.privacy import consent, service
from gongshu.privacy.authorize import authorize
from gongshu.privacy.errors import NotThePerson
from tests.privacy.conftest import code_for

TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def exported(session, people, citizen, entries, pi):  # noqa: ANN001, ANN201
    req = service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind="copy",
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    m = next(x for x in service.matches(session, req) if x.entry_id == entries[0].id)
    service.handle(
        session,
        m.id,
        actor=people.clerk_county,
        action="export",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    return egress.get_grant(session, m.grant_id)


@pytest.fixture
def company(session):  # noqa: ANN001, ANN201
    org = accounts.add_organization(
        session, "赣江信用科技有限公司", kind="enterprise", region_code="360000"
    )
    user = accounts.create_user(
        session, "company", "company-pass-123", org=org, roles=["enterprise"]
    )
    return org, user


def ids(session, grant, user, pi) -> list[str]:  # noqa: ANN001
    out = egress.deliver(
        session,
        grant.id,
        actor=user,
        fmt="json",
        datasets_dir=pi.datasets_dir,
        work_dir=pi.work_dir,
        secret=pi.secret,
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    out.discard()
    col = doc["columns"].index("公民身份号码")
    return [row[col] for row in doc["rows"]]


def test_authorized_entity_reads_only_the_persons_rows_until_withdrawal(
    session, people, citizen, exported, company, pi
) -> None:
    org, staff = company
    grant = authorize(
        session, exported.id, user=citizen, org_id=org.id, purpose="信用评估", on=TODAY
    )
    assert grant.recipient_org_id == org.id and ids(session, grant, staff, pi) == [pi.me]
    records = consent.of_org(session, org.id)
    assert records and all(r.person_hash == citizen.id_number_hash for r in records)
    sensitive = [r for r in records if r.sensitive]
    assert [r.data_kinds for r in sensitive] == [["CN_RESIDENT_ID"]]  # separate consent (PIP-1)
    consent.withdraw_own(session, sensitive[0].id, user=citizen, on=TODAY)
    with pytest.raises(GrantInactive, match="撤销"):
        ids(session, grant, staff, pi)


def test_only_own_exports_and_only_market_entities(
    session, people, citizen, exported, company, pi
) -> None:
    org, _ = company
    with pytest.raises(InvalidInput, match="被授权方须为企业或授权运营机构"):
        authorize(
            session,
            exported.id,
            user=citizen,
            org_id=people.org["police"].id,
            purpose="x",
            on=TODAY,
        )
    with pytest.raises(NotThePerson):
        authorize(
            session, exported.id, user=people.clerk_county, org_id=org.id, purpose="x", on=TODAY
        )
