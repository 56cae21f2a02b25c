"""DCAT-AP 3 export: JSON-LD and Turtle, access rights and accrual periodicity."""

from __future__ import annotations

import pytest

from gongshu.opendata.dcat import EU, FREQUENCY


def test_catalog_jsonld_lists_open_entries_with_access_rights_and_frequency(
    client, open_data
) -> None:
    r = client.get("/catalog.jsonld")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    assert doc["@type"] == "dcat:Catalog"
    by_code = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert set(by_code) == {"360102-JT-0001", "360102-JT-0002"}
    free, cond = by_code["360102-JT-0001"], by_code["360102-JT-0002"]
    assert free["dct:accessRights"]["@id"] == f"{EU}access-right/PUBLIC"
    assert cond["dct:accessRights"]["@id"] == f"{EU}access-right/RESTRICTED"
    assert free["dct:accrualPeriodicity"]["@id"] == f"{EU}frequency/DAILY"
    assert cond["dct:accrualPeriodicity"]["@id"] == f"{EU}frequency/MONTHLY"
    assert free["dcat:distribution"][0]["@type"] == "dcat:Distribution"


def test_per_dataset_jsonld_and_turtle(client, open_data) -> None:
    one = client.get(f"/open/{open_data.free.id}.jsonld").json()
    assert one["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert one["dct:title"]["@value"] == open_data.free.name
    assert client.get(f"/open/{open_data.closed.id}.jsonld").status_code == 404
    ttl = client.get("/catalog.ttl")
    assert ttl.headers["content-type"].startswith("text/turtle")
    text = ttl.text
    assert "@prefix dcat: <http://www.w3.org/ns/dcat#> ." in text
    assert f"dct:accrualPeriodicity <{EU}frequency/DAILY>" in text
    assert '"公交线路 360102-JT-0001"@zh' in text
    assert "360102-JT-0003" not in text
    single = client.get(f"/open/{open_data.cond.id}.ttl").text
    assert f"dct:accessRights <{EU}access-right/RESTRICTED>" in single


@pytest.mark.parametrize(
    ("label", "code"), [("实时", "CONT"), ("每季度", "QUARTERLY"), ("每年", "ANNUAL")]
)
def test_every_update_frequency_maps_to_the_eu_vocabulary(label, code) -> None:  # noqa: ANN001
    assert FREQUENCY[label] == code


def test_each_distribution_names_the_licence_its_page_states(client, open_data) -> None:
    for entry, title in (
        (open_data.free, "公共数据开放许可（无条件开放）"),
        (open_data.cond, "公共数据开放利用协议（有条件开放）"),
    ):
        one = client.get(f"/open/{entry.id}.jsonld").json()
        distributions = one["dcat:distribution"]
        assert distributions, entry.name
        for dist in distributions:
            licence = dist["dct:license"]
            assert licence["@type"] == "dct:LicenseDocument"
            assert licence["@id"].endswith(f"/open/{entry.id}#licence")
            assert licence["dct:title"]["@value"] == title
        page = client.get(f"/open/{entry.id}").text
        assert 'id="licence"' in page and title in page
