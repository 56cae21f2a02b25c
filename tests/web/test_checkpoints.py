"""The web layer signs a ledger checkpoint once enough requests have appended to the
ledger (settings.checkpoint_every = 8 in tests), and only requests that append ask."""

from __future__ import annotations

from sqlalchemy import func, select

from gongshu.ledger.models import LedgerCheckpoint, LedgerEntry


def test_checkpoints_follow_appending_requests(client, login, session, people) -> None:  # noqa: ANN001
    session.commit()
    assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 0
    for _ in range(20):
        login(people.clerk_county.username)  # each sign-in appends auth.login
    size = session.scalar(select(func.max(LedgerEntry.position))) + 1
    sizes = list(session.scalars(select(LedgerCheckpoint.tree_size)))
    assert sizes, "no checkpoint after 20 appending requests"
    assert max(sizes) > size - 8  # never more than checkpoint_every behind
    for _ in range(10):
        assert client.get("/open").status_code == 200  # read-only: no checkpoint asked
    assert list(session.scalars(select(LedgerCheckpoint.tree_size))) == sizes
