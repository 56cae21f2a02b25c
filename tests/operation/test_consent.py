"""OPR-3 per-person consent (issue 16 item 3): an operator licensed on basis consent over an
entry with personal information reads only the rows of persons who consented to it, at
the door and in the sandbox (the gate ``privacy.operation``)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from gongshu import storage
from gongshu.accounts import service as accounts
from gongshu.accounts.models import Organization
from gongshu.egress import service as egress
from gongshu.egress.download import file_response
from gongshu.egress.versions import personal_columns
from gongshu.ledger import entries as ledger_entries
from gongshu.operation import products, runs
from gongshu.operation.errors import ExportRefused
from gongshu.operation.models import SandboxRun
from gongshu.privacy import consent
from gongshu.privacy.errors import BadConsent
from gongshu.privacy.models import ConsentRecord
from gongshu.privacy.person import person_hash
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date
from tests.operation.conftest import IDS

SECRET = "operation-test-secret"  # the sandbox settings' secret (conftest ``rs``)
TOTAL = "SELECT count(*) AS n, sum(月收入) AS s FROM entry_{id}"


def _kinds(session, entry) -> list[str]:  # noqa: ANN001
    version = storage.newest(session, entry.id)
    return sorted(set().union(*personal_columns(session, entry, version).values()))


def _consent(session, people, entry, k, operator_org_id, kinds=None):  # noqa: ANN001, ANN202
    """Person ``k``'s consent to the provider providing to the operator, one record per
    kind (a sensitive kind must be a record of its own, PIP-1)."""
    return [
        consent.give(
            session,
            org=session.get(Organization, entry.provider_org_id),
            id_number=IDS[k],
            purpose="向授权运营机构提供用于授权运营",
            method="提供",
            data_kinds=[kind],
            on=beijing_date(utcnow()) - timedelta(days=1),
            secret=SECRET,
            actor="user:clerk_county",
            operator_org_id=operator_org_id,
        )
        for kind in (kinds or _kinds(session, entry))
    ]


def _income(k: int) -> int:
    return 3000 + 100 * k  # conftest's rows


@pytest.fixture
def licensed(session, people, op, closed_entry, authorize):  # noqa: ANN001, ANN201
    """The operator licensed on basis consent over the personal entry, nobody consented."""
    return authorize(
        [{"entry_id": closed_entry.id, "policy": "share-conditional", "basis": "consent"}]
    )


def _deliver(session, agreement, op, tmp_path):  # noqa: ANN001, ANN202
    return egress.deliver(
        session,
        agreement.items[0].grant_id,
        actor=op,
        fmt="json",
        datasets_dir=tmp_path / "var" / "datasets",
        work_dir=tmp_path / "out",
        secret=SECRET,
    )


def test_nobody_consented_yields_no_rows_with_a_chinese_note(
    session, people, op, closed_entry, licensed, rs, tmp_path
):  # noqa: ANN001
    out = _deliver(session, licensed, op, tmp_path)
    assert out.delivery.rows == 0
    # the recipient is told beside the (empty) file how many rows were kept back and why
    (held,) = out.withheld
    assert held.rows == 40 and out.withheld_rows == 40 and "授权运营" in held.reason
    headers = file_response(out).headers
    assert headers["X-Gongshu-Withheld-Rows"] == "40"
    assert "未取得个人同意" in unquote(headers["X-Gongshu-Withheld-Reasons"])
    assert "40 行" in unquote(headers["X-Gongshu-Withheld-Reasons"])
    with pytest.raises(ExportRefused) as exc:  # count over nothing: the group is too small
        runs.run_query(
            session, licensed.id, TOTAL.format(id=closed_entry.id), actor=op, settings=rs()
        )
    assert "目前没有个人同意向本机构提供其信息" in exc.value.message
    assert "困难群众台账" in exc.value.message
    grouped = runs.run_query(
        session,
        licensed.id,
        f"SELECT 街道, count(*) AS n FROM entry_{closed_entry.id} GROUP BY 街道",
        actor=op,
        settings=rs(),
    )
    assert grouped.status == "passed" and grouped.rows == 0
    assert any("没有可用的记录" in n for n in runs.withheld_notes(grouped))


def test_only_consenting_persons_rows_reach_the_door_and_the_sandbox(
    session, people, op, closed_entry, licensed, rs, tmp_path
):  # noqa: ANN001
    other = accounts.add_organization(
        session, "另一家运营公司", kind="operator", region_code="360000"
    )
    for k in (1, 2, 3, 4):
        _consent(session, people, closed_entry, k, op.org_id)
    withdrawn = _consent(session, people, closed_entry, 5, op.org_id)
    for rec in withdrawn:
        consent.withdraw(session, rec.id, on=beijing_date(utcnow()), actor=people.clerk_county)
    _consent(session, people, closed_entry, 6, other.id)  # names another operator
    assert "CN_RESIDENT_ID" in _kinds(session, closed_entry)
    # a consent that does not cover the kind the row carries (PIP-1: kind by kind)
    _consent(session, people, closed_entry, 7, op.org_id, kinds=["PERSON_NAME"])

    out = _deliver(session, licensed, op, tmp_path)
    data = json.loads(out.read_text(encoding="utf-8"))
    income = data["columns"].index("月收入")
    assert out.delivery.rows == 4
    assert sorted(r[income] for r in data["rows"]) == [_income(k) for k in (1, 2, 3, 4)]
    (delivered,) = [
        e
        for e in ledger_entries(session, subject=f"entry:{closed_entry.id}")
        if e.action == "egress.delivered" and e.payload["delivery"] == out.delivery.token
    ]
    (withheld,) = delivered.payload["withheld"]
    assert withheld["rows"] == 36 and "授权运营" in withheld["reason"]
    assert out.withheld_rows == 36
    assert not any(x in json.dumps(delivered.payload, ensure_ascii=False) for x in IDS)

    run = runs.run_query(
        session, licensed.id, TOTAL.format(id=closed_entry.id), actor=op, settings=rs(min_group=3)
    )
    assert run.status == "passed"
    assert _result(session, run, op, tmp_path) == [[4, sum(_income(k) for k in (1, 2, 3, 4))]]
    result = session.get(SandboxRun, run.id)
    (w,) = result.withheld
    assert (w["rows"], w["left"], w["entry"]) == (36, 4, closed_entry.id)
    assert "36 条未取得本人同意的记录未予使用" in runs.withheld_notes(result)[0]
    (ran,) = [
        e
        for e in ledger_entries(session, subject=f"operator:{op.org_id}")
        if e.action == "operation.run_passed" and e.payload["run"] == run.id
    ]
    assert ran.payload["withheld"][0]["rows"] == 36
    assert not any(x in json.dumps(ran.payload, ensure_ascii=False) for x in IDS)

    # one more person withdraws one kind: their rows stop at the next read, door and sandbox
    first = session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.person_hash == person_hash(IDS[1], SECRET),
            ConsentRecord.action == "grant",
        )
    ).first()
    consent.withdraw(session, first.id, on=beijing_date(utcnow()), actor=people.clerk_county)
    again = _deliver(session, licensed, op, tmp_path)
    rows = json.loads(again.read_text(encoding="utf-8"))["rows"]
    assert sorted(r[income] for r in rows) == [_income(k) for k in (2, 3, 4)]
    run = runs.run_query(
        session, licensed.id, TOTAL.format(id=closed_entry.id), actor=op, settings=rs(min_group=3)
    )
    assert _result(session, run, op, tmp_path) == [[3, sum(_income(k) for k in (2, 3, 4))]]


def _result(session, run, op, tmp_path):  # noqa: ANN001, ANN202
    shown = products.preview(session, run.id, actor=op, datasets_dir=tmp_path / "var" / "datasets")
    return [[int(v) for v in row[:2]] for row in shown["rows"]]


def test_an_operator_consent_names_an_operator(session, people, closed_entry):  # noqa: ANN001
    with pytest.raises(BadConsent, match="授权运营机构"):
        _consent(session, people, closed_entry, 1, people.org["police"].id)
