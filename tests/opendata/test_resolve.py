"""What datastore_search resolves is kept per process (opendata/resolve.py), and a
committed change or the passing of time is seen by the very next call (SHR-5:
an expired or revoked grant stops at once)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from gongshu.accounts import service as accounts
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets import service as datasets
from gongshu.egress import service as egress
from gongshu.errors import Unauthorized
from gongshu.opendata import ckan, resolve
from gongshu.opendata import service as opendata
from gongshu.opendata.errors import NoOpenGrant, OpenEntryNotFound
from gongshu.timeutil import utcnow


@pytest.fixture
def call(session, settings, open_data, people, api_token, monkeypatch):  # noqa: ANN001, ANN201
    """datastore_search as the CKAN route makes it, counting the lookups that ran."""
    opendata.declare_use(session, open_data.free.id, actor=people.citizen, use="u", scenario="s")
    token = api_token(people.citizen)
    session.flush()
    ran: list[str] = []
    for module, name in (
        (accounts, "find_token"),
        (resolve, "resource_target"),
        (resolve, "open_grants"),
    ):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):  # noqa: ANN002, ANN003, ANN202
            ran.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    def search_rows(rid: str | None = None, plaintext: str | None = None) -> dict:
        user = resolve.api_user(session, plaintext or token)
        if user is None:
            raise Unauthorized("invalid token")
        params = {"resource_id": rid or f"gs-resource-{open_data.free.id}", "limit": 3}
        return ckan.datastore_search(session, {**params, "__settings": settings}, user)

    search_rows.ran, search_rows.token = ran, token
    return search_rows


def test_a_repeated_call_looks_nothing_up_again(call, session) -> None:  # noqa: ANN001
    first = call()
    assert sorted(call.ran) == ["find_token", "open_grants", "resource_target"]
    call.ran.clear()
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_) -> None:  # noqa: ANN001, ANN002
        statements.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        again = call()
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    assert call.ran == []
    assert again["records"] == first["records"] and again["total"] == first["total"] == 30
    # not one of the rows it resolves is read again: only the delivery and ledger writes
    resolved = ("auth_tokens", "users", "catalog_entries", "dataset_versions", "grants")
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert not [s for s in reads if any(t in s for t in (*resolved, "masking_policies"))]


def test_a_revoked_token_stops_the_next_call(call, session, people) -> None:  # noqa: ANN001
    call()
    token = next(t for t in accounts.api_tokens(session, people.citizen))
    accounts.revoke_token(session, people.citizen, token.id)
    session.flush()
    with pytest.raises(Unauthorized):
        call()


def test_a_revoked_grant_stops_the_next_call(call, session, people, open_data) -> None:  # noqa: ANN001
    call()
    grant = opendata.active_grant(session, open_data.free.id, people.citizen)
    egress.revoke_grant(session, grant.id, actor=people.admin, reason="违约")
    session.flush()
    with pytest.raises(NoOpenGrant):
        call()


def test_expiry_is_checked_against_the_clock_on_every_call(
    call,
    session,
    people,
    open_data,
    monkeypatch,  # noqa: ANN001
) -> None:
    call()
    grant = opendata.active_grant(session, open_data.free.id, people.citizen)
    later = grant.expires_at + timedelta(seconds=1)
    call.ran.clear()
    # nothing in the database changes: only time passes
    monkeypatch.setattr(opendata, "utcnow", lambda: later)
    with pytest.raises(NoOpenGrant):
        call()
    monkeypatch.setattr(accounts, "utcnow", lambda: utcnow() + timedelta(hours=2))
    with pytest.raises(Unauthorized):
        call()


def test_a_closed_entry_and_a_new_version_are_seen_at_once(
    call,
    session,
    settings,
    people,
    open_data,
    tmp_path,  # noqa: ANN001
) -> None:
    assert call()["total"] == 30
    entry = session.get(CatalogEntry, open_data.free.id)
    entry.opening_attr = "none"  # withdrawn from opening, as the catalog service does
    session.flush()
    with pytest.raises(OpenEntryNotFound):
        call()
    entry.opening_attr = "unconditional"
    session.flush()
    csv = tmp_path / "v2.csv"
    csv.write_text("线路,区,站点数\n" + "".join(f"{i:03d}路,东湖区,{i}\n" for i in range(31)))
    datasets.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=settings.datasets_dir
    )
    session.flush()
    assert call()["total"] == 31


def test_kept_rows_are_not_the_callers(call, session) -> None:  # noqa: ANN001
    """The rows kept are detached copies: what a call's session holds is merged from them."""
    call()
    user = resolve.api_user(session, call.token)
    kept = resolve._KEPT._items
    assert user in session and all(user is not v for v in kept.values())
