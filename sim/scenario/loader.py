"""Reading scenario files: YAML, `extends:`, `--set` overrides, validation, hashing.

Merging rule for `extends`: mappings merge key by key; lists whose items all carry a
`name` (states, forums, frameworks) merge item by item on that name (new names are
appended; `{name: X, drop: true}` removes X); any other list is replaced whole.
Top-level keys that start with `x-` are ignored: they hold YAML anchors for reuse.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError, fmt_location
from sim.fields import folder_name
from sim.scenario.checks import check
from sim.scenario.schema import Scenario
from sim.yamlfile import parse_yaml, read_yaml

PACKAGED = Path(__file__).resolve().parent.parent / "scenarios"


def packaged_scenario(name: str = "baseline") -> Path:
    return PACKAGED / f"{name}.yaml"


# ----------------------------------------------------------------------------- YAML and merging
def _named_list(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in v)


def merge(base: Any, over: Any) -> Any:
    """Deep-merge `over` onto `base` (see the module docstring for the rules)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if _named_list(base) and _named_list(over):
        out_list = [copy.deepcopy(x) for x in base]
        index = {x["name"]: i for i, x in enumerate(out_list)}
        for item in over:
            if item.get("drop"):
                if item["name"] in index:
                    out_list[index[item["name"]]] = None
                continue
            if item["name"] in index:
                i = index[item["name"]]
                out_list[i] = merge(out_list[i], item)
            else:
                index[item["name"]] = len(out_list)
                out_list.append(copy.deepcopy(item))
        return [x for x in out_list if x is not None]
    return copy.deepcopy(over)


def _extended(p: Path, parent: str, shown: str, root: Path) -> Path:
    """The file `extends: parent` names: a regular file under the first scenario's folder tree
    (`root`), or a packaged scenario. Any other path is refused without being read."""
    try:
        cand = (p.parent / parent).resolve()
        inside = cand.is_relative_to(root) or cand.is_relative_to(PACKAGED)
        if inside and cand.is_file():
            return cand
        packaged = (PACKAGED / parent).resolve()
        if packaged.is_relative_to(PACKAGED) and packaged.is_file():
            return packaged
    except (OSError, ValueError):  # a name too long, a NUL byte
        raise ScenarioError([Problem(shown, "extends", f"not a usable file name: {parent!r:.80}")]) from None
    if not inside:
        raise ScenarioError(
            [
                Problem(
                    shown,
                    "extends",
                    f"{parent!r:.80} is outside the scenario's folder ({root}) and is not a packaged "
                    "scenario; copy it into that folder",
                )
            ]
        )
    raise ScenarioError([Problem(shown, "extends", f"file not found: {parent:.80}")])


def read_raw(path: str | Path, _chain: tuple[Path, ...] = (), _root: Path | None = None) -> dict:
    """Read a scenario file and everything it extends, merged, before validation.

    `extends` may name files under the first file's folder (relative to the file that names
    them) or a packaged scenario by file name (`baseline.yaml`)."""
    p = Path(path)
    shown = str(path)
    real = p.resolve()
    if real in _chain:
        raise ScenarioError([Problem(shown, "extends", "circular extends chain")])
    root = _root if _root is not None else real.parent
    data = read_yaml(p, shown)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([Problem(shown, "extends", f"expected a file name, got {parent!r:.80}")])
    base_path = _extended(p, parent, shown, root)
    base = read_raw(base_path, (*_chain, real), root)
    base.pop("name", None)
    base.pop("description", None)
    return merge(base, data)


# ----------------------------------------------------------------------------- overrides
Overrides = Mapping[str, Any] | Iterable[tuple[str, Any]]


def parse_assignment(assignment: str) -> tuple[str, Any]:
    """`key.path=value` (the value read as YAML) -> (key path, value)."""
    if "=" not in assignment:
        raise ScenarioError([Problem("--set", assignment, "expected key.path=value")])
    key, _, text = assignment.partition("=")
    try:
        value = parse_yaml(text, "--set")
    except ScenarioError:
        value = text
    return key.strip(), value


def set_value(raw: dict, key: str, value: Any) -> None:
    """Set one scenario value by its key path; list items are addressed by name or index."""
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ScenarioError([Problem("--set", f"{key}={value}", "empty key path")])
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            idx = next((j for j, x in enumerate(node) if isinstance(x, dict) and x.get("name") == part), None)
            if idx is None and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                idx = int(part)
            if idx is None:
                names = [str(x["name"]) for x in node if isinstance(x, dict) and "name" in x]
                hint = difflib.get_close_matches(part, names, n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ScenarioError([Problem("--set", where, f"no item named {part!r}{extra}")])
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ScenarioError([Problem("--set", where, "cannot descend into a single value")])


def apply_overrides(raw: dict, overrides: Overrides) -> None:
    """Apply (key path, value) pairs, in order, to a raw scenario (in place). This is the one
    way scenario values are changed: `--set`, sweeps, claims, `RuleMakingModel(**params)`."""
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    for key, value in items:
        set_value(raw, key, value)


def apply_set(raw: dict, assignment: str) -> None:
    """Apply one `key.path=value` assignment (as `sim run --set` does)."""
    apply_overrides(raw, [parse_assignment(assignment)])


# ----------------------------------------------------------------------------- validation
def _show(v: object) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, str):
        return repr(v)
    return str(v)


def _fields_at(loc: tuple) -> list[str]:
    """Names allowed at the mapping `loc` points into (for 'did you mean')."""
    tp: Any = Scenario
    for part in loc:
        tp = _unwrap(tp, part)
        if tp is None:
            return []
    tp = _unwrap(tp, None)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _unwrap(tp: Any, part: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0], part)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(tp):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                kind = arg.model_fields.get("kind") or arg.model_fields.get("type")
                if kind is not None and part in typing.get_args(kind.annotation):
                    return arg
                if part is None or part in arg.model_fields:
                    return _unwrap(arg, part)
        return None
    if part is None:
        return tp
    if origin is list and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        f = tp.model_fields.get(part)
        return f.annotation if f is not None else None
    return None


def _message(err: Any) -> str:
    kind, msg, got = err["type"], err["msg"], err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        allowed = _fields_at(tuple(err["loc"][:-1]))
        close = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key{hint}" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        bound = (
            f"at least {ctx.get('min_length')}" if kind == "too_short" else f"at most {ctx.get('max_length')}"
        )
        return f"expected {bound} item(s), got {ctx.get('actual_length', '?')}"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"expected one of {ctx.get('expected_tags', '')}, got {_show(ctx.get('tag'))}"
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        if isinstance(got, (dict, list)):  # a check on a whole section: its message says it all
            return msg
    elif kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        msg = "expected a whole number" if kind.startswith("int") else "expected a number"
    else:
        msg = msg.replace("Input should be", "expected").replace("Field", "field")
    return f"{msg}, got {_show(got)}"


def model_from(cls: type[BaseModel], raw: dict, source: str):
    """Validate `raw` as `cls` (a scenario, experiment or claims file); every schema problem
    becomes a located `ScenarioError`."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        errors = _one_branch(exc.errors(include_url=False))
        problems = [Problem(source, fmt_location(tuple(e["loc"]), raw), _message(e)) for e in errors]
        raise ScenarioError(problems) from None


def _branch(part: object) -> bool:
    """A location part that names a branch of a union (`list[...]`, `function-after[...]`)."""
    return isinstance(part, str) and "[" in part and part.endswith("]")


def _one_branch(errors: list[Any]) -> list[Any]:
    """For a value given as one form of a union (a position as a list, not a mapping), keep the
    errors of the form it was given in: drop 'expected a mapping/list' from the other form."""
    deeper = {
        tuple(p for p in e["loc"] if not _branch(p)) for e in errors if e["loc"] and not _branch(e["loc"][-1])
    }
    out = []
    for e in errors:
        loc = tuple(e["loc"])
        if loc and _branch(loc[-1]) and e["type"] in ("dict_type", "list_type"):
            base = tuple(p for p in loc if not _branch(p))
            if any(d[: len(base)] == base and len(d) > len(base) for d in deeper):
                continue
        out.append(e)
    return out


def validate(raw: dict, source: str) -> Scenario:
    # top-level keys starting with "x-" hold YAML anchors for reuse (as in docker compose)
    raw = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    sc = model_from(Scenario, raw, source)
    found = check(sc)
    if found:
        raise ScenarioError([Problem(source, fmt_location(loc, raw), msg) for loc, msg in found])
    if not sc.name:
        sc.name = folder_name(Path(source).stem) if source else "scenario"
    return sc


def scenario_source(path: str | Path | None = None) -> str:
    """The file a scenario argument names: a path, a shipped scenario's name (`no_synergy`),
    or None for the packaged baseline."""
    source = str(path) if path is not None else str(packaged_scenario())
    if not Path(source).exists() and packaged_scenario(source).exists():
        source = str(packaged_scenario(source))  # a shipped scenario by name: `sim run no_synergy`
    return source


def read_scenario(source: str) -> dict:
    """The raw scenario of a file, merged with what it extends, named after the file if unnamed."""
    raw = read_raw(source)
    if "name" not in raw:
        raw["name"] = folder_name(Path(source).stem)
    return raw


def finish(
    raw: dict, source: str, overrides: Overrides = (), steps: int | None = None, seed: int | None = None
) -> Scenario:
    """Apply overrides to a raw scenario (in place) and validate it; then set the run length
    and the seed. A shorter run is not an error: what is dated after its end never fires."""
    apply_overrides(raw, overrides)
    return with_overrides(validate(raw, source), (), steps, seed)


def load_scenario(
    path: str | Path | None = None,
    overrides: Overrides | Iterable[str] = (),
    steps: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """Read, merge, override and validate a scenario; raise `ScenarioError` on any problem.
    `overrides`: (key path, value) pairs or a mapping, or `key.path=value` strings."""
    source = scenario_source(path)
    pairs = [parse_assignment(o) if isinstance(o, str) else o for o in _items(overrides)]
    return finish(read_scenario(source), source, pairs, steps, seed)


def _items(overrides: Overrides | Iterable[str]) -> Iterable[Any]:
    return overrides.items() if isinstance(overrides, Mapping) else overrides


def with_overrides(
    sc: Scenario, overrides: Overrides = (), steps: int | None = None, seed: int | None = None
) -> Scenario:
    """A scenario object with overrides (validated again), run length and seed applied."""
    if overrides:
        sc = finish(sc.model_dump(mode="json"), sc.name or "scenario", overrides)
    update: dict[str, Any] = {}
    if steps is not None:
        update.update(steps=steps, end_year=None)
    if seed is not None:
        update["seed"] = seed
    if update:
        sc = sc.model_copy(update={"model": sc.model.model_copy(update=update)})
    return sc


# ----------------------------------------------------------------------------- resolved form
def resolved_dict(sc: Scenario) -> dict:
    return sc.model_dump(mode="json")


def resolved_yaml(sc: Scenario) -> str:
    return yaml.safe_dump(resolved_dict(sc), sort_keys=False, allow_unicode=True, width=100)


def scenario_hash(sc: Scenario) -> str:
    """sha256 of the resolved scenario without `model.seed`: replications share it."""
    data = resolved_dict(sc)
    data["model"].pop("seed", None)
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()
