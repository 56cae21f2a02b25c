"""Sharing across nodes and data returned down (issue 18 items 4 and 5) between
separate ``gongshu serve`` processes: a province, a city (360100) and a county
(360102), each with a database of its own (the province on PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set). A county agency applies for a provincial
entry; the province's provider approves; the county fetches masked rows over HTTP
from the province's door, and a leaked copy traces, on the province, to the county
agency's stand-in. The provincial data authority returns the same entry down to the
city by its region column; the city fetches only its region's rows; a new version
loaded at the province is announced by the province's own tick and the city's next
fetch has the new rows. Every state travels by the servers' own ticks."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select

from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress.tracing import trace_leak
from gongshu.exchange import service as exchange
from gongshu.federation import chain, identity, members, returned, sharing
from gongshu.federation.models import CrossSharing, JoinRequest
from gongshu.ledger import LedgerEntry
from tests.instances import fresh_database, new_instance, settings_for

from .test_network import _env, _free_port, _run, _serve, _stop, _user
from .test_return_down import _entry, _rows
from .test_sharing import _resident_id
from .test_sharing_network import PROVINCE, _state

CITY, COUNTY = "city-360100", "county-360102"
ASKED = ["姓名", "公民身份号码", "行政区划代码", "补助金额"]
IDS = {_resident_id(f"36010219800101{i:03d}") for i in range(100)}


def _until(what: Callable[[], object], timeout: float = 40) -> object:
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.3)
    return got


def _fetch(instance, sid: int, who: str, **page) -> list[list[str]]:  # noqa: ANN001, ANN003
    """A fetch from ``instance``'s database, the request over HTTP to the province."""
    with transaction(instance.session_factory) as session:
        data = sharing.fetch(
            session, sid, actor=_user(session, who), settings=instance.settings, **page
        )
    (instance.settings.data_dir / "last.csv").write_bytes(data)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _request(instance, ref: str) -> dict:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        return session.scalar(select(CrossSharing.request).where(CrossSharing.ref == ref))


def test_a_county_agency_and_a_city_get_province_data_through_the_servers(
    tmp_path: Path,
) -> None:
    with fresh_database("fedshare") as prov_url:
        prov_dir, city_dir, county_dir = (tmp_path / n for n in ("province", "city", "county"))
        province, _ = new_instance(settings_for(prov_dir, prov_url))
        city, _ = new_instance(settings_for(city_dir, None))
        county, _ = new_instance(settings_for(county_dir, None))
        prov_env, city_env, county_env = (
            _env(prov_dir, prov_url), _env(city_dir, None), _env(county_dir, None)
        )  # fmt: skip
        prov_port, city_port, county_port = _free_port(), _free_port(), _free_port()
        servers: list[subprocess.Popen] = []
        try:
            with transaction(province.session_factory) as session:
                # A grade-4 entry: the ID numbers leave pseudonymized under sharing.
                entry_id = _entry(
                    session, province.settings, tmp_path, user="clerk_prov",
                    code="360000-MZ-01", grade="一般数据-4级",
                )  # fmt: skip
            address = f"http://127.0.0.1:{prov_port}"
            r = _run(prov_env, "node", "init", "--role", "province", "--region", "360000",
                     "--address", address)  # fmt: skip
            assert r.returncode == 0, r.stderr
            anchor = tmp_path / "anchor.json"
            assert _run(prov_env, "node", "anchor", "--out", str(anchor)).returncode == 0
            servers.append(_serve(prov_env, prov_port))
            lower = [(city_env, "city", "360100", city_port),
                     (county_env, "county", "360102", county_port)]  # fmt: skip

            def join(env: dict, role: str, region: str, port: int) -> None:
                r = _run(env, "node", "init", "--role", role, "--region", region,
                         "--address", f"http://127.0.0.1:{port}", "--join", address,
                         "--anchor", str(anchor))  # fmt: skip
                assert r.returncode == 0, r.stdout + r.stderr

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(join, *zip(*lower, strict=True)))
            with transaction(province.session_factory) as session:
                for request in session.scalars(select(JoinRequest)).all():
                    members.decide(
                        session, request.id, actor=_user(session, "reviewer_prov"), approve=True
                    )
            with ThreadPoolExecutor(2) as pool:
                servers += pool.map(_serve, (city_env, county_env), (city_port, county_port))

            # (1) A county agency (东湖区民政局) applies for the provincial entry.
            with transaction(county.session_factory) as session:
                row = sharing.apply(
                    session, actor=_user(session, "clerk_county"), provider_node=PROVINCE,
                    entry_id=entry_id, reason="核查低保申请人", legal_basis="《社会救助暂行办法》",
                    use="低保审核", scenario="东湖区低保复核", requested_fields=ASKED,
                    term_days=30, private=identity.private_key(county.settings),
                )  # fmt: skip
                sid, ref = row.id, row.ref
            prov = _state(province, ref, "accepted")
            assert prov.consumer_node == COUNTY and prov.deadline is not None
            accepted = _state(county, ref, "accepted")  # back by the province's tick
            assert accepted.entry_name == "目录360000-MZ-01"
            assert accepted.deadline == prov.deadline  # the provider's clock
            with transaction(province.session_factory) as session:
                exchange.approve(
                    session, prov.application_id, actor=_user(session, "clerk_prov"),
                    conditions="仅用于低保审核",
                )  # fmt: skip
            _state(county, ref, "granted")

            rows = _fetch(county, sid, "clerk_county", limit=100)
            assert rows[0] == ASKED and len(rows) == 101
            body = rows[1:]
            assert all(r[1] and r[1] not in IDS for r in body)  # pseudonymized
            assert {r[2] for r in body} == {"360102", "360103", "360100", "360200", "360300"}
            leak = county.settings.data_dir / "last.csv"
            stand_in = f"东湖区民政局（{COUNTY}）"
            with transaction(province.session_factory) as session:
                verdict = trace_leak(session, leak, secret=province.settings.secret_key)
                assert verdict["attributed"], verdict
                assert verdict["recipient_name"] == stand_in
                (served,) = session.scalars(
                    select(LedgerEntry).where(
                        LedgerEntry.action == "federation.sharing_served",
                        LedgerEntry.subject == f"cross-sharing:{COUNTY}/{ref}",
                    )
                ).all()
                assert verdict["delivery_id"] == served.payload["delivery"]
            with transaction(county.session_factory) as session:
                (got,) = session.scalars(
                    select(LedgerEntry).where(LedgerEntry.action == "federation.sharing_fetched")
                ).all()
                assert got.payload["delivery"] == served.payload["delivery"]
            with transaction(city.session_factory) as session:  # nothing went by the city
                assert session.scalars(select(CrossSharing)).all() == []

            # (2) The provincial data authority returns the entry down to the city by
            # its region column.
            with transaction(province.session_factory) as session:
                back = returned.return_down(
                    session, actor=_user(session, "reviewer_prov"), entry_id=entry_id,
                    target_node=CITY, region_column="行政区划代码",
                    private=identity.private_key(province.settings),
                )  # fmt: skip
                back_ref = back.ref
            city_row = _state(city, back_ref, "granted")
            assert city_row.org_name == "南昌市数据局" and city_row.request["version"] == 1
            rows = _fetch(city, city_row.id, "reviewer_city", limit=1000)
            body = rows[1:]
            assert len(body) == 60  # three of every five regions are in the city
            assert {r[2] for r in body} == {"360102", "360103", "360100"}
            assert all(r[0].startswith("居民1-") and r[1] not in IDS for r in body)
            with transaction(province.session_factory) as session:
                verdict = trace_leak(
                    session, city.settings.data_dir / "last.csv",
                    secret=province.settings.secret_key,
                )  # fmt: skip
                assert verdict["recipient_name"] == f"南昌市数据管理部门（{CITY}）"
            assert _request(city, back_ref)["fetched_version"] == 1

            # A new version at the province: announced by its own tick, fetched anew.
            src = tmp_path / "v2.csv"
            src.write_text(_rows(2, 50), encoding="utf-8")
            with transaction(province.session_factory) as session:
                datasets.load(
                    session, entry_id, src, actor=_user(session, "clerk_prov"),
                    datasets_dir=province.settings.datasets_dir,
                )  # fmt: skip
            _until(lambda: _request(city, back_ref)["version"] == 2)
            with transaction(city.session_factory) as session:
                assert returned.waiting(session) == [
                    "省级回流的目录“目录360000-MZ-01”有第 2 版待取得（已取得第 1 版）"
                ]
            body = _fetch(city, city_row.id, "reviewer_city", limit=1000)[1:]
            assert len(body) == 30 and all(r[0].startswith("居民2-") for r in body)
            assert {r[2] for r in body} == {"360102", "360103", "360100"}
            assert _request(city, back_ref)["fetched_version"] == 2
            with transaction(county.session_factory) as session:  # the county got none of it
                assert (
                    session.scalars(
                        select(CrossSharing.ref).where(CrossSharing.ref == back_ref)
                    ).all()
                    == []
                )

            for instance in (province, city, county):
                with transaction(instance.session_factory) as session:
                    assert chain.verify_log(session).ok
        finally:
            for server in servers:
                _stop(server)
            for instance in (province, city, county):
                instance.close()
