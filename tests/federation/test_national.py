"""National registration docking (issue 18 item 6), in process: a province and a
national registry as two instances with databases of their own; each message
travels as its signed wire bytes and is accepted by the other instance's
``chain.accept`` (the HTTP between them is left to test_national_network.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from gongshu.accounts.models import User
from gongshu.db import transaction
from gongshu.errors import Conflict, Forbidden
from gongshu.federation import chain, docking, envelope, identity, members, national, routes
from gongshu.federation.models import Message, NationalRecord, NationalSubmission
from gongshu.ledger import LedgerEntry
from gongshu.protect import sm2
from gongshu.registration import service as registration
from gongshu.runtime import Instance
from gongshu.timeutil import utcnow
from tests.instances import new_instance, settings_for

PROVINCE, NATIONAL = "province-360000", "national-100000"


def _user(session, name: str) -> User:  # noqa: ANN001
    return session.scalar(select(User).where(User.username == name))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """One province and one national registry for the module (each test uses
    registrations of its own)."""
    tmp_path = tmp_path_factory.mktemp("national")
    province, _ = new_instance(settings_for(tmp_path / "p", None))
    nation, _ = new_instance(settings_for(tmp_path / "n", None, national_publicity_days=5))
    with transaction(province.session_factory) as session:
        p = identity.init_node(
            session, province.settings, role="province", region_code="360000",
            address="http://prov.test",
        )  # fmt: skip
        p_anchor = identity.anchor_of(p)
    with transaction(nation.session_factory) as session:
        n = identity.init_node(
            session, nation.settings, role="national", region_code="100000",
            address="http://nation.test",
        )  # fmt: skip
        members.dock(session, p_anchor)
        n_anchor = identity.anchor_of(n)
    with transaction(province.session_factory) as session:
        members.dock(session, n_anchor)
    try:
        yield SimpleNamespace(province=province, nation=nation)
    finally:
        province.close()
        nation.close()


def carry(src, dst, channel: str) -> int:  # noqa: ANN001
    """Deliver ``src``'s unacknowledged messages on ``channel`` to ``dst`` as wire bytes,
    and take ``dst``'s signed receipts back; the count."""
    done = 0
    with transaction(src.session_factory) as s_session, transaction(dst.session_factory) as d:
        rows = s_session.scalars(
            select(Message)
            .where(Message.direction == "out", Message.channel == channel, Message.acked.is_(False))
            .order_by(Message.seq)
        ).all()
        dst_key = identity.private_key(dst.settings)
        dst_public = identity.me(d).public_key
        for row in rows:
            raw = json.dumps({"envelope": row.envelope, "signature": row.signature}).encode()
            with d.begin_nested():
                receipt = chain.accept(d, raw, dst_key, routes.APPLIERS)
            chain.take_receipt(s_session, row, receipt, dst_public)
            done += 1
    return done


def _resource(session, name: str, *, by: str = "clerk_prov") -> int:  # noqa: ANN001
    reg = registration.apply(
        session,
        {
            "kind": "resource",
            "name": name,
            "description": "全省企业登记信息",
            "rights": ["holding"],
            "price_mode": "free",
        },
        actor=_user(session, by),
    )
    return reg.id


def _tick_province(pair) -> None:  # noqa: ANN001
    with transaction(pair.province.session_factory) as session:
        docking.enqueue(session, identity.private_key(pair.province.settings))


def _tick_nation(pair, now=None) -> None:  # noqa: ANN001
    with transaction(pair.nation.session_factory) as session:
        national.advance(session, pair.nation.settings.national_publicity_days, now)
        national.report(session, identity.private_key(pair.nation.settings))


def _submission(pair, reg_id: int) -> NationalSubmission:  # noqa: ANN001
    with transaction(pair.province.session_factory) as session:
        sub = session.scalar(
            select(NationalSubmission).where(NationalSubmission.registration_id == reg_id)
        )
        session.expunge(sub)
        return sub


def test_a_certified_registration_goes_through_every_step_to_a_unified_code(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "企业登记信息")
        registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
        province_code = registration.get(session, reg_id).code
    _tick_province(pair)
    _tick_province(pair)  # idempotent: the same revision is not queued twice
    assert carry(pair.province, pair.nation, national.CHANNEL) == 1
    _tick_nation(pair)  # 受理, 形式审核 passed: publicity of 5 working days starts
    assert carry(pair.nation, pair.province, national.STATUS_CHANNEL) == 1
    sub = _submission(pair, reg_id)
    assert sub.status == "publicity" and sub.national_code is None
    assert [s["step"] for s in sub.history] == ["submit", "apply", "accept", "check", "publicity"]
    assert sub.publicity_until - utcnow() > timedelta(days=5)  # working days, 24:00 Beijing

    _tick_nation(pair)  # still in publicity: nothing moves, nothing is sent
    assert carry(pair.nation, pair.province, national.STATUS_CHANNEL) == 0
    _tick_nation(pair, utcnow() + timedelta(days=30))
    assert carry(pair.nation, pair.province, national.STATUS_CHANNEL) == 1
    sub = _submission(pair, reg_id)
    assert sub.status == "coded" and national.code_valid(sub.national_code)
    assert sub.national_code.startswith("CN-360000-") and "-R000001-" in sub.national_code

    # Re-sending the very same submission creates no second national record.
    with transaction(pair.province.session_factory) as session:
        reg = registration.get(session, reg_id)
        payload = docking.payload_of(reg)
    with transaction(pair.nation.session_factory) as session:
        member = session.scalar(select(national.Member).where(national.Member.node_id == PROVINCE))
        assert national.receive(session, member, payload) is None
        (record,) = session.scalars(
            select(NationalRecord).where(NationalRecord.province_ref == reg_id)
        ).all()
        assert (record.province_code, record.code) == (province_code, sub.national_code)
        actions = session.scalars(
            select(LedgerEntry.action)
            .where(LedgerEntry.subject == f"national-record:{record.id}")
            .order_by(LedgerEntry.position)
        ).all()
        assert actions == [
            "national.applied",
            "national.checked",
            "national.publicity",
            "national.coded",
        ]
    with transaction(pair.province.session_factory) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(
                    LedgerEntry.action == "registration.national_status",
                    LedgerEntry.subject == f"registration:{reg_id}",
                )
            )
            == 2
        )
        # The explicit action refuses a revision already submitted.
        with pytest.raises(Conflict, match="已报送国家登记平台"):
            docking.submit(
                session,
                reg_id,
                actor=_user(session, "reviewer_prov"),
                private=identity.private_key(pair.province.settings),
            )
    # A second resource of the province gets the next number; codes are never reused.
    with transaction(pair.province.session_factory) as session:
        second = _resource(session, "社会组织登记信息")
        registration.approve(session, second, actor=_user(session, "reviewer_prov"))
    _tick_province(pair)
    carry(pair.province, pair.nation, national.CHANNEL)
    _tick_nation(pair)
    _tick_nation(pair, utcnow() + timedelta(days=30))
    carry(pair.nation, pair.province, national.STATUS_CHANNEL)
    assert "-R000002-" in _submission(pair, second).national_code


def test_only_the_provincial_authority_submits_what_a_city_certified(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "东湖区低保对象", by="clerk_county")
        registration.approve(session, reg_id, actor=_user(session, "reviewer_city"))
    _tick_province(pair)  # certified by a city authority: not submitted by itself
    with transaction(pair.province.session_factory) as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(NationalSubmission)
                .where(NationalSubmission.registration_id == reg_id)
            )
            == 0
        )
        key = identity.private_key(pair.province.settings)
        with pytest.raises(Forbidden, match="省级数据管理部门"):
            docking.submit(session, reg_id, actor=_user(session, "reviewer_city"), private=key)
        docking.submit(session, reg_id, actor=_user(session, "reviewer_prov"), private=key)
    assert carry(pair.province, pair.nation, national.CHANNEL) == 1


def test_a_missing_field_is_refused_at_the_formal_check_naming_it(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "旧系统迁入的登记")
        # A record migrated from an older system, approved without its description.
        registration.get(session, reg_id).description = ""
        registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
    _tick_province(pair)
    carry(pair.province, pair.nation, national.CHANNEL)
    _tick_nation(pair)
    carry(pair.nation, pair.province, national.STATUS_CHANNEL)
    sub = _submission(pair, reg_id)
    assert (sub.status, sub.field, sub.national_code) == ("check_failed", "description", None)
    assert "“描述”" in sub.reason and "形式审核未通过" in sub.reason


def test_an_objection_in_publicity_holds_the_code_until_it_is_decided(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "企业信用信息")
        registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
    _tick_province(pair)
    carry(pair.province, pair.nation, national.CHANNEL)
    _tick_nation(pair)
    later = utcnow() + timedelta(days=30)
    with transaction(pair.nation.session_factory) as session:
        (record,) = session.scalars(
            select(NationalRecord).where(NationalRecord.province_ref == reg_id)
        ).all()
        objection = national.object_(
            session, record.id, actor=_user(session, "clerk_county"), reason="该数据的持有权有争议"
        )
        national.advance(session, 5, later)
        assert (record.status, record.code) == ("objected", None)  # held back
        with pytest.raises(Forbidden):  # a national node's authority only
            national.decide_objection(
                session, objection.id, actor=_user(session, "clerk_prov"), upheld=False, note=""
            )
        national.decide_objection(
            session,
            objection.id,
            actor=_user(session, "reviewer_prov"),
            upheld=False,
            note="已核实",
        )
        national.advance(session, 5, later)
        assert record.status == "coded" and record.code
        national.report(session, identity.private_key(pair.nation.settings))
    carry(pair.nation, pair.province, national.STATUS_CHANNEL)
    sub = _submission(pair, reg_id)
    assert sub.status == "coded"
    assert [s["status"] for s in sub.history][-3:] == ["objected", "publicity", "coded"]


def test_refused_at_acceptance_outside_the_province_and_only_from_a_province(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg = registration.get(session, _resource(session, "外省数据"))
        registration.approve(session, reg.id, actor=_user(session, "reviewer_prov"))
        payload = {**docking.payload_of(reg), "registrant_region": "110000"}
    with transaction(pair.nation.session_factory) as session:
        member = session.scalar(select(national.Member).where(national.Member.node_id == PROVINCE))
        row = national.receive(session, member, payload)
        assert row.status == "refused" and "110000" in row.reason and row.code is None
        # Statuses go down only: a province refuses a submission sent to it.
        env = envelope.envelope(
            sender=NATIONAL,
            receiver=PROVINCE,
            channel=national.CHANNEL,
            seq=1,
            prev_hash="",
            kind=national.KIND,
            payload={"registrations": [payload]},
        )
        text, signature = envelope.sign(identity.private_key(pair.nation.settings), env)
    raw = json.dumps({"envelope": text, "signature": signature}).encode()
    with transaction(pair.province.session_factory) as session:
        key = identity.private_key(pair.province.settings)
        with pytest.raises(chain.Refused, match="只有国家级登记节点受理登记报送"):
            with session.begin_nested():
                chain.accept(session, raw, key, routes.APPLIERS)


def test_the_anchor_commands_dock_a_province_and_admit_it(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """``gongshu node anchor``, ``node dock`` (province) and ``node admit`` (national)."""
    from typer.testing import CliRunner

    from gongshu.federation.commands import node_app
    from gongshu.federation.models import Member
    from tests.instances import SECRET

    monkeypatch.setenv("GONGSHU_SECRET_KEY", SECRET)
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    runner = CliRunner()
    dirs = {"national": tmp_path / "n", "province": tmp_path / "p"}
    for role, region in (("national", "100000"), ("province", "360000")):
        instance, _ = new_instance(settings_for(dirs[role], None))
        instance.close()
        args = ["init", "--role", role, "--region", region, "--address", f"http://{role}.test"]
        result = runner.invoke(node_app, [*args, "--data-dir", str(dirs[role])])
        assert result.exit_code == 0, result.output
        out = tmp_path / f"{role}.json"
        result = runner.invoke(
            node_app, ["anchor", "--out", str(out), "--data-dir", str(dirs[role])]
        )
        assert result.exit_code == 0, result.output
    p, n = ["--data-dir", str(dirs["province"])], ["--data-dir", str(dirs["national"])]
    result = runner.invoke(node_app, ["dock", "--anchor", str(tmp_path / "province.json"), *p])
    assert result.exit_code == 1 and "国家级登记节点的锚" in result.output
    result = runner.invoke(node_app, ["admit", "--anchor", str(tmp_path / "province.json"), *p])
    assert result.exit_code != 0  # admitting is the national node's command
    result = runner.invoke(node_app, ["dock", "--anchor", str(tmp_path / "national.json"), *p])
    assert result.exit_code == 0 and NATIONAL in result.output, result.output
    result = runner.invoke(node_app, ["admit", "--anchor", str(tmp_path / "province.json"), *n])
    assert result.exit_code == 0 and PROVINCE in result.output, result.output
    for role, peer, peer_role in (
        ("province", NATIONAL, "national"),
        ("national", PROVINCE, "province"),
    ):
        instance = Instance.open(settings_for(dirs[role], None))
        try:
            with transaction(instance.session_factory) as session:
                (member,) = session.scalars(select(Member)).all()
                assert (member.node_id, member.role) == (peer, peer_role)
        finally:
            instance.close()


def test_the_registration_page_shows_the_national_steps_and_code(
    session, settings, people, login
) -> None:
    """The explicit submission on the review page, and the 国家登记 section in Chinese."""
    identity.init_node(
        session, settings, role="province", region_code="360000", address="http://prov.test"
    )
    nation_key = sm2.generate_private_key()
    members.dock(
        session,
        {
            "node_id": NATIONAL,
            "role": "national",
            "region_code": "100000",
            "address": "http://nation.test",
            "public_key": sm2.public_key(nation_key).hex(),
        },
    )
    reg_id = _resource(session, "东湖区低保对象", by="clerk_county")
    registration.approve(session, reg_id, actor=people.reviewer_city)
    session.commit()

    city = login("reviewer_city")
    page = city.get(f"/registration-review/{reg_id}")
    assert "国家登记" in page.text and "尚未报送国家登记平台" in page.text
    refused = city.post(f"/federation/registrations/{reg_id}/national")
    assert refused.status_code == 403 and "省级数据管理部门" in refused.text
    prov = login("reviewer_prov")
    done = prov.post(f"/federation/registrations/{reg_id}/national", follow_redirects=False)
    assert done.status_code == 303
    page = prov.get(done.headers["location"])
    assert "已报送，待国家登记平台受理" in page.text
    again = prov.post(f"/federation/registrations/{reg_id}/national")
    assert again.status_code == 409 and "已报送国家登记平台" in again.text

    code = national.make_code("360000", 2026, "resource", 1)
    env = envelope.envelope(
        sender=NATIONAL,
        receiver=PROVINCE,
        channel=national.STATUS_CHANNEL,
        seq=1,
        prev_hash="",
        kind=national.STATUS_KIND,
        payload={
            "statuses": [
                {
                    "province_ref": reg_id,
                    "revision": 2,
                    "status": "coded",
                    "code": code,
                    "steps": [
                        {"step": "code", "status": "coded", "at": utcnow().isoformat(), "note": ""}
                    ],
                }
            ]
        },
    )
    text, signature = envelope.sign(nation_key, env)
    raw = json.dumps({"envelope": text, "signature": signature}).encode()
    with session.begin_nested():
        chain.accept(session, raw, identity.private_key(settings), routes.APPLIERS)
    session.commit()
    clerk = login("clerk_county")
    page = clerk.get(f"/registrations/{reg_id}")
    assert "已赋码" in page.text and code in page.text and "赋码" in page.text


def test_the_formal_check_names_the_first_missing_field_and_codes_carry_a_check() -> None:
    good = {
        "kind": "product",
        "name": "企业画像",
        "description": "企业经营画像",
        "processing_summary": "沙箱聚合",
        "registrant": "江西省公共数据运营有限公司",
        "province_code": "GS-360000-2026-P00001-X",
        "rights": ["processing", "operation"],
        "acting_for": None,
        "price_mode": "self",
        "price_yuan": "100.00",
    }
    assert national.formal_check(good) is None
    cases = {
        "processing_summary": ({"processing_summary": " "}, "加工处理说明"),
        "rights": ({"acting_for": "南昌市民政局"}, "所持权利"),  # REG-4: a processor holds none
        "price_yuan": ({"price_yuan": None}, "价格（元）"),
        "registrant": ({"registrant": ""}, "登记主体"),
    }
    for field, (change, label) in cases.items():
        assert national.formal_check({**good, **change}) == (field, label)
    assert national.formal_check({**good, "rights": [], "acting_for": "南昌市民政局"}) is None

    code = national.make_code("360000", 2026, "product", 12)
    assert code.startswith("CN-360000-2026-P000012-") and national.code_valid(code)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert not national.code_valid(wrong)
    assert not national.code_valid(code.replace("P000012", "P000021"))  # transposed digits


def test_the_national_node_page_lists_the_records_with_their_codes(pair) -> None:
    from gongshu.app.factory import create_app
    from tests.conftest import PASSWORD, browser_client

    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "农产品质量检测信息")
        registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
    _tick_province(pair)
    carry(pair.province, pair.nation, national.CHANNEL)
    _tick_nation(pair)
    _tick_nation(pair, utcnow() + timedelta(days=30))
    with transaction(pair.nation.session_factory) as session:
        code = session.scalar(
            select(NationalRecord.code).where(NationalRecord.province_ref == reg_id)
        )
    app = create_app(pair.nation.settings, session_factory=pair.nation.session_factory)
    with browser_client(app) as client:
        r = client.post("/login", data={"username": "reviewer_prov", "password": PASSWORD})
        assert r.status_code in (200, 303)
        page = client.get("/federation/nodes")
        assert page.status_code == 200
        assert "登记记录" in page.text and "农产品质量检测信息" in page.text
        assert code and code in page.text and "已赋码" in page.text
        public = client.get("/api/v1/federation/national/records").json()
        assert any(r["code"] == code and r["status"] == "coded" for r in public)


def test_an_upheld_objection_ends_the_record_without_a_code(pair) -> None:
    with transaction(pair.province.session_factory) as session:
        reg_id = _resource(session, "有争议的数据资源")
        registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
    _tick_province(pair)
    carry(pair.province, pair.nation, national.CHANNEL)
    _tick_nation(pair)
    with transaction(pair.nation.session_factory) as session:
        record = session.scalar(select(NationalRecord).where(NationalRecord.province_ref == reg_id))
        objection = national.object_(
            session, record.id, actor=_user(session, "clerk_county"), reason="数据持有权属于他人"
        )
        reviewer = _user(session, "reviewer_prov")
        with pytest.raises(Exception, match="须说明理由"):
            with session.begin_nested():
                national.decide_objection(
                    session, objection.id, actor=reviewer, upheld=True, note=""
                )
        national.decide_objection(
            session, objection.id, actor=reviewer, upheld=True, note="持有权证明不足"
        )
        national.advance(session, 5, utcnow() + timedelta(days=30))
        assert (record.status, record.code) == ("rejected", None)
        with pytest.raises(Conflict, match="不在公示期"):
            national.object_(session, record.id, actor=reviewer, reason="再次异议")
    _tick_nation(pair)
    carry(pair.nation, pair.province, national.STATUS_CHANNEL)
    sub = _submission(pair, reg_id)
    assert (sub.status, sub.national_code) == ("rejected", None)
    assert "持有权证明不足" in sub.reason
