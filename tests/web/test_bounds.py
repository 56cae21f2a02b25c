"""Every API input has bounds in its schema (issue 20 item 6): each integer a minimum
and a maximum, each string a maximum length (or an enumeration, a date format or an
upload, whose size the upload limit bounds), each list and map a maximum size.
A value past a bound is refused with a 422 naming the field, never a server error."""

from __future__ import annotations

from collections.abc import Iterator


def _unbounded(schema: dict, where: str, components: dict, seen: tuple = ()) -> Iterator[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(components[name], f"{where}<{name}>", components, (*seen, name))
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _unbounded(sub, where, components, seen)
    kind = schema.get("type")
    if kind in ("integer", "number"):
        if not {"minimum", "exclusiveMinimum"} & schema.keys():
            yield f"{where}: {kind} without a minimum"
        if not {"maximum", "exclusiveMaximum"} & schema.keys():
            yield f"{where}: {kind} without a maximum"
    if kind == "string" and not (
        {"maxLength", "enum", "const", "contentMediaType"} & schema.keys()
        or schema.get("format") in ("date", "date-time", "binary")
    ):
        yield f"{where}: string without a maximum length"
    if kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: list without a maximum size"
        yield from _unbounded(schema.get("items", {}), f"{where}[]", components, seen)
    for name, sub in schema.get("properties", {}).items():
        yield from _unbounded(sub, f"{where}.{name}", components, seen)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        if "maxProperties" not in schema:
            yield f"{where}: map without a maximum size"
        yield from _unbounded(extra, f"{where}{{}}", components, seen)


def unbounded(doc: dict) -> list[str]:
    components = doc.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            for param in operation.get("parameters", []):
                where = f"{label} {param['in']}:{param['name']}"
                found += _unbounded(param.get("schema", {}), where, components)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(content.get("schema", {}), f"{label} body", components)
    return found


def test_every_input_is_bounded(app) -> None:
    doc = app.openapi()
    assert len(doc["paths"]) > 90
    missing = unbounded(doc)
    assert not missing, f"{len(missing)} inputs without bounds:\n" + "\n".join(missing)


def test_the_checker_finds_an_unbounded_input() -> None:
    doc = {
        "paths": {
            "/x/{n}": {
                "post": {
                    "parameters": [{"in": "path", "name": "n", "schema": {"type": "integer"}}],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/c/M"}}}},
                }
            }
        },
        "components": {
            "schemas": {
                "M": {
                    "type": "object",
                    "properties": {
                        "a": {"type": "string"},
                        "b": {"type": "array", "items": {"type": "string", "maxLength": 9}},
                        "c": {"type": "string", "format": "date"},
                    },
                }
            }
        },
    }
    assert unbounded(doc) == [
        "POST /x/{n} path:n: integer without a minimum",
        "POST /x/{n} path:n: integer without a maximum",
        "POST /x/{n} body<M>.a: string without a maximum length",
        "POST /x/{n} body<M>.b: list without a maximum size",
    ]


def test_a_value_past_a_bound_is_refused_with_the_field_named(client) -> None:
    r = client.get("/api/v1/open/entries?offset=99999999999")
    assert r.status_code == 422
    assert "offset" in r.json()["message"]
