"""The province docked to a national registry that runs as a separate ``gongshu
serve`` process, each with a database of its own (issue 18 item 6); the province
serves from this process, its app and job worker in threads as ``gongshu serve``
runs them. Anchors exchanged out of band (as ``node dock`` and ``node admit`` do),
a registration certified at the province assigned a unified code, one missing a
required field refused at 形式审核 with the field named, and a forged and a replayed
message refused by the national node. The province runs on PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import select

from gongshu.accounts.models import User
from gongshu.db import transaction
from gongshu.federation import chain, envelope, identity, members, national
from gongshu.federation.models import Message, NationalRecord, NationalSubmission
from gongshu.protect import sm2
from gongshu.registration import service as registration
from tests.instances import fresh_database, new_instance, settings_for

from .test_network import GONGSHU, _env, _free_port, _stop

PROVINCE, NATIONAL = "province-360000", "national-100000"


def _user(session, name: str) -> User:  # noqa: ANN001
    return session.scalar(select(User).where(User.username == name))


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start(env: dict[str, str], port: int) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [*GONGSHU, "serve", "--workers", "1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return server, port


def _serve_in_process(instance, port: int):  # noqa: ANN001, ANN202
    """The province's app and job worker (its sync tick) as ``gongshu serve`` runs
    them, in threads of this process; returns the function that stops both."""
    import threading

    import uvicorn

    from gongshu import capabilities
    from gongshu.app.factory import create_app
    from gongshu.jobs import Worker

    capabilities.activate()
    capabilities.load_job_handlers()
    worker, stop_worker = Worker(
        instance.session_factory, settings=instance.settings
    ).start_thread()
    app = create_app(instance.settings, session_factory=instance.session_factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        stop_worker.set()
        thread.join(10)
        worker.join(10)

    return stop


def _ready(server: subprocess.Popen, port: int) -> subprocess.Popen:
    deadline = time.monotonic() + 90  # a loaded machine starts a server slowly
    while True:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert time.monotonic() < deadline, "the server did not answer"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)


def _wait(province, want: dict[int, str], timeout: float = 30) -> dict[int, NationalSubmission]:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        with transaction(province.session_factory) as session:
            subs = {
                s.registration_id: s
                for s in session.scalars(select(NationalSubmission))
                if s.registration_id in want
            }
            for s in subs.values():
                session.expunge(s)
        if {k: s.status for k, s in subs.items()} == want:
            return subs
        assert time.monotonic() < deadline, {k: s.status for k, s in subs.items()}
        time.sleep(0.3)


def test_a_province_gets_a_national_code_from_a_registry_in_another_process(
    tmp_path: Path,
) -> None:
    prov_dir, nat_dir = tmp_path / "province", tmp_path / "national"
    prov_port, nat_port = _free_port(), _free_port()
    with fresh_database("natprov") as prov_url:
        province, _ = new_instance(settings_for(prov_dir, prov_url))
        nation, _ = new_instance(settings_for(nat_dir, None))
        nat_env = _env(nat_dir, None)
        nat_env["GONGSHU_NATIONAL_PUBLICITY_DAYS"] = "0"  # coded as soon as checked
        servers, stop_province = [], None
        try:
            nat_address = f"http://127.0.0.1:{nat_port}"
            # The anchors exchanged out of band (the commands: test_national.py).
            with transaction(nation.session_factory) as session:
                node = identity.init_node(
                    session, nation.settings, role="national", region_code="100000",
                    address=nat_address,
                )  # fmt: skip
                nat_anchor = identity.anchor_of(node)
            with transaction(province.session_factory) as session:
                node = identity.init_node(
                    session, province.settings, role="province", region_code="360000",
                    address=f"http://127.0.0.1:{prov_port}",
                )  # fmt: skip
                members.dock(session, nat_anchor)
                prov_anchor = identity.anchor_of(node)
            with transaction(nation.session_factory) as session:
                members.dock(session, prov_anchor)
            national_server = _start(nat_env, nat_port)
            stop_province = _serve_in_process(province, prov_port)
            servers.append(_ready(*national_server))

            # Two registrations certified by the provincial authority; one was migrated
            # from an older system without its description.
            with transaction(province.session_factory) as session:
                ids = []
                for name in ("企业登记信息", "旧系统迁入的登记"):
                    reg = registration.apply(
                        session,
                        {
                            "kind": "resource",
                            "name": name,
                            "description": "全省企业登记信息",
                            "rights": ["holding"],
                            "price_mode": "free",
                        },
                        actor=_user(session, "clerk_prov"),
                    )
                    ids.append(reg.id)
                registration.get(session, ids[1]).description = ""
                for reg_id in ids:
                    registration.approve(session, reg_id, actor=_user(session, "reviewer_prov"))
            good, bad = ids
            subs = _wait(province, {good: "coded", bad: "check_failed"})
            assert national.code_valid(subs[good].national_code)
            assert subs[good].national_code.startswith("CN-360000-")
            assert [s["step"] for s in subs[good].history] == [
                "submit", "apply", "accept", "check", "publicity", "code",
            ]  # fmt: skip
            assert subs[bad].national_code is None and subs[bad].field == "description"
            assert "“描述”" in subs[bad].reason
            with transaction(nation.session_factory) as session:
                records = {r.province_ref: r for r in session.scalars(select(NationalRecord))}
                assert set(records) == {good, bad}
                assert records[good].code == subs[good].national_code

            # A forged message (signed by another key, claiming to be the province) and a
            # replay of an accepted one are refused and named; nothing more is recorded.
            base = nat_address + "/federation/v1/messages"
            with transaction(province.session_factory) as session:
                sent = session.scalars(
                    select(Message)
                    .where(Message.direction == "out", Message.channel == national.CHANNEL)
                    .order_by(Message.seq)
                ).all()
                assert sent and all(m.acked for m in sent)
                first = json.dumps({"envelope": sent[0].envelope, "signature": sent[0].signature})
                last = sent[-1]
            forged_env = envelope.envelope(
                sender=PROVINCE,
                receiver=NATIONAL,
                channel=national.CHANNEL,
                seq=last.seq + 1,
                prev_hash=last.hash,
                kind=national.KIND,
                payload={"registrations": [{"province_ref": 999, "revision": 1}]},
            )
            text, signature = envelope.sign(sm2.generate_private_key(), forged_env)
            status, answer = _post(
                base, json.dumps({"envelope": text, "signature": signature}).encode()
            )
            assert (status, answer["error"]) == (403, "bad_signature"), answer
            assert "签名无效" in answer["message"]
            status, answer = _post(base, first.encode())
            assert (status, answer["error"]) == (409, "replay"), answer
            with transaction(nation.session_factory) as session:
                assert len(session.scalars(select(NationalRecord)).all()) == 2
                report = chain.verify_log(session)
                assert report.ok and report.receipts == report.messages > 0, report.problems
            with transaction(province.session_factory) as session:
                report = chain.verify_log(session)
                assert report.ok and report.receipts == report.messages > 0, report.problems
        finally:
            for server in servers:
                _stop(server)
            if stop_province is not None:
                stop_province()
            province.close()
            nation.close()
