"""Jurisdiction (issue 16 item 1): every action of a data authority, reviewer or
regulator, called on an object of a city (南昌市) as that city's authority, as another
city's (赣州市), as a county's inside it (东湖区) and as the province's.

``ACTIONS`` enumerates the authority actions, as the route-permission test enumerates
routes: ``test_every_jurisdiction_check_is_enumerated`` fails when a service checks
jurisdiction in a function no action here covers. ``higher`` records, per action,
whether the province may act on a city's object (docs/architecture.md "Jurisdiction").
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from gongshu.accounts import jurisdiction
from gongshu.accounts import service as accounts
from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.catalog import service as catalog
from gongshu.compliance import audits
from gongshu.compliance.demo import seed_provider_assessments
from gongshu.compliance.models import AuditEngagement
from gongshu.datasets import service as datasets
from gongshu.instruments import service as instruments
from gongshu.instruments.models import Instrument
from gongshu.ledger.models import LedgerEntry
from gongshu.opendata import agreements, breaches
from gongshu.opendata import service as opendata
from gongshu.operation import procurement
from gongshu.operation import service as operation
from gongshu.operation.models import OperatorAgreement
from gongshu.quality import onesource
from gongshu.quality.models import OneSourceDecision
from gongshu.registration import service as registration
from gongshu.timeutil import utcnow
from tests.conftest import clear_party

PASSWORD = "correct-horse-9"
SRC = Path(__file__).resolve().parents[2] / "src" / "gongshu"
CASES = ("own", "other", "lower", "higher")


@pytest.fixture
def world(session, people, tmp_path):  # noqa: ANN001, ANN201
    """The shared people, plus a second city, a city agency, an operator and
    regulators: one authority and one regulator per case."""
    accounts.add_region(session, "360700", "赣州市", parent="360000")

    def org(name: str, kind: str, region: str):  # noqa: ANN202
        return accounts.add_organization(session, name, kind=kind, region_code=region)

    def user(name: str, organization, *roles: str):  # noqa: ANN001, ANN202
        return accounts.create_user(
            session, name, PASSWORD, org=organization, roles=list(roles), display_name=name
        )

    reviewer_gz = user("reviewer_gz", org("赣州市数据局", "data_authority", "360700"), "reviewer")
    regulators = {
        case: user(f"regulator_{case}", org(f"{name}网信办", "regulator", code), "regulator")
        for case, name, code in (
            ("own", "南昌市", "360100"),
            ("other", "赣州市", "360700"),
            ("lower", "东湖区", "360102"),
            ("higher", "江西省", "360000"),
        )
    }
    clerk_city = user("clerk_city", org("南昌市交通运输局", "agency", "360100"), "clerk")
    clerk_city2 = user("clerk_city2", org("南昌市公安局", "agency", "360100"), "clerk")
    operator = user("operator_city", org("南昌数据运营有限公司", "operator", "360100"), "operator")
    clear_party(session, operator.org, people.reviewer_city, tmp_path / "var")  # SEC-13
    auditor = org("洪城合规审计事务所", "auditor", "360100")
    enterprise = accounts.create_user(session, "acme", PASSWORD, roles=["enterprise"])
    seed_provider_assessments(session, [clerk_city, clerk_city2])
    session.flush()
    authorities = {
        "own": people.reviewer_city,
        "other": reviewer_gz,
        "lower": people.reviewer_county,
        "higher": people.reviewer_prov,
    }
    return SimpleNamespace(
        session=session,
        people=people,
        tmp=tmp_path,
        authorities=authorities,
        regulators=regulators,
        clerk_city=clerk_city,
        clerk_city2=clerk_city2,
        operator=operator,
        auditor=auditor,
        enterprise=enterprise,
        n=iter(range(1, 1000)),
    )


def _entry(w, clerk=None, *, opening: str = "unconditional", publish: bool = True):  # noqa: ANN001, ANN202
    """A city entry (南昌市), submitted, approved at the city and loaded if ``publish``."""
    clerk = clerk or w.clerk_city
    n = next(w.n)
    code = f"360100-JT-{n:04d}"
    entry = catalog.create(
        w.session,
        {
            "resource_code": code,
            "name": f"公交线路 {n}",
            "summary": "公交线路与站点数量",
            "fields": [{"name": "线路"}, {"name": "站点数", "type": "integer"}],
            "update_frequency": "每日",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": opening,
            "opening_conditions": "仅用于交通研究" if opening == "conditional" else None,
            "formats": ["csv"],
            "themes": ["交通"],
        },
        actor=clerk,
    )
    catalog.submit(w.session, entry.id, actor=clerk)
    if publish:
        catalog.approve(w.session, entry.id, actor=w.people.reviewer_city)
        csv = w.tmp / f"{code}.csv"
        csv.write_text("线路,站点数\n" + "".join(f"{i}路,{i * 3}\n" for i in range(1, 21)))
        datasets.load(
            w.session, entry.id, csv, actor=clerk, datasets_dir=w.tmp / "var" / "datasets"
        )
    return entry


def _county_entry_at_city(w):  # noqa: ANN001, ANN202
    """A county entry approved (and so published) at 东湖区, merging at 南昌市."""
    clerk = w.people.clerk_county
    n = next(w.n)
    entry = catalog.create(
        w.session,
        {
            "resource_code": f"360102-MZ-{n:04d}",
            "name": f"救助对象 {n}",
            "summary": "救助对象名册",
            "fields": [{"name": "姓名"}],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于社会救助资格核查",
            "opening_attr": "none",
            "formats": ["CSV"],
        },
        actor=clerk,
    )
    catalog.submit(w.session, entry.id, actor=clerk)
    catalog.approve(w.session, entry.id, actor=w.people.reviewer_county)
    assert entry.review_region_code == "360100" and entry.published_version is not None
    return entry


def _authorize(w, entry, actor):  # noqa: ANN001, ANN202
    return operation.authorize(
        w.session,
        actor=actor,
        operator_org_id=w.operator.org_id,
        title="公交数据授权运营",
        entries=[{"entry_id": entry.id}],
        term_days=90,
        revenue_method="成本加合理利润",
        security_requirements="沙箱内处理",
        disposal="到期删除",
        report_name="报告.pdf",
        report_path="operation/reports/r.pdf",
        report_sha256="0" * 64,
    )


def _registration(w):  # noqa: ANN001, ANN202
    return registration.apply(
        w.session,
        {
            "kind": "resource",
            "name": f"公交运营数据资源 {next(w.n)}",
            "description": "公交车辆运营记录",
            "rights": ["holding"],
            "price_mode": "free",
        },
        actor=w.operator,
    )


def _procurement(w):  # noqa: ANN001, ANN202
    return procurement.file_request(
        w.session,
        actor=w.clerk_city,
        data_wanted="网约车订单统计",
        purpose="交通规划",
        legal_basis="《交通运输条例》",
    )


def _open_agreement(w):  # noqa: ANN001, ANN202
    entry = _entry(w, opening="conditional")
    app = opendata.apply(
        w.session,
        entry.id,
        actor=w.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专人管理",
        fields=["线路"],
        term_days=30,
    )
    opendata.answer(w.session, app.id, actor=w.clerk_city, approve=True)
    agreement = agreements.agreement_for(w.session, app.id)
    agreements.sign(w.session, agreement.id, actor=w.enterprise)
    return agreement


def _breach(w, agreement, actor):  # noqa: ANN001, ANN202
    return breaches.decide(
        w.session,
        agreement.id,
        actor=actor,
        finding="将数据提供给第三方",
        correction_order="立即收回并删除",
        correction_workdays=10,
    )


def _ordered_audit(w, subject, actor):  # noqa: ANN001, ANN202
    return audits.create(
        w.session,
        actor=actor,
        subject_org_id=subject.org_id,
        trigger="ordered",
        conductor="institution",
        institution_org_id=w.auditor.id,
        institution_head="周正信",
        lead_name="吴敏",
    )


@dataclass(frozen=True)
class AuthorityAction:
    name: str
    law: str
    make: Callable[[Any], Any]  # the world -> an object of 南昌市
    act: Callable[[Any, Any, Any], Any]  # (world, object, actor)
    state: Callable[[Any, Any], Any]  # (world, object): what a refusal leaves unchanged
    higher: bool  # may the province act on a city's object?
    checks: str  # the service function holding the jurisdiction check
    regulator: bool = False  # acted by a regulator rather than a data authority


def _party(w):  # noqa: ANN001, ANN202
    """An operator of 南昌市, not yet reviewed (SEC-13)."""
    name = f"南昌数据加工有限公司{next(w.n)}"
    return accounts.add_organization(w.session, name, kind="operator", region_code="360100")


def _review(w, party, actor):  # noqa: ANN001, ANN202
    path, digest = instruments.store_document(
        b"%PDF-1.4\n% review\n%%EOF\n", "r.pdf", data_dir=w.tmp / "var"
    )
    start = utcnow() - timedelta(days=1)
    return instruments.issue(
        w.session,
        actor=actor,
        kind="party_review",
        title="安全审查",
        purpose="outsourcing",
        recipient_org_id=party.id,
        valid_from=start,
        valid_until=start + timedelta(days=365),
        document_name="r.pdf",
        document_path=path,
        document_sm3=digest,
    )


def _reviews(w, party) -> int:  # noqa: ANN001
    return w.session.scalar(
        select(func.count()).select_from(Instrument).where(Instrument.recipient_org_id == party.id)
    )


def _designate(w, pair, actor):  # noqa: ANN001, ANN202
    return onesource.designate(
        w.session, [e.id for e in pair], pair[0].id, actor=actor, reason="由交通运输局采集"
    )


ACTIONS: tuple[AuthorityAction, ...] = (
    AuthorityAction(
        "catalog review (approve a city entry)",
        "CAT-2",
        lambda w: _entry(w, publish=False),
        lambda w, e, a: catalog.approve(w.session, e.id, actor=a),
        lambda w, e: (e.status, e.review_region_code, e.published_version),
        higher=False,  # the province reviews only once the city has approved
        checks="catalog/service.py:_require_reviewer",
    ),
    AuthorityAction(
        "catalog merge (a county entry at the city)",
        "CAT-2",
        _county_entry_at_city,
        lambda w, e, a: catalog.approve(w.session, e.id, actor=a),
        lambda w, e: (e.status, e.review_region_code, e.provincial),
        higher=False,
        checks="catalog/service.py:_require_reviewer",
    ),
    AuthorityAction(
        "catalog return during the merge",
        "CAT-2",
        _county_entry_at_city,
        lambda w, e, a: catalog.return_(w.session, e.id, actor=a, comment="字段说明不全"),
        lambda w, e: (e.status, e.review_region_code, e.published_version),
        higher=False,
        checks="catalog/service.py:_require_reviewer",
    ),
    AuthorityAction(
        "one-source and responsible-agency decision",
        "AGG-2, CAT-9",
        lambda w: (_entry(w, publish=False), _entry(w, w.clerk_city2, publish=False)),
        _designate,
        lambda w, pair: _count(w, OneSourceDecision),
        higher=True,  # the province decides between agencies of its cities
        checks="quality/onesource.py:designate",
    ),
    AuthorityAction(
        "operation licensing",
        "OPR-1",
        _entry,
        lambda w, e, a: _authorize(w, e, a),
        lambda w, e: _count(w, OperatorAgreement),
        higher=True,  # the provincial catalog merges its cities' entries
        checks="operation/service.py:authorize",
    ),
    AuthorityAction(
        "registration certificate (approve)",
        "REG-3",
        _registration,
        lambda w, r, a: registration.approve(w.session, r.id, actor=a, comment="准予登记"),
        lambda w, r: (r.status, r.code),
        higher=True,  # a province may register a city's operator; never the reverse
        checks="registration/service.py:_require_reviewer",
    ),
    AuthorityAction(
        "registration return",
        "REG-3",
        _registration,
        lambda w, r, a: registration.return_(w.session, r.id, actor=a, comment="材料不全"),
        lambda w, r: (r.status, r.last_comment),
        higher=True,
        checks="registration/service.py:_require_reviewer",
    ),
    AuthorityAction(
        "procurement review",
        "TRD-9",
        _procurement,
        # a refusal: an approval also needs a non-public entry to grant (TRD-9)
        lambda w, r, a: procurement.review(
            w.session, r.id, actor=a, approve=False, reason="可共享"
        ),
        lambda w, r: (r.status, r.reviewed_by),
        higher=False,  # the demand is the same government's: its own authority reviews
        checks="operation/procurement.py:review",
    ),
    AuthorityAction(
        "breach decision on an open-use agreement",
        "OPN-5",
        _open_agreement,
        _breach,
        lambda w, ag: len(agreements.breaches_of(w.session, ag.id)),
        higher=True,
        checks="opendata/breaches.py:_require_authority",
    ),
    AuthorityAction(
        "ordered compliance audit",
        "AUD-2",
        lambda w: w.clerk_city,
        lambda w, subject, a: _ordered_audit(w, subject, a),
        lambda w, subject: _count(w, AuditEngagement),
        higher=True,
        checks="compliance/audits.py:create",
        regulator=True,
    ),
    AuthorityAction(
        "security review of an operator or processor",
        "SEC-13",
        _party,
        _review,
        _reviews,
        higher=True,  # the province reviews its cities' operators
        checks="instruments/service.py:_entitled",
    ),
)


def _count(w, model) -> int:  # noqa: ANN001
    return w.session.scalar(select(func.count()).select_from(model))


def _ledger_size(session) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(LedgerEntry))


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_authority_action_in_every_tier_and_region(world, action: AuthorityAction) -> None:
    w = world
    actors = w.regulators if action.regulator else w.authorities
    allowed = {"own": True, "other": False, "lower": False, "higher": action.higher}
    refused_obj = action.make(w)
    for case in CASES:
        if allowed[case]:
            action.act(w, action.make(w), actors[case])
            continue
        before, size = action.state(w, refused_obj), _ledger_size(w.session)
        with pytest.raises(OutsideJurisdiction) as err:
            action.act(w, refused_obj, actors[case])
        # The message names the actor's organization and the object's region.
        assert actors[case].org.name in err.value.message, case
        assert "南昌市" in err.value.message or "东湖区" in err.value.message, case
        assert err.value.status == 403
        w.session.flush()
        assert action.state(w, refused_obj) == before, case
        assert _ledger_size(w.session) == size, case
    # The refused object is still actionable by its own authority.
    action.act(w, refused_obj, actors["own"])


def test_every_jurisdiction_check_is_enumerated() -> None:
    """A service function calling ``jurisdiction.require`` or ``refusal`` is an
    authority action; each must be covered by ``ACTIONS``."""
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef) or path.parent.name == "accounts":
                continue
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "jurisdiction"
                    and node.attr in ("require", "refusal")
                ):
                    found.add(f"{path.relative_to(SRC).as_posix()}:{fn.name}")
    assert found == {a.checks for a in ACTIONS} | set(PROVINCE_ONLY)


# Actions only the provincial authority takes, so the matrix's "own tier" (the city)
# does not apply; each is tested where it lives.
PROVINCE_ONLY = {
    # AGG-8: a node joins the province's network on the provincial authority's approval;
    # CAT-2: the provincial authority reviews the lower nodes' catalogs
    "federation/members.py:require_provincial_authority": (
        "tests/federation/test_routes.py::test_the_provincial_authority_approves_on_the_node_page",
        "tests/federation/test_review.py::test_the_province_reviews_and_the_decision_is_queued_down",
    ),
}


def test_a_higher_tier_return_takes_a_lower_tier_publication_down(world) -> None:
    w = world
    entry = _county_entry_at_city(w)
    published = entry.published_version
    catalog.return_(w.session, entry.id, actor=w.people.reviewer_city, comment="数据项不全")
    assert entry.status == "returned" and entry.published_version is None
    (down,) = w.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.action == "catalog.unpublished", LedgerEntry.subject == f"entry:{entry.id}"
        )
    )
    assert down.payload["published_version"] == published
    assert down.payload["returned_by_region"] == "360100"
    # Returned at its own first review, a never-published entry has nothing to take down.
    fresh = _entry(w, publish=False)
    catalog.return_(w.session, fresh.id, actor=w.people.reviewer_city, comment="补充说明")
    assert fresh.published_version is None
    assert not list(
        w.session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.action == "catalog.unpublished",
                LedgerEntry.subject == f"entry:{fresh.id}",
            )
        )
    )


def test_the_message_names_both_regions(world) -> None:
    w = world
    reg = _registration(w)
    with pytest.raises(OutsideJurisdiction) as err:
        registration.approve(w.session, reg.id, actor=w.people.reviewer_county)
    assert "东湖区数据局" in err.value.message and "南昌市（市级）" in err.value.message
    assert err.value.detail == {
        "actor_region": "360102",
        "object_region": "360100",
        "reach": jurisdiction.AREA,
        "law": "REG-3",
    }
    assert "REG-3" not in err.value.message


def test_an_administrator_keeps_its_rights(world) -> None:
    w = world
    reg = _registration(w)
    registration.approve(w.session, reg.id, actor=w.people.admin)
    assert reg.status == "approved"
    assert jurisdiction.may_act(w.people.admin, "360700", jurisdiction.OWN)


@pytest.mark.parametrize(
    ("actor", "target", "reach", "ok"),
    [
        ("360000", "360102", jurisdiction.AREA, True),
        ("360100", "360102", jurisdiction.AREA, True),
        ("360100", "360700", jurisdiction.AREA, False),
        ("360102", "360100", jurisdiction.AREA, False),
        ("360102", "360103", jurisdiction.AREA, False),
        ("360000", "360100", jurisdiction.OWN, False),
        ("360100", "360100", jurisdiction.OWN, True),
    ],
)
def test_covers(actor: str, target: str, reach: str, ok: bool) -> None:
    assert jurisdiction.covers(actor, target, reach) is ok
