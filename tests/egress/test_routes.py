"""Reading through grants over HTTP: API pages, downloads, revocation."""

from __future__ import annotations

import io
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from gongshu.accounts import service as accounts

from .test_service import IDS, shared_entry  # noqa: F401, TID252


@pytest.fixture
def auth(session, people):  # noqa: ANN001, ANN201
    def headers(user) -> dict:  # noqa: ANN001
        token, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {token}"}

    return headers


def test_take_read_and_revoke_over_the_api(
    client,
    auth,
    people,
    shared_entry,  # noqa: F811
    settings,
) -> None:
    consumer = auth(people.clerk_prov)
    r = client.post(
        f"/api/v1/catalog/{shared_entry.id}/grants",
        json={"scenario": "户籍与低保交叉核验"},
        headers=consumer,
    )
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert [g["id"] for g in client.get("/api/v1/grants", headers=consumer).json()] == [gid]

    page = client.get(
        f"/api/v1/grants/{gid}/data", params={"limit": 5, "offset": 0}, headers=consumer
    )
    assert page.status_code == 200 and page.headers["x-gongshu-delivery"]
    body = page.json()
    assert len(body["rows"]) == 5 and IDS[0] not in page.text
    parquet = client.get(
        f"/api/v1/grants/{gid}/data",
        params={"format": "parquet", "limit": 100000},
        headers=consumer,
    )
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 40
    assert list((settings.data_dir / "egress").glob("*")) == []  # nothing left behind

    r = client.get(f"/api/v1/grants/{gid}/data", headers=auth(people.auditor))
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/grants/{gid}/revoke",
        json={"reason": "核验完成"},
        headers=auth(people.clerk_county),
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = client.get(f"/api/v1/grants/{gid}/data", headers=consumer)
    assert r.status_code == 403 and "授权已被撤销" in r.json()["message"]


def test_agency_takes_and_downloads_from_the_pages(client, login, people, shared_entry) -> None:  # noqa: F811
    login("clerk_prov")
    assert "获取共享数据" in client.get(f"/catalog/{shared_entry.id}").text
    r = client.post(
        f"/catalog/{shared_entry.id}/take", data={"scenario": "低保复核"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/grants").text
    assert "低保对象名单" in page and "低保复核" in page
    gid = page.split("/grants/")[1].split("/")[0]
    csv = client.get(f"/grants/{gid}/download", params={"format": "csv"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["content-disposition"]
    assert IDS[0].encode() not in csv.content
