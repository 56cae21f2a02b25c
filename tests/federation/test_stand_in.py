"""A remote agency's stand-in on this node is found by the node and the agency's id
there, not by its name: a renamed agency keeps its stand-in (and so its grants and the
marks traced to it)."""

from __future__ import annotations

from sqlalchemy import func, select

from gongshu.accounts.models import Organization
from gongshu.federation import sharing


def test_a_renamed_remote_agency_keeps_its_stand_in(session, people) -> None:  # noqa: ANN001
    org = {"id": 7, "name": "东湖区民政局", "region_code": "360102"}
    first = sharing._proxy(session, "county-360102", org)
    assert first.org.name == "东湖区民政局（county-360102）" and not first.is_active
    orgs = session.scalar(select(func.count()).select_from(Organization))
    renamed = sharing._proxy(session, "county-360102", {**org, "name": "东湖区民政和社会保障局"})
    assert renamed.id == first.id and renamed.org_id == first.org_id
    # no second organization for the same agency (the former lookup by name made one)
    assert session.scalar(select(func.count()).select_from(Organization)) == orgs
    other = sharing._proxy(session, "county-360102", {**org, "id": 8})
    assert other.id != first.id
    elsewhere = sharing._proxy(session, "city-360100", {**org, "region_code": "360100"})
    assert elsewhere.id != first.id and elsewhere.org_id != first.org_id
