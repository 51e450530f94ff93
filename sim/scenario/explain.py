"""`sim validate --explain`: the fully resolved scenario, each value with where it came from.

The output is YAML (it reads back as the resolved scenario) with a comment on every line:
`# x.yaml:12` (written there), `# sim/scenarios/baseline.yaml:168` (inherited), `# --set
key=value`, `# default` (not written anywhere: the schema's default) or `# file name` (the
scenario's name, taken from its file).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from sim.scenario.loader import (
    Overrides,
    apply_overrides,
    read_raw_located,
    resolved_dict,
    scenario_source,
    shown_path,
    validate,
)
from sim.yamlfile import Where

_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COLUMN = 64  # where the comments start


def _key(k: object) -> str:
    text = str(k)
    return (
        text
        if _BARE.match(text) and text not in ("true", "false", "null", "yes", "no", "on", "off")
        else json.dumps(text)
    )


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    text = str(v)
    plain = (
        text
        and text == text.strip()
        and not any(c in text for c in ":#[]{},&*!|>'\"%@`\n")
        and not text.startswith(("-", "?"))
    )
    if plain:
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _inline(v: Any) -> str | None:
    """A value short enough for one line (a scalar, a list of scalars, an empty container)."""
    if isinstance(v, dict):
        return "{}" if not v else None
    if isinstance(v, list):
        if all(not isinstance(x, (dict, list)) for x in v):
            text = "[" + ", ".join(_scalar(x) for x in v) + "]"
            return text if len(text) <= 80 else None
        return "[]" if not v else None
    return _scalar(v)


def _child(where: Where | None, part: object) -> tuple[Where | None, str]:
    """The tree of a part and where it came from: written (its line), part of a value given
    whole (a `--set` of a mapping: where that was given), or not written (the default)."""
    if where is None:
        return None, "default"
    kid = where.kid(part)
    if kid is not None:
        return kid, kid.shown
    return (where, where.shown) if where.kids is None else (None, "default")


def _line(text: str, origin: str) -> str:
    return f"{text.ljust(COLUMN - 1)} # {origin}"


def _emit(value: Any, where: Where | None, indent: int, out: list[str]) -> None:
    pad = " " * indent
    parts = value.items() if isinstance(value, dict) else enumerate(value)
    for k, v in parts:
        w, origin = _child(where, k)
        lead = f"{pad}{_key(k)}:" if isinstance(value, dict) else f"{pad}-"
        text = _inline(v)
        if text is not None:
            out.append(_line(f"{lead} {text}", origin))
        elif isinstance(value, list) and isinstance(v, dict):  # `- name: X`, the other keys below
            item: list[str] = []
            _emit(v, w, indent + 2, item)
            out.append(f"{lead} {item[0][indent + 2 :]}")
            out.extend(item[1:])
        else:
            out.append(_line(lead, origin))
            _emit(v, w, indent + 2, out)


def explain(path: str | None, overrides: Overrides = ()) -> str:
    """The resolved scenario of `path` (a file or a shipped scenario's name) with `overrides`,
    as commented YAML: every value with the file and line it came from."""
    source = scenario_source(path)
    raw, where = read_raw_located(source)
    if "name" not in raw and isinstance(where.kids, dict):
        where.kids["name"] = Where("file name")
    apply_overrides(raw, overrides, where)
    sc = validate(raw, source, where)
    head = [
        f"# {shown_path(source)}, fully resolved: every value with the file and line it came from",
        "# (default: the schema's default; see docs/model.md). Reads back as this scenario.",
    ]
    body: list[str] = []
    _emit(resolved_dict(sc), where, 0, body)
    return "\n".join([*head, *body]) + "\n"
