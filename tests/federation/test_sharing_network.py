"""Sharing across nodes (issue 18 item 4) between separate ``gongshu serve`` processes:
a province (the provider) and a city (the consumer). The application and every state
travel on the sharing chains by the servers' own sync ticks; the rows come over HTTP
from the province's egress door straight to the city; a revocation stops them."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from gongshu.db import transaction
from gongshu.egress import service as egress
from gongshu.errors import Conflict
from gongshu.exchange import service as exchange
from gongshu.federation import chain, identity, members, sharing
from gongshu.federation.models import CrossSharing, JoinRequest
from gongshu.ledger import LedgerEntry
from tests.instances import new_instance, settings_for

from .test_network import _env, _free_port, _run, _serve, _stop, _user
from .test_sharing import ASKED, FIELDS, _resident_id

PROVINCE = "province-360000"


def _state(instance, ref: str, want: str, timeout: float = 40) -> CrossSharing:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        with transaction(instance.session_factory) as session:
            row = session.scalar(select(CrossSharing).where(CrossSharing.ref == ref))
            if row is not None and row.state == want:
                session.expunge(row)
                return row
        assert time.monotonic() < deadline, f"still {row.state if row else None}, not {want}"
        time.sleep(0.3)


def test_a_city_agency_gets_a_province_entry_through_the_servers(tmp_path: Path) -> None:
    from gongshu.catalog import service as catalog
    from gongshu.datasets import service as datasets

    prov_dir, city_dir = tmp_path / "province", tmp_path / "city"
    prov_port, city_port = _free_port(), _free_port()
    province, _ = new_instance(settings_for(prov_dir, None))
    city, _ = new_instance(settings_for(city_dir, None))
    prov_env, city_env = _env(prov_dir, None), _env(city_dir, None)
    servers: list[subprocess.Popen] = []
    try:
        with transaction(province.session_factory) as session:
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
            src = tmp_path / "hj.csv"
            src.write_text(
                "姓名,公民身份号码,户籍地址,登记时间,补助金额\n"
                + "".join(
                    f"居民{i},{_resident_id(f'36010219800101{i:03d}')},八一大道{i}号,"
                    f"2024-03-0{1 + i % 9} 10:{i % 60:02d}:00,{300 + i}.{11 + i % 80}\n"
                    for i in range(120)
                ),
                encoding="utf-8",
            )
            datasets.load(
                session, entry.id, src, actor=clerk, datasets_dir=province.settings.datasets_dir
            )
            entry_id = entry.id
        address = f"http://127.0.0.1:{prov_port}"
        r = _run(prov_env, "node", "init", "--role", "province", "--region", "360000",
                 "--address", address)  # fmt: skip
        assert r.returncode == 0, r.stderr
        anchor = tmp_path / "anchor.json"
        assert _run(prov_env, "node", "anchor", "--out", str(anchor)).returncode == 0
        servers.append(_serve(prov_env, prov_port))
        r = _run(city_env, "node", "init", "--role", "city", "--region", "360100",
                 "--address", f"http://127.0.0.1:{city_port}", "--join", address,
                 "--anchor", str(anchor))  # fmt: skip
        assert r.returncode == 0, r.stderr
        with transaction(province.session_factory) as session:
            (request,) = session.scalars(select(JoinRequest)).all()
            members.decide(session, request.id, actor=_user(session, "reviewer_prov"), approve=True)
        servers.append(_serve(city_env, city_port))

        with transaction(city.session_factory) as session:
            row = sharing.apply(
                session, actor=_user(session, "clerk_county"), provider_node=PROVINCE,
                entry_id=entry_id, reason="核查", legal_basis="《社会救助暂行办法》",
                use="审核", scenario="低保复核", requested_fields=ASKED, term_days=30,
                private=identity.private_key(city.settings),
            )  # fmt: skip
            sid, ref = row.id, row.ref
        accepted = _state(city, ref, "accepted")  # there and back by the servers' ticks
        assert accepted.entry_name == "户籍人口信息" and accepted.deadline is not None
        prov = _state(province, ref, "accepted")
        with transaction(province.session_factory) as session:
            exchange.approve(
                session, prov.application_id, actor=_user(session, "clerk_prov"), conditions="限用"
            )
        _state(city, ref, "granted")

        with transaction(city.session_factory) as session:
            data = sharing.fetch(
                session, sid, actor=_user(session, "clerk_county"), settings=city.settings,
                limit=100,
            )  # fmt: skip
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0] == ASKED and len(rows) == 101
        grant_id = _state(province, ref, "granted").grant_id
        with transaction(province.session_factory) as session:
            served = session.scalars(
                select(LedgerEntry).where(LedgerEntry.action == "federation.sharing_served")
            ).all()
            assert [e.payload["rows"] for e in served] == [100]
            egress.revoke_grant(
                session, grant_id, actor=_user(session, "clerk_prov"), reason="停止共享"
            )
        # The door refuses at once, before the state reaches the city.
        with transaction(city.session_factory) as session, pytest.raises(Conflict, match="撤销"):
            sharing.fetch(
                session, sid, actor=_user(session, "clerk_county"), settings=city.settings
            )
        assert _state(city, ref, "revoked").reason == "停止共享"
        for instance in (province, city):
            with transaction(instance.session_factory) as session:
                assert chain.verify_log(session).ok
    finally:
        for server in servers:
            _stop(server)
        province.close()
        city.close()
