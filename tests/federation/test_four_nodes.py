"""A province, two cities and a county as four separate ``gongshu serve`` processes,
each with a database of its own (issue 18 items 1 and 3): all join with the anchor
and the province's approval; random catalog changes on the three lower nodes
(create, rename, edit, submit, approve and so a new published version, return,
delete a draft) end with the province holding exactly the union of their public
catalogs, with no stale, missing or duplicate entry; then a partition (the province
stopped while the lower nodes change, restarted; then a city stopped while the
others change) heals with no manual step. The province runs on PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set; the lower nodes on SQLite.

``GONGSHU_FEDERATION_TEST_CHANGES`` sets the number of changes before the partition
(default 300; the issue's check is 1,000)."""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from gongshu.accounts import jurisdiction
from gongshu.accounts import service as accounts
from gongshu.catalog import drafts
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.db import transaction
from gongshu.errors import GongshuError
from gongshu.federation import members
from gongshu.federation.models import FederatedEntry, JoinRequest
from gongshu.runtime import Instance
from tests.conftest import PASSWORD
from tests.instances import fresh_database, new_instance, settings_for

from .test_network import _data, _env, _free_port, _run, _serve, _stop, _user

CHANGES = int(os.environ.get("GONGSHU_FEDERATION_TEST_CHANGES", "300"))
OPS = ["create"] * 3 + ["rename"] * 3 + ["edit"] * 2 + ["submit", "approve", "return"] * 2
OPS += ["delete"] * 2
REVIEWERS = {
    "360102": "reviewer_county",
    "360100": "reviewer_city",
    "360200": "reviewer_jdz",
    "360000": "reviewer_prov",
}


@dataclass
class Node:
    name: str  # the node id: role-region
    role: str
    region: str
    clerk: str
    prefix: str
    instance: Instance
    env: dict
    port: int
    server: subprocess.Popen | None = None
    made: int = 0


def _jingdezhen(session) -> None:  # noqa: ANN001
    """A second city (景德镇市) with its data authority and an agency."""
    accounts.add_region(session, "360200", "景德镇市", parent="360000")
    auth = accounts.add_organization(
        session, "景德镇市数据局", kind="data_authority", region_code="360200"
    )
    agency = accounts.add_organization(
        session, "景德镇市民政局", kind="agency", region_code="360200"
    )
    accounts.create_user(
        session, "reviewer_jdz", PASSWORD, org=auth, roles=["reviewer"], display_name="审核员"
    )
    accounts.create_user(
        session, "clerk_jdz", PASSWORD, org=agency, roles=["clerk"], display_name="办事员"
    )


def _nanchang_agency(session) -> None:  # noqa: ANN001
    agency = accounts.add_organization(session, "南昌市民政局", kind="agency", region_code="360100")
    accounts.create_user(
        session, "clerk_nc", PASSWORD, org=agency, roles=["clerk"], display_name="办事员"
    )


def _change(node: Node, rng: random.Random) -> None:
    """One catalog change on ``node`` that took effect, in its own transaction."""
    while True:
        with transaction(node.instance.session_factory) as session:
            ids = session.scalars(select(CatalogEntry.id).order_by(CatalogEntry.id)).all()
            op = rng.choice(OPS)
            clerk = _user(session, node.clerk)
            if op == "create" or len(ids) < 3:
                data = _data(node.made)
                data["resource_code"] = f"{node.prefix}-{node.made:05d}-{rng.randrange(10**6)}"
                catalog.create(session, data, actor=clerk)
                node.made += 1
                return
            entry = session.get(CatalogEntry, rng.choice(ids))
            reviewer = _user(session, REVIEWERS.get(entry.review_region_code or "", "citizen"))
            try:
                with session.begin_nested():
                    if op == "rename":
                        patch = {"name": f"{node.prefix}更名{rng.random():.6f}"}
                        catalog.update(session, entry.id, patch, actor=clerk)
                    elif op == "edit":
                        patch = {"summary": f"{rng.random()}"}
                        catalog.update(session, entry.id, patch, actor=clerk)
                    elif op == "submit":
                        catalog.submit(session, entry.id, actor=clerk)
                    elif op == "approve":
                        catalog.approve(session, entry.id, actor=reviewer)
                    elif op == "return":
                        catalog.return_(session, entry.id, actor=reviewer, comment="请补充")
                    else:
                        drafts.delete_draft(session, entry.id, actor=clerk)
                return
            except GongshuError:
                pass  # not possible in this state: try another


def _changes(nodes: list[Node], rng: random.Random, count: int) -> None:
    for _ in range(count):
        _change(rng.choice(nodes), rng)


def _lower_view(node: Node) -> set[tuple]:
    with transaction(node.instance.session_factory) as session:
        return {
            (node.name, e.id, e.resource_code, e.name, e.status, e.version_no)
            for e in session.scalars(select(CatalogEntry).where(CatalogEntry.scope == "public"))
            if jurisdiction.covers(node.region, e.region_code, jurisdiction.AREA)
        }


def _province_view(province: Instance) -> list[tuple]:
    with transaction(province.session_factory) as session:
        return [
            (e.home_node, e.home_entry_id, e.resource_code, e.name, e.status, e.version_no)
            for e in session.scalars(select(FederatedEntry))
        ]


def _converged(lower: list[Node], province: Instance, timeout: float = 90) -> int:
    """Wait until the province holds exactly the union of the lower public catalogs;
    the number of entries."""
    deadline = time.monotonic() + timeout
    while True:
        want = set().union(*(_lower_view(n) for n in lower))
        got = _province_view(province)
        if set(got) == want and len(got) == len(want):
            return len(got)
        if time.monotonic() > deadline:
            dupes = [k for k, n in Counter(g[:2] for g in got).items() if n > 1]
            raise AssertionError(
                f"missing {sorted(want - set(got))[:5]}, stale {sorted(set(got) - want)[:5]}, "
                f"duplicate {dupes[:5]}"
            )
        time.sleep(0.5)


def test_four_nodes_converge_exactly_across_partitions(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("GONGSHU_FEDERATION_TEST_SEED", "18")))
    with fresh_database("fed4prov") as prov_url:
        prov_dir = tmp_path / "province"
        province, _ = new_instance(settings_for(prov_dir, prov_url))
        with transaction(province.session_factory) as session:
            _jingdezhen(session)
        prov_port = _free_port()
        prov_env = _env(prov_dir, prov_url)
        address = f"http://127.0.0.1:{prov_port}"
        lower: list[Node] = []
        prov_server: subprocess.Popen | None = None
        try:
            r = _run(prov_env, "node", "init", "--role", "province", "--region", "360000",
                     "--address", address)  # fmt: skip
            assert r.returncode == 0, r.stderr
            anchor = tmp_path / "anchor.json"
            assert _run(prov_env, "node", "anchor", "--out", str(anchor)).returncode == 0
            prov_server = _serve(prov_env, prov_port)

            specs = [
                ("city", "360100", "clerk_nc", "NC", _nanchang_agency),
                ("city", "360200", "clerk_jdz", "JDZ", _jingdezhen),
                ("county", "360102", "clerk_county", "DH", None),
            ]
            for role, region, clerk, prefix, seed in specs:
                data_dir = tmp_path / f"{role}-{region}"
                instance, _ = new_instance(settings_for(data_dir, None))
                if seed is not None:
                    with transaction(instance.session_factory) as session:
                        seed(session)
                node = Node(
                    name=f"{role}-{region}",
                    role=role,
                    region=region,
                    clerk=clerk,
                    prefix=prefix,
                    instance=instance,
                    env=_env(data_dir, None),
                    port=_free_port(),
                )
                lower.append(node)
                r = _run(node.env, "node", "init", "--role", role, "--region", region,
                         "--address", f"http://127.0.0.1:{node.port}", "--join", address,
                         "--anchor", str(anchor))  # fmt: skip
                assert r.returncode == 0, r.stdout + r.stderr
                node.server = _serve(node.env, node.port)
            with transaction(province.session_factory) as session:
                requests = session.scalars(select(JoinRequest).order_by(JoinRequest.id)).all()
                assert sorted(q.node_id for q in requests) == sorted(n.name for n in lower)
                for request in requests:
                    members.decide(
                        session, request.id, actor=_user(session, "reviewer_prov"), approve=True
                    )

            # Random changes on the three lower nodes, interleaved.
            _changes(lower, rng, CHANGES)
            held = _converged(lower, province)
            assert held > 0

            # The province stops while every lower node changes; it returns.
            _stop(prov_server)
            prov_server = None
            _changes(lower, rng, CHANGES // 5)
            time.sleep(2)  # the lower nodes' ticks meet a closed port and keep their backlog
            prov_server = _serve(prov_env, prov_port)
            _converged(lower, province)

            # A city stops; the others (and the stopped city's own database) change.
            city = lower[0]
            _stop(city.server)
            city.server = None
            _changes(lower, rng, CHANGES // 5)
            time.sleep(2)
            city.server = _serve(city.env, city.port)
            total = _converged(lower, province)

            with transaction(province.session_factory) as session:
                per_node = dict(
                    session.execute(
                        select(FederatedEntry.home_node, func.count()).group_by(
                            FederatedEntry.home_node
                        )
                    ).all()
                )
            assert set(per_node) == {n.name for n in lower}, per_node
            assert sum(per_node.values()) == total
            deleted = sum(n.made for n in lower) - total
            assert deleted > 0, "no draft was deleted: the run did not test deletions"
        finally:
            for node in lower:
                if node.server is not None:
                    _stop(node.server)
                node.instance.close()
            if prov_server is not None:
                _stop(prov_server)
            province.close()
