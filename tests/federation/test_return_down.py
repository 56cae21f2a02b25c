"""Data returned down (AGG-7; issue 18 item 5), in process: a province, a city
(360100) and a county (360102) as three instances with databases of their own. The
province returns an entry's rows for the city's region to the city node as a standing
grant; chain messages travel as signed wire bytes, each fetch as its signed request to
the province's ``sharing.serve``."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gongshu.accounts import service as accounts
from gongshu.accounts.models import Organization
from gongshu.catalog import service as catalog
from gongshu.compliance.demo import seed_provider_assessments
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress.tracing import trace_leak
from gongshu.errors import Conflict, Forbidden, InvalidField
from gongshu.federation import chain, identity, members, returned, sharing
from gongshu.federation.models import CrossSharing
from gongshu.ledger import LedgerEntry
from tests.instances import new_instance, settings_for

from .test_national import carry
from .test_sharing import _resident_id, _user

PROVINCE, CITY, COUNTY = "province-360000", "city-360100", "county-360102"
FIELDS = [
    {"name": "姓名"},
    {"name": "公民身份号码", "kind": "resident_id"},
    {"name": "行政区划代码", "kind": "region_code"},
    {"name": "补助金额", "type": "decimal"},
]
# 东湖区 and 西湖区 are in the city; 南昌市 itself too; 景德镇市 and 萍乡市 are not.
REGIONS = ["360102", "360103", "360100", "360200", "360300"]


def _rows(version: int, n: int = 100) -> str:
    lines = ["姓名,公民身份号码,行政区划代码,补助金额"] + [
        f"居民{version}-{i:03d},{_resident_id(f'36010219800101{i:03d}')},"
        f"{REGIONS[i % len(REGIONS)]},{300 + i}.{version}0"
        for i in range(n)
    ]
    return "\n".join(lines) + "\n"


def _entry(session, settings, tmp, *, user: str, code: str, grade="一般数据-2级") -> int:  # noqa: ANN001
    clerk = _user(session, user)
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": f"目录{code}",
            "summary": "按地区的记录",
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": grade,
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=_user(session, "reviewer_prov"))
    src = tmp / f"{code}-1.csv"
    src.write_text(_rows(1), encoding="utf-8")
    datasets.load(session, entry.id, src, actor=clerk, datasets_dir=settings.datasets_dir)
    return entry.id


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("returned")
    province, _ = new_instance(settings_for(tmp / "p", None))
    city, _ = new_instance(settings_for(tmp / "c", None))
    county, _ = new_instance(settings_for(tmp / "k", None))
    with transaction(province.session_factory) as session:
        p = identity.init_node(
            session, province.settings, role="province", region_code="360000",
            address="http://prov.test",
        )  # fmt: skip
        anchor = identity.anchor_of(p)
        entry_id = _entry(
            session, province.settings, tmp, user="clerk_prov", code="360000-MZ-01",
            grade="一般数据-4级",
        )  # fmt: skip
    anchors = []
    for inst, role, region in ((city, "city", "360100"), (county, "county", "360102")):
        with transaction(inst.session_factory) as session:
            n = identity.init_node(
                session, inst.settings, role=role, region_code=region,
                address=f"http://{role}.test", anchor=anchor,
            )  # fmt: skip
            anchors.append(identity.anchor_of(n))
    with transaction(province.session_factory) as session:
        for a in anchors:
            members.dock(session, a)
    try:
        yield SimpleNamespace(
            province=province, city=city, county=county, entry_id=entry_id, tmp=tmp
        )
    finally:
        province.close()
        city.close()
        county.close()


def _return(
    net, entry_id: int, target: str = CITY, column: str = "行政区划代码", by="reviewer_prov"
):  # noqa: ANN001, ANN202
    with transaction(net.province.session_factory) as session:
        row = returned.return_down(
            session,
            actor=_user(session, by),
            entry_id=entry_id,
            target_node=target,
            region_column=column,
            private=identity.private_key(net.province.settings),
        )
        return row.ref


def _tick(net) -> None:  # noqa: ANN001
    with transaction(net.province.session_factory) as session:
        key = identity.private_key(net.province.settings)
        sharing.follow(session)
        sharing.report(session, key)
        returned.refresh(session, key)


def _local(instance, ref: str) -> CrossSharing:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        row = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        session.expunge(row)
        return row


def _stand_in(session) -> int:  # noqa: ANN001
    return session.scalar(
        select(Organization.id).where(Organization.name == f"南昌市数据管理部门（{CITY}）")
    )


def _fetch(net, sid: int, *, who: str = "reviewer_city") -> list[list[str]]:  # noqa: ANN001
    with transaction(net.city.session_factory) as c:
        row = sharing.get(c, sid)
        raw = sharing.fetch_request(c, row, identity.private_key(net.city.settings), limit=1000)
    with transaction(net.province.session_factory) as p:
        answer = sharing.serve(
            p, raw, net.province.settings, identity.private_key(net.province.settings)
        )
    with transaction(net.city.session_factory) as c:
        data = sharing.take(c, sharing.get(c, sid), answer, actor=_user(c, who))
    (net.tmp / "last.csv").write_bytes(data)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_rows_for_the_city_region_returned_down_refreshed_and_revoked(net, monkeypatch) -> None:
    ref = _return(net, net.entry_id)
    prov = _local(net.province, ref)
    assert (prov.side, prov.state, prov.consumer_node) == ("provider", "granted", CITY)
    assert prov.request["row_filter"] == [
        {"column": "行政区划代码", "op": ">=", "value": "3601"},
        {"column": "行政区划代码", "op": "<", "value": "3602"},
    ]
    assert carry(net.province, net.city, sharing.CHANNEL) == 1
    assert carry(net.province, net.county, sharing.CHANNEL) == 0
    city_row = _local(net.city, ref)
    assert (city_row.side, city_row.state, city_row.org_name) == (
        "consumer",
        "granted",
        "南昌市数据局",
    )
    assert returned.stale(city_row) and city_row.request["version"] == 1

    rows = _fetch(net, city_row.id)
    header, body = rows[0], rows[1:]
    assert header == ["姓名", "公民身份号码", "行政区划代码", "补助金额"]
    assert len(body) == 60  # three of every five regions are in the city
    assert {r[2] for r in body} == {"360102", "360103", "360100"}
    assert all(r[0].startswith("居民1-") for r in body)
    # A grade-4 entry: the ID numbers are pseudonymized for the city.
    ids = {_resident_id(f"36010219800101{i:03d}") for i in range(100)}
    assert all(r[1] and r[1] not in ids for r in body)
    assert not returned.stale(_local(net.city, ref))
    # Through the door under the sharing policy, watermarked and traced, on the
    # province, to the city's stand-in organization.
    with transaction(net.province.session_factory) as session:
        delivered = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "egress.delivered")
        ).all()[-1]
        assert delivered.payload["recipient"] == f"org:{prov.request and _stand_in(session)}"
        assert delivered.payload["policy"].startswith("share-conditional-high")
        verdict = trace_leak(session, net.tmp / "last.csv", secret=net.province.settings.secret_key)
        assert verdict["attributed"], verdict
        assert verdict["recipient_name"] == f"南昌市数据管理部门（{CITY}）"

    # A new version at the province reaches the city: told by the tick, fetched again.
    src = net.tmp / "v2.csv"
    src.write_text(_rows(2, 50), encoding="utf-8")
    with transaction(net.province.session_factory) as session:
        datasets.load(
            session, net.entry_id, src, actor=_user(session, "clerk_prov"),
            datasets_dir=net.province.settings.datasets_dir,
        )  # fmt: skip
    # The province's own sharing tick notices it (delivery left to ``carry`` here).
    monkeypatch.setattr(sharing.delivery, "deliver", lambda session, **kw: {"state": "ok"})
    with transaction(net.province.session_factory) as session:
        assert sharing.sync(session, net.province.settings)["queued"] == 1
    assert carry(net.province, net.city, sharing.CHANNEL) == 1
    assert returned.stale(_local(net.city, ref))
    _tick(net)  # told once
    assert carry(net.province, net.city, sharing.CHANNEL) == 0
    body = _fetch(net, city_row.id)[1:]
    assert len(body) == 30 and all(r[0].startswith("居民2-") for r in body)
    assert {r[2] for r in body} == {"360102", "360103", "360100"}
    assert _local(net.city, ref).request["fetched_version"] == 2

    # The county got nothing of it, and a fetch naming the city's grant is refused.
    with transaction(net.county.session_factory) as k:
        assert k.scalars(select(CrossSharing)).all() == []
        fake = CrossSharing(
            side="consumer", ref=ref, consumer_node=COUNTY, provider_node=PROVINCE,
            state="granted", fetches=0,
        )  # fmt: skip
        raw = sharing.fetch_request(k, fake, identity.private_key(net.county.settings))
        k.rollback()
    with transaction(net.province.session_factory) as p:
        with pytest.raises(sharing.FetchRefused) as refused:
            sharing.serve(
                p, raw, net.province.settings, identity.private_key(net.province.settings)
            )
        assert refused.value.code == "not_found"
        p.rollback()

    # Both ledgers hold it.
    for inst, wanted in (
        (net.province, ["federation.returned_down", "federation.sharing_served",
                        "federation.returned_refreshed"]),
        (net.city, ["federation.returned_received", "federation.sharing_fetched",
                    "federation.returned_refreshed"]),
    ):  # fmt: skip
        with transaction(inst.session_factory) as session:
            actions = set(
                session.scalars(
                    select(LedgerEntry.action).where(LedgerEntry.subject.like(f"%/{ref}"))
                )
            )
            assert set(wanted) <= actions, actions

    # Revocation stops it at once and reaches the city.
    with transaction(net.province.session_factory) as session:
        with pytest.raises(InvalidField, match="理由"):
            returned.revoke(session, prov.id, actor=_user(session, "reviewer_prov"), reason=" ")
        session.rollback()
    with transaction(net.province.session_factory) as session:
        returned.revoke(session, prov.id, actor=_user(session, "reviewer_prov"), reason="不再需要")
    with transaction(net.city.session_factory) as c:
        raw = sharing.fetch_request(
            c, sharing.get(c, city_row.id), identity.private_key(net.city.settings)
        )
    with transaction(net.province.session_factory) as p:
        with pytest.raises(sharing.FetchRefused, match="撤销"):
            sharing.serve(
                p, raw, net.province.settings, identity.private_key(net.province.settings)
            )
        p.rollback()
    _tick(net)
    assert carry(net.province, net.city, sharing.CHANNEL) == 1
    assert _local(net.city, ref).state == "revoked"
    with transaction(net.city.session_factory) as c, pytest.raises(Conflict, match="已撤销"):
        sharing.fetch_request(
            c, sharing.get(c, city_row.id), identity.private_key(net.city.settings)
        )
    for inst in (net.province, net.city):
        with transaction(inst.session_factory) as session:
            assert chain.verify_log(session).ok


def test_only_the_provincial_data_authority_returns_down(net) -> None:
    for who in ("clerk_prov", "reviewer_city"):
        with transaction(net.province.session_factory) as session:
            with pytest.raises(Forbidden, match="省级数据管理部门"):
                returned.return_down(
                    session, actor=_user(session, who), entry_id=net.entry_id,
                    target_node=CITY, private=identity.private_key(net.province.settings),
                )  # fmt: skip
            session.rollback()
    with transaction(net.province.session_factory) as session:
        with pytest.raises(InvalidField) as bad:
            returned.return_down(
                session, actor=_user(session, "reviewer_prov"), entry_id=net.entry_id,
                target_node="city-999999", region_column="没有的字段",
                private=identity.private_key(net.province.settings),
            )  # fmt: skip
        assert set(bad.value.fields) == {"target_node", "region_column"}
        session.rollback()
    with (
        transaction(net.city.session_factory) as session,
        pytest.raises(Conflict, match="省级节点"),
    ):
        returned.return_down(
            session, actor=_user(session, "reviewer_prov"), entry_id=1, target_node=COUNTY,
            private=identity.private_key(net.city.settings),
        )  # fmt: skip


def test_a_vertical_system_provides_its_data_down_the_same_way(net) -> None:
    with transaction(net.province.session_factory) as session:
        tax = accounts.add_organization(
            session, "国家税务总局江西省税务局", kind="vertical", region_code="360000"
        )
        clerk = accounts.create_user(
            session, "clerk_tax", "a-long-test-password-1", org=tax, roles=["clerk"]
        )
        seed_provider_assessments(session, [clerk])
        entry_id = _entry(
            session, net.province.settings, net.tmp, user="clerk_tax", code="360000-SW-01"
        )
    ref = _return(net, entry_id, target=COUNTY)
    assert carry(net.province, net.county, sharing.CHANNEL) == 1
    row = _local(net.county, ref)
    assert row.request["vertical"] and row.request["provider_org"] == "国家税务总局江西省税务局"
    with transaction(net.county.session_factory) as k:
        raw = sharing.fetch_request(
            k, sharing.get(k, row.id), identity.private_key(net.county.settings)
        )
    with transaction(net.province.session_factory) as p:
        answer = sharing.serve(
            p, raw, net.province.settings, identity.private_key(net.province.settings)
        )
    with transaction(net.county.session_factory) as k:
        data = sharing.take(k, sharing.get(k, row.id), answer, actor=_user(k, "reviewer_county"))
    body = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]
    assert len(body) == 20 and {r[2] for r in body} == {"360102"}


def test_the_node_pages_return_down_and_list_what_was_returned(net, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from gongshu.app.factory import create_app
    from tests.conftest import PASSWORD

    def client_of(instance, username: str) -> TestClient:  # noqa: ANN001
        client = TestClient(create_app(instance.settings, session_factory=instance.session_factory))
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code in (200, 303), r.text
        client.headers["X-CSRF-Token"] = client.cookies.get("gs_csrf")
        return client

    prov = client_of(net.province, "reviewer_prov")
    page = prov.get("/federation/nodes")
    assert page.status_code == 200 and 'id="return-down"' in page.text
    assert (
        f'<option value="{COUNTY}"' in page.text and f'<option value="{net.entry_id}"' in page.text
    )
    form = {"entry_id": str(net.entry_id), "target_node": "", "region_column": "没有的字段"}
    r = prov.post("/federation/returned", data=form, follow_redirects=False)
    assert r.status_code == 400, r.text
    assert 'id="target_node-error"' in r.text and 'id="region_column-error"' in r.text
    assert "没有的字段" in r.text  # what was typed is kept
    form = {**form, "target_node": COUNTY, "region_column": "行政区划代码"}
    r = prov.post("/federation/returned", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert carry(net.province, net.county, sharing.CHANNEL) == 1

    county = client_of(net.county, "reviewer_county")
    page = county.get("/federation/nodes")
    assert page.status_code == 200 and 'id="returned-in"' in page.text
    assert "目录360000-MZ-01" in page.text and "有新版本待取得" in page.text
    assert "省级回流至本节点" in page.text
    # ``gongshu node status`` says a version waits.
    from typer.testing import CliRunner

    from gongshu.federation.commands import node_app

    env = {"GONGSHU_SECRET_KEY": net.county.settings.secret_key}
    args = ["status", "--data-dir", str(net.county.settings.data_dir)]
    result = CliRunner().invoke(node_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "提醒：省级回流的目录“目录360000-MZ-01”有第 2 版待取得（已取得第 0 版）" in result.output

    # The county's data authority takes its rows from the page: the signed fetch goes
    # to the province's door (carried in process instead of over HTTP).
    def post(url: str, body: bytes) -> dict:
        assert url == "http://prov.test/federation/v1/sharing/fetch"
        with transaction(net.province.session_factory) as p:
            key = identity.private_key(net.province.settings)
            return sharing.serve(p, body, net.province.settings, key)

    monkeypatch.setattr(sharing.client, "post", post)
    with transaction(net.county.session_factory) as k:
        cid = next(r.id for r in returned.listing(k, "consumer") if r.entry_name.endswith("MZ-01"))
    r = county.post(f"/federation/returned/{cid}/data")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    body = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:]
    assert len(body) == 10 and {b[2] for b in body} == {"360102"}  # version 2: 50 rows
    assert "有新版本待取得" not in county.get("/federation/nodes").text
    denied = client_of(net.county, "clerk_county").post(f"/federation/returned/{cid}/data")
    assert denied.status_code == 403 and "来源无法验证" not in denied.text

    with transaction(net.province.session_factory) as session:
        (row,) = [r for r in returned.listing(session, "provider") if r.state == "granted"
                  and r.consumer_node == COUNTY and r.entry_id == net.entry_id]  # fmt: skip
        rid = row.id
    r = prov.post(f"/federation/returned/{rid}/revoke", data={"reason": ""}, follow_redirects=False)
    assert r.status_code == 400 and "撤销回流须说明理由" in r.text
    r = prov.post(
        f"/federation/returned/{rid}/revoke",
        data={"reason": "已改由县级采集"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # A county reviewer at the province is no provincial data authority.
    assert (
        client_of(net.province, "reviewer_county")
        .post("/federation/returned", data=form, follow_redirects=False)
        .status_code
        == 403
    )
