"""A province and a city as separate ``gongshu`` server processes with databases of
their own (issue 18 items 1-3): joining with an anchor and the province's approval,
100 random catalog changes on the city arriving exactly at the province, and
catch-up after the province was stopped, with no manual step. The province runs on
PostgreSQL when ``GONGSHU_TEST_DATABASE_URL`` is set; the city on SQLite."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.db import transaction
from gongshu.errors import GongshuError
from gongshu.federation import chain, identity, members, review
from gongshu.federation.models import FederatedEntry, JoinRequest, Message, ProvincialReview
from gongshu.runtime import Instance
from tests.instances import SECRET, fresh_database, new_instance, settings_for

CITY = "city-360100"
GONGSHU = [sys.executable, "-m", "gongshu"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {**os.environ, "GONGSHU_DATA_DIR": str(data_dir), "GONGSHU_SECRET_KEY": SECRET}
    env.pop("GONGSHU_DATABASE_URL", None)
    if database_url:
        env["GONGSHU_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GONGSHU, *args], env=env, capture_output=True, text=True, timeout=60)


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [*GONGSHU, "serve", "--workers", "1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60  # a loaded machine starts a server slowly
    while True:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert time.monotonic() < deadline, "the server did not answer"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(30)


def _open(data_dir: Path, url: str | None) -> Instance:
    return Instance.open(settings_for(data_dir, url))


def _user(session, name: str) -> User:  # noqa: ANN001
    return session.scalar(select(User).where(User.username == name))


def _data(n: int) -> dict:
    return {
        "resource_code": f"360102-FED-{n:04d}",
        "name": f"联邦测试目录{n}",
        "summary": "东湖区测试数据",
        "fields": [{"name": "名称", "type": "string", "description": "名称"}],
        "update_frequency": "每月",
        "security_grade": "一般数据-3级",
        "sharing_attr": "conditional",
        "sharing_conditions": "仅用于测试",
        "opening_attr": "none",
        "formats": ["CSV"],
    }


REVIEWERS = {"360102": "reviewer_county", "360100": "reviewer_city", "360000": "reviewer_prov"}


def _changes(city: Instance, rng: random.Random, count: int, start: int) -> int:
    """``count`` catalog changes that took effect (create, rename, edit, submit,
    approve, return), each in its own transaction; returns the next create number."""
    made, n = 0, start
    while made < count:
        with transaction(city.session_factory) as session:
            ids = session.scalars(select(CatalogEntry.id)).all()
            op = rng.choice(["create"] + ["rename", "edit", "submit", "approve", "return"] * 2)
            if op == "create" or not ids:
                catalog.create(session, _data(n), actor=_user(session, "clerk_county"))
                n += 1
                made += 1
                continue
            entry = session.get(CatalogEntry, rng.choice(ids))
            clerk = _user(session, "clerk_county")
            reviewer = _user(session, REVIEWERS.get(entry.review_region_code or "", "citizen"))
            try:
                with session.begin_nested():
                    if op == "rename":
                        catalog.update(
                            session, entry.id, {"name": f"更名{rng.random():.6f}"}, actor=clerk
                        )
                    elif op == "edit":
                        catalog.update(
                            session, entry.id, {"summary": f"{rng.random()}"}, actor=clerk
                        )
                    elif op == "submit":
                        catalog.submit(session, entry.id, actor=clerk)
                    elif op == "approve":
                        catalog.approve(session, entry.id, actor=reviewer)
                    else:
                        catalog.return_(session, entry.id, actor=reviewer, comment="请补充")
                made += 1
            except GongshuError:
                pass  # not possible in this state: try another
    return n


def _city_view(city: Instance) -> set[tuple]:
    with transaction(city.session_factory) as session:
        return {
            (e.id, e.resource_code, e.name, e.status, e.version_no)
            for e in session.scalars(select(CatalogEntry).where(CatalogEntry.scope == "public"))
            if e.region_code.startswith("3601")
        }


def _province_view(province: Instance) -> list[tuple]:
    with transaction(province.session_factory) as session:
        return [
            (e.home_entry_id, e.resource_code, e.name, e.status, e.version_no)
            for e in session.scalars(select(FederatedEntry).where(FederatedEntry.home_node == CITY))
        ]


def _converged(city: Instance, province: Instance, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while True:
        want, got = _city_view(city), _province_view(province)
        if set(got) == want and len(got) == len(want):  # no stale, missing or duplicate
            return
        assert time.monotonic() < deadline, (
            f"missing {sorted(want - set(got))[:5]}, stale {sorted(set(got) - want)[:5]}"
        )
        time.sleep(0.3)


def _reviewed(city: Instance, want: dict[int, str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with transaction(city.session_factory) as session:
            got = {r.entry_id: r.decision for r in session.scalars(select(ProvincialReview))}
        if got == want:
            return
        assert time.monotonic() < deadline, f"reviews at the city: {got}, expected {want}"
        time.sleep(0.3)


def test_a_city_joins_and_its_catalog_reaches_the_province_across_a_partition(
    tmp_path: Path,
) -> None:
    rng = random.Random(18)
    prov_dir, city_dir = tmp_path / "province", tmp_path / "city"
    prov_port, city_port = _free_port(), _free_port()
    with fresh_database("fedprov") as prov_url:
        province, _ = new_instance(settings_for(prov_dir, prov_url))
        city, _ = new_instance(settings_for(city_dir, None))
        prov_env, city_env = _env(prov_dir, prov_url), _env(city_dir, None)
        servers: list[subprocess.Popen] = []
        try:
            address = f"http://127.0.0.1:{prov_port}"
            r = _run(prov_env, "node", "init", "--role", "province", "--region", "360000",
                     "--address", address)  # fmt: skip
            assert r.returncode == 0, r.stderr
            anchor = tmp_path / "anchor.json"
            assert _run(prov_env, "node", "anchor", "--out", str(anchor)).returncode == 0
            servers.append(_serve(prov_env, prov_port))

            # Joining: the anchor out of band, a signed request, the authority's approval.
            r = _run(city_env, "node", "init", "--role", "city", "--region", "360100",
                     "--address", f"http://127.0.0.1:{city_port}", "--join", address,
                     "--anchor", str(anchor))  # fmt: skip
            assert r.returncode == 0, r.stderr
            assert "待省级数据管理部门批准" in r.stdout
            # The city serves before it is approved: it learns of it by the directory
            # refresh of its running sync tick, without a restart.
            servers.append(_serve(city_env, city_port))
            with transaction(province.session_factory) as session:
                (request,) = session.scalars(select(JoinRequest)).all()
                assert (request.node_id, request.status) == (CITY, "pending")
                refused_by_city = _user(session, "reviewer_city")
                try:
                    with session.begin_nested():
                        members.decide(session, request.id, actor=refused_by_city, approve=True)
                    raise AssertionError("a city reviewer approved a node")
                except GongshuError as exc:
                    assert "省级数据管理部门" in str(exc)
                members.decide(
                    session, request.id, actor=_user(session, "reviewer_prov"), approve=True
                )

            # 100 random changes on the city: the province ends with exactly its entries.
            n = _changes(city, rng, 100, 1)
            _converged(city, province)

            # The province's review goes down (CAT-2): one entry returned while the city
            # serves, another merged while the city is stopped, delivered on its return.
            def decide(decision: str, reason: str) -> int:
                with transaction(province.session_factory) as session:
                    row = session.scalars(
                        select(FederatedEntry)
                        .where(FederatedEntry.review_status == "pending")
                        .order_by(FederatedEntry.id)
                    ).first()
                    review.decide(
                        session,
                        row.id,
                        actor=_user(session, "reviewer_prov"),
                        decision=decision,
                        reason=reason,
                        private=identity.private_key(province.settings),
                    )
                    return row.home_entry_id

            returned = decide("returned", "请补充字段说明")
            _reviewed(city, {returned: "returned"})
            _stop(servers.pop(1))
            merged = decide("merged", "")
            time.sleep(1.5)  # the province's ticks meet a closed port and keep the decision
            servers.insert(1, _serve(city_env, city_port))
            _reviewed(city, {returned: "returned", merged: "merged"})

            # A partition: the province stops, the city keeps changing, the province returns.
            _stop(servers.pop(0))
            n = _changes(city, rng, 20, n)
            time.sleep(1.5)  # the city's sync ticks meet a closed port and keep its backlog
            with transaction(city.session_factory) as session:
                assert session.scalars(select(Message).where(Message.acked.is_(False))).first()
            servers.insert(0, _serve(prov_env, prov_port))
            _converged(city, province)

            # Both logs verify offline; the province's with the command.
            r = _run(prov_env, "node", "verify-log")
            assert r.returncode == 0, r.stdout + r.stderr
            assert "通过" in r.stdout
            r = _run(city_env, "ledger", "verify")
            assert r.returncode == 0, r.stdout + r.stderr
            r = _run(city_env, "node", "status")
            assert "发往 province-360000 通道 catalog" in r.stdout, r.stdout + r.stderr
            assert "待确认 0 条" in r.stdout
            with transaction(city.session_factory) as session:
                report = chain.verify_log(session)
                assert report.ok, report.problems
                assert report.receipts == report.messages > 0
        finally:
            for server in servers:
                _stop(server)
            province.close()
            city.close()
