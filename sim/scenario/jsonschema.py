"""The JSON Schema of a scenario file, and its reference page, from one source: the pydantic
models of `sim.scenario.schema` and the parameter classes of the mechanisms, whose fields carry a
description, a unit and a source (`sim.fields.about`).

- `scenario_schema()`: JSON Schema (draft 2020-12) that editors (the YAML language server) use
  to complete and check scenario files. Besides the models it knows the merge markers of
  `sim.scenario.loader`: `extends:` and `replace:` at the top, `drop: true` on a named list item,
  and `x-` keys that hold YAML anchors. A file with `extends:` gives only what it changes, so
  for it no key is required and list items are checked key by key; a file without it is checked
  in full.
- `schema_json()`: that schema as text (indented, sorted keys, the same bytes every time).
- `reference_markdown()`: docs/scenario-reference.md, one table per section of a scenario.

    python -m sim.scenario.jsonschema                      the JSON Schema
    python -m sim.scenario.jsonschema --format markdown    the reference page
    python -m sim.scenario.jsonschema --write-docs         (re)write docs/scenario-reference.md
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from sim.fields import DATE_JSON
from sim.scenario.schema import YEAR_KEY, Scenario

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:sim:scenario"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"
REGENERATE = "python -m sim.scenario.jsonschema --write-docs"

PARTIAL = "Partial"  # prefix of the definitions a variant's entries are checked against
# keywords whose values are data, not schemas: never rewritten
_DATA = ("default", "const", "enum", "examples")

EXTENDS: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "File name of the scenario this one extends: a path relative to this file, or a packaged "
    "scenario (`baseline.yaml`). This file then gives only what it changes: mappings merge key by key; "
    "lists of named items (norms, states, forums, frameworks, events, levers) merge item by item by "
    "`name`, new items are added and `drop: true` removes one; a mapping whose `kind` or `type` "
    "differs replaces the inherited one whole; any other value replaces the inherited one.",
}
REPLACE: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ],
    "description": "Key paths (`events`, `states.Japan.partners`: list items by name) whose inherited value "
    "this variant drops before merging, so that its own value, or the default, stands alone. Only "
    "in a file with `extends`.",
}
DROP: dict[str, Any] = {
    "const": True,
    "description": "In a variant (a file with `extends`): `{name: X, drop: true}` removes the inherited item "
    "named X.",
}
X_KEYS: dict[str, Any] = {
    "description": "Keys starting with `x-` are ignored: they hold YAML anchors for reuse "
    "(`x-learning: &learning {kind: learning}`, then `policy: *learning`).",
}


# ----------------------------------------------------------------------------- the schema
class _Generator(GenerateJsonSchema):
    """Pydantic leaves out the default of a field made by a factory (`default_factory=list`,
    the coupling matrix...); editors show it, so it is put in. A default that the field's own
    bounds refuse (`forums`: an empty list, at least one item) is none: the key is required."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            default = factory()  # type: ignore[call-arg]
        else:
            default = super().get_default_value(schema)
        if isinstance(default, list) and len(default) < schema["schema"].get("min_length", 0):
            return NoDefault
        return default

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        inner = field["schema"]
        if inner["type"] == "default" and self.get_default_value(typing.cast(Any, inner)) is NoDefault:
            return True
        return super().field_is_required(field, total)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _item_defs(prop: dict[str, Any]) -> list[str]:
    """The definitions the items of a list property refer to (one, or the variants of a union)."""
    items = prop.get("items", {})
    if "$ref" in items:
        return [_ref_name(items["$ref"])]
    return [_ref_name(x["$ref"]) for x in items.get("oneOf", items.get("anyOf", [])) if "$ref" in x]


def _of_mappings(node: dict[str, Any]) -> bool:
    """A list whose items are mappings (merged item by item in a variant)."""
    return node.get("type") == "array" and bool(_item_defs(node))


def _partial(node: Any) -> Any:
    """A schema as a variant's entries are checked: no key required, unions told apart by their
    keys rather than a required `type`/`kind`, lists of mappings of any length (they merge item by
    item), references to the partial definitions."""
    if isinstance(node, list):
        return [_partial(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA:
            out[key] = copy.deepcopy(value)
        elif key == "$ref":
            out[key] = f"#/$defs/{PARTIAL}{_ref_name(value)}"
        elif key in ("required", "discriminator") or (key == "minItems" and _of_mappings(node)):
            continue
        elif key == "oneOf":
            out["anyOf"] = _partial(value)
        else:
            out[key] = _partial(value)
    return out


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12), with the merge markers the loader knows."""
    strict = Scenario.model_json_schema(ref_template="#/$defs/{model}", schema_generator=_Generator)
    defs: dict[str, Any] = strict.pop("$defs")
    strict["patternProperties"] = {"^x-": X_KEYS}
    defs["Scenario"] = strict
    partial = {f"{PARTIAL}{name}": _partial(d) for name, d in defs.items()}
    named = sorted({n for p in strict["properties"].values() for n in _item_defs(p)})
    for name in named:
        d = partial[f"{PARTIAL}{name}"]
        d["properties"]["drop"] = DROP
        d["dependentRequired"] = {"drop": ["name"]}
    for name, d in partial.items():
        d["title"] = f"{d.get('title', name)} (in a variant)"
    root_props = copy.deepcopy(partial[f"{PARTIAL}Scenario"]["properties"])
    root_props.update(extends=EXTENDS, replace=REPLACE)
    del partial[f"{PARTIAL}Scenario"]
    return {
        "$schema": SCHEMA_DRAFT,
        "$id": SCHEMA_ID,
        "title": "sim scenario",
        "description": "A scenario file of sim, the agent-based model of AI rule-making (docs/model.md; "
        "every key in docs/scenario-reference.md). A file with `extends` is a variant: it gives only "
        "what it changes. A file without it is a whole scenario, checked in full.",
        "type": "object",
        "properties": root_props,
        "patternProperties": {"^x-": X_KEYS},
        "additionalProperties": False,
        "if": {"required": ["extends"]},
        "else": {"$ref": "#/$defs/Scenario"},
        "$defs": {**defs, **partial},
    }


def schema_json() -> str:
    """`scenario_schema()` as text: indented, keys sorted, the same bytes every time."""
    return json.dumps(scenario_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- the reference page
def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _number(x: float) -> str:
    return f"{x:g}"


class _Reference:
    """Walks the strict schema: one table per section, nested mappings flattened into their
    section's key paths, each variant of a union in a section of its own."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = schema["$defs"]
        self.sections: list[tuple[str, str, list[str]]] = []  # (title, intro, rows)
        self.done: dict[str, str] = {}  # union variant definition -> title of its section

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        return self.defs[_ref_name(node["$ref"])] if "$ref" in node else node

    # ---- what a key holds
    def is_mapping(self, node: dict[str, Any]) -> bool:
        """A nested model (a `$ref` to a definition with properties, possibly or null)."""
        node = self.non_null(node)
        return "$ref" in node and "properties" in self.resolve(node)

    @staticmethod
    def non_null(node: dict[str, Any]) -> dict[str, Any]:
        alts = [a for a in node.get("anyOf", []) if a.get("type") != "null"]
        return alts[0] if "anyOf" in node and len(alts) == 1 else node

    def union(self, node: dict[str, Any]) -> tuple[str, list[tuple[str, str]]] | None:
        """(tag key, [(tag value, definition)]) of a tagged union of models, else None."""
        node = self.non_null(node)
        alts = node.get("oneOf")
        if not alts or not all("$ref" in a for a in alts):
            return None
        tag = node.get("discriminator", {}).get("propertyName", "type")
        out = []
        for a in alts:
            name = _ref_name(a["$ref"])
            out.append((self.defs[name]["properties"][tag].get("const", name), name))
        return tag, out

    @staticmethod
    def is_date(node: dict[str, Any]) -> bool:
        return [a for a in node.get("anyOf", []) if a.get("type") != "null"] == DATE_JSON["anyOf"]

    def type_of(self, node: dict[str, Any]) -> str:
        if self.is_date(node):
            nullable = any(a.get("type") == "null" for a in node["anyOf"])
            return "date (2019, 2019-01 or 2019-01-15)" + (" (or null)" if nullable else "")
        if "$ref" in node:
            return "mapping"
        u = self.union(node)
        if u is not None:
            return f"mapping with `{u[0]}`: " + ", ".join(f"`{v}`" for v, _ in u[1])
        if "anyOf" in node:
            alts = node["anyOf"]
            non_null = [self.type_of(a) for a in alts if a.get("type") != "null"]
            text = " or ".join(non_null)
            return f"{text} (or null)" if len(non_null) < len(alts) else text
        if "const" in node:
            return _code(node["const"])
        if "enum" in node:
            return "one of " + ", ".join(_code(v) for v in node["enum"])
        kind = node.get("type")
        if kind == "array":
            return f"list of {self.type_of(node.get('items', {}))}"
        if kind == "object":
            names = node.get("propertyNames", {})
            keys = names.get("enum")
            key = (
                "(" + ", ".join(keys) + ")"
                if keys
                else "year"
                if names.get("pattern") == YEAR_KEY
                else "name"
            )
            value = node.get("additionalProperties")
            value_type = self.type_of(value) if isinstance(value, dict) else "any"
            return f"mapping {key} → {value_type}"
        return str(kind or "any")

    def range_of(self, node: dict[str, Any]) -> str:
        if self.is_date(node) or "$ref" in node or self.union(node) is not None:
            return ""
        if "anyOf" in node:
            parts = [r for a in node["anyOf"] if (r := self.range_of(a))]
            return "; ".join(dict.fromkeys(parts))
        kind = node.get("type")
        if kind == "array":
            inner = _each(self.range_of(node.get("items", {})))
            n = node.get("minItems")
            size = f"at least {n} item{'s' if n != 1 else ''}" if n else ""
            return "; ".join(x for x in (inner, size) if x)
        if kind == "object" and isinstance(node.get("additionalProperties"), dict):
            return _each(self.range_of(node["additionalProperties"]))
        lo = (
            f"[{_number(node['minimum'])}"
            if "minimum" in node
            else f"({_number(node['exclusiveMinimum'])}"
            if "exclusiveMinimum" in node
            else None
        )
        hi = (
            f"{_number(node['maximum'])}]"
            if "maximum" in node
            else f"{_number(node['exclusiveMaximum'])})"
            if "exclusiveMaximum" in node
            else None
        )
        if lo and hi:
            return f"{lo}, {hi}"
        if lo:
            return ("≥ " if lo[0] == "[" else "> ") + lo[1:]
        if hi:
            return ("≤ " if hi[-1] == "]" else "< ") + hi[:-1]
        if "pattern" in node:
            return f"`{node['pattern']}`"
        if node.get("minLength"):
            return "not empty"
        return ""

    # ---- walking
    def row(self, path: str, prop: dict[str, Any], required: bool, default: str | None = None) -> str:
        if default is None:
            default = "required" if required else (_code(prop["default"]) if "default" in prop else "")
        cells = [
            f"`{path}`",
            self.type_of(prop),
            default,
            self.range_of(prop),
            prop.get("unit", ""),
            prop.get("description", ""),
            prop.get("source", ""),
        ]
        return "| " + " | ".join(_cell(c) for c in cells) + " |"

    def fields(self, prefix: str, d: dict[str, Any], skip: tuple[str, ...] = ()) -> Iterator[str]:
        """Rows of a model's fields under `prefix`, nested models flattened; tagged unions get their
        own sections (after this one)."""
        required = set(d.get("required", []))
        for key, prop in d["properties"].items():
            if key in skip:
                continue
            path = f"{prefix}{key}"
            if self.is_mapping(prop):
                nothing = prop.get("default", {}) is None  # an optional section, off by default
                yield self.row(path, prop, key in required, None if nothing else "see below")
                yield from self.fields(f"{path}.", self.resolve(self.non_null(prop)))
                continue
            u = self.union(prop)
            if u is not None:
                yield self.row(path, prop, key in required)
                self.later.append((path, u))
                continue
            yield self.row(path, prop, key in required)

    def section(
        self, title: str, intro: str, prefix: str, d: dict[str, Any], skip: tuple[str, ...] = ()
    ) -> None:
        self.later: list[tuple[str, tuple[str, list[tuple[str, str]]]]] = []
        rows = list(self.fields(prefix, d, skip))
        self.sections.append((title, intro, rows))
        pending, self.later = self.later, []
        for path, (tag, variants) in pending:
            self.variants(path, tag, variants)

    def variants(self, path: str, tag: str, variants: list[tuple[str, str]]) -> None:
        """One section per variant of a tagged union (once: a union met again refers to it)."""
        for value, name in variants:
            if name in self.done:
                continue
            title = f"`{path}` with `{tag}: {value}`"
            self.done[name] = title
            d = self.defs[name]
            self.section(title, d.get("description", ""), f"{path}.", d)

    def top(self, strict: dict[str, Any]) -> None:
        props = strict["properties"]
        required = strict.get("required", [])
        rows = []
        for key, prop in props.items():
            sectioned = self.is_mapping(prop) and prop.get("default", {}) is not None
            rows.append(self.row(key, prop, key in required, "see below" if sectioned else None))
        self.sections.append(("Top level", strict.get("description", ""), rows))
        for key, prop in props.items():
            if not (self.is_mapping(prop) or _item_defs(prop)):
                continue
            if self.is_mapping(prop):
                d = self.resolve(self.non_null(prop))
                if all(self.is_mapping(p) for p in d["properties"].values()):  # `paths`: a section each
                    for sub, sp in d["properties"].items():
                        sd = self.resolve(self.non_null(sp))
                        intro = _join(sp.get("description", ""), _source(sp))
                        self.section(f"`{key}.{sub}`", intro, f"{key}.{sub}.", sd)
                else:
                    self.section(f"`{key}`", _join(prop.get("description", ""), _source(prop)), f"{key}.", d)
                continue
            names = _item_defs(prop)
            intro = _join(prop.get("description", ""), _source(prop))
            if len(names) == 1:
                self.section(f"`{key}[]`", intro, f"{key}[].", self.defs[names[0]])
            else:
                u = self.union(prop["items"])
                assert u is not None, key
                tag, variants = u
                self.sections.append(
                    (f"`{key}[]`", intro + f" Each item has a `{tag}`; a section each below.", [])
                )
                self.variants(f"{key}[]", tag, variants)


def _each(inner: str) -> str:
    return inner if not inner or inner.startswith("each ") else f"each {inner}"


def _source(prop: dict[str, Any]) -> str:
    return f"Source: {prop['source']}." if prop.get("source") else ""


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


_LISTS = "Lists: `norms`, `states`, `forums`, `frameworks`, `events`, `levers`."
HEADER = "| key | type | default | range | unit | meaning | source |\n|---|---|---|---|---|---|---|"

INTRO = f"""# Scenario file reference

<!-- Generated from the pydantic models by `{REGENERATE}`: do not edit by hand
(tests/test_schema.py checks that this file is up to date). -->

Every key a scenario file may hold, with its type, default, range, unit, meaning and source. It is
generated from the same models that validate a scenario (`sim/scenario/schema.py` and the parameter
classes of the mechanisms), as is the JSON Schema that `sim schema --format json` writes, so the
three cannot drift apart. How each parameter acts is in [`model.md`](model.md); sources are the seed
papers s000, s001 and s002, cited as there, or `assumption`.

Key paths are written as `--set` takes them: `paths.institutional.engagement_rate`; `states[]` is
any item of the list `states` (in `--set` and `replace:`, an item is named: `states.Japan.openness`).
Units: *per year* is a rate (a hazard or a pull coefficient) per year, *share per year* a share of a
stock per year; both are converted for the length of a step inside (docs/model.md, section 1.2).
*index 0-1* is a position on a scale from 0 to 1; *relative units* only compare states.

## Checking scenario files in an editor

Write the schema once, then point the editor at it:

```sh
sim schema --format json --out scenario.schema.json
```

With the YAML language server (VS Code's YAML extension, Neovim, Helix, ...), either put a first
line in each scenario file

```yaml
# yaml-language-server: $schema=../scenario.schema.json
```

(a path relative to the file) or map files to the schema in the editor's settings, e.g. for VS Code
`"yaml.schemas": {{"./scenario.schema.json": ["scenarios/*.yaml"]}}`. The editor then completes keys,
shows each key's meaning, unit and default, and marks unknown keys and values out of range.
`sim validate FILE` checks what a schema cannot: names that refer to states, forums and norm
dimensions, and the rules between keys.

## Variants: `extends`, `replace`, `drop` and `x-` keys

A file with `extends:` is a variant: it gives only what it changes, so in it no key is required.

| key | type | meaning |
|---|---|---|
| `extends` | string | {_cell(EXTENDS["description"])} |
| `replace` | list of key paths | {_cell(REPLACE["description"])} |
| `<list>[].drop` | `true` | {_cell(DROP["description"])} {_cell(_LISTS)} |
| `x-…` | any | {_cell(X_KEYS["description"])} |
"""


def reference_markdown() -> str:
    """docs/scenario-reference.md: one table per section of a scenario, from `scenario_schema()`."""
    schema = scenario_schema()
    ref = _Reference(schema)
    ref.top(schema["$defs"]["Scenario"])
    out = [INTRO]
    for title, intro, rows in ref.sections:
        out.append(f"## {title}\n")
        if intro:
            out.append(_cell(intro) + "\n")
        if rows:
            out.append(HEADER + "\n" + "\n".join(rows) + "\n")
    return "\n".join(out)


# ----------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sim.scenario.jsonschema",
        description="The JSON Schema of a scenario file, or its reference page.",
    )
    ap.add_argument("--format", choices=("json", "markdown"), default="json")
    ap.add_argument("--out", type=Path, help="write to this file instead of printing")
    ap.add_argument("--write-docs", action="store_true", help=f"write {DOCS.name} into docs/")
    args = ap.parse_args(argv)
    if args.write_docs:
        DOCS.write_text(reference_markdown(), encoding="utf-8")
        print(f"wrote {DOCS}")
        return 0
    text = schema_json() if args.format == "json" else reference_markdown()
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
