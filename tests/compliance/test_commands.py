"""``gongshu compliance verify-audit`` against a real SQLite instance."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pytest

from gongshu.capabilities import import_all_models
from gongshu.compliance import audits, signing
from gongshu.config import Settings
from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.ledger.keys import InstanceKey
from gongshu.protect.keystore import FileKeyStore
from tests.compliance.test_audits import assess_all, signers
from tests.conftest import seed_people

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'click.utils", DeprecationWarning)
    from typer.testing import CliRunner

    from gongshu.compliance.commands import compliance_app

runner = CliRunner()


def test_verify_audit_passes_then_fails_after_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: E501
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "var")
    import_all_models()
    engine = make_engine(settings.db_url)
    Base.metadata.create_all(engine)
    InstanceKey.load_or_create(settings.keys_dir)
    keys = FileKeyStore.from_settings(settings)
    with transaction(make_session_factory(engine)) as session:
        people = seed_people(session)
        audit = audits.create(
            session,
            actor=people.clerk_prov,
            subject_org_id=people.org["police"].id,
            trigger="self",
            conductor="institution",
            institution_org_id=people.org["audit"].id,
            institution_head="王所长",
            lead_name="李审计",
        )
        lead, head = signers(session, people)
        assess_all(session, audit, people.auditor)
        signing.sign_report(session, audit.id, actor=lead, role="lead", keys=keys)
        signing.sign_report(session, audit.id, actor=head, role="head", keys=keys)
        audit_id = audit.id
    engine.dispose()
    args = ["verify-audit", str(audit_id), "--data-dir", str(settings.data_dir)]
    result = runner.invoke(compliance_app, args)
    assert result.exit_code == 0, result.output
    assert "通过：合规审计负责人李审计的签名有效" in result.output
    with sqlite3.connect(settings.data_dir / "gongshu.db") as conn:
        conn.execute("UPDATE compliance_audit_points SET findings = '改写' WHERE point = 9")
    result = runner.invoke(compliance_app, args)
    assert result.exit_code == 1 and "签署后报告内容已被改动" in result.output
