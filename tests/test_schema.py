"""The published JSON Schema of a scenario file and its reference page (`sim.scenario.jsonschema`):
every field described, every quantity with a unit, a valid draft 2020-12 schema that every shipped
scenario satisfies, and a docs/scenario-reference.md that cannot drift from the models."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from sim.fields import DATE_JSON, PerYear
from sim.scenario import load_scenario
from sim.scenario.jsonschema import DOCS, REGENERATE, reference_markdown, scenario_schema, schema_json
from sim.scenario.loader import resolved_dict
from sim.scenario.schema import Scenario

try:  # the reference validator, where it is installed; otherwise the small one below
    import jsonschema
except ImportError:  # pragma: no cover - depends on the environment
    jsonschema = None

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "sim" / "scenarios").glob("*.yaml"))
SCHEMA = scenario_schema()

# ----------------------------------------------------------------------------- walking a schema
SUB_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SUB_ONE = ("items", "additionalProperties", "propertyNames", "not", "if", "then", "else", "contains")
SUB_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
ANNOTATIONS = {
    "$schema",
    "$id",
    "title",
    "description",
    "default",
    "examples",
    "unit",
    "source",
    "discriminator",
}
ASSERTIONS = {
    "$ref", "type", "enum", "const", "required", "dependentRequired", "minItems", "maxItems", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "uniqueItems",
}  # fmt: skip
KNOWN = ANNOTATIONS | ASSERTIONS | set(SUB_MAPS) | set(SUB_ONE) | set(SUB_LISTS)


def subschemas(node: Any, at: str = "#") -> Iterator[tuple[str, dict]]:
    """Every schema object in `node` (itself included), with its JSON pointer."""
    if not isinstance(node, dict):
        return
    yield at, node
    for key, value in node.items():
        if key in SUB_MAPS:
            for k, sub in value.items():
                yield from subschemas(sub, f"{at}/{key}/{k}")
        elif key in SUB_ONE:
            yield from subschemas(value, f"{at}/{key}")
        elif key in SUB_LISTS:
            for i, sub in enumerate(value):
                yield from subschemas(sub, f"{at}/{key}/{i}")


def fields(schema: dict) -> Iterator[tuple[str, str, dict]]:
    """(where, key, schema) of every property of every object in the schema."""
    for at, node in subschemas(schema):
        for key, prop in node.get("properties", {}).items():
            yield at, key, prop


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _is_date(prop: dict) -> bool:
    return [a for a in prop.get("anyOf", []) if a.get("type") != "null"] == DATE_JSON["anyOf"]


def _numeric(prop: dict) -> bool:
    """A property that holds numbers (directly, in a list or mapping, or as an alternative)."""
    if prop.get("type") in ("number", "integer"):
        return True
    subs = [
        prop.get("items"),
        prop.get("additionalProperties"),
        *prop.get("anyOf", []),
        *prop.get("oneOf", []),
    ]
    return any(isinstance(s, dict) and "$ref" not in s and _numeric(s) for s in subs)


# ----------------------------------------------------------------------------- a small validator
def _type_ok(kind: str, v: Any) -> bool:
    return {
        "object": isinstance(v, dict),
        "array": isinstance(v, list),
        "string": isinstance(v, str),
        "boolean": isinstance(v, bool),
        "null": v is None,
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
    }[kind]


def small_validate(root: dict, node: Any, v: Any, at: str = "") -> list[str]:
    """The errors of `v` against `node`, for the keywords this schema uses (draft 2020-12)."""
    if node is True or node == {}:
        return []
    if node is False:
        return [f"{at}: not allowed"]
    errs: list[str] = []
    if "$ref" in node:
        errs += small_validate(root, root["$defs"][node["$ref"].rsplit("/", 1)[-1]], v, at)
    kind = node.get("type")
    if kind is not None and not any(_type_ok(k, v) for k in ([kind] if isinstance(kind, str) else kind)):
        return [*errs, f"{at}: expected {kind}, got {v!r:.40}"]
    if "const" in node and v != node["const"]:
        errs.append(f"{at}: expected {node['const']!r}")
    if "enum" in node and v not in node["enum"]:
        errs.append(f"{at}: expected one of {node['enum']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        for key, bad in (
            ("minimum", lambda b: v < b),
            ("maximum", lambda b: v > b),
            ("exclusiveMinimum", lambda b: v <= b),
            ("exclusiveMaximum", lambda b: v >= b),
        ):
            if key in node and bad(node[key]):
                errs.append(f"{at}: {v} out of range ({key} {node[key]})")
    if isinstance(v, str):
        if len(v) < node.get("minLength", 0) or len(v) > node.get("maxLength", len(v)):
            errs.append(f"{at}: length of {v!r:.40}")
        if "pattern" in node and not re.search(node["pattern"], v):
            errs.append(f"{at}: {v!r:.40} does not match {node['pattern']}")
    if isinstance(v, list):
        if len(v) < node.get("minItems", 0) or len(v) > node.get("maxItems", len(v)):
            errs.append(f"{at}: {len(v)} items")
        if "items" in node:
            for i, x in enumerate(v):
                errs += small_validate(root, node["items"], x, f"{at}[{i}]")
    if isinstance(v, dict):
        props, patterns = node.get("properties", {}), node.get("patternProperties", {})
        for key in node.get("required", []):
            if key not in v:
                errs.append(f"{at}: missing {key}")
        for key, needs in node.get("dependentRequired", {}).items():
            if key in v:
                errs += [f"{at}: {key} needs {n}" for n in needs if n not in v]
        for key, x in v.items():
            if "propertyNames" in node:
                errs += small_validate(root, node["propertyNames"], key, f"{at}.<{key}>")
            matched = [p for p in patterns if re.search(p, key)]
            for p in matched:
                errs += small_validate(root, patterns[p], x, f"{at}.{key}")
            if key in props:
                errs += small_validate(root, props[key], x, f"{at}.{key}")
            elif not matched and "additionalProperties" in node:
                errs += small_validate(root, node["additionalProperties"], x, f"{at}.{key}")
    if "anyOf" in node and all(small_validate(root, s, v, at) for s in node["anyOf"]):
        errs.append(f"{at}: matches none of anyOf")
    if "oneOf" in node:
        ok = sum(not small_validate(root, s, v, at) for s in node["oneOf"])
        if ok != 1:
            errs.append(f"{at}: matches {ok} of oneOf, not one")
    for sub in node.get("allOf", []):
        errs += small_validate(root, sub, v, at)
    if "if" in node:
        branch = "then" if not small_validate(root, node["if"], v, at) else "else"
        if branch in node:
            errs += small_validate(root, node[branch], v, at)
    return errs


def validate(doc: Any) -> list[str]:
    if jsonschema is not None:
        return [
            f"{list(e.absolute_path)}: {e.message}"
            for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc)
        ]
    return small_validate(SCHEMA, SCHEMA, doc)


def as_editor_reads(v: Any) -> Any:
    """A YAML document as JSON, as the YAML language server sees it: dates are text, keys too."""
    if isinstance(v, dict):
        return {str(k): as_editor_reads(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_editor_reads(x) for x in v]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def read(path: Path) -> dict:
    return as_editor_reads(yaml.safe_load(path.read_text(encoding="utf-8")))


# ----------------------------------------------------------------------------- the reference page
def test_the_reference_page_is_generated_from_the_schema():
    committed = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert committed == reference_markdown(), (
        f"docs/scenario-reference.md is out of date with the scenario models; regenerate it with `{REGENERATE}`"
    )


def test_the_reference_page_lists_every_parameter():
    text = reference_markdown()
    strict = SCHEMA["$defs"]["Scenario"]
    for section in ("model", "influence", "membership", "framework_settings", "policy_settings", "stack"):
        prop = strict["properties"][section]
        d = resolve(SCHEMA, next(a for a in [prop, *prop.get("anyOf", [])] if "$ref" in a))
        for key in d["properties"]:
            assert f"| `{section}.{key}` |" in text, f"{section}.{key}"
    for path in ("paths.institutional.engagement_rate", "states[].resources.compute", "states[].policy.forgetting",
                 "forums[].admission.threshold", "events[].relative_to", "levers[].pillars.talent",
                 "levers[].admission.threshold"):  # fmt: skip
        assert f"| `{path}` |" in text, path


# ----------------------------------------------------------------------------- descriptions and units
def test_every_field_at_every_level_has_a_description():
    missing = [
        f"{at}/properties/{key}"
        for at, key, prop in fields(SCHEMA)
        if not prop.get("description", "").strip()
    ]
    assert not missing, "fields without a description (add description= to their Field):\n" + "\n".join(
        missing
    )


def _models(cls: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if cls in seen:
        return
    seen.add(cls)
    yield cls

    def inner(tp: Any) -> Iterator[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            yield from _models(tp, seen)
        for arg in typing.get_args(tp):
            yield from inner(arg)

    for f in cls.model_fields.values():
        yield from inner(f.annotation)


MODELS = list(_models(Scenario, set()))


def test_every_model_field_reachable_from_the_scenario_is_described():
    assert len(MODELS) > 30
    missing = [f"{c.__name__}.{n}" for c in MODELS for n, f in c.model_fields.items() if not f.description]
    assert not missing, missing


def test_every_numeric_field_has_a_unit():
    """A quantity says its unit; a count, a year, a seed or a rank says what it is."""
    missing = [
        f"{at}/properties/{key}"
        for at, key, prop in fields(SCHEMA)
        if _numeric(prop) and not _is_date(prop) and not prop.get("unit", "").strip()
    ]
    assert not missing, "numeric fields without a unit (json_schema_extra=about(unit=...)):\n" + "\n".join(
        missing
    )


def test_every_per_year_field_says_so_in_its_unit():
    """MODEL.md s.10: rates and shares of a stock are per year; their unit shows it."""
    checked = 0
    for cls in MODELS:
        for name, f in cls.model_fields.items():
            kinds = [m.kind for m in f.metadata if isinstance(m, PerYear)]
            if kinds:
                unit = (f.json_schema_extra or {}).get("unit", "")  # type: ignore[union-attr]
                assert "per year" in unit, f"{cls.__name__}.{name}: unit {unit!r}"
                assert (kinds[0] == "share") == unit.startswith("share per year"), f"{cls.__name__}.{name}"
                checked += 1
    assert checked >= 25


def test_ranges_are_standard_json_schema_keywords():
    """Pydantic writes a bound after a validator as `ge`, `gt`, ...; `sim.fields.Shown` renames them."""
    stray = [at for at, node in subschemas(SCHEMA) if {"ge", "gt", "le", "lt"} & set(node)]
    assert not stray, stray
    strict = SCHEMA["$defs"]
    assert (
        strict["InfluenceParams"]["properties"]["decay"] | {"minimum": 0.0, "maximum": 1.0}
        == strict["InfluenceParams"]["properties"]["decay"]
    )
    assert strict["Resources"]["properties"]["compute"]["exclusiveMinimum"] == 0
    assert strict["Growth"]["properties"]["market"]["minimum"] == -0.9
    assert strict["State"]["properties"]["openness"]["maximum"] == 1.0


def test_sources_come_from_the_model_document():
    """A field's source is the one docs/model.md gives for it, word for word: no source is made up
    here, and a field docs/model.md gives none for has none."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text(encoding="utf-8")
    model_md = " ".join(text.split())  # a source may run over a line break
    sources = {(at, key): prop["source"] for at, key, prop in fields(SCHEMA) if prop.get("source")}
    assert len(sources) > 100
    bad = [f"{at}/{key}: {src}" for (at, key), src in sources.items() if src not in model_md]
    assert not bad, "sources not in docs/model.md:\n" + "\n".join(bad)


# ----------------------------------------------------------------------------- a valid schema
def test_the_schema_is_a_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"]
    if jsonschema is not None:
        jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for at, node in subschemas(SCHEMA):
        unknown = set(node) - KNOWN
        assert not unknown, f"{at}: keywords {unknown}"
        if "$ref" in node:
            assert node["$ref"].startswith("#/$defs/") and node["$ref"][8:] in SCHEMA["$defs"], at
        kinds = node.get("type", [])
        for kind in [kinds] if isinstance(kinds, str) else kinds:
            assert kind in ("object", "array", "string", "number", "integer", "boolean", "null"), at
        for key in node.get("required", []) if "properties" in node else []:
            assert key in node["properties"], f"{at}: required {key} is no property"
        for p in node.get("patternProperties", {}):
            re.compile(p)
        if "pattern" in node:
            re.compile(node["pattern"])


def test_every_default_satisfies_its_own_schema():
    bad = [
        f"{at}/properties/{key}: {errs}"
        for at, key, prop in fields(SCHEMA)
        if "default" in prop and (errs := small_validate(SCHEMA, prop, prop["default"], key))
    ]
    assert not bad, bad


def test_schema_json_is_stable_and_sorted():
    text = schema_json()
    assert text == schema_json() and text.endswith("}\n")
    assert json.loads(text) == SCHEMA
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- scenarios against the schema
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_satisfies_the_schema(path):
    errs = validate(read(path))
    assert not errs, f"{path.name}:\n" + "\n".join(errs[:20])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_resolved_scenario_satisfies_the_schema_in_full(path):
    """The scenario as validated and written with a run (`scenario.resolved.yaml`) is whole."""
    doc = resolved_dict(load_scenario(path))
    assert not validate(doc)
    assert not small_validate(SCHEMA, SCHEMA["$defs"]["Scenario"], doc)


BASELINE = next(p for p in SCENARIOS if p.name == "baseline.yaml")


def _broken(change) -> dict:
    doc = read(BASELINE)
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("unknown key", lambda d: d["model"].update(stpes=4)),
        ("out of range", lambda d: d["states"][0].update(openness=1.5)),
        ("yes/no for a number", lambda d: d["states"][0].update(tier=True)),
        ("not a date", lambda d: d["frameworks"][0].update(date="January 2019")),
        ("missing required key", lambda d: d["states"][0].pop("market")),
        ("drop without extends", lambda d: d["states"].append({"name": "Japan", "drop": True})),
        ("replace without extends", lambda d: d.update(replace=["events"])),
        ("unknown lever type", lambda d: d["levers"].append({"type": "sanctions", "name": "x"})),
        ("unknown policy kind", lambda d: d["states"][0].update(policy={"kind": "random"})),
        ("bad presidency year", lambda d: d["forums"][0]["presidency"].update({"next": "Japan"})),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(label, change):
    assert validate(_broken(change)), label


def test_a_variant_gives_only_what_it_changes():
    variant = {
        "extends": "baseline.yaml",
        "replace": ["events"],
        "x-anchor": {"kind": "learning"},
        "model": {"seed": 3},
        "states": [
            {"name": "United Kingdom", "drop": True},
            {"name": "Japan", "openness": 0.6, "policy": {"kind": "learning", "forgetting": 0.3}},
        ],
        "levers": [{"name": "EU AI Act", "stringency": 0.9}, {"name": "ENFORCE Act", "drop": True}],
        "events": [{"type": "policy", "date": 2025, "state": "Japan", "policy": {"kind": "best_response"}}],
    }
    assert not validate(variant)
    for bad in (
        {"extends": "baseline.yaml", "states": [{"name": "Japan", "openness": 2.0}]},
        {"extends": "baseline.yaml", "states": [{"drop": True}]},  # a drop needs a name
        {"extends": "baseline.yaml", "states": [{"name": "Japan", "drop": "yes"}]},
        {"extends": "baseline.yaml", "levers": [{"name": "EU AI Act", "stringncy": 0.9}]},
        {"extends": "", "model": {"seed": 1}},
    ):
        assert validate(bad), bad
    whole = copy.deepcopy(variant)
    del whole["extends"], whole["replace"]
    assert validate(whole)  # without `extends`, a file is a whole scenario


def test_the_small_validator_agrees_on_the_shipped_files():
    """The small validator (used when `jsonschema` is not installed) reads the files as it does."""
    for path in SCENARIOS:
        assert not small_validate(SCHEMA, SCHEMA, read(path)), path.name
    assert small_validate(SCHEMA, SCHEMA, _broken(lambda d: d["states"][0].update(openness=1.5)))
