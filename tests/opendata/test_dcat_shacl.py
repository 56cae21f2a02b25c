"""The DCAT export passes the official DCAT-AP 3.0.0 SHACL shapes of SEMICeu (issue 18 item 3).

The shapes are vendored in tests/opendata/shacl (see its README): the core
constraints (shapes.ttl), the class ranges (range.ttl) and the controlled
vocabularies (mdr-vocabularies.shape.ttl). No vocabulary is loaded from the
network: the export types every node it points at, so the range checks see
the classes in the data itself. Violations fail; warnings (a publisher or a
place outside the EU vocabularies) are expected for a Chinese portal.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pyshacl
from rdflib import RDF, SH, Graph, Literal, URIRef
from rdflib.namespace import FOAF, XSD

SHAPE_FILES = ("shapes.ttl", "range.ttl", "mdr-vocabularies.shape.ttl")
DCAT = "http://www.w3.org/ns/dcat#"


@cache
def _shapes() -> Graph:
    g = Graph()
    for name in SHAPE_FILES:
        g.parse(Path(__file__).parent / "shacl" / name, format="turtle")
    return g


def violations(data: Graph) -> list[str]:
    """Each SHACL violation as "focus | path | message" (warnings left out).

    Only the report's own results count: the nested ``sh:detail`` results under a
    warning (e.g. a place outside the EU vocabularies) say why, at no severity of
    their own.
    """
    _, report, _ = pyshacl.validate(data, shacl_graph=_shapes(), inference="none")
    found = []
    for result in report.objects(None, SH.result):
        if report.value(result, SH.resultSeverity) != SH.Violation:
            continue
        focus, path = report.value(result, SH.focusNode), report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        found.append(f"{focus} | {path} | {message}")
    return sorted(found)


def _graph(text: str, fmt: str) -> Graph:
    with warnings.catch_warnings():
        # rdflib 7's own JSON-LD parser builds a ConjunctiveGraph it deprecates.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=text, format=fmt)


def _assert_conforms(text: str, fmt: str) -> Graph:
    g = _graph(text, fmt)
    found = violations(g)
    assert not found, f"{len(found)} DCAT-AP 3 violations:\n" + "\n".join(found)
    return g


def test_catalog_turtle_passes_the_dcat_ap_3_shapes(client, open_data) -> None:
    g = _assert_conforms(client.get("/catalog.ttl").text, "turtle")
    assert len(set(g.subjects(RDF.type, URIRef(f"{DCAT}Dataset")))) == 2


def test_catalog_jsonld_passes_the_dcat_ap_3_shapes(client, open_data) -> None:
    g = _assert_conforms(client.get("/catalog.jsonld").text, "json-ld")
    assert len(set(g.subjects(RDF.type, URIRef(f"{DCAT}Dataset")))) == 2


def test_the_turtle_and_json_ld_say_the_same(client, open_data) -> None:
    ttl = _graph(client.get("/catalog.ttl").text, "turtle")
    jsonld = _graph(client.get("/catalog.jsonld").text, "json-ld")
    assert len(ttl) > 50 and set(ttl) ^ set(jsonld) == set()  # no blank nodes: plain sets


def test_one_dataset_passes_the_dcat_ap_3_shapes(client, open_data) -> None:
    for path in (f"/open/{open_data.cond.id}.ttl", f"/open/{open_data.free.id}.jsonld"):
        fmt = "turtle" if path.endswith(".ttl") else "json-ld"
        _assert_conforms(client.get(path).text, fmt)


def test_the_dataset_is_not_its_landing_page_and_the_turtle_is_stable(client, open_data) -> None:
    path = f"/open/{open_data.cond.id}.ttl"
    text = client.get(path).text
    g = _graph(text, "turtle")
    (ds,) = set(g.subjects(RDF.type, URIRef(f"{DCAT}Dataset")))
    page = g.value(ds, URIRef(f"{DCAT}landingPage"))
    assert ds != page and str(page) == f"http://testserver/open/{open_data.cond.id}"
    assert (page, RDF.type, FOAF.Document) in g and (
        page,
        RDF.type,
        URIRef(f"{DCAT}Dataset"),
    ) not in g
    assert client.get(path).text == text


def test_a_byte_size_typed_as_a_string_is_reported(client, open_data) -> None:
    g = _graph(client.get(f"/open/{open_data.free.id}.ttl").text, "turtle")
    byte_size = URIRef(f"{DCAT}byteSize")
    (dist, size) = next(iter(g.subject_objects(byte_size)))
    assert size.datatype == XSD.decimal
    g.set((dist, byte_size, Literal(str(size))))
    found = violations(g)
    assert any(str(byte_size) in v and str(dist) in v for v in found), found


def test_a_plain_literal_spatial_is_reported(client, open_data) -> None:
    g = _graph(client.get(f"/open/{open_data.free.id}.ttl").text, "turtle")
    spatial = URIRef("http://purl.org/dc/terms/spatial")
    (ds, _) = next(iter(g.subject_objects(spatial)))
    g.set((ds, spatial, Literal("360102")))
    assert any(str(spatial) in v for v in violations(g))


def test_the_demo_catalog_passes_the_dcat_ap_3_shapes(
    client, session, session_factory, settings
) -> None:
    """The demo province: many providers, regions, themes and update frequencies."""
    from gongshu.demo import build_province
    from gongshu.demo.loader import load_demo

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    instance = SimpleNamespace(session_factory=session_factory, settings=settings)
    load_demo(instance, build_province(), echo=lambda _line: None, limit=10)
    g = _assert_conforms(client.get("/catalog.ttl").text, "turtle")
    datasets = set(g.subjects(RDF.type, URIRef(f"{DCAT}Dataset")))
    assert len(datasets) >= 5, len(datasets)
    assert len(set(g.objects(None, URIRef("http://purl.org/dc/terms/spatial")))) >= 2
