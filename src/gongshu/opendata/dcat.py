"""DCAT-AP 3 export of the open catalog: JSON-LD and Turtle (issue 5 item 4).

The opening attribute becomes dct:accessRights (EU access-right vocabulary),
the update frequency dct:accrualPeriodicity (EU frequency vocabulary). Turtle
is written by hand: rdflib is not a dependency.
"""

from __future__ import annotations

import json
from typing import Any

from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.entries import slug
from gongshu.storage.models import DatasetVersion

EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = {
    "实时": "CONT",
    "每日": "DAILY",
    "每周": "WEEKLY",
    "每月": "MONTHLY",
    "每季度": "QUARTERLY",
    "每年": "ANNUAL",
    "不定期": "IRREG",
}
ACCESS_RIGHTS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "none": "NON_PUBLIC"}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def frequency_uri(label: str) -> str | None:
    code = FREQUENCY.get(label)
    return f"{EU}frequency/{code}" if code else None


def access_uri(opening_attr: str) -> str:
    return f"{EU}access-right/{ACCESS_RIGHTS[opening_attr]}"


def dataset(entry: CatalogEntry, version: DatasetVersion | None, base: str) -> dict[str, Any]:
    """One dcat:Dataset node (JSON-LD, compacted with CONTEXT)."""
    base = base.rstrip("/")
    node: dict[str, Any] = {
        "@id": f"{base}/open/{entry.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": entry.resource_code,
        "dct:title": {"@value": entry.name, "@language": "zh"},
        "dct:description": {"@value": entry.summary or entry.name, "@language": "zh"},
        "dct:publisher": {
            "@id": f"{base}/api/3/action/organization_show?id=org-{entry.provider_org_id}",
            "@type": "foaf:Agent",
            "foaf:name": entry.provider.name,
        },
        "dct:accessRights": {"@id": access_uri(entry.opening_attr)},
        "dct:spatial": {"@value": entry.region_code},
        "dct:modified": {"@value": entry.updated_at.date().isoformat(), "@type": "xsd:date"},
        "dcat:keyword": [{"@value": t, "@language": "zh"} for t in entry.themes or []],
        "dcat:landingPage": {"@id": f"{base}/open/{entry.id}"},
        "dcat:distribution": [],
    }
    if freq := frequency_uri(entry.update_frequency):
        node["dct:accrualPeriodicity"] = {"@id": freq}
    if version is not None:
        node["dcat:distribution"].append(
            {
                "@id": f"{base}/open/{entry.id}#v{version.version_no}",
                "@type": "dcat:Distribution",
                "dct:title": {
                    "@value": f"{entry.name} 第 {version.version_no} 版",
                    "@language": "zh",
                },
                "dcat:accessURL": {"@id": f"{base}/open/{entry.id}"},
                "dcat:accessService": {
                    "@id": f"{base}/api/3/action/datastore_search"
                    f"?resource_id=gs-resource-{entry.id}"
                },
                "dct:format": {"@id": f"{EU}file-type/CSV"},
                "dcat:byteSize": {"@value": str(version.bytes), "@type": "xsd:nonNegativeInteger"},
                "dct:accessRights": {"@id": access_uri(entry.opening_attr)},
            }
        )
    return node


def catalog(
    entries: list[CatalogEntry], versions: dict[int, DatasetVersion], base: str, title: str
) -> dict[str, Any]:
    base = base.rstrip("/")
    return {
        "@context": CONTEXT,
        "@id": f"{base}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": {"@value": title, "@language": "zh"},
        "dct:description": {"@value": "公共数据开放目录 (DCAT-AP 3)", "@language": "zh"},
        "dcat:dataset": [dataset(e, versions.get(e.id), base) for e in entries],
    }


def single(entry: CatalogEntry, version: DatasetVersion | None, base: str) -> dict[str, Any]:
    return {"@context": CONTEXT, **dataset(entry, version, base)}


# ---------------------------------------------------------------- Turtle


def _term(value: Any) -> str:
    if isinstance(value, dict) and "@id" in value:
        return f"<{value['@id']}>"
    if isinstance(value, dict) and "@value" in value:
        lit = json.dumps(str(value["@value"]), ensure_ascii=False)
        if "@language" in value:
            return f"{lit}@{value['@language']}"
        if "@type" in value:
            return f"{lit}^^{value['@type']}"
        return lit
    return json.dumps(str(value), ensure_ascii=False)


def _node(node: dict[str, Any], out: list[str]) -> None:
    lines, nested = [f"a {node['@type']}"], []
    for key, value in node.items():
        if key.startswith("@"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "@type" in item and "@id" in item:
                nested.append(item)
            lines.append(f"{key} {_term(item)}")
    out.append(f"<{node['@id']}> " + " ;\n    ".join(lines) + " .\n")
    for item in nested:
        _node(item, out)


def to_turtle(doc: dict[str, Any]) -> str:
    """Serialize a document built above (flat, known shapes) as Turtle."""
    out = [f"@prefix {p}: <{uri}> ." for p, uri in CONTEXT.items()]
    out.append("")
    _node({k: v for k, v in doc.items() if k != "@context"}, out)
    return "\n".join(out)


__all__ = ["catalog", "single", "to_turtle", "slug"]
