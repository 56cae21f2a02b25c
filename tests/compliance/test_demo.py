"""The compliance demo seed: fast, through the real services."""

from __future__ import annotations

import time

from gongshu.accounts import service as accounts
from gongshu.compliance import audits, incidents
from gongshu.compliance.demo import seed_demo
from gongshu.compliance.models import AuditEngagement, ImpactAssessment, Incident


def test_seed_demo(session, people) -> None:  # noqa: ANN001
    accounts.create_user(
        session, "clerk", "correct-horse-9", org=people.org["police"], roles=["clerk"]
    )
    started = time.monotonic()
    seed_demo(session)
    assert time.monotonic() - started < 2
    inc = session.query(Incident).one()
    assert incidents.next_due(inc).code == "cyber_24h"  # the 1-hour report was made
    audit = session.query(AuditEngagement).one()
    assert set(audits.results(session, audit.id)) == {3, 25, 27}
    # Every agency holds a current PIP-8 assessment.
    orgs = {a.org_id for a in session.query(ImpactAssessment)}
    assert {people.org["police"].id, people.org["civil"].id} <= orgs
