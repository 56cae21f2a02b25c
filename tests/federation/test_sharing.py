"""Sharing across nodes (issue 18 item 4), in process: a province (the provider: the
provincial police's entry) and a city (the consumer: a county agency of its area) as
two instances with databases of their own. Each chain message travels as its signed
wire bytes to the other instance's ``chain.accept``; each fetch as its signed request
to the provider's ``sharing.serve`` (the HTTP between them is the routes' only)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress import service as egress
from gongshu.egress.tracing import trace_leak
from gongshu.errors import Conflict, InvalidInput
from gongshu.exchange import service as exchange
from gongshu.exchange.models import SharingApplication
from gongshu.federation import chain, identity, members, routes, sharing
from gongshu.federation.models import CrossSharing, Message
from gongshu.ledger import LedgerEntry
from gongshu.protect import sm2
from gongshu.timeutil import utcnow
from gongshu.workdays import Calendar, beijing_date
from tests.instances import new_instance, settings_for

from .test_national import carry

PROVINCE, CITY = "province-360000", "city-360100"
FIELDS = [
    {"name": "姓名"},
    {"name": "公民身份号码", "kind": "resident_id"},
    {"name": "户籍地址"},
    {"name": "登记时间", "type": "datetime"},
    {"name": "补助金额", "type": "decimal"},
]
ASKED = ["姓名", "公民身份号码", "登记时间", "补助金额"]


def _resident_id(first17: str) -> str:
    """GB 11643: the 18th character by ISO 7064 MOD 11-2."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return (
        first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    )


def _user(session, name: str) -> User:  # noqa: ANN001
    return session.scalar(select(User).where(User.username == name))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    tmp = tmp_path_factory.mktemp("sharing")
    province, _ = new_instance(settings_for(tmp / "p", None))
    city, _ = new_instance(settings_for(tmp / "c", None))
    with transaction(province.session_factory) as session:
        p = identity.init_node(
            session, province.settings, role="province", region_code="360000",
            address="http://prov.test",
        )  # fmt: skip
        p_anchor = identity.anchor_of(p)
        # The provincial police's conditional entry, with rows.
        clerk = _user(session, "clerk_prov")
        entry = catalog.create(
            session,
            {
                "resource_code": "360000-GA-0101",
                "name": "户籍人口信息",
                "summary": "户籍人口",
                "fields": FIELDS,
                "update_frequency": "每月",
                "security_grade": "一般数据-2级",
                "sharing_attr": "conditional",
                "sharing_conditions": "仅用于履行法定职责",
                "opening_attr": "none",
            },
            actor=clerk,
        )
        catalog.submit(session, entry.id, actor=clerk)
        catalog.approve(session, entry.id, actor=_user(session, "reviewer_prov"))
        src = tmp / "hj.csv"
        lines = ["姓名,公民身份号码,户籍地址,登记时间,补助金额"] + [
            f"居民{i:03d},{_resident_id(f'36010219800101{i:03d}')},南昌市东湖区八一大道{i}号,"
            f"2024-03-{1 + i % 28:02d} {8 + i % 9:02d}:{i % 60:02d}:{(i * 7) % 60:02d},"
            f"{300 + (i * 37) % 900}.{(i * 13) % 90 + 11}"
            for i in range(300)
        ]
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        datasets.load(
            session, entry.id, src, actor=clerk, datasets_dir=province.settings.datasets_dir
        )
        entry_id = entry.id
    with transaction(city.session_factory) as session:
        c = identity.init_node(
            session, city.settings, role="city", region_code="360100",
            address="http://city.test", anchor=p_anchor,
        )  # fmt: skip
        c_anchor = identity.anchor_of(c)
    with transaction(province.session_factory) as session:
        members.dock(session, c_anchor)  # as the province's approval of the join does
    try:
        yield SimpleNamespace(province=province, city=city, entry_id=entry_id)
    finally:
        province.close()
        city.close()


def _apply(pair, **change):  # noqa: ANN001, ANN003, ANN202
    with transaction(pair.city.session_factory) as session:
        row = sharing.apply(
            session,
            actor=_user(session, "clerk_county"),
            provider_node=PROVINCE,
            private=identity.private_key(pair.city.settings),
            **{
                "entry_id": pair.entry_id,
                "reason": "核查低保申请人的户籍状况",
                "legal_basis": "《社会救助暂行办法》第十一条",
                "use": "低保资格审核",
                "scenario": "东湖区低保申请人户籍核验",
                "requested_fields": ASKED,
                "term_days": 180,
                **change,
            },
        )
        return row.id, row.ref


def _provider_tick(pair, now=None) -> None:  # noqa: ANN001
    with transaction(pair.province.session_factory) as session:
        sharing.follow(session, now)
        sharing.report(session, identity.private_key(pair.province.settings))


def _row(instance, ref: str) -> CrossSharing:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        row = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        session.expunge(row)
        return row


def _fetch(pair, sharing_id: int, **page) -> bytes:  # noqa: ANN001, ANN003
    """The consumer's fetch, carried to the provider's door and back."""
    with transaction(pair.city.session_factory) as c:
        row = sharing.get(c, sharing_id)
        raw = sharing.fetch_request(c, row, identity.private_key(pair.city.settings), **page)
    with transaction(pair.province.session_factory) as p:
        answer = sharing.serve(
            p, raw, pair.province.settings, identity.private_key(pair.province.settings)
        )
    with transaction(pair.city.session_factory) as c:
        return sharing.take(c, sharing.get(c, sharing_id), answer, actor=_user(c, "clerk_county"))


def _actions(instance, ref: str) -> list[tuple[str, str | None]]:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        return [
            (e.action, e.payload.get("state"))
            for e in session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.subject.like(f"cross-sharing:%/{ref}"))
                .order_by(LedgerEntry.position)
            )
        ]


def test_apply_answer_grant_and_deliver_to_the_consuming_organization(pair, tmp_path) -> None:
    sid, ref = _apply(pair)
    city_row = _row(pair.city, ref)
    assert city_row.state == "submitted"
    # The consumer's clock: 10 working days from submission, 24:00 Beijing of the last.
    with transaction(pair.city.session_factory) as session:
        last = beijing_date(city_row.deadline) - timedelta(days=1)
        assert Calendar(session).workdays_between(beijing_date(city_row.submitted_at), last) == 10
    assert carry(pair.city, pair.province, sharing.CHANNEL) == 1

    # The provider node filed a local application for the remote agency: same gates, clock.
    with transaction(pair.province.session_factory) as session:
        prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        app = session.get(SharingApplication, prov.application_id)
        assert (prov.state, app.status) == ("accepted", "submitted")
        assert app.applicant_org.name == f"东湖区民政局（{CITY}）"
        assert app.deadline == prov.deadline and app.requested_fields == ASKED
        proxy = session.get(User, prov.proxy_user_id)
        assert proxy.is_active is False and proxy.org_id == app.applicant_org_id
        app_id, org_id = app.id, proxy.org_id
    _provider_tick(pair)
    assert carry(pair.province, pair.city, sharing.CHANNEL) == 1
    city_row = _row(pair.city, ref)
    assert city_row.state == "accepted" and city_row.entry_name == "户籍人口信息"
    assert city_row.deadline == prov.deadline  # the provider's clock, from its receipt

    # Not yet granted: no data.
    with transaction(pair.city.session_factory) as session, pytest.raises(Conflict, match="已受理"):
        sharing.fetch_request(
            session, sharing.get(session, sid), identity.private_key(pair.city.settings)
        )

    # The provider's agency approves through the ordinary sharing review.
    with transaction(pair.province.session_factory) as session:
        exchange.approve(
            session, app_id, actor=_user(session, "clerk_prov"), conditions="仅用于低保审核"
        )
    _provider_tick(pair)
    assert carry(pair.province, pair.city, sharing.CHANNEL) == 1
    city_row = _row(pair.city, ref)
    assert city_row.state == "granted" and city_row.deadline == city_row.grant_expires_at
    assert [h["state"] for h in city_row.history] == ["submitted", "accepted", "granted"]

    data = _fetch(pair, sid, offset=0, limit=200)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ASKED and len(rows) == 201
    with transaction(pair.province.session_factory) as session:
        (served,) = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "federation.sharing_served")
        ).all()
        delivered = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "egress.delivered")
        ).all()
        assert delivered[-1].payload["recipient"] == f"org:{org_id}"
        assert delivered[-1].payload["policy"].startswith("share-conditional")
        # A leaked copy traces back, on the provider node, to the consuming organization.
        leak = tmp_path / "leak.csv"
        leak.write_bytes(data)
        verdict = trace_leak(session, leak, secret=pair.province.settings.secret_key)
        assert verdict["attributed"], verdict
        assert verdict["delivery_id"] == served.payload["delivery"]
        assert verdict["recipient_name"] == f"东湖区民政局（{CITY}）"
    with transaction(pair.city.session_factory) as session:
        (got,) = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "federation.sharing_fetched")
        ).all()
        assert got.payload["delivery"] == served.payload["delivery"]
        assert got.payload["rows"] == 200
    assert _actions(pair.city, ref) == [
        ("federation.sharing_applied", None),
        ("federation.sharing_state", "accepted"),
        ("federation.sharing_state", "granted"),
        ("federation.sharing_fetched", None),
    ]
    assert _actions(pair.province, ref) == [
        ("federation.sharing_received", None),
        ("federation.sharing_state", "accepted"),
        ("federation.sharing_state", "granted"),
        ("federation.sharing_served", None),
    ]
    # Revocation at the provider stops delivery at once and reaches the consumer.
    with transaction(pair.province.session_factory) as session:
        prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        egress.revoke_grant(
            session, prov.grant_id, actor=_user(session, "clerk_prov"), reason="用途超出约定"
        )
    with transaction(pair.city.session_factory) as c:
        raw = sharing.fetch_request(
            c, sharing.get(c, sid), identity.private_key(pair.city.settings)
        )
    with transaction(pair.province.session_factory) as p:
        with pytest.raises(sharing.FetchRefused, match="撤销") as refused:
            sharing.serve(
                p, raw, pair.province.settings, identity.private_key(pair.province.settings)
            )
        assert refused.value.code == "inactive"
        p.rollback()
    _provider_tick(pair)
    assert carry(pair.province, pair.city, sharing.CHANNEL) == 1
    city_row = _row(pair.city, ref)
    assert city_row.state == "revoked" and city_row.reason == "用途超出约定"
    with transaction(pair.city.session_factory) as session, pytest.raises(Conflict, match="已撤销"):
        sharing.fetch_request(
            session, sharing.get(session, sid), identity.private_key(pair.city.settings)
        )
    # Nothing of it at the province beyond its own role as provider: no copy elsewhere.
    with transaction(pair.province.session_factory) as session:
        assert chain.verify_log(session).ok
    with transaction(pair.city.session_factory) as session:
        assert chain.verify_log(session).ok


def test_a_replayed_or_forged_fetch_and_a_forged_state_are_refused(pair) -> None:
    sid, ref = _apply(pair)
    carry(pair.city, pair.province, sharing.CHANNEL)
    with transaction(pair.province.session_factory) as session:
        prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        exchange.approve(
            session, prov.application_id, actor=_user(session, "clerk_prov"), conditions="限用途"
        )
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    with transaction(pair.city.session_factory) as c:
        raw = sharing.fetch_request(
            c, sharing.get(c, sid), identity.private_key(pair.city.settings), limit=5
        )
    key = identity.private_key(pair.province.settings)
    with transaction(pair.province.session_factory) as p:
        sharing.serve(p, raw, pair.province.settings, key)
    with transaction(pair.province.session_factory) as p:
        with pytest.raises(sharing.FetchRefused, match="重放") as replay:
            sharing.serve(p, raw, pair.province.settings, key)
        assert replay.value.code == "replay"
        p.rollback()
    # The same request signed by a key that is not the city's.
    wire = json.loads(raw)
    doc = json.loads(wire["request"])
    doc["n"] += 1
    text, signature = sharing.envelope.sign(sm2.generate_private_key(), doc)
    forged = json.dumps({"request": text, "signature": signature}).encode()
    with transaction(pair.province.session_factory) as p:
        with pytest.raises(sharing.FetchRefused) as bad:
            sharing.serve(p, forged, pair.province.settings, key)
        assert bad.value.code == "bad_signature"
        p.rollback()
    # A state message replayed on the chain is refused by the chain.
    with transaction(pair.province.session_factory) as p:
        last = p.scalars(
            select(Message)
            .where(Message.direction == "out", Message.channel == sharing.CHANNEL)
            .order_by(Message.id.desc())
        ).first()
        wire_state = json.dumps({"envelope": last.envelope, "signature": last.signature}).encode()
    with transaction(pair.city.session_factory) as c:
        with pytest.raises(chain.Refused) as replayed:
            chain.accept(c, wire_state, identity.private_key(pair.city.settings), routes.APPLIERS)
        assert replayed.value.code == "replay"
        c.rollback()


def test_a_refused_intake_and_the_stalls_both_authorities_see(pair) -> None:
    with transaction(pair.city.session_factory) as session, pytest.raises(InvalidInput) as bad:
        sharing.apply(
            session, actor=_user(session, "clerk_county"), provider_node="city-369999",
            entry_id=pair.entry_id, reason="", legal_basis="依据", use="用途", scenario="场景",
            requested_fields=["姓名"], term_days=30,
            private=identity.private_key(pair.city.settings),
        )  # fmt: skip
    assert set(bad.value.fields) == {"provider_node", "reason"}
    # A field the entry does not have: the provider's own gates refuse it at intake.
    _, wrong = _apply(pair, requested_fields=["婚姻状况"])
    carry(pair.city, pair.province, sharing.CHANNEL)
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    row = _row(pair.city, wrong)
    assert row.state == "refused" and "婚姻状况" in row.reason

    # One left unanswered: surfaced on both nodes near and past its deadline.
    _, ref = _apply(pair)
    carry(pair.city, pair.province, sharing.CHANNEL)
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    deadline = _row(pair.city, ref).deadline
    # A deadline that waited for a holiday schedule (CLK-4) is filled by the registered
    # clock when the year is entered, as every capability's clocks are.
    from gongshu.capability import installed
    from gongshu.workdays import lifecycle

    assert sharing.CROSS_ANSWER in installed().clocks()
    with transaction(pair.city.session_factory) as session:
        row = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        row.deadline, row.deadline_warning = None, "2026 年节假日安排尚未录入"
        session.flush()
        (filled,) = [f for f in lifecycle.refresh(session, sharing.CLOCKS) if f.row is row]
        assert row.deadline is not None and row.deadline_warning is None
    for instance in (pair.city, pair.province):
        with transaction(instance.session_factory) as session:
            assert not [s for s in sharing.stalled(session) if s["ref"] == ref]
            near = [s for s in sharing.stalled(session, deadline - timedelta(days=1))]
            (mine,) = [s for s in near if s["ref"] == ref]
            assert mine["workdays_left"] is not None and 0 <= mine["workdays_left"] <= 3
            late = [s for s in sharing.stalled(session, deadline + timedelta(days=3))]
            (mine,) = [s for s in late if s["ref"] == ref]
            assert mine["workdays_left"] < 0 and "已超过答复期限" in mine["line"]
            assert mine["peer"] == (PROVINCE if instance is pair.city else CITY)


def test_a_grant_ends_on_both_nodes_when_its_term_runs_out(pair) -> None:
    _, ref = _apply(pair, term_days=5)
    carry(pair.city, pair.province, sharing.CHANNEL)
    with transaction(pair.province.session_factory) as session:
        prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        exchange.approve(
            session, prov.application_id, actor=_user(session, "clerk_prov"), conditions="限期"
        )
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    later = utcnow() + timedelta(days=6)
    with transaction(pair.city.session_factory) as session:
        assert sharing.expire(session, later) >= 1
    _provider_tick(pair, later)
    assert _row(pair.province, ref).state == "expired"
    carry(pair.province, pair.city, sharing.CHANNEL)  # accepted: the city knew already
    assert _row(pair.city, ref).state == "expired"


def test_a_referral_to_the_providers_authority_is_followed_to_its_decision(pair) -> None:
    _, ref = _apply(pair)
    carry(pair.city, pair.province, sharing.CHANNEL)
    with transaction(pair.province.session_factory) as session:
        prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
        app_id = prov.application_id
        exchange.refer(session, app_id, actor=_user(session, "clerk_prov"), note="涉及敏感个人信息")
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    row = _row(pair.city, ref)
    assert row.state == "referred" and row.reason == "涉及敏感个人信息"
    assert row.deadline is not None  # a referral does not stop the answer's clock
    # Only the data authority of the provider's tier decides; then the grant follows.
    with transaction(pair.province.session_factory) as session:
        exchange.approve(
            session, app_id, actor=_user(session, "reviewer_prov"), conditions="仅限核验"
        )
    _provider_tick(pair)
    carry(pair.province, pair.city, sharing.CHANNEL)
    row = _row(pair.city, ref)
    assert [h["state"] for h in row.history] == ["submitted", "accepted", "referred", "granted"]


def test_the_api_the_node_page_the_fetch_endpoint_and_the_command(pair) -> None:
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from gongshu.app.factory import create_app
    from gongshu.federation.commands import node_app
    from tests.conftest import PASSWORD

    def client_of(instance, username: str) -> TestClient:  # noqa: ANN001
        app = create_app(instance.settings, session_factory=instance.session_factory)
        client = TestClient(app)
        r = client.post("/login", data={"username": username, "password": PASSWORD})
        assert r.status_code in (200, 303), r.text
        return client

    city = client_of(pair.city, "clerk_county")
    token = city.cookies.get("gs_csrf")
    body = {
        "provider_node": PROVINCE,
        "entry_id": pair.entry_id,
        "reason": "核查",
        "legal_basis": "《社会救助暂行办法》",
        "use": "审核",
        "scenario": "低保核验",
        "requested_fields": ["姓名"],
        "term_days": 30,
    }
    r = city.post("/api/v1/federation/sharing", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.text
    assert r.json()["state_label"] == "已提交"
    r = city.post(
        "/api/v1/federation/sharing",
        json={**body, "scenario": " "},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 400 and "有条件共享申请必须填写" in r.text
    listed = city.get("/api/v1/federation/sharing").json()
    assert listed[0]["provider_node"] == PROVINCE and listed[0]["state"] == "submitted"

    # The agency's page: its applications, and the form (errors beside their fields).
    page = city.get("/federation/sharing")
    assert page.status_code == 200 and "跨节点共享申请" in page.text and PROVINCE in page.text
    form = {
        "csrf_token": token,
        "provider_node": PROVINCE,
        "entry_id": str(pair.entry_id),
        "reason": "核查",
        "legal_basis": "依据",
        "use": "审核",
        "scenario": "",
        "requested_fields": "姓名、公民身份号码",
        "term_days": "30",
    }
    r = city.post("/federation/sharing", data=form, follow_redirects=False)
    assert r.status_code == 400 and 'id="scenario-error"' in r.text, r.text
    r = city.post("/federation/sharing", data={**form, "scenario": "复核"}, follow_redirects=False)
    assert r.status_code == 303
    newest = city.get("/api/v1/federation/sharing").json()[0]
    assert newest["state"] == "submitted" and newest["id"] != listed[0]["id"]
    with transaction(pair.city.session_factory) as session:
        assert sharing.get(session, newest["id"]).request["requested_fields"] == [
            "姓名",
            "公民身份号码",
        ]

    page = client_of(pair.city, "reviewer_city").get("/federation/nodes")
    assert page.status_code == 200 and "跨节点共享" in page.text and "东湖区民政局" in page.text

    # The node endpoint: a fetch for an application the provider never heard of.
    carry(pair.city, pair.province, sharing.CHANNEL)
    sid = listed[0]["id"]
    with transaction(pair.city.session_factory) as c:
        row = sharing.get(c, sid)
        row.state = "granted"  # as if granted: the provider has no grant, and says so
        raw = sharing.fetch_request(c, row, identity.private_key(pair.city.settings))
        c.rollback()
    province = TestClient(
        create_app(pair.province.settings, session_factory=pair.province.session_factory)
    )
    r = province.post("/federation/v1/sharing/fetch", content=raw)
    assert r.status_code == 403 and r.json()["error"] == "inactive", r.text
    r = province.post("/federation/v1/sharing/fetch", content=b"{}")
    assert r.status_code == 409 and r.json()["error"] == "malformed"

    runner = CliRunner()
    env = {"GONGSHU_SECRET_KEY": pair.city.settings.secret_key}
    args = ["sharing", "--days", "40", "--data-dir", str(pair.city.settings.data_dir)]
    result = runner.invoke(node_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert f"向节点 {PROVINCE} 的共享申请" in result.output and "距答复期限还有" in result.output
    # One past its deadline: named in node status, and node sharing exits 1.
    with transaction(pair.city.session_factory) as session:
        row = sharing.get(session, newest["id"])
        row.deadline = utcnow() - timedelta(days=7)
    result = runner.invoke(node_app, ["status", *args[3:]], env=env)
    assert "提醒：" in result.output and "已超过答复期限" in result.output, result.output
    result = runner.invoke(node_app, ["sharing", *args[3:]], env=env)
    assert result.exit_code == 1 and "已超过答复期限" in result.output


def test_two_lower_nodes_share_directly_without_the_province(pair, tmp_path) -> None:
    """A county node provides, the city node applies: both find each other in the
    province's signed directory and talk directly; the province holds none of it."""
    from gongshu.federation import directory

    county, _ = new_instance(settings_for(tmp_path / "k", None))
    try:
        with transaction(pair.province.session_factory) as session:
            p_anchor = identity.anchor_of(identity.me(session))
        with transaction(county.session_factory) as session:
            k = identity.init_node(
                session, county.settings, role="county", region_code="360102",
                address="http://county.test", anchor=p_anchor,
            )  # fmt: skip
            k_anchor = identity.anchor_of(k)
            clerk = _user(session, "clerk_county")
            entry = catalog.create(
                session,
                {
                    "resource_code": "360102-MZ-0201",
                    "name": "低保对象名单",
                    "summary": "低保对象",
                    "fields": FIELDS,
                    "update_frequency": "每月",
                    "security_grade": "一般数据-2级",
                    "sharing_attr": "conditional",
                    "sharing_conditions": "仅用于履行法定职责",
                    "opening_attr": "none",
                },
                actor=clerk,
            )
            catalog.submit(session, entry.id, actor=clerk)
            catalog.approve(session, entry.id, actor=_user(session, "reviewer_county"))
            src = tmp_path / "db.csv"
            src.write_text(
                "姓名,公民身份号码,户籍地址,登记时间,补助金额\n"
                + "".join(
                    f"对象{i},{_resident_id(f'36010219700101{i:03d}')},东湖区{i}号,"
                    f"2024-01-0{1 + i % 9} 09:0{i % 10}:00,{500 + i}.{10 + i % 80}\n"
                    for i in range(50)
                ),
                encoding="utf-8",
            )
            datasets.load(
                session, entry.id, src, actor=clerk, datasets_dir=county.settings.datasets_dir
            )
            entry_id = entry.id
        with transaction(pair.province.session_factory) as session:
            members.dock(session, k_anchor)
            signed = directory.publish(session, identity.private_key(pair.province.settings))
            province_messages = session.scalar(select(func.count()).select_from(Message))
        for node in (pair.city, county):
            with transaction(node.session_factory) as session:
                directory.store(session, signed)

        with transaction(pair.city.session_factory) as session:
            row = sharing.apply(
                session, actor=_user(session, "clerk_county"), provider_node="county-360102",
                entry_id=entry_id, reason="核查", legal_basis="《社会救助暂行办法》",
                use="审核", scenario="低保复核", requested_fields=ASKED, term_days=30,
                private=identity.private_key(pair.city.settings),
            )  # fmt: skip
            sid, ref = row.id, row.ref
        assert carry(pair.city, county, sharing.CHANNEL) == 1
        with transaction(county.session_factory) as session:
            prov = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
            exchange.approve(
                session,
                prov.application_id,
                actor=_user(session, "clerk_county"),
                conditions="限用",
            )
            sharing.follow(session)
            sharing.report(session, identity.private_key(county.settings))
        assert carry(county, pair.city, sharing.CHANNEL) == 2  # accepted, granted
        assert _row(pair.city, ref).state == "granted"
        with transaction(pair.city.session_factory) as c:
            raw = sharing.fetch_request(
                c, sharing.get(c, sid), identity.private_key(pair.city.settings), limit=50
            )
        with transaction(county.session_factory) as k_session:
            answer = sharing.serve(
                k_session, raw, county.settings, identity.private_key(county.settings)
            )
        with transaction(pair.city.session_factory) as c:
            data = sharing.take(c, sharing.get(c, sid), answer, actor=_user(c, "clerk_county"))
        assert len(data.decode("utf-8-sig").strip().splitlines()) == 51
        with transaction(pair.province.session_factory) as session:
            assert session.scalar(select(func.count()).select_from(Message)) == province_messages
            assert not session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
    finally:
        county.close()


def test_an_agency_of_a_region_the_provider_does_not_list_is_still_served(pair) -> None:
    """The provider adds the consuming organization's region (named by the consumer,
    under its nearest known ancestor) with the stand-in, both in its ledger."""
    from gongshu.accounts import service as accounts
    from gongshu.accounts.models import Region
    from tests.conftest import PASSWORD

    with transaction(pair.city.session_factory) as session:
        accounts.add_region(session, "360103", "西湖区", parent="360100")
        org = accounts.add_organization(
            session, "西湖区民政局", kind="agency", region_code="360103"
        )
        accounts.create_user(session, "clerk_xh", PASSWORD, org=org, roles=["clerk"])
        row = sharing.apply(
            session, actor=_user(session, "clerk_xh"), provider_node=PROVINCE,
            entry_id=pair.entry_id, reason="核查", legal_basis="《社会救助暂行办法》",
            use="审核", scenario="低保复核", requested_fields=["姓名"], term_days=30,
            private=identity.private_key(pair.city.settings),
        )  # fmt: skip
        ref = row.ref
    carry(pair.city, pair.province, sharing.CHANNEL)
    assert _row(pair.province, ref).state == "accepted"
    with transaction(pair.province.session_factory) as session:
        region = session.get(Region, "360103")
        assert (region.name, region.parent_code) == ("西湖区", "360100")
        created = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.action.in_(("org.created", "user.created")),
                LedgerEntry.actor == f"node:{CITY}",
            )
        ).all()
        mine = [e.action for e in created if "西湖区民政局" in str(e.payload)]
        assert sorted(mine) == ["org.created", "user.created"]
