"""DCAT-AP 3 export of the open catalog: JSON-LD and Turtle (issue 5 item 4, issue 18 item 3).

The records pass the official DCAT-AP 3.0.0 SHACL shapes of SEMICeu (core
constraints, class ranges and controlled vocabularies; tests/opendata/shacl).
A validator sees no vocabulary but the data, so every node a record points at
is typed in the record itself: the EU concepts (access right, frequency, file
type, language) with their class and ``skos:inScheme``, the region as a
``dct:Location``, the provider as a ``foaf:Agent``, the themes as
``skos:Concept`` of the portal's own scheme.

The opening attribute becomes dct:accessRights (EU access-right vocabulary),
the update frequency dct:accrualPeriodicity (EU frequency vocabulary). Both
documents are built as compacted JSON-LD; Turtle is written from them by hand
(rdflib is not a runtime dependency), each node once, in a fixed order.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import inspect

from gongshu.accounts.models import Region
from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.entries import slug
from gongshu.opendata.licence import licence_for
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import as_utc

EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
CKAN_API = "https://docs.ckan.org/en/2.10/api/"
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
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
PLATFORM = "公共数据开放平台"


# ---------------------------------------------------------------- nodes


def dataset_iri(entry_id: int, base: str) -> str:
    """The dataset itself; ``{base}/open/{id}`` is its landing page (a foaf:Document)."""
    return f"{base.rstrip('/')}/open/{entry_id}#dataset"


def _zh(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "zh"}


def _datetime(value: datetime) -> dict[str, str]:
    """xsd:dateTime in UTC, to the second."""
    text = as_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {"@value": text, "@type": "xsd:dateTime"}


def _eu(table: str, code: str, cls: str) -> dict[str, Any]:
    """A concept of an EU authority table, typed with the class DCAT-AP expects there."""
    return {
        "@id": f"{EU}{table}/{code}",
        "@type": cls,
        "skos:inScheme": {"@id": f"{EU}{table}"},
    }


def _chinese() -> dict[str, Any]:
    return _eu("language", "ZHO", "dct:LinguisticSystem")


def _document(iri: str) -> dict[str, Any]:
    return {"@id": iri, "@type": "foaf:Document"}


def _themes_scheme(base: str) -> dict[str, Any]:
    return {
        "@id": f"{base}/catalog#themes",
        "@type": "skos:ConceptScheme",
        "dct:title": _zh("主题"),
    }


def _theme(base: str, label: str) -> dict[str, Any]:
    """A theme of the portal: the IRI is the portal's list filtered by that theme."""
    return {
        "@id": f"{base}/open?theme={quote(label, safe='')}",
        "@type": "skos:Concept",
        "skos:prefLabel": _zh(label),
        "skos:inScheme": {"@id": f"{base}/catalog#themes"},
    }


def _region(entry: CatalogEntry, base: str) -> dict[str, Any]:
    """The entry's GB/T 2260 region as a dct:Location: the portal's list of that region.

    Its name is read through the entry's own session (the identity map, mostly).
    """
    node: dict[str, Any] = {
        "@id": f"{base}/open?region={quote(entry.region_code, safe='')}",
        "@type": "dct:Location",
        "dct:identifier": entry.region_code,
    }
    session = inspect(entry).session
    region = session.get(Region, entry.region_code) if session is not None else None
    if region is not None:
        node["skos:prefLabel"] = _zh(region.name)
    return node


def _service(base: str) -> dict[str, Any]:
    """The CKAN Action API (datastore_search reads rows under an open grant)."""
    return {
        "@id": f"{base}/api/3/action",
        "@type": "dcat:DataService",
        "dct:title": _zh("开放数据接口（CKAN Action API）"),
        "dcat:endpointURL": {"@id": f"{base}/api/3/action/"},
        "dct:conformsTo": {"@id": CKAN_API, "@type": "dct:Standard"},
    }


def _licence(entry: CatalogEntry, base: str) -> dict[str, Any]:
    """The licence the entry is released under: the licence section of its page, which
    states the terms (gongshu.opendata.licence)."""
    licence = licence_for(entry.opening_attr)
    return {
        "@id": f"{base}/open/{entry.id}#licence",
        "@type": "dct:LicenseDocument",
        "dct:title": _zh(licence.title),
    }


def _distribution(entry: CatalogEntry, version: DatasetVersion, base: str) -> dict[str, Any]:
    node: dict[str, Any] = {
        "@id": f"{base}/open/{entry.id}#v{version.version_no}",
        "@type": "dcat:Distribution",
        "dct:title": _zh(f"{entry.name} 第 {version.version_no} 版"),
        "dcat:accessURL": {"@id": f"{base}/open/{entry.id}"},
        "dcat:accessService": _service(base),
        "dct:format": _eu("file-type", "CSV", "dct:MediaTypeOrExtent"),
        "dcat:mediaType": {"@id": f"{IANA}text/csv", "@type": "dct:MediaType"},
        "dct:accessRights": _eu(
            "access-right", ACCESS_RIGHTS[entry.opening_attr], "dct:RightsStatement"
        ),
        "dct:license": _licence(entry, base),
    }
    if version.bytes is not None:
        node["dcat:byteSize"] = {"@value": str(version.bytes), "@type": "xsd:decimal"}
    if version.created_at is not None:
        node["dct:issued"] = _datetime(version.created_at)
    return node


def dataset(entry: CatalogEntry, version: DatasetVersion | None, base: str) -> dict[str, Any]:
    """One dcat:Dataset node (JSON-LD, compacted with CONTEXT), every node it names typed."""
    base = base.rstrip("/")
    page = f"{base}/open/{entry.id}"
    node: dict[str, Any] = {
        "@id": dataset_iri(entry.id, base),
        "@type": "dcat:Dataset",
        "dct:identifier": entry.resource_code,
        "dct:title": _zh(entry.name),
        "dct:description": _zh(entry.summary or entry.name),
        "dct:publisher": {
            "@id": f"{base}/api/3/action/organization_show?id=org-{entry.provider_org_id}",
            "@type": "foaf:Agent",
            "foaf:name": _zh(entry.provider.name),
        },
        "dcat:contactPoint": {
            "@id": f"{page}#contact",
            "@type": ["vcard:Kind", "vcard:Organization"],
            "vcard:fn": _zh(entry.provider.name),
            "vcard:hasURL": {"@id": f"{page}#complaint-form"},
        },
        "dct:accessRights": _eu(
            "access-right", ACCESS_RIGHTS[entry.opening_attr], "dct:RightsStatement"
        ),
        "dct:spatial": _region(entry, base),
        "dct:language": _chinese(),
        "dct:modified": _datetime(entry.updated_at),
        "dcat:keyword": [_zh(t) for t in entry.themes or []],
        "dcat:theme": [_theme(base, t) for t in entry.themes or []],
        "dcat:landingPage": _document(page),
        "dcat:distribution": [],
    }
    if freq := FREQUENCY.get(entry.update_frequency):
        node["dct:accrualPeriodicity"] = _eu("frequency", freq, "dct:Frequency")
    if version is not None:
        node["dcat:distribution"].append(_distribution(entry, version, base))
    return node


def catalog(
    entries: list[CatalogEntry],
    versions: dict[int, DatasetVersion],
    base: str,
    title: str,
    publisher: str = PLATFORM,
) -> dict[str, Any]:
    base = base.rstrip("/")
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base}/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _zh(title),
        "dct:description": _zh("公共数据开放目录 (DCAT-AP 3)"),
        "dct:publisher": {
            "@id": f"{base}/#publisher",
            "@type": "foaf:Agent",
            "foaf:name": _zh(publisher),
        },
        "foaf:homepage": _document(f"{base}/open"),
        "dct:language": _chinese(),
        "dcat:themeTaxonomy": _themes_scheme(base),
        "dcat:service": {
            **_service(base),
            "dcat:servesDataset": [{"@id": dataset_iri(e.id, base)} for e in entries],
        },
        "dcat:dataset": [dataset(e, versions.get(e.id), base) for e in entries],
    }
    if entries:
        doc["dct:modified"] = _datetime(max(as_utc(e.updated_at) for e in entries))
    return doc


def single(entry: CatalogEntry, version: DatasetVersion | None, base: str) -> dict[str, Any]:
    return {"@context": CONTEXT, **dataset(entry, version, base)}


# ---------------------------------------------------------------- Turtle

# What Turtle forbids inside <...> besides controls and space (IRIREF).
_IRI_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '<>"{}|^`\\')


def _iri(iri: str) -> str:
    return f"<{quote(iri, safe=_IRI_SAFE)}>"


def _term(value: Any) -> str:
    if isinstance(value, dict) and "@id" in value:
        return _iri(value["@id"])
    if isinstance(value, dict) and "@value" in value:
        lit = json.dumps(str(value["@value"]), ensure_ascii=False)
        if "@language" in value:
            return f"{lit}@{value['@language']}"
        if "@type" in value:
            return f"{lit}^^{value['@type']}"
        return lit
    return json.dumps(str(value), ensure_ascii=False)


def _collect(node: dict[str, Any], nodes: dict[str, tuple[list[str], list[str]]]) -> None:
    """Types and statements of a node and of every node it embeds, merged per subject, in
    first-seen order."""
    types, lines = nodes.setdefault(node["@id"], ([], []))
    given = node.get("@type", [])
    types.extend(t for t in (given if isinstance(given, list) else [given]) if t not in types)
    for key, value in node.items():
        if key.startswith("@"):
            continue
        for item in value if isinstance(value, list) else [value]:
            line = f"{key} {_term(item)}"
            if line not in lines:
                lines.append(line)
            if isinstance(item, dict) and "@id" in item and len(item) > 1:
                _collect(item, nodes)


def to_turtle(doc: dict[str, Any]) -> str:
    """Serialize a document built above (compacted, prefixes of CONTEXT) as Turtle."""
    out = [f"@prefix {p}: <{uri}> ." for p, uri in CONTEXT.items()]
    out.append("")
    nodes: dict[str, tuple[list[str], list[str]]] = {}
    _collect({k: v for k, v in doc.items() if k != "@context"}, nodes)
    for subject, (types, lines) in nodes.items():
        head = [f"a {', '.join(types)}"] if types else []
        out.append(f"{_iri(subject)} " + " ;\n    ".join(head + lines) + " .\n")
    return "\n".join(out)


__all__ = ["catalog", "dataset_iri", "single", "to_turtle", "slug"]
