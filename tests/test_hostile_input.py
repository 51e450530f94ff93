"""Hostile input (issue 14): every scenario or experiment document, however broken, either runs
or exits with code 2 and one located error; never a traceback, and nothing written on error.

Documents start from real ones (the resolved baseline, the shipped variants and experiments, the
small world of conftest) and from the scenario's JSON Schema, then are mutated: wrong types,
extremes (1e308, inf, nan, 2**63, 10**400), unicode (RTL, emoji, NUL, lone surrogates), missing
and unknown keys, raw YAML that `yaml.safe_dump` cannot produce (impossible dates, duplicate
keys, 2,000 levels of nesting, tags, aliases), and other encodings (Latin-1, UTF-16/32, stray
bytes). Each example gets a fresh folder; the CLI runs in-process with that folder's `cwd/` as
working directory (so default output folders land inside it), and the folder tree is compared
before and after.

Exit codes accepted: 0 and 2 from `validate` and `run`. From `sweep`, also 1: that is the code of
a sweep that ran and recorded some failed runs in its folder (`runs.parquet`, status 'failed'),
which is a result, not a rejected input; it is accepted only with that folder written and no
traceback.

How many inputs were tried is printed at the end of the session ("hostile inputs tried: ...").
The default run of this file takes well under a minute; the `slow` versions try ten times more.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import re
import resource
import subprocess
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BASE
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario import load_scenario
from sim.scenario.loader import PACKAGED, resolved_dict
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
TRIED: Counter[str] = Counter()  # inputs tried, by test and outcome: printed at the end


def _settings(n: int, shrink: bool = False) -> settings:
    """Fast versions do not shrink a failure (each example writes and reads files, so shrinking
    takes minutes); the notes of a failing example say what was mutated, and the slow versions
    shrink."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,  # the same examples on every machine: CI is reproducible
        database=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


class _Tally:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not TRIED:
            return
        total = sum(v for k, v in TRIED.items() if "/" not in k)
        terminalreporter.write_sep("-", f"hostile inputs tried: {total}")
        for key in sorted(TRIED):
            terminalreporter.write_line(f"  {key}: {TRIED[key]}")


@pytest.fixture(scope="module", autouse=True)
def _tally(request: pytest.FixtureRequest):
    pm = request.config.pluginmanager
    if not pm.has_plugin("hostile-input-tally"):
        pm.register(_Tally(), "hostile-input-tally")
    return TRIED


# ----------------------------------------------------------------------------- the contract
@dataclass
class Outcome:
    code: int
    out: str
    err: str


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `root` (symlinks not followed), with size and mtime."""
    seen: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st_ = p.lstat()
            is_file = name in filenames  # a folder's mtime moves when a file is added under it
            seen[str(p.relative_to(root))] = (st_.st_size, st_.st_mtime_ns) if is_file else (-1, 0)
    return seen


def _call(argv: list[str], cwd: Path) -> Outcome:
    """`sim.cli.main(argv)` in `cwd`, with stdout and stderr captured. Any exception escaping
    main, except SystemExit, breaks the contract (it would be a traceback)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the very thing this file looks for
        tail = "".join(traceback.format_exception(exc)[-3:])
        raise AssertionError(
            f"sim {' '.join(argv[:1])}: uncaught {type(exc).__name__} (a traceback for the user):\n"
            f"{tail}\nstderr so far: {err.getvalue()[-500:]}"
        ) from None
    return Outcome(code, out.getvalue(), err.getvalue())


TRACEBACK = re.compile(r"^Traceback \(most recent call last\)", re.MULTILINE)


def _check(
    res: Outcome,
    sources: list[str],
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
    allowed_out: Sequence[str] = (),
    codes: tuple[int, ...] = (0, 2),
) -> None:
    """The contract on one call: an accepted exit code, no traceback; on code 2 one error,
    located in one of `sources`, and nothing new on disk; on success, new files only in
    `allowed_out` (paths relative to the snapshotted folder)."""
    assert res.code in codes, f"exit code {res.code}; stderr: {res.err[-800:]}"
    assert not TRACEBACK.search(res.err + res.out), res.err[-800:]
    changed = sorted(k for k in after if before.get(k) != after[k])
    gone = sorted(set(before) - set(after))
    assert not gone, f"files removed: {gone[:5]}"
    if res.code == 2:
        assert res.err.startswith("error:"), f"code 2 without 'error:' first: {res.err[:300]!r}"
        body = res.err.removeprefix("error:").strip("\n").removeprefix(" ")
        lines = [
            ln for ln in body.split("\n") if ln and not re.fullmatch(r"\.\.\. and \d+ more problems", ln)
        ]
        assert lines, "code 2 with an empty message"
        unlocated = [ln for ln in lines if not any(ln.startswith(s) for s in sources)]
        assert not unlocated, f"error lines not located in {sources}: {unlocated[:3]}"
        assert not [ln for ln in lines if ln.startswith(("error:", "Traceback"))], res.err[:600]
        assert not changed, f"exit code 2 but written: {changed[:5]}"
    else:
        stray = [k for k in changed if not any(k == a or k.startswith(a + os.sep) for a in allowed_out)]
        assert not stray, f"exit code {res.code} and written outside {list(allowed_out)}: {stray[:5]}"


def _finite(node: Any, where: str = "") -> None:
    """A scenario or experiment that validates holds no inf or nan."""
    if isinstance(node, float):
        assert math.isfinite(node), f"accepted a non-finite number at {where or 'top'}: {node}"
    elif isinstance(node, dict):
        for k, v in node.items():
            _finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _finite(v, f"{where}[{i}]")


# ----------------------------------------------------------------------------- documents
def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


RESOLVED_BASELINE = resolved_dict(load_scenario())
SHIPPED_VARIANTS = {p.stem: _load(p) for p in sorted(PACKAGED.glob("*.yaml")) if p.stem != "baseline"}
SMALL = copy.deepcopy(BASE)
SMALL["model"] = {"start_year": 2020, "steps_per_year": 4, "steps": 4, "seed": 1}
SEEDS = {"resolved_baseline": RESOLVED_BASELINE, "small": SMALL, **SHIPPED_VARIANTS}

EXPERIMENT_FILES = ("export_control_severity", "brussels_market_share", "synergy_sobol", "discovery_japan")


def _tiny_experiment(name: str) -> dict:
    """A shipped experiment cut down to a few 2-step runs on a copy of the baseline."""
    exp = _load(ROOT / "experiments" / f"{name}.yaml")
    exp["scenario"] = "baseline.yaml"  # copied into the example's folder
    exp["vary"] = dict(list(exp["vary"].items())[:2])
    for key, v in exp["vary"].items():
        if isinstance(v, list):
            exp["vary"][key] = v[:2]
        elif isinstance(v, dict) and "stop" in v:
            v["stop"] = v["start"] + v["step"]
    exp.update(replications=1, steps=2, samples=1, levels=2, every=1)
    return exp


EXPERIMENTS = {name: _tiny_experiment(name) for name in EXPERIMENT_FILES}

# values safe_dump writes; each replaces a leaf or a whole section
WEIRD_VALUES = [
    True, False, None, 0, -1, 1, 3, 0.5, -0.0, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400,
    1e308, -1e308, 5e-324, float("inf"), float("-inf"), float("nan"),
    "", " ", "\u202eevil\u202c", "مرحبا بالعالم", "😀🏳️‍🌈", "a\x00b", "\x00", "\ud800", "\n",
    "../../etc/passwd", "/etc/passwd", "a/b", "..", "x" * 5000, "1e999", "yes", "~", "2020-02-30",
    [], {}, [None], [[[]]], {"": None}, {"a": {"b": {"c": []}}}, [1, "a", None], {1: 2}, {None: None},
]  # fmt: skip
UNKNOWN_KEYS = [
    "colour",
    "",
    "x-anchor",
    "Name",
    "name ",
    "__class__",
    "états",
    "😀",
    "../x",
    "a\nb",
    1,
    True,
    None,
]


def _deep(open_: str, close: str, n: int = 2000) -> str:
    return open_ * n + close * n


def _laughs(levels: int = 5) -> str:
    parts = ["&l0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        parts.append(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


DUPLICATE = "{seed: 1, seed: 2}"  # a key given twice: no reading of it is right, so it must be refused
# raw YAML that safe_dump never writes: spliced in place of a value
RAW_VALUES = [
    "2020-02-30", "2021-02-29", "2020-13-01", "2019-00-10", "0000-01-01", "2020-01-01T25:61:61",
    ".inf", "-.inf", ".nan", "1e309", "-1e400", "0x7fffffffffffffffffffff", "0o777", "1_000", "+12",
    "!!python/object/apply:os.system ['true']", "!!binary AAAA", "!!set {a, b}", "!!float abc", "!!int 1.5",
    "!!timestamp 2020-02-30", "*undefined", "&a [*a]", "&b {k: *b}", "{[1, 2]: 3}", DUPLICATE,
    _deep("[", "]"), _deep("{a: ", "}"), _deep("- ", "", 1) + _deep("[", "]", 200), _laughs(),
    '"\\0\\u202e\\U0001F600\\uD800"', "'../../etc/passwd'",
]  # fmt: skip

WHOLE_DOCUMENTS = [
    "", "---\n", "[]\n", "42\n", "'text'\n", "~\n", "{}\n", "--- {}\n--- {}\n", "%YAML 9.9\n--- {}\n",
    _deep("[", "]") + "\n", _deep("{a: ", "}") + "\n", _laughs(7) + "\n",
    "a: b: c\n", "\t- x\n", "key: [unclosed\n", "'unterminated\n", "&a x: *a\n", "<<: *nope\n",
]  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out: list[tuple] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out += _paths(v, (*prefix, k))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def _mutated(draw: st.DrawFn, doc: dict, max_mutations: int = 3) -> tuple[str, list[str]]:
    """A mutated copy of `doc`, as YAML text, and a description of what was done."""
    doc = copy.deepcopy(doc)
    raws: list[str] = []
    done: list[str] = []
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = _paths(doc)
        op = draw(st.sampled_from(["value", "raw", "delete", "unknown", "generated"]))
        if not paths:
            op = "unknown"
        if op == "unknown":
            dicts = [()] + [p for p in paths if isinstance(_parent(doc, (*p, None)), dict)]
            where = draw(st.sampled_from(dicts))
            key = draw(st.sampled_from(UNKNOWN_KEYS) | st.text(max_size=8))
            _parent(doc, (*where, None))[key] = copy.deepcopy(draw(st.sampled_from(WEIRD_VALUES)))
            done.append(f"unknown key {key!r} at {where}")
            continue
        path = draw(st.sampled_from(paths))
        parent, last = _parent(doc, path), path[-1]
        if op == "delete":
            del parent[last]
        elif op == "value":
            parent[last] = copy.deepcopy(draw(st.sampled_from(WEIRD_VALUES)))
        elif op == "generated":
            parent[last] = draw(_json_values)
        else:
            parent[last] = f"@@RAW{len(raws)}@@"
            raws.append(draw(st.sampled_from(RAW_VALUES)))
            op = "duplicate key" if raws[-1] == DUPLICATE else f"raw {raws[-1][:20]!r}"
        done.append(f"{op} at {path}")
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=draw(st.booleans()), width=100)
    for i, raw in enumerate(raws):
        text = re.sub(rf"'?@@RAW{i}@@'?", lambda _m, raw=raw: raw, text, count=1)
    if draw(st.integers(0, 9)) == 0:  # a key given twice, at the top level
        keys = [k for k in doc if isinstance(k, str) and k.isidentifier()]
        if keys:
            key = draw(st.sampled_from(keys))
            text += f"{key}: {draw(st.sampled_from(['{}', '[]', '1', 'x']))}\n"
            done.append(f"duplicate top-level key {key!r}")
    return text, done


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8,
)


@st.composite
def _encoded(draw: st.DrawFn, text: str) -> tuple[bytes, str]:
    """The document as bytes: mostly UTF-8, sometimes another encoding or broken bytes."""
    how = draw(
        st.sampled_from(["utf-8"] * 12 + ["utf-8-sig", "latin-1", "utf-16", "utf-16-le", "utf-32", "cp1252"])
        | st.sampled_from(["stray-byte", "truncated", "nul"])
    )
    data = text.encode("utf-8", "surrogatepass")
    if how in ("latin-1", "cp1252"):
        data = ("description: café 1€ naïve\n" + text).encode(how, "replace")
    elif how.startswith(("utf-16", "utf-32")) or how == "utf-8-sig":
        data = text.encode(how, "surrogatepass")
    elif how == "stray-byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + data[at:]
    elif how == "truncated":
        data = data[: draw(st.integers(0, len(data)))]
    elif how == "nul":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\x00" + data[at:]
    return data, how


# ----------------------------------------------------------------------------- documents from the schema
SCHEMA = Scenario.model_json_schema()
NAMES = ["A", "B", "C", "F1", "hardness", "rights", "security"]
DATES = ["2020", "2020-06", "2021-01-15", "2020-02-30", "1800-01", "2020-13"]


def _from_schema(draw: st.DrawFn, node: dict, depth: int = 0, key: str = "") -> Any:
    if "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return draw(st.sampled_from(node["enum"]))
    for comb in ("oneOf", "anyOf", "allOf"):
        if comb in node:
            return _from_schema(draw, draw(st.sampled_from(node[comb])), depth, key)
    kind = node.get("type")
    if kind == "object":
        props, required = node.get("properties", {}), set(node.get("required", []))
        if not props:
            sub = node.get("additionalProperties")
            sub = sub if isinstance(sub, dict) else {"type": "number"}
            keys = draw(
                st.lists(st.sampled_from([*NAMES, "institutional", "discourse", "practice"]), max_size=3)
            )
            return {k: _from_schema(draw, sub, depth + 1, k) for k in keys}
        return {
            k: _from_schema(draw, sub, depth + 1, k)
            for k, sub in props.items()
            if k in required or (depth < 3 and draw(st.integers(0, 5)) == 0)
        }
    if kind == "array":
        lo = node.get("minItems", 0)
        n = draw(st.integers(lo, max(lo, min(node.get("maxItems", 3), 3))))
        return [_from_schema(draw, node.get("items", {}), depth + 1, key) for _ in range(n)]
    if kind == "string":
        if key in ("date", "start"):
            return draw(st.sampled_from(DATES))
        if "pattern" in node:
            return draw(st.from_regex(node["pattern"], fullmatch=True))
        return draw(st.sampled_from(NAMES) | st.text(min_size=node.get("minLength", 0), max_size=6))
    if kind in ("number", "integer"):
        lo = node.get("minimum", node.get("exclusiveMinimum", 0))
        hi = node.get("maximum", node.get("exclusiveMaximum", lo + 1 if kind == "number" else lo + 8))
        if kind == "integer":
            return draw(st.integers(int(lo), int(hi)))
        return draw(
            st.floats(lo, hi, exclude_min="exclusiveMinimum" in node, exclude_max="exclusiveMaximum" in node)
        )
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "null":
        return None
    return draw(_json_values)


@st.composite
def _schema_scenario(draw: st.DrawFn) -> dict:
    doc = _from_schema(draw, SCHEMA)
    if draw(st.booleans()):  # make the names agree, so that some of these documents validate and run
        norms = ["hardness", "rights", "security"][: draw(st.integers(1, 3))]
        doc["norms"] = [{"name": n} for n in norms]
        doc["model"] = {"steps": 4, "seed": 1}
        for i, state in enumerate(doc["states"]):
            state.update(name=f"S{i}", position=[0.5] * len(norms))
            for key in ("partners", "dependence", "actions"):
                state.pop(key, None)
        for key in ("forums", "frameworks", "events", "levers", "stack"):
            doc.pop(key, None)
    return doc


# ----------------------------------------------------------------------------- scenario cases
@dataclass
class Sandbox:
    root: Path
    cwd: Path

    @classmethod
    def new(cls, factory: pytest.TempPathFactory) -> Sandbox:
        root = factory.mktemp("hostile", numbered=True)
        cwd = root / "a" / "b" / "cwd"  # deep enough that results/../../../x stays inside root
        cwd.mkdir(parents=True)
        return cls(root, cwd)

    def rel(self, p: Path) -> str:
        return str(p.relative_to(self.root))


WHOLE = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32")  # encodings that keep every byte of the text


def _must_refuse(text: str, done: list[str], how: str) -> bool:
    """A key given twice has no right reading: such a document must be refused (exit code 2)."""
    return how in WHOLE and (DUPLICATE in text or any(d.startswith("duplicate top-level") for d in done))


def _scenario_case(
    data: st.DataObject, factory: pytest.TempPathFactory, label: str, text: str, done: list[str]
) -> None:
    """Validate the document; if it validates, sometimes run it for 2 steps."""
    content, how = data.draw(_encoded(text), label="encoding")
    note(f"document ({how}, {len(content)} bytes): {content[:1500]!r}")
    box = Sandbox.new(factory)
    path = box.root / "scenario.yaml"
    path.write_bytes(content)
    before = _snapshot(box.root)
    TRIED[label] += 1
    res = _call(["validate", str(path)], box.cwd)
    TRIED[f"{label}/validate exit {res.code}"] += 1
    _check(res, [str(path)], before, _snapshot(box.root))
    if _must_refuse(text, done, how):
        assert res.code == 2, "a document with a key given twice was accepted"
    if res.code != 0:
        return
    _finite(resolved_dict(load_scenario(path)))
    if data.draw(st.integers(0, 2), label="run?") == 0:
        return
    out = box.root / "out"
    res = _call(["run", str(path), "--steps", "2", "--out", str(out), "--quiet"], box.cwd)
    TRIED[f"{label}/run exit {res.code}"] += 1
    _check(res, [str(path)], before, _snapshot(box.root), allowed_out=[box.rel(out)])
    if res.code == 0:
        assert (out / "manifest.json").exists()


def _mutated_scenario(data: st.DataObject, factory: pytest.TempPathFactory, label: str) -> None:
    if data.draw(st.integers(0, 19), label="whole document?") == 0:
        text, done = data.draw(st.sampled_from(WHOLE_DOCUMENTS), label="whole"), ["whole document"]
    else:
        seed = data.draw(st.sampled_from(sorted(SEEDS)), label="seed")
        text, done = data.draw(_mutated(SEEDS[seed]), label="mutations")
    note(f"mutations: {done}")
    _scenario_case(data, factory, label, text, done)


FAST, SLOW = 150, 1500


@_settings(FAST)
@given(data=st.data())
def test_mutated_scenarios_never_traceback(data, tmp_path_factory):
    _mutated_scenario(data, tmp_path_factory, "scenarios (mutated)")


@pytest.mark.slow
@_settings(SLOW, shrink=True)
@given(data=st.data())
def test_mutated_scenarios_never_traceback_many(data, tmp_path_factory):
    _mutated_scenario(data, tmp_path_factory, "scenarios (mutated, slow)")


def _schema_case(data: st.DataObject, factory: pytest.TempPathFactory, label: str) -> None:
    doc = data.draw(_schema_scenario(), label="from schema")
    text, done = data.draw(_mutated(doc, max_mutations=1), label="mutations")
    note(f"mutations: {done}")
    _scenario_case(data, factory, label, text, done)


@_settings(150)
@given(data=st.data())
def test_schema_generated_scenarios_never_traceback(data, tmp_path_factory):
    _schema_case(data, tmp_path_factory, "scenarios (from the JSON Schema)")


@pytest.mark.slow
@_settings(1500, shrink=True)
@given(data=st.data())
def test_schema_generated_scenarios_never_traceback_many(data, tmp_path_factory):
    _schema_case(data, tmp_path_factory, "scenarios (from the JSON Schema, slow)")


# one readable document per failure class of issue 14, so that each stays fixed; every one must be
# refused (exit code 2), except a UTF-8 byte-order mark, which may also be read
KNOWN: dict[str, str | bytes] = {
    "duplicate_top_level_key": "extends: baseline.yaml\nmodel: {synergy: 0}\nmodel: {seed: 3}\n",
    "duplicate_nested_key": "extends: baseline.yaml\nmodel:\n  synergy: 0\n  synergy: 2\n",
    "latin1": "extends: baseline.yaml\ndescription: café\n".encode("latin-1"),
    "utf16_bom": "extends: baseline.yaml\ndescription: x\n".encode("utf-16"),
    "nested_lists_2000": "extends: baseline.yaml\ndescription: " + _deep("[", "]") + "\n",
    "nested_maps_2000": "extends: baseline.yaml\ndescription: " + _deep("{a: ", "}") + "\n",
    "nested_top_level": _deep("[", "]") + "\n",
    "self_alias": "extends: baseline.yaml\ndescription: &a [*a]\n",
    "impossible_date": "extends: baseline.yaml\nframeworks:\n  - {name: DFFT, date: 2020-02-30}\n",
    "impossible_datetime": "extends: baseline.yaml\nframeworks:\n  - {name: DFFT, date: 2020-01-01T25:00:00}\n",
    "inf": "extends: baseline.yaml\nmodel: {synergy: .inf}\n",
    "huge_float": "extends: baseline.yaml\nmodel: {synergy: 1e309}\n",
    "nan": "extends: baseline.yaml\nmodel: {synergy: .nan}\n",
    "huge_int_as_number": f"extends: baseline.yaml\nmodel: {{synergy: {10**400}}}\n",
    "python_tag": "extends: baseline.yaml\ndescription: !!python/object/apply:os.system ['true']\n",
    "unknown_alias": "extends: baseline.yaml\ndescription: *nope\n",
    "unhashable_key": "extends: baseline.yaml\n{[1, 2]: 3}: x\n",
    "nul_byte": b"extends: baseline.yaml\ndescription: a\x00b\n",
    "two_documents": "extends: baseline.yaml\n---\nname: x\n",
    "list_as_item_name": "extends: baseline.yaml\nstates:\n  - name: [1, 2]\n",
    "newline_in_key": 'extends: baseline.yaml\nmodel: {"a\\nTraceback (most recent call last):": 1}\n',
}
MAY_BE_READ = {"utf8_bom": "extends: baseline.yaml\ndescription: x\n".encode("utf-8-sig")}


@pytest.mark.parametrize("name", sorted(KNOWN) + sorted(MAY_BE_READ))
def test_known_hostile_scenarios_exit_cleanly(name, tmp_path_factory):
    doc = KNOWN.get(name) or MAY_BE_READ[name]
    box = Sandbox.new(tmp_path_factory)
    path = box.root / f"{name}.yaml"
    path.write_bytes(doc if isinstance(doc, bytes) else doc.encode())
    before = _snapshot(box.root)
    TRIED["known documents"] += 1
    res = _call(["validate", str(path)], box.cwd)
    _check(res, [str(path)], before, _snapshot(box.root), codes=(2,) if name in KNOWN else (0, 2))


_STATE = (
    "{name: NAME, tier: 1, resources: {compute: 1, data: 1, algorithms: 1}, market: 1,"
    " capacities: {standards: 0.5, regulatory: 0.5, discourse: 0.5}, position: [0.5, 0.5, 0.5]}"
)
# documents that validate (or should be refused): `run` must then finish or exit with code 2
KNOWN_RUNS = {
    "no_forums": (
        "norms: [{name: hardness}, {name: rights}, {name: security}]\nmodel: {steps: 4}\n"
        f"states:\n  - {_STATE.replace('NAME', 'A')}\n  - {_STATE.replace('NAME', 'B')}\n"
    ),
    "nul_in_description": 'extends: baseline.yaml\ndescription: "a\\0b"\n',
    "lone_surrogate_in_description": 'extends: baseline.yaml\ndescription: "\\uD800"\n',
    "huge_seed": f"extends: baseline.yaml\nmodel: {{seed: {10**30}}}\n",
}


@pytest.mark.parametrize("name", sorted(KNOWN_RUNS))
def test_known_valid_scenarios_run_or_exit_cleanly(name, tmp_path_factory):
    box = Sandbox.new(tmp_path_factory)
    path = box.root / f"{name}.yaml"
    path.write_text(KNOWN_RUNS[name], encoding="utf-8")
    before = _snapshot(box.root)
    out = box.root / "out"
    TRIED["known documents"] += 1
    res = _call(["run", str(path), "--steps", "2", "--out", str(out), "--quiet"], box.cwd)
    _check(res, [str(path)], before, _snapshot(box.root), allowed_out=[box.rel(out)])


# ----------------------------------------------------------------------------- names and extends
HOSTILE_NAMES = [
    "../x", "../../x", "../../../x", "../../../../x", "..", ".", "a/b", "a/../../x", "./x", "~/x", "$HOME",
    "x" * 300, "a\x00b", "\ud800", "\u202eevil", "😀", "con", "results", "-rf", " ", "\n", "a\\..\\..\\x",
]  # fmt: skip


def _name_case(data: st.DataObject, factory: pytest.TempPathFactory, label: str) -> None:
    box = Sandbox.new(factory)
    name = data.draw(
        st.sampled_from([*HOSTILE_NAMES, "<abs>"]) | st.text(min_size=1, max_size=12), label="name"
    )
    if name == "<abs>":
        name = str(box.root / "absolute")  # an absolute name, aimed inside the sandbox
    raw = copy.deepcopy(SMALL)
    raw["name"] = name
    path = box.root / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    before = _snapshot(box.root)
    TRIED[label] += 1
    res = _call(["run", str(path), "--steps", "2", "--quiet"], box.cwd)
    TRIED[f"{label}/run exit {res.code}"] += 1
    _check(res, [str(path)], before, _snapshot(box.root), allowed_out=[box.rel(box.cwd / "results")])


@_settings(60)
@given(data=st.data())
def test_scenario_names_cannot_write_outside_results(data, tmp_path_factory):
    _name_case(data, tmp_path_factory, "scenario names (run without --out)")


@pytest.mark.slow
@_settings(600, shrink=True)
@given(data=st.data())
def test_scenario_names_cannot_write_outside_results_many(data, tmp_path_factory):
    _name_case(data, tmp_path_factory, "scenario names (run without --out, slow)")


BIG = 1 << 32  # 4 GiB of address space: /dev/zero read whole fails fast instead of eating the machine


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (BIG, BIG))


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        ("scenario", "/etc/passwd"),
        ("scenario", "/etc/hostname"),
        ("scenario", "/dev/zero"),
        ("scenario", "/dev/urandom"),
        ("scenario", "/etc"),
        ("scenario", "../../x"),
        ("scenario", "../../../../../../../../etc/passwd"),
        ("scenario", "scenario.yaml"),
        ("scenario", "baseline.yaml\x00.txt"),
        ("experiment", "/etc/passwd"),
        ("experiment", "/dev/zero"),
    ],
)
def test_malicious_extends_is_refused_without_echo(kind, target, tmp_path_factory):
    """`extends:` (or an experiment's `scenario:`) naming a system file, a device, a folder or a
    path out of the folder: exit code 2, an error located in the file itself, nothing of the
    target's content in the output, and no hang. In a subprocess with a memory limit, since
    reading /dev/zero whole would otherwise take the machine down."""
    box = Sandbox.new(tmp_path_factory)
    if kind == "scenario":
        path = box.root / "scenario.yaml"
        path.write_text(yaml.safe_dump({"extends": target, "name": "x"}), encoding="utf-8")
        argv = ["validate", str(path)]
    else:
        path = box.root / "experiment.yaml"
        doc = {**EXPERIMENTS["export_control_severity"], "scenario": target}
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        argv = ["sweep", str(path), "--executor", "serial", "--out", str(box.root / "out"), "--quiet"]
    before = _snapshot(box.root)
    TRIED["malicious extends and experiment scenarios"] += 1
    code = f"import sys; from sim.cli import main; sys.exit(main({argv!r}))"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=box.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limited,
            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{kind} naming {target!r}: no answer within 60 s")
    res = Outcome(proc.returncode, proc.stdout, proc.stderr)
    assert res.code == 2, f"exit code {res.code}; stderr ends: {res.err[-600:]}"
    # extends must be refused in the file itself; an experiment may name a scenario anywhere
    # (the shipped ones say ../scenarios/), so there the error may be located in the target
    _check(res, [str(path)] if kind == "scenario" else [str(path), target], before, _snapshot(box.root))
    for secret in ("root:", "/bin/", "nologin", "daemon"):
        assert secret not in res.err + res.out, f"the target's content is echoed: {res.err[:300]!r}"


# ----------------------------------------------------------------------------- experiments
def _experiment_case(data: st.DataObject, factory: pytest.TempPathFactory, label: str) -> None:
    from sim.experiments import designs
    from sim.experiments.spec import load_experiment

    seed = data.draw(st.sampled_from(sorted(EXPERIMENTS)), label="experiment")
    text, done = data.draw(_mutated(EXPERIMENTS[seed]), label="mutations")
    content, how = data.draw(_encoded(text), label="encoding")
    note(f"mutations: {done}; document ({how}): {content[:1500]!r}")
    box = Sandbox.new(factory)
    (box.root / "baseline.yaml").write_bytes((PACKAGED / "baseline.yaml").read_bytes())
    path = box.root / "experiment.yaml"
    path.write_bytes(content)
    sources = [str(path), str(box.root / "baseline.yaml")]
    before = _snapshot(box.root)

    TRIED[label] += 1
    # `sim` has no `validate` for experiments: load_experiment under the same contract
    err = io.StringIO()
    try:
        with contextlib.chdir(box.cwd), contextlib.redirect_stderr(err):
            exp, scen = load_experiment(path)
        loaded = 0
    except KeyboardInterrupt:
        raise
    except SystemExit:
        raise AssertionError("load_experiment called sys.exit") from None
    except Exception as exc:
        from sim.errors import SimError

        if not isinstance(exc, SimError):
            tail = "".join(traceback.format_exception(exc)[-3:])
            raise AssertionError(f"load_experiment: uncaught {type(exc).__name__}:\n{tail}") from None
        loaded = 2
        _check(Outcome(2, "", f"error: {exc}"), sources, before, _snapshot(box.root))
    TRIED[f"{label}/load exit {loaded}"] += 1
    if _must_refuse(text, done, how):
        assert loaded == 2, "an experiment with a key given twice was accepted"
    if loaded:
        return
    _finite(exp.model_dump(mode="json"))
    n_runs = len(designs.tasks(exp, str(scen), "0" * 64))
    if n_runs > 4 or (exp.steps or 99) > 4 or not Path(scen).resolve().is_relative_to(box.root):
        return
    out = box.root / "out"
    res = _call(["sweep", str(path), "--executor", "serial", "--out", str(out), "--quiet"], box.cwd)
    TRIED[f"{label}/sweep exit {res.code}"] += 1
    _check(res, sources, before, _snapshot(box.root), allowed_out=[box.rel(out)], codes=(0, 1, 2))
    if res.code == 1:
        assert (out / "runs.parquet").exists(), "sweep exit 1 without its runs.parquet"


@_settings(100)
@given(data=st.data())
def test_mutated_experiments_never_traceback(data, tmp_path_factory):
    _experiment_case(data, tmp_path_factory, "experiments (mutated)")


@pytest.mark.slow
@_settings(1000, shrink=True)
@given(data=st.data())
def test_mutated_experiments_never_traceback_many(data, tmp_path_factory):
    _experiment_case(data, tmp_path_factory, "experiments (mutated, slow)")
