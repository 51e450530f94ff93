"""Scenario discovery (`sim discover`): the outcome language, PRIM and CART on planted
regions, categorical factors in sweep designs, and the command end to end."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.discovery.analysis import Settings, prepare, prim_available, run_cart, run_prim
from sim.discovery.expressions import ExpressionError, evaluate, parse
from sim.errors import ScenarioError
from sim.experiments import designs
from sim.experiments.spec import Levels, load_experiment

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
METRICS = ["share", "resources", "gap", "us.share"]


# ----------------------------------------------------------------------------- the language
def _cols(**kw: list[float]) -> dict[str, np.ndarray]:
    base = {m: np.zeros(4) for m in METRICS}
    base.update({k.replace("_dot_", "."): np.asarray(v, dtype=float) for k, v in kw.items()})
    return base


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("share > resources", "condition", [True, False, False, True]),
        ("share / resources", "number", [2.0, 0.5, np.nan, np.nan]),  # run 4 divides by zero: undefined
        ("0.1 < share < 1.5 and not gap > 1", "condition", [False, True, False, True]),
        ("share > 1 or gap >= 2", "condition", [True, False, False, False]),
        ("abs(gap - 3) + min(share, 1) - max(share, resources, 0)", "number", [-1.0, 1.0, np.nan, 2.0]),
        ("'us.share' * 2 == 1", "condition", [True, False, False, False]),
        ("-share + +resources != 0", "condition", [True, True, False, True]),
    ],
)
def test_valid_expressions_evaluate_over_every_run(text, kind, expected):
    cols = _cols(
        share=[2, 1, np.nan, 1], resources=[1, 2, 1, 0], gap=[3, 1, 1, 1], us_dot_share=[0.5, 1, np.nan, 1]
    )
    out = parse(text, METRICS)
    assert out.kind == kind
    values, valid = evaluate(out, cols)
    assert not valid[2]  # run 3 has a NaN metric (a failed run, a lever not started): undefined, not False
    assert valid[3] == ("/" not in text)
    if kind == "condition":
        assert list(values) == expected
    else:
        np.testing.assert_allclose(values[valid], np.asarray(expected)[valid])


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("shar > 1", 1, "unknown metric 'shar' (did you mean 'share'?)"),
        ("share.real > 1", 6, "found an attribute (.real)"),
        ("us.share > 1", 3, "written in quotes: 'us.share'"),
        ("__import__('os').system('true')", 1, "found a call of \"__import__('os').system\""),
        ("__import__('os')", 1, "found a call of '__import__' (only abs, min and max)"),
        ("len(share) > 1", 1, "found a call of 'len'"),
        ("abs(share, gap)", 1, "abs: takes one argument, got 2"),
        ("max(share)", 1, "max: takes at least 2 arguments"),
        ("min(share, key=gap)", 1, "takes plain arguments only"),
        ("share ** 2 > 1", 7, "found ** (power)"),
        ("share // 2", 7, "found // (floor division)"),
        ("(share > 1) & (gap > 1)", 13, "found & (write and)"),
        ("share in gap", 7, "found in"),
        ("share + (gap > 1)", 10, "+: expected a number, found a condition"),
        ("share > 1 and gap", 15, "and: expected a condition (a comparison), found a number"),
        ("not share", 5, "not: expected a condition"),
        ("share[0] > 1", 1, "found an index"),
        ("lambda: 1", 1, "found a lambda"),
        ("[share]", 1, "found a list"),
        ("share if gap else 1", 1, "found an if-else"),
        ("True", 1, "found True (write a comparison)"),
        ("abs > 1", 1, "abs is a function: write abs(...)"),
        ("share >", 8, "the expression ends too early"),
        ("share > 1 and  ", 14, "the expression ends too early"),
        ("share > > 1", 9, "not an expression (invalid syntax)"),
        ("share > 1" + "0" * 400, 9, "expected a finite number"),
        ("share > 1e999", 9, "expected a finite number"),
        ("", 1, "empty"),
        ("share\n> 1", 6, "one line of printable characters"),
        ("-" * 100 + "share > 1", 61, "nested more than 60 deep"),
        ("(" * 300 + "share" + ")" * 300, 201, "not an expression (too many nested parentheses)"),
    ],
)
def test_invalid_expressions_are_located_errors(text, column, fragment):
    with pytest.raises(ExpressionError) as exc:
        parse(text, METRICS)
    assert exc.value.column == column, str(exc.value)
    assert fragment in str(exc.value)
    assert str(exc.value).startswith(f"--outcome, column {column}: ")
    assert str(exc.value).splitlines()[-1].index("^") == column + 1  # the caret under the problem


def test_no_expression_can_run_code(tmp_path):
    target = tmp_path / "pwned"
    attacks = [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        "().__class__.__base__.__subclasses__()",
        "eval('1')",
        "exec('x = 1')",
        "globals()",
        "share.__class__",
    ]
    for text in attacks:
        with pytest.raises(ExpressionError):
            parse(text, METRICS)
    assert not target.exists()


# ----------------------------------------------------------------------------- PRIM and CART
def _planted(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.random(n), rng.random(n), rng.random(n)
    level = rng.choice(["a", "b", "c"], n)
    return pd.DataFrame(
        {
            "param:x1": x1,
            "param:x2": x2,
            "param:x3": x3,
            "param:k": level,
            "status": "ok",
            "m": ((x1 > 0.7) & (x2 < 0.3)).astype(float),
            "m2": ((level == "b") & (x1 > 0.5)).astype(float),
        }
    )


@pytest.mark.skipif(not prim_available()[0], reason="PRIM needs the ema extra")
def test_prim_finds_a_planted_box():
    data = prepare(_planted(), parse("m > 0.5", ["m", "m2"]), None, False, "t")
    assert data.categorical == ["k"]
    res = run_prim(data, Settings())
    box = res.boxes[res.boxes["box"] == 1].set_index("parameter")
    assert box.loc["x1", "restricted"] and box.loc["x2", "restricted"]
    assert not box.loc["x3", "restricted"] and not box.loc["k", "restricted"]
    assert abs(box.loc["x1", "lower"] - 0.7) < 0.05 and box.loc["x1", "upper"] == box.loc["x1", "range_high"]
    assert abs(box.loc["x2", "upper"] - 0.3) < 0.05 and box.loc["x2", "lower"] == box.loc["x2", "range_low"]
    stats = res.stats.iloc[0]
    assert stats["coverage"] >= 0.9 and stats["density"] >= 0.9
    assert stats["n_holds"] == round(stats["density"] * stats["n_runs"])
    assert stats["coverage"] == pytest.approx(stats["n_holds"] / data.y.sum())
    # the trajectory: starts at the whole space (coverage 1, density = base rate), the chosen step marked
    t = res.trajectory[res.trajectory["box"] == 1]
    assert t.iloc[0]["coverage"] == 1 and t.iloc[0]["density"] == pytest.approx(data.base_rate)
    assert t["chosen"].sum() == 1 and t.loc[t["chosen"], "density"].iloc[0] >= 0.8
    assert (t["mass"].iloc[1:].to_numpy() <= t["mass"].iloc[0]).all()


@pytest.mark.skipif(not prim_available()[0], reason="PRIM needs the ema extra")
def test_prim_restricts_a_categorical_factor():
    data = prepare(_planted(), parse("m2 > 0.5", ["m", "m2"]), None, False, "t")
    res = run_prim(data, Settings())
    box = res.boxes[res.boxes["box"] == 1].set_index("parameter")
    assert box.loc["k", "restricted"] and json.loads(box.loc["k", "levels"]) == ["b"]
    assert json.loads(box.loc["k", "all_levels"]) == ["a", "b", "c"]
    assert abs(box.loc["x1", "lower"] - 0.5) < 0.06
    assert res.stats.iloc[0]["density"] >= 0.9


def test_cart_finds_the_planted_box():
    data = prepare(_planted(), parse("m > 0.5", ["m", "m2"]), None, False, "t")
    cart = run_cart(data, Settings())
    assert cart.accuracy > 0.97
    best = cart.leaves.sort_values("density").iloc[-1]
    assert best["density"] == 1.0 and best["coverage"] > 0.9
    lo = float(best["rule"].split("x1 > ")[1].split(" ")[0])
    hi = float(best["rule"].split("x2 <= ")[1].split(" ")[0])
    assert abs(lo - 0.7) < 0.03 and abs(hi - 0.3) < 0.03
    assert cart.leaves["n_holds"].sum() == data.y.sum() and cart.leaves["n_runs"].sum() == len(data.y)
    assert "coverage" in cart.text and "density" in cart.text
    # categorical factors are one 0/1 column per level, shown as 'is' / 'is not'
    cat = run_cart(prepare(_planted(), parse("m2 > 0.5", ["m", "m2"]), None, False, "t"), Settings())
    top = cat.leaves.sort_values("density").iloc[-1]
    assert "k is b" in top["rule"] and top["density"] == 1.0


def test_numeric_outcomes_need_a_threshold_and_conditions_refuse_one():
    runs = _planted()
    with pytest.raises(Exception, match="is a number: give --threshold"):
        prepare(runs, parse("m + m2", ["m", "m2"]), None, False, "t")
    with pytest.raises(Exception, match="already a condition"):
        prepare(runs, parse("m > 0", ["m", "m2"]), 0.5, False, "t")
    below = prepare(runs, parse("m", ["m", "m2"]), 0.5, True, "t")
    above = prepare(runs, parse("m", ["m", "m2"]), 0.5, False, "t")
    assert (below.y == ~above.y).all()


# ----------------------------------------------------------------------------- categorical factors
POLICY_LEVELS = {
    "learn": {"kind": "learning"},
    "best": {"kind": "best_response"},
    "talk": {"kind": "fixed", "mix": {"discourse": 1}},
}


def _write_exp(tmp_path: Path, name: str = "cat", **kw) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "lhs",
        "samples": 24,
        "base_seed": 5,
        "vary": {"model.synergy": {"low": 0, "high": 2}, "states.B.policy": {"levels": POLICY_LEVELS}},
        "metrics": {"b_share": "states.influence_share[B]", "b_res": "states.resource_share[B]"},
    }
    exp.update(kw)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(exp, sort_keys=False))
    return path


def test_factorial_crosses_levels_and_lhs_spreads_them_evenly(tmp_path):
    exp, _ = load_experiment(
        _write_exp(
            tmp_path,
            design="factorial",
            vary={"model.synergy": [0, 1], "states.B.policy": {"levels": POLICY_LEVELS}},
        )
    )
    pts = designs.points(exp)
    assert len(pts) == designs.count(exp) == 6
    assert {json.dumps(p["states.B.policy"], sort_keys=True) for p in pts} == {
        json.dumps(v, sort_keys=True) for v in POLICY_LEVELS.values()
    }
    lhs, _ = load_experiment(_write_exp(tmp_path, samples=25))
    counts = pd.Series(
        [lhs.vary["states.B.policy"].label_of(p["states.B.policy"]) for p in designs.points(lhs)]
    )
    assert sorted(counts.value_counts().tolist()) == [8, 8, 9]  # stratified: 25 samples over 3 levels
    assert designs.problem(lhs)["levels"] == {"states.B.policy": ["learn", "best", "talk"]}
    # a list of names: each name is its own value
    named, _ = load_experiment(
        _write_exp(
            tmp_path, "named", design="factorial", vary={"states.B.region": {"levels": ["North", "South"]}}
        )
    )
    assert [p["states.B.region"] for p in designs.points(named)] == ["North", "South"]


def test_designs_without_categorical_factors_are_unchanged(tmp_path):
    plain, _ = load_experiment(_write_exp(tmp_path, "plain", vary={"model.synergy": {"low": 0, "high": 2}}))
    assert "levels" not in designs.problem(plain)
    assert all(isinstance(p["model.synergy"], float) for p in designs.points(plain))


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_sobol_and_morris_refuse_categorical_factors(tmp_path, design):
    path = _write_exp(tmp_path, design=design)
    with pytest.raises(ScenarioError) as exc:
        load_experiment(path)
    msg = str(exc.value)
    line = next(k for k, text in enumerate(path.read_text().splitlines(), 1) if "states.B.policy:" in text)
    assert f"{path}:{line}: vary.states.B.policy: a {design} design cannot vary a categorical factor" in msg


def test_levels_of_equal_value_but_another_type_keep_their_own_names():
    lv = Levels(levels={"one": 1, "yes": True, "one_point_zero": 1.0})
    assert [lv.label_of(v) for v in (1, True, 1.0, "1")] == ["one", "yes", "one_point_zero", None]


@pytest.mark.parametrize(
    ("levels", "fragment"),
    [
        ([1, 2], "levels[0]: expected a valid string"),
        (["a", "a"], "a level is named twice ('a')"),
        ({"a": {"kind": "learning"}, "b": {"kind": "learning"}}, "'a' has the same value as another level"),
        ([], "expected at least 1 item"),
    ],
)
def test_bad_levels_are_located(tmp_path, levels, fragment):
    path = _write_exp(tmp_path, vary={"states.B.policy": {"levels": levels}})
    with pytest.raises(ScenarioError) as exc:
        load_experiment(path)
    assert fragment in str(exc.value) and f"{path}:" in str(exc.value)


# ----------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("discovery")
    path = _write_exp(tmp, samples=30)
    assert main(["sweep", str(path), "--out", str(tmp / "sw"), "--executor", "serial", "--quiet"]) == 0
    return tmp / "sw"


def _median_share(sweep: Path) -> float:
    return float(pd.read_parquet(sweep / "runs.parquet")["b_share"].median())


def test_the_runs_table_records_level_names(sweep):
    runs = pd.read_parquet(sweep / "runs.parquet")
    assert set(runs["param:states.B.policy"]) == set(POLICY_LEVELS)
    assert runs["param:states.B.policy"].map(type).eq(str).all()
    assert (runs["status"] == "ok").all()


def test_discover_end_to_end(sweep, capsys):
    threshold = _median_share(sweep)
    # --min-density 0.6: at 0.8 no box is found on these 30 runs (the densest step reaches 0.67)
    argv = ["discover", str(sweep), "--outcome", "b_share", "--threshold", f"{threshold}", "--name", "median"]
    argv += ["--min-density", "0.6"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "# Scenario discovery: b_share >" in out and "## PRIM boxes" in out and "## CART" in out
    folder = sweep / "discovery" / "median"
    names = {p.name for p in folder.iterdir()}
    assert {
        "boxes.csv",
        "peeling.csv",
        "tree.txt",
        "tree.png",
        "leaves.csv",
        "summary.md",
        "discovery.json",
        ".sim-output",
    } <= names
    m = json.loads((folder / "discovery.json").read_text())
    assert m["kind"] == "discovery" and m["outcome"]["threshold"] == threshold
    assert m["sweep"]["manifest_sha256"] == hashlib.sha256((sweep / "manifest.json").read_bytes()).hexdigest()
    assert m["command"].startswith("sim discover") and "sim" in m["versions"] and "git_commit" in m
    assert m["runs"]["used"] == 30 and 0 < m["runs"]["holds"] < 30
    assert m["base_rate"] == pytest.approx(m["runs"]["holds"] / 30)
    assert m["categorical"] == ["states.B.policy"]
    assert sorted(m["files"]) == sorted(n for n in names if n != ".sim-output")
    assert (folder / "summary.md").read_text() in out
    assert m["prim"]["available"] == prim_available()[0]
    if m["prim"]["available"]:
        assert {"peeling.png", "box.png"} <= names
        traj = pd.read_csv(folder / "peeling.csv")
        assert {"coverage", "density", "mass", "res_dim", "restricted", "chosen"} <= set(traj.columns)
        boxes = pd.read_csv(folder / "boxes.csv")
        assert len(boxes) and set(boxes["parameter"]) == {"model.synergy", "states.B.policy"}
        assert (boxes["density"] >= 0.6).all() and boxes["restricted"].any()
        assert len(m["prim"]["boxes"]) == boxes["box"].nunique()
    # again: refused without --force, nothing changed; replaced with it
    before = (folder / "discovery.json").read_bytes()
    assert main(argv) == 2
    assert "already exists; use --force" in capsys.readouterr().err
    assert (folder / "discovery.json").read_bytes() == before
    assert main([*argv, "--force", "--quiet"]) == 0
    # the sweep report's section
    from sim.discovery.report import sections
    from sim.report.base import Report

    rep_dir = sweep.parent / "rep"
    rep_dir.mkdir()
    rep = Report("t", rep_dir)
    sections(rep, sweep)
    rep.write("x")
    html = (rep_dir / "index.html").read_text()
    assert "Scenario discovery: b_share &gt;" in html and "CART tree" in html
    if m["prim"]["available"]:
        assert "PRIM peeling trajectory" in html and "PRIM box limits" in html
    for fig in rep.figures:
        assert (rep_dir / fig.file).is_file() and (rep_dir / fig.file.replace(".png", ".csv")).is_file()


def test_without_the_ema_extra_cart_still_runs(sweep, capsys, monkeypatch):
    import sim.discovery.analysis as analysis

    monkeypatch.setattr(analysis, "prim_available", lambda: (False, ""))
    median = f"{_median_share(sweep)}"
    assert (
        main(["discover", str(sweep), "--outcome", "b_share", "--threshold", median, "--name", "noema"]) == 0
    )
    out = capsys.readouterr().out
    assert "PRIM needs the EMA Workbench: pip install -e .[ema]" in out and "## CART" in out
    folder = sweep / "discovery" / "noema"
    m = json.loads((folder / "discovery.json").read_text())
    assert m["prim"]["available"] is False and m["prim"]["boxes"] == []
    assert not (folder / "peeling.png").exists() and not (folder / "box.png").exists()
    assert (folder / "tree.png").is_file()
    assert list(pd.read_csv(folder / "peeling.csv").columns)[:4] == ["box", "id", "coverage", "density"]
    from sim.discovery.report import sections
    from sim.report.base import Report

    rep_dir = sweep.parent / "rep-noema"
    rep_dir.mkdir()
    rep = Report("t", rep_dir)
    sections(rep, sweep)
    assert any("PRIM not run: PRIM needs the EMA Workbench" in s for s in rep.sections)


def test_a_damaged_discovery_folder_does_not_break_the_sweep_report(sweep, tmp_path):
    from sim.discovery.report import sections
    from sim.report.base import Report

    copy = tmp_path / "sw"
    shutil.copytree(sweep, copy, ignore=shutil.ignore_patterns("discovery"))
    assert main(["discover", str(copy), "--outcome", "b_share", "--threshold", f"{_median_share(copy)}",
                 "--name", "good", "--quiet"]) == 0  # fmt: skip
    bad = copy / "discovery" / "bad"
    shutil.copytree(copy / "discovery" / "good", bad)
    m = json.loads((bad / "discovery.json").read_text())
    del m["outcome"]
    (bad / "discovery.json").write_text(json.dumps(m))
    (tmp_path / "rep").mkdir()
    rep = Report("t", tmp_path / "rep")
    sections(rep, copy)
    text = "\n".join(rep.sections)
    assert "Scenario discovery: bad" in text and "Not readable (KeyError" in text
    assert "Scenario discovery: b_share &gt;" in text  # the good one is still there
    assert "Out of date" not in text
    # a discovery made from other runs than the sweep holds now is marked
    good = copy / "discovery" / "good" / "discovery.json"
    m = json.loads(good.read_text())
    m["sweep"]["runs_sha256"] = "0" * 64
    good.write_text(json.dumps(m))
    (tmp_path / "rep2").mkdir()
    rep = Report("t", tmp_path / "rep2")
    sections(rep, copy)
    assert "Out of date" in "\n".join(rep.sections)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_bad_input_exits_2_and_writes_nothing(sweep, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(sweep, unfinished, ignore=shutil.ignore_patterns("discovery"))
    m = json.loads((unfinished / "manifest.json").read_text())
    m["status"] = "running"
    (unfinished / "manifest.json").write_text(json.dumps(m))
    empty = tmp_path / "empty"
    empty.mkdir()
    median = f"{_median_share(sweep)}"
    cases = [
        ([str(empty), "--outcome", "b_share > 0"], "not a sweep folder (no manifest.json)"),
        ([str(tmp_path / "missing"), "--outcome", "b_share > 0"], "not a folder"),
        ([str(unfinished), "--outcome", "b_share > 0"], "not a finished sweep (status 'running')"),
        ([str(sweep), "--outcome", "b_shar > 0"], "unknown metric 'b_shar' (did you mean 'b_share'?)"),
        ([str(sweep), "--outcome", "b_share > -1"], "holds in every one of the 30 runs"),
        ([str(sweep), "--outcome", "b_share > 5"], "holds in none of the 30 runs"),
        ([str(sweep), "--outcome", "b_share", "--threshold", "nan"], "expected a finite number"),
        ([str(sweep), "--outcome", "b_share"], "is a number: give --threshold"),
        ([str(sweep), "--outcome", "b_share > 0.1", "--threshold", "1"], "already a condition"),
        ([str(sweep), "--outcome", "b_share", "--threshold", median, "--min-density", "0"], "--min-density"),
        ([str(sweep), "--outcome", "b_share", "--threshold", median, "--name", "../up"], "--name '../up'"),
        (
            [str(sweep), "--outcome", "b_share", "--threshold", median, "--out", str(sweep)],
            "is the sweep folder",
        ),
        ([str(sweep), "--outcome", "__import__('os')"], "found a call of '__import__'"),
        # inside the sweep folder only as discovery/NAME: never in its series/ or parts/, nor beside them
        *(
            (
                [str(sweep), "--outcome", "b_share", "--threshold", median, "--out", str(sweep / sub)],
                "is inside the sweep folder",
            )
            for sub in ("series", "parts", "mine", "discovery")
        ),
    ]
    for args, fragment in cases:
        before = {f: _listing(f) for f in (sweep, unfinished, empty)}
        assert main(["discover", *args]) == 2, args
        err = capsys.readouterr().err
        assert fragment in err, (args, err)
        assert "Traceback" not in err
        assert {f: _listing(f) for f in (sweep, unfinished, empty)} == before, args
        assert not (tmp_path / "missing").exists()
