"""Reading scenario files: YAML, `extends:`, `--set` overrides, validation, hashing.

Merging rule for `extends` (the variant on top of what it extends):
- mappings merge key by key;
- lists of mappings (states, forums, frameworks, norms, events, levers) merge item by item:
  an item whose `name` is inherited merges into that item, `{name: X, drop: true}` removes X,
  and any other item (a new name, or no name: a new event) is added after the inherited ones;
- a mapping whose `kind` or `type` differs from the inherited one (a state's policy changed
  from `fixed` to `learning`) replaces it whole: the old kind's keys do not carry over;
- any other value, lists of names included (`members: [...]`), replaces the inherited one;
- `replace: [key.path, ...]` at the top of a variant drops those inherited values first, so
  that the variant's own (or, if it gives none, the default) stands alone: `replace: [events]`
  keeps none of the inherited events.
Top-level keys that start with `x-` are ignored: they hold YAML anchors for reuse. Where each
value came from (file and line, `--set`) is tracked alongside (`Where`), for located errors
and `sim validate --explain`.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import json
import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError, did_you_mean, fmt_location
from sim.fields import folder_name
from sim.scenario.checks import check
from sim.scenario.schema import Scenario
from sim.yamlfile import Where, parse_yaml, read_yaml_located

PACKAGED = Path(__file__).resolve().parent.parent / "scenarios"
DISCRIMINATORS = ("kind", "type")  # a policy's kind, a lever's or an event's type


def packaged_scenario(name: str = "baseline") -> Path:
    return PACKAGED / f"{name}.yaml"


def find_scenario(name: str, base: Path) -> Path | None:
    """The scenario file another file names (an experiment's, a claim's, a calibration's
    `scenario:`): a path relative to the folder `base` of the file that names it (or
    absolute), or, for a bare name, a packaged scenario by its file name or name
    (`baseline.yaml`, `no_synergy`); None if there is none (a path with folders that does not
    exist is never answered by a packaged file of the same name). So files work whatever
    folder a command runs in."""
    p = Path(name)
    bare = len(p.parts) == 1  # a name, not a path: a packaged scenario may answer it
    try:
        cands = [p if p.is_absolute() else base / p]
        if bare:
            cands += [PACKAGED / p.name, packaged_scenario(p.stem)]
        for cand in cands:
            if cand.is_file():
                return cand
    except (OSError, ValueError):
        return None
    return None


def shown_path(path: str | Path) -> str:
    """A file as errors show it: relative to the working folder when inside it, packaged
    scenarios as `sim/scenarios/NAME`, anything else as given."""
    p = Path(path)
    try:
        real = p.resolve()
        if real.is_relative_to(PACKAGED.resolve()):
            return f"sim/scenarios/{real.relative_to(PACKAGED.resolve())}"
        return os.path.relpath(real) if real.is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


# ----------------------------------------------------------------------------- YAML and merging
def _mappings(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) for x in v)


def _item_name(x: dict) -> str | None:
    name = x.get("name")
    return name if isinstance(name, str) and name else None


def _kind(x: dict) -> object:
    return next((x[k] for k in DISCRIMINATORS if k in x), None)


def merge(base: Any, over: Any) -> Any:
    """Deep-merge `over` onto `base` (see the module docstring for the rules)."""
    return merge_located(base, over, None, None, "")[0]


def merge_located(
    base: Any, over: Any, bw: Where | None, ow: Where | None, shown: str, key: str = ""
) -> tuple[Any, Where | None]:
    """`merge`, carrying where each value was written (`bw`, `ow`: the trees of `base` and
    `over`; `shown`: the variant's file, `key`: the value's key, for errors)."""
    if isinstance(base, dict) and isinstance(over, dict):
        kb, ko = _kind(base), _kind(over)
        if kb is not None and ko is not None and kb != ko:  # another kind: replaced, not merged
            return copy.deepcopy(over), ow
        out = dict(base)
        kids = dict(bw.kids) if bw is not None and isinstance(bw.kids, dict) else {}
        for k, v in over.items():
            sub_o = ow.kid(k) if ow is not None else None
            if k in base:
                out[k], w = merge_located(base[k], v, bw.kid(k) if bw else None, sub_o, shown, str(k))
            else:
                out[k], w = copy.deepcopy(v), sub_o
            if w is not None:
                kids[k] = w
            else:
                kids.pop(k, None)
        here = ow or bw
        return out, (Where(here.file, here.line, kids) if here is not None else None)
    if _mappings(base) and base and over == []:
        at = ow.shown if ow is not None else shown
        raise ScenarioError(
            [
                Problem(
                    at, key, f"an empty list removes nothing inherited; to keep none, write replace: [{key}]"
                )
            ]
        )
    if _mappings(base) and _mappings(over) and base and over:
        return _merge_items(base, over, bw, ow, shown, key)
    return copy.deepcopy(over), ow


def _merge_items(
    base: list[dict], over: list[dict], bw: Where | None, ow: Where | None, shown: str, key: str
) -> tuple[list, Where | None]:
    """Lists of mappings: by name; `drop: true` removes; others are added at the end."""
    items: list[Any] = [copy.deepcopy(x) for x in base]
    wheres: list[Where | None] = [bw.kid(i) if bw else None for i in range(len(base))]
    index = {n: i for i, x in enumerate(items) if (n := _item_name(x)) is not None}
    for j, item in enumerate(over):
        w = ow.kid(j) if ow else None
        name = _item_name(item)
        if item.get("drop") is True:
            if name is None or name not in index or items[index[name]] is None:
                known = [n for n, i in index.items() if items[i] is not None]
                what = f"no inherited item named {name!r}" if name else "an item to drop needs a name"
                at = w.shown if w is not None else shown
                raise ScenarioError(
                    [Problem(at, f"{key}[{j}].drop", f"{what}{did_you_mean(name or '', known)}")]
                )
            items[index[name]] = None
            continue
        if name is not None and name in index and items[index[name]] is not None:
            i = index[name]
            items[i], wheres[i] = merge_located(items[i], item, wheres[i], w, shown)
        else:
            if name is not None:
                index[name] = len(items)
            items.append(copy.deepcopy(item))
            wheres.append(w)
    keep = [i for i, x in enumerate(items) if x is not None]
    here = ow or bw
    kids = [wheres[i] or here for i in keep]
    tree = Where(here.file, here.line, [k for k in kids if k is not None]) if here is not None else None
    return [items[i] for i in keep], tree


def item_index(items: list, part: str, by_position: bool = True) -> int | None:
    """The position of the list item a key path's `part` names: the item whose `name` it is,
    or (`by_position`) a position such as `0` or `-1`; None if it names none."""
    idx = next((i for i, x in enumerate(items) if isinstance(x, dict) and x.get("name") == part), None)
    if idx is None and by_position and part.lstrip("-").isdigit() and -len(items) <= int(part) < len(items):
        idx = int(part) % len(items)
    return idx


def _drop_path(raw: dict, where: Where | None, key: str, at: str) -> None:
    """Remove the inherited value at `key` (`replace:`), and its place in `where`; list items
    are named."""
    parts = [p for p in key.split(".") if p]
    node: Any = raw
    w = where
    for part in parts[:-1]:
        if isinstance(node, list):
            idx = item_index(node, part, by_position=False)
            node, w = (node[idx], w.kid(idx) if w else None) if idx is not None else (None, None)
        else:
            node, w = (node.get(part), w.kid(part) if w else None) if isinstance(node, dict) else (None, None)
        if node is None:
            break
    last = parts[-1] if parts else ""
    if isinstance(node, dict) and last in node:
        del node[last]
        if w is not None and isinstance(w.kids, dict):
            w.kids.pop(last, None)
    elif isinstance(node, list) and any(isinstance(x, dict) and x.get("name") == last for x in node):
        keep = [i for i, x in enumerate(node) if not (isinstance(x, dict) and x.get("name") == last)]
        if w is not None and isinstance(w.kids, list) and len(w.kids) == len(node):
            w.kids[:] = [w.kids[i] for i in keep]
        node[:] = [node[i] for i in keep]
    else:
        raise ScenarioError([Problem(at, "replace", f"nothing inherited at {key!r} to replace")])


def _replace_list(value: object, at: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise ScenarioError([Problem(at, "replace", "expected a list of key paths, e.g. [events]")])
    return value


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
    return read_raw_located(path, _chain, _root)[0]


def read_raw_located(
    path: str | Path, _chain: tuple[Path, ...] = (), _root: Path | None = None
) -> tuple[dict, Where]:
    """`read_raw`, and where each value of the merged scenario was written."""
    p = Path(path)
    shown = shown_path(path)
    real = p.resolve()
    if real in _chain:
        raise ScenarioError([Problem(shown, "extends", "circular extends chain")])
    root = _root if _root is not None else real.parent
    data, where = read_yaml_located(p, shown)
    at = (where.kid("extends") or where).shown
    parent = data.pop("extends", None)
    replace = data.pop("replace", None)
    if parent is None:
        if replace is not None:
            raise ScenarioError(
                [
                    Problem(
                        (where.kid("replace") or where).shown, "replace", "only a file with extends: replaces"
                    )
                ]
            )
        return data, where
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([Problem(at, "extends", f"expected a file name, got {parent!r:.80}")])
    base_path = _extended(p, parent, at, root)
    base, bw = read_raw_located(base_path, (*_chain, real), root)
    for own in ("name", "description"):  # a variant is named and described by itself
        base.pop(own, None)
        if isinstance(bw.kids, dict):
            bw.kids.pop(own, None)
    if replace is not None:
        rat = (where.kid("replace") or where).shown
        for key in _replace_list(replace, rat):
            _drop_path(base, bw, key, rat)
    merged, mw = merge_located(base, data, bw, where, shown)
    assert isinstance(merged, dict) and mw is not None
    return merged, mw


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


def patch_for(raw: dict, key: str, value: Any) -> dict:
    """The variant (`extends:`) patch that sets one key path of `raw`: named list items become
    `[{name: ...}]`, so that merging the patch changes that one value and keeps the rest (used
    by `sim calibrate`'s calibrated variant and `sim explore`'s saved variant). A list item is
    addressed by name or by position, as in `--set`; the patch names it (variants merge list
    items by name), so an item without a name cannot be patched."""
    parts = key.split(".")
    node: Any = raw
    patch: dict = {}
    cur: Any = patch
    for i, part in enumerate(parts):
        if isinstance(node, list):
            k = item_index(node, part)
            item = node[k] if k is not None else {}
            name = item.get("name", part) if isinstance(item, dict) else part
            if k is not None and not (isinstance(item, dict) and "name" in item):
                where = ".".join(parts[: i + 1])
                raise ScenarioError(
                    [Problem("variant patch", where, "the item has no name, so a variant cannot patch it")]
                )
            entry: dict = {"name": name}
            cur.append(entry)
            cur, node = entry, item
            continue
        nxt = node.get(part) if isinstance(node, dict) else None
        if i == len(parts) - 1:
            cur[part] = value
        elif isinstance(nxt, list):
            cur[part] = []
            cur, node = cur[part], nxt
        else:
            cur = cur.setdefault(part, {})
            node = nxt if isinstance(nxt, dict) else {}
    return patch


def set_value(raw: dict, key: str, value: Any, origin: Where | None = None) -> None:
    """Set one scenario value by its key path; list items are addressed by name or index.
    With `origin` (where `raw`'s values were written), the value is marked as set here."""
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ScenarioError([Problem("--set", f"{key}={value}", "empty key path")])
    if origin is not None:
        _mark(origin, raw, parts, Where(f"--set {key.strip()}={_short(value)}"))
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            idx = item_index(node, part)
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


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _mark(origin: Where, raw: Any, parts: list[str], mark: Where) -> None:
    """Record in `origin` (in place) that the value at `parts` of `raw` comes from `mark`."""
    w: Where | None = origin
    node: Any = raw
    for i, part in enumerate(parts):
        if w is None:
            return
        key: Any = part
        if isinstance(node, list):
            key = item_index(node, part)
            if key is None:
                return
            node = node[key]
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if i == len(parts) - 1:
            if isinstance(w.kids, dict):
                w.kids[str(key)] = mark
            elif isinstance(w.kids, list) and isinstance(key, int) and key < len(w.kids):
                w.kids[key] = mark
            return
        nxt = w.kid(key)
        if nxt is None and isinstance(w.kids, dict):
            nxt = w.kids[str(key)] = Where(mark.file, 0, {})
        w = nxt


def apply_overrides(raw: dict, overrides: Overrides, origin: Where | None = None) -> None:
    """Apply (key path, value) pairs, in order, to a raw scenario (in place). This is the one
    way scenario values are changed: `--set`, sweeps, claims, `RuleMakingModel(**params)`."""
    items = overrides.items() if isinstance(overrides, Mapping) else overrides
    for key, value in items:
        set_value(raw, key, value, origin)


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


def model_from(cls: type[BaseModel], raw: dict, source: str, where: Where | None = None):
    """Validate `raw` as `cls` (a scenario, experiment or claims file); every schema problem
    becomes a located `ScenarioError` (with `where`: the file and line of each)."""
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        errors = _one_branch(exc.errors(include_url=False))
        problems = []
        for e in errors:
            loc, message = _named_key(_key_path(tuple(e["loc"]), raw), _message(e), raw)
            problems.append(Problem(source, fmt_location(loc, raw), message, loc))
        raise located(ScenarioError(problems), where) from None


def _named_key(loc: tuple, message: str, raw: object) -> tuple[tuple, str]:
    """A check on the whole file whose message starts with the key it is about
    (`vary.states.Japan.policy: ...`, a key of `vary` with dots in it) is placed at that key,
    so that it gets its line like the other problems."""
    head, sep, rest = message.partition(": ")
    top, dot, key = head.partition(".")
    if loc or not (sep and dot) or not isinstance(raw, dict):
        return loc, message
    section = raw.get(top)
    if isinstance(section, dict) and key in section:
        return (top, key), rest
    return loc, message


def _key_path(loc: tuple, raw: object) -> tuple:
    """A pydantic error location as keys of `raw`: without the union branches it tried
    (`list[...]`) and the tags of tagged unions (a policy's kind, an event's type), which
    pydantic puts right after the item they tag (an event of type `policy` has a key `policy`
    too: the first `policy` is the tag)."""
    out: list[object] = []
    node = raw
    tag = None
    for part in loc:
        if (
            isinstance(part, str)
            and part.endswith("]")
            and "[" in part
            and not (isinstance(node, dict) and part in node)
        ):
            continue
        if tag is not None and part == tag:
            tag = None
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
        tag = next((node[k] for k in DISCRIMINATORS if k in node), None) if isinstance(node, dict) else None
    return tuple(out)


def located(exc: ScenarioError, where: Where | None) -> ScenarioError:
    """`exc` with each problem's source given the line its value was written at (the mapping
    it is missing from, for a missing key): `x.yaml:12`, or, for a value `x.yaml` inherited or
    was given by `--set`, `x.yaml (inherited from sim/scenarios/baseline.yaml:168)`. Problems
    without a key path, or without `where`, are kept as they are."""
    if where is None:
        return exc
    out = []
    for p in exc.problems:
        at = where.at(p.loc) if p.loc else None
        if at is None or not at.file:
            out.append(p)
        elif at.file == where.file:
            out.append(Problem(at.shown, p.where, p.message, p.loc))
        else:
            how = "from" if at.file.startswith("--set") else "inherited from"
            out.append(Problem(f"{p.source} ({how} {at.shown})", p.where, p.message, p.loc))
    return ScenarioError(out)


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


COLLECTIONS = ("norms", "states", "forums", "frameworks", "events", "levers")


def _cross_problems(raw: dict, schema: list[Problem], source: str) -> list[Problem]:
    """The cross-reference problems of a scenario that also has schema problems, so that one
    run of `sim validate` reports both: checked on a copy without the items (a state, a
    forum, an event) or values that have schema problems (a value falls back to its
    default). Problems naming a removed item are left out (they follow from the first);
    nothing when the copy still fails."""
    pruned = copy.deepcopy(raw)
    gone: dict[str, set[int]] = {}
    names: set[str] = set()
    for p in schema:
        loc = p.loc
        if len(loc) >= 2 and loc[0] in COLLECTIONS and isinstance(loc[1], int):
            gone.setdefault(str(loc[0]), set()).add(loc[1])
            item = raw[loc[0]][loc[1]] if loc[1] < len(raw.get(loc[0]) or []) else None
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.add(item["name"])
            continue
        if len(loc) < 2 or "missing" in p.message:
            return []  # a top-level section is wrong or missing: nothing sensible to cross-check
        node: Any = pruned
        for part in loc[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or loc[-1] not in node:
            return []
        del node[loc[-1]]
    keep: dict[str, list[int]] = {}
    for key, drop in gone.items():
        items = pruned.get(key)
        if not isinstance(items, list):
            return []
        keep[key] = [i for i in range(len(items)) if i not in drop]
        pruned[key] = [items[i] for i in keep[key]]
    try:
        sc = Scenario.model_validate(pruned)
    except ValidationError:
        return []
    out = []
    for loc, msg in check(sc):
        if any(f"{n!r}" in msg for n in names):
            continue
        if loc and loc[0] in keep and len(loc) >= 2 and isinstance(loc[1], int):
            loc = (loc[0], keep[str(loc[0])][loc[1]], *loc[2:])  # back to the file's numbering
        out.append(Problem(source, fmt_location(loc, raw), msg, loc))
    return out


def validate(raw: dict, source: str, where: Where | None = None) -> Scenario:
    """The scenario of a raw (merged, overridden) mapping; every problem, of the schema and of
    the cross-references, raised at once as a `ScenarioError`, located with `where`."""
    # top-level keys starting with "x-" hold YAML anchors for reuse (as in docker compose)
    raw = {k: v for k, v in raw.items() if not str(k).startswith("x-")}
    try:
        sc = model_from(Scenario, raw, source)
    except ScenarioError as exc:
        raise located(
            ScenarioError(exc.problems + _cross_problems(raw, exc.problems, source)), where
        ) from None
    found = check(sc)
    if found:
        problems = [Problem(source, fmt_location(loc, raw), msg, loc) for loc, msg in found]
        raise located(ScenarioError(problems), where)
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
    try:
        sc = validate(raw, source)
    except ScenarioError as exc:  # find the lines (read again: only when something is wrong)
        raise located(exc, _where_of(source, overrides)) from None
    return with_overrides(sc, (), steps, seed)


def _where_of(source: str, overrides: Overrides) -> Where | None:
    """Where each value of the scenario file `source`, with `overrides`, was written; None when
    `source` is not a readable scenario file."""
    try:
        if not Path(source).is_file():
            return None
        raw, where = read_raw_located(source)
        apply_overrides(raw, overrides, where)
        return where
    except (ScenarioError, OSError, ValueError):
        return None


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
    """The resolved scenario as YAML (a run's `scenario.resolved.yaml`). libyaml's emitter when
    PyYAML has it: the same text as the pure-Python one for every shipped scenario, 4x faster
    (8 ms against 30 ms for the baseline, a fifth of a run). libyaml cannot write text that is
    not valid Unicode (a lone surrogate in a description); the pure-Python emitter escapes it."""
    data = resolved_dict(sc)
    options: dict[str, Any] = {"sort_keys": False, "allow_unicode": True, "width": 100}
    if hasattr(yaml, "CSafeDumper"):
        with contextlib.suppress(UnicodeEncodeError):
            return yaml.dump(data, Dumper=yaml.CSafeDumper, **options)
    return yaml.dump(data, Dumper=yaml.SafeDumper, **options)


def scenario_hash(sc: Scenario) -> str:
    """sha256 of the resolved scenario without `model.seed`: replications share it."""
    data = resolved_dict(sc)
    data["model"].pop("seed", None)
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()
