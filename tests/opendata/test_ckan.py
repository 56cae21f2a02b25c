"""The CKAN Action API, driven by the real ``ckanapi`` client (issue 5 item 4)."""

from __future__ import annotations

import pytest

ckanapi = pytest.importorskip("ckanapi")

from gongshu.ledger import entries  # noqa: E402
from gongshu.opendata import service  # noqa: E402


class _Transport:
    """Hands ckanapi's requests-style calls to the in-process TestClient."""

    def __init__(self, client) -> None:  # noqa: ANN001
        self.client = client

    def post(self, url, data=None, headers=None, files=None, **_):  # noqa: ANN001, ANN003, ANN201
        return self.client.post(url, content=data, headers=headers)

    def get(self, url, params=None, headers=None, **_):  # noqa: ANN001, ANN003, ANN201
        return self.client.get(url, params=params, headers=headers)

    def close(self) -> None: ...


@pytest.fixture
def ckan(client):  # noqa: ANN001, ANN201
    def make(apikey=None, get_only=False):  # noqa: ANN001, ANN202
        return ckanapi.RemoteCKAN(
            "http://testserver", apikey=apikey, session=_Transport(client), get_only=get_only
        )

    return make


def test_package_search_list_show_and_facets(ckan, open_data) -> None:
    api = ckan()
    found = api.action.package_search(q="公交", rows=10, **{"facet.field": '["res_format","tags"]'})
    assert found["count"] == 2  # the not-open entry is not a package
    names = [p["name"] for p in found["results"]]
    assert names == ["360102-jt-0001", "360102-jt-0002"]
    assert found["facets"]["tags"] == {"交通": 2, "城建": 1}
    assert found["search_facets"]["res_format"]["items"][0] == {
        "name": "CSV",
        "display_name": "CSV",
        "count": 2,
    }
    narrowed = api.action.package_search(fq='tags:城建 opening_attr:"conditional"')
    assert [p["name"] for p in narrowed["results"]] == ["360102-jt-0002"]
    page = api.action.package_search(rows=1, start=1, sort="name desc")
    assert page["count"] == 2 and page["results"][0]["name"] == "360102-jt-0001"

    assert api.action.package_list() == ["360102-jt-0001", "360102-jt-0002"]
    pkg = api.action.package_show(id="360102-jt-0002")
    assert pkg["title"] == open_data.cond.name and pkg["num_resources"] == 1
    res = pkg["resources"][0]
    assert res["datastore_active"] is True and res["rows"] == 30
    assert api.action.resource_show(id=res["id"])["package_id"] == pkg["id"]
    assert api.action.package_show(id=pkg["id"])["name"] == pkg["name"]


def test_organizations(ckan, open_data, people) -> None:
    api = ckan(get_only=True)
    assert api.action.organization_list() == [f"org-{people.org['civil'].id}"]
    (org,) = api.action.organization_list(all_fields=True)
    assert org["title"] == "东湖区民政局" and org["package_count"] == 2
    shown = api.action.organization_show(id=org["name"], include_datasets=True)
    assert len(shown["packages"]) == 2


def test_errors_have_ckans_shape(ckan, client, open_data) -> None:
    api = ckan()
    with pytest.raises(ckanapi.NotFound):
        api.action.package_show(id="360102-jt-0003")  # exists, but not open
    with pytest.raises(ckanapi.ValidationError):
        api.action.package_search(fq="password:x")
    r = client.get("/api/3/action/package_show?id=nope")
    body = r.json()
    assert r.status_code == 404 and body["success"] is False
    assert body["error"]["__type"] == "Not Found Error" and "help" in body
    assert client.get("/api/3/action/no_such_action").status_code == 400


def test_datastore_search_needs_a_token_and_an_open_grant(
    ckan, client, session, people, open_data, api_token
) -> None:
    rid = f"gs-resource-{open_data.free.id}"
    with pytest.raises(ckanapi.NotAuthorized):
        ckan().action.datastore_search(resource_id=rid)
    token = api_token(people.citizen)
    with pytest.raises(ckanapi.NotAuthorized):
        ckan(token).action.datastore_search(resource_id=rid)  # no declared use yet
    r = client.get(
        "/api/3/action/datastore_search",
        params={"resource_id": rid},
        headers={"Authorization": "gs_not-a-token"},
    )
    assert r.status_code == 401 and r.json()["error"]["__type"] == "Authorization Error"

    service.declare_use(session, open_data.free.id, actor=people.citizen, use="u", scenario="s")
    session.flush()
    api = ckan(token)
    result = api.action.datastore_search(resource_id=rid, limit=5, offset=2)
    assert result["total"] == 30 and result["total_was_estimated"] is False
    assert [f["id"] for f in result["fields"]] == ["_id", "线路", "区", "站点数"]
    assert result["records"][0] == {"_id": 3, "线路": "003路", "区": "东湖区", "站点数": 9}
    lists = api.action.datastore_search(
        resource_id=rid,
        limit=10,
        filters={"区": "西湖区"},
        fields=["线路"],
        sort="站点数 desc",
        records_format="lists",
    )
    # filters and sort apply to the whole table, then the page (CKAN semantics, issue 5 item 4)
    assert lists["records"] == [[i, f"{i:03d}路"] for i in range(30, 10, -2)]
    assert lists["total"] == 15 and lists["total_was_estimated"] is False
    page2 = api.action.datastore_search(
        resource_id=rid, limit=10, offset=10, filters={"区": "西湖区"}, sort="站点数 desc"
    )
    assert [r["_id"] for r in page2["records"]] == [10, 8, 6, 4, 2]
    q = api.action.datastore_search(resource_id=rid, q="021路", limit=5, offset=0)
    assert [r["线路"] for r in q["records"]] == ["021路"] and q["total"] == 1
    # the 21st row is past the first page: found in the whole table, not just the page
    both = api.action.datastore_search(
        resource_id=rid, q="东湖区", filters={"站点数": ["63", "69"]}, limit=1
    )
    assert both["total"] == 2 and [r["_id"] for r in both["records"]] == [21]
    # Pages are answered from memory: no delivery file was ever written for them.
    assert not (client.app.state.settings.data_dir / "egress").exists()
    # Every read went through the door and is in the ledger under the user.
    logged = entries(session, action_prefix="egress.delivered", limit=10)
    assert len(logged) == 5 and {e.actor for e in logged} == {"user:citizen"}
    # Bearer works too.
    r = client.post(
        "/api/3/action/datastore_search",
        json={"resource_id": rid, "limit": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200 and len(r.json()["result"]["records"]) == 1
