"""The sync tick of a node, in the job worker beside the server (no restart needed to
pick up a new directory; a partition heals on the next tick): a lower node sends its
catalog feed up; the province sends its review decisions down and its registrations
to the national registry; the national registry moves records through publicity to
their code and sends their progress down."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from gongshu.federation import docking, feed, identity, national, review, sharing
from gongshu.jobs import every
from gongshu.jobs.worker import SETTINGS

log = logging.getLogger(__name__)
SYNC_SECONDS = 1.0


def tick(session: Session, settings: Any) -> dict[str, Any]:  # noqa: ANN401
    """One round, by this node's role."""
    node = identity.maybe_me(session)
    if node is None:
        return {"state": "not-a-node"}
    if node.role == "national":
        return national.sync(session, settings)
    if node.role == "province":
        result = review.push(session, settings)
        result["national"] = docking.sync(session, settings)
    else:
        result = feed.sync(session, settings)
    result["sharing"] = sharing.sync(session, settings)
    return result


@every("federation.sync", SYNC_SECONDS)
def sync(session: Session) -> None:
    settings = session.info.get(SETTINGS)
    if settings is None:
        return
    result = tick(session, settings)
    if result.get("state") not in ("ok", "not-a-node", "not-a-lower-node", "not-the-province"):
        log.info("联邦同步：%s", result)
