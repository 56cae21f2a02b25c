"""No GET request writes (issue 15, item 4).

The test loads the demo province through the real services, adds what the demo
lacks (a sharing application, a consumer's error report, a market dispute), and
then leaves statutory clocks *pending*: deadlines that are NULL although the
schedule now covers their year (as after a ``chinese_calendar`` upgrade, or a
schedule entered by another process). A page that refreshed deadlines, imported
queues or otherwise tidied up on a GET would write here. Every GET route of the
real app is then requested as each demo role and anonymously, with path
parameters taken from real rows, and the database must be unchanged.

"Unchanged" is decided twice: every table's row count and a hash of its full
content before and after the walk must match (the verdict), and every INSERT,
UPDATE or DELETE the app sends during a request is attributed to that request
(so a failure names the route).

What a read may record, and nothing else:

- ``deliveries``: a data delivery through the egress door (a download, an API
  data page, a CKAN ``datastore_search``, the masked preview on an open entry's
  page) is recorded *before the first byte*
  with what was delivered to whom: it is the legal record of a read (SEC-3
  tracing, SEC-7 watermark resolution), not a change of the platform's state.
- ``ledger_entries`` and ``ledger_head``: the ``egress.delivered`` entry that
  makes that delivery tamper-evident. Any other action appended on a GET fails.
- ``ledger_checkpoints``: the signed tree head the app adds after a request
  that appended to the ledger (``checkpoint_every``), part of the same record.

Logging in is a POST; API tokens are issued before the snapshot and bearer
authentication writes nothing, so no session bookkeeping is excluded.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from gongshu.app.factory import all_routes
from gongshu.db import Base
from tests.web.world import leave_clocks_pending, seed_world

READ_RECORD_TABLES = {"deliveries", "ledger_entries", "ledger_head", "ledger_checkpoints"}
READ_RECORD_ACTIONS = {"egress.delivered"}
ROLES = (
    "admin",
    "reviewer",
    "clerk",
    "operator",
    "auditor",
    "regulator",
    "enterprise",
    "public",
)
WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)

# A path parameter -> the query that picks a real value for it; "path:param" keys
# pick for one route, LITERALS give fixed values and QUERIES the query strings
# some routes need. Anything else is "1".
PARAMS = {
    "agreement_id": "select min(id) from operator_agreements",
    "application_id": "select min(id) from sharing_applications",
    "assessment_id": "select min(id) from quality_assessments",
    "audit_id": "select min(id) from compliance_audits",
    "evidence_id": "select min(id) from compliance_audit_evidence",
    "entry_id": "select min(entry_id) from dataset_versions",
    "entry_id:int": "select min(id) from catalog_entries"
    " where opening_attr != 'none' and published_version is not null",
    "grant_id": "select min(id) from grants",
    "incident_id": "select min(id) from compliance_incidents",
    "listing_id": "select min(id) from market_listings",
    "order_id": "select min(id) from market_orders",
    "org_id": "select min(org_id) from processing_notices",
    "reg_id": "select min(id) from registrations",
    "report_id": "select min(id) from quality_reports",
    "request_id": "select min(id) from rights_requests",
    "version_id": "select min(id) from dataset_versions",
    "code": "select min(code) from registrations",
    "/compliance/incidents/{incident_id}/reports/{code}.pdf:code": (
        "select min(code) from compliance_incident_reports"
    ),
    "/disclosure/{org_id}:org_id": "select min(id) from organizations where kind = 'operator'",
    "/disclosure/{org_id}/report.pdf:org_id": (
        "select min(id) from organizations where kind = 'operator'"
    ),
}
LITERALS = {"version_no": "1", "kind": "security", "year": "2025", "name": "package_list"}
QUERIES = {
    "/api/v1/catalog/{entry_id}/diff": "?old=1&new=2",
    "/api/v1/calendar/deadline": "?received=2024-09-27T10:00:00%2B08:00",
}


def _snapshot(connection) -> dict[str, tuple[int, str]]:  # noqa: ANN001
    """Row count and a content hash of every table."""
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = connection.execute(select(table)).all()
        digest = hashlib.sha256()
        for row in sorted(repr(tuple(r)) for r in rows):
            digest.update(row.encode())
        out[table.name] = (len(rows), digest.hexdigest())
    return out


@pytest.fixture
def walk(app, client, session, session_factory, settings, connection):  # noqa: ANN001, ANN201
    seed_world(session, session_factory, settings)
    leave_clocks_pending(session)
    tokens = {}
    for role in ROLES:
        user = session.scalar(select(User).where(User.username == role))
        tokens[role], _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
    values = {name: str(connection.execute(text(q)).scalar() or 1) for name, q in PARAMS.items()}
    values.update(LITERALS)
    session.commit()
    return tokens, values


def _url(path: str, values: dict[str, str]) -> str:
    def value(m: re.Match) -> str:
        return values.get(f"{path}:{m.group(1)}") or values.get(m.group(1), "1")

    return re.sub(r"\{([^}]+)\}", value, path) + QUERIES.get(path, "")


def test_no_get_request_changes_the_database(app, client, connection, walk) -> None:
    tokens, values = walk
    current = ["(none)"]
    writes: dict[str, set[str]] = defaultdict(set)

    def spy(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        found = WRITE.match(statement)
        if found and found.group(1).lower() not in READ_RECORD_TABLES:
            writes[current[0]].add(f"{statement.split()[0].upper()} {found.group(1)}")

    gets = sorted((r for r in all_routes(app) if "GET" in r.methods), key=lambda r: r.path)
    assert len(gets) > 100
    before = _snapshot(connection)
    position = connection.execute(text("select max(position) from ledger_entries")).scalar()
    event.listen(connection, "before_cursor_execute", spy)
    statuses: dict[int, int] = defaultdict(int)
    try:
        for who in (*ROLES, None):
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
            for route in gets:
                url = _url(route.path, values)
                current[0] = f"{who or 'anonymous'} GET {url}"
                r = client.get(url, headers=headers, follow_redirects=False)
                statuses[r.status_code] += 1
    finally:
        event.remove(connection, "before_cursor_execute", spy)
    after = _snapshot(connection)

    assert not writes, "GET requests wrote:\n" + "\n".join(
        f"{where}: {sorted(what)}" for where, what in sorted(writes.items())
    )
    changed = [t for t in before if before[t] != after[t] and t not in READ_RECORD_TABLES]
    assert not changed, f"tables changed by GET requests: {changed}"
    appended = connection.execute(
        text("select distinct action from ledger_entries where position > :p"), {"p": position}
    ).scalars()
    assert set(appended) <= READ_RECORD_ACTIONS
    # The walk reached real pages, not only refusals.
    assert statuses[200] > 300, dict(statuses)
