"""Sweeps: designs, seeds, executors that agree, streamed output, failure and resume,
sensitivity analysis, and the interoperability adapters (mesa.batch_run, EMA Workbench)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.errors import ScenarioError, SimError
from sim.experiments import designs
from sim.experiments.executors import EXECUTORS
from sim.experiments.spec import Experiment, load_experiment
from sim.experiments.sweep import run_sweep

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
METRICS = {
    "a_share": "states.influence_share[A]",
    "cost": "powers.coercion_cost_total[EC]",
    "align": "model.alignment_index",
}


def write_exp(tmp_path: Path, name: str = "exp", **over) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "factorial",
        "vary": {"model.synergy": [0.0, 1.0], "levers.EC.severity": {"start": 0.2, "step": 0.3, "stop": 0.8}},
        "replications": 2,
        "base_seed": 11,
        "metrics": METRICS,
        "every": 2,
    }
    exp.update(over)
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(exp))
    return p


def runs(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "runs.parquet").sort_values("run_id").reset_index(drop=True)


# ----------------------------------------------------------------------------- designs
def _exp(**kw) -> Experiment:
    base = {"scenario": "x", "metrics": {"m": "model.alignment_index"}}
    return Experiment.model_validate(base | kw)


def test_factorial_counts_and_ranges():
    exp = _exp(vary={"a": [1, 2, 3], "b": {"start": 0.0, "step": 0.25, "stop": 1.0}}, replications=3)
    pts = designs.points(exp)
    assert len(pts) == 3 * 5
    assert sorted({p["b"] for p in pts}) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert len(designs.tasks(exp, "x", "sha")) == 45


def test_lhs_has_one_sample_per_stratum():
    n = 20
    exp = _exp(design="lhs", samples=n, vary={"a": {"low": 0, "high": 1}, "b": {"low": 10, "high": 30}})
    pts = designs.points(exp)
    assert len(pts) == n
    for key, (lo, hi) in (("a", (0, 1)), ("b", (10, 30))):
        strata = np.floor((np.array([p[key] for p in pts]) - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_sobol_and_morris_point_counts():
    vary = {"a": {"low": 0, "high": 1}, "b": {"low": 0, "high": 2}, "c": {"low": -1, "high": 1}}
    assert len(designs.points(_exp(design="sobol", samples=16, vary=vary))) == 16 * (3 + 2)
    pts = designs.points(_exp(design="morris", samples=5, levels=4, vary=vary))
    assert len(pts) == 5 * (3 + 1)
    assert all(0 <= p["a"] <= 1 and 0 <= p["b"] <= 2 and -1 <= p["c"] <= 1 for p in pts)


def test_seeds_are_deterministic_and_distinct():
    exp = _exp(vary={"a": [1, 2]}, replications=3, base_seed=5)
    t1, t2 = designs.tasks(exp, "x", "sha"), designs.tasks(exp, "x", "sha")
    assert [t.seed for t in t1] == [t.seed for t in t2]
    assert len({t.seed for t in t1}) == 6 and len({t.run_id for t in t1}) == 6
    assert designs.run_seed(5, 3) == int(np.random.SeedSequence(5, spawn_key=(3,)).generate_state(1)[0])
    common = designs.tasks(
        _exp(vary={"a": [1, 2]}, replications=3, base_seed=5, common_seeds=True), "x", "sha"
    )
    assert [t.seed for t in common[:3]] == [t.seed for t in common[3:]]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"design": "grid"}, "design: expected 'factorial', 'lhs', 'sobol' or 'morris', got 'grid'"),
        ({"vary": {"model.synergy": {"low": 0, "high": 1}}}, "a factorial design needs a list"),
        ({"design": "sobol", "vary": {"model.synergy": [0, 1]}}, "a sobol design needs {low, high} bounds"),
        ({"metrics": {"x": "states.influence_share"}}, "metrics.x: states metrics need a [key]"),
        ({"metrics": {"x": "nonsense"}}, "metrics.x: expected table.column[key]"),
        ({"scenario": "nowhere.yaml"}, "scenario: file not found: nowhere.yaml"),
        ({"replications": 0}, "replications: expected greater than or equal to 1, got 0"),
        ({"colour": "red"}, "colour: unknown key"),
        (
            {"vary": {"model.synergy": {"start": 1, "step": 0.5, "stop": 0}}},
            "stop (0) must not be below start (1)",
        ),
    ],
)
def test_experiment_validation(tmp_path, over, message):
    with pytest.raises(ScenarioError) as exc:
        load_experiment(write_exp(tmp_path, **over))
    assert message in str(exc.value) and str(tmp_path) in str(exc.value)


def test_a_bad_vary_key_fails_before_any_run(tmp_path):
    p = write_exp(tmp_path, vary={"states.Atlantis.market": [1.0, 2.0]})
    with pytest.raises(ScenarioError, match="no item named 'Atlantis'"):
        run_sweep(p, out=tmp_path / "out", executor="serial", progress=False)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- executors
@pytest.mark.slow
def test_serial_local_and_dask_give_identical_runs(tmp_path):
    exp = write_exp(tmp_path)
    outs = {}
    for name, kw in {"serial": {}, "local": {"workers": 2}, "dask": {"workers": 2}}.items():
        s = run_sweep(exp, out=tmp_path / name, executor=name, progress=False, **kw)
        assert (s.total, s.ok, s.failed) == (12, 12, 0)
        outs[name] = runs(tmp_path / name)
    pd.testing.assert_frame_equal(outs["serial"], outs["local"])
    pd.testing.assert_frame_equal(outs["serial"], outs["dask"])
    df = outs["serial"]
    assert {"run_id", "seed", "status", "param:model.synergy", "param:levers.EC.severity", *METRICS} <= set(
        df.columns
    )
    assert df["a_share"].between(0, 1).all() and df["cost"].notna().all()
    # stronger controls cost the controller more (averaged over the other parameter and replications)
    by_sev = df.groupby("param:levers.EC.severity")["cost"].mean()
    assert by_sev.is_monotonic_increasing and by_sev.iloc[-1] > 2 * by_sev.iloc[0]
    series = pd.read_parquet(tmp_path / "serial" / "series")
    assert set(series["metric"]) == set(METRICS) and set(series["step"]) == {0, 2, 4, 6, 8}
    man = json.loads((tmp_path / "serial" / "manifest.json").read_text())
    assert man["status"] == "finished" and man["counts"] == {"done": 12, "failed": 0, "skipped": 0}
    assert set(man["versions"]) >= {"sim", "mesa"} and len(man["experiment_sha256"]) == 64


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path):
    exp = write_exp(
        tmp_path, vary={"states.A.capacities.discourse": [0.5, 1.7, 0.6]}, replications=1, every=None
    )
    s = run_sweep(exp, out=tmp_path / "out", executor="serial", progress=False)
    assert (s.ok, s.failed) == (2, 1)
    df = runs(tmp_path / "out")
    bad = df[df.status == "failed"].iloc[0]
    assert "expected a number in [0, 1], got 1.7" in bad["error"]
    assert bad["param:states.A.capacities.discourse"] == 1.7 and np.isnan(bad["a_share"])
    cli = subprocess.run(
        [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(tmp_path / "cli"), "--executor", "serial", "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert (
        cli.returncode == 1
        and "1 failed" in cli.stdout
        and "got 1.7" in cli.stderr
        and "Traceback" not in cli.stderr
    )


# ----------------------------------------------------------------------------- reliability
def test_interrupted_sweep_resumes_to_the_same_result(tmp_path, monkeypatch):
    exp = write_exp(tmp_path, chunk=4)
    full = run_sweep(exp, out=tmp_path / "full", executor="serial", progress=False)
    assert full.ok == 12

    def interrupted(chunks, workers=1):
        yield from EXECUTORS["serial"](chunks[:1])
        raise KeyboardInterrupt

    monkeypatch.setitem(EXECUTORS, "flaky", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(exp, out=tmp_path / "out", executor="flaky", progress=False)
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    saved = man["counts"]["done"]
    assert man["status"] == "interrupted" and 0 < saved < 12
    assert not (tmp_path / "out" / "runs.parquet").exists()  # nothing that reads as complete
    assert not list((tmp_path / "out").rglob(".*tmp*"))
    again = run_sweep(exp, out=tmp_path / "out", executor="serial", progress=False, resume=True)
    assert (again.skipped, again.ok) == (saved, 12 - saved)
    pd.testing.assert_frame_equal(runs(tmp_path / "out"), runs(tmp_path / "full"))


def test_a_resumed_sweep_keeps_its_sessions_and_refuses_other_code(tmp_path, monkeypatch):
    """An interrupted sweep whose runs came from another git commit is refused, unchanged;
    resumed with its own code it records the earlier session; a finished sweep run again is
    left as it was, whatever code asks (nothing would run)."""
    from sim.errors import SimError

    exp = write_exp(tmp_path, chunk=4)
    out = tmp_path / "out"

    def files() -> dict:
        return {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".sim-lock"}

    def interrupted(chunks, workers=1):
        yield from EXECUTORS["serial"](chunks[:1])
        raise KeyboardInterrupt

    monkeypatch.setitem(EXECUTORS, "flaky", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(exp, out=out, executor="flaky", progress=False, command="first")
    manifest = (out / "manifest.json").read_text()
    (out / "manifest.json").write_text(json.dumps({**json.loads(manifest), "git_commit": "0" * 40}))
    before = files()
    with monkeypatch.context() as m:
        m.setattr("sim.provenance.git_commit", lambda: "1" * 40)
        with pytest.raises(SimError, match=r"computed with git commit 0{40}, and this is 1{40}"):
            run_sweep(exp, out=out, executor="serial", progress=False)
    assert files() == before
    (out / "manifest.json").write_text(manifest)
    run_sweep(exp, out=out, executor="serial", progress=False, command="second")
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "finished" and man["command"] == "second"
    (first,) = man["sessions"]
    assert (
        first["command"] == "first" and first["status"] == "interrupted" and 0 < first["counts"]["done"] < 12
    )
    before = files()
    monkeypatch.setattr("sim.provenance.git_commit", lambda: "1" * 40)
    again = run_sweep(exp, out=out, executor="serial", progress=False, command="third")
    assert (again.ok, again.skipped) == (0, 12) and files() == before  # nothing rewritten
    reference = runs(out)
    shutil.rmtree(out / "parts")  # a finished sweep damaged by hand: rebuilt, not refused
    monkeypatch.undo()
    rebuilt = run_sweep(exp, out=out, executor="serial", progress=False)
    assert (rebuilt.ok, rebuilt.skipped) == (12, 0)
    pd.testing.assert_frame_equal(runs(out), reference)


@pytest.mark.slow
def test_resume_after_a_worker_is_killed(tmp_path):
    exp = write_exp(
        tmp_path, scenario=str(Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"),
        vary={"model.synergy": [0.0, 0.5, 1.0, 1.5, 2.0]}, replications=8, chunk=2, every=None,
        metrics={"japan": "states.influence_share[Japan]"},
    )  # fmt: skip
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list((out / "parts").glob("runs-*.parquet")):
        time.sleep(0.05)
    # the forked workers share the sweep's command line (the resource tracker does not)
    kids = subprocess.run(
        ["pgrep", "-P", str(proc.pid), "-f", "sim sweep"], capture_output=True, text=True
    ).stdout.split()
    assert kids, "no worker processes found"
    os.kill(int(kids[0]), signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # the sweep won the race: nothing left to resume
        pytest.skip("the sweep finished before the worker could be killed")
    assert proc.returncode == 1 and "a worker process died" in err and "Traceback" not in err
    saved = json.loads((out / "manifest.json").read_text())["counts"]["done"]
    assert 0 < saved < 40
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{saved} done before" in done.stdout
    fresh = run_sweep(exp, out=tmp_path / "fresh", executor="serial", progress=False)
    assert fresh.ok == 40
    pd.testing.assert_frame_equal(runs(out), runs(tmp_path / "fresh"))


def test_another_experiment_in_the_same_folder_is_refused(tmp_path):
    run_sweep(write_exp(tmp_path, "one"), out=tmp_path / "out", executor="serial", progress=False)
    with pytest.raises(SimError, match="holds a different experiment"):
        run_sweep(
            write_exp(tmp_path, "two", base_seed=99), out=tmp_path / "out", executor="serial", progress=False
        )


# ----------------------------------------------------------------------------- analysis
@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_sensitivity_indices(tmp_path, design):
    from sim.experiments.analysis import sensitivity

    vary = {"model.synergy": {"low": 0.0, "high": 2.0}, "levers.EC.severity": {"low": 0.0, "high": 1.0}}
    exp = write_exp(
        tmp_path, design=design, samples=8, vary=vary, replications=1, every=None, common_seeds=True
    )
    run_sweep(exp, out=tmp_path / "out", workers=2, progress=False)
    df, path = sensitivity(tmp_path / "out", "cost")
    assert path.exists() and set(df["parameter"]) == set(vary)
    cols = ["S1", "S1_conf", "ST", "ST_conf"] if design == "sobol" else ["mu_star", "mu_star_conf", "sigma"]
    assert set(cols) <= set(df.columns) and df[cols].notna().all().all()
    # the control's own severity matters for its cost far more than synergy does
    key = "ST" if design == "sobol" else "mu_star"
    assert (
        df.set_index("parameter").loc["levers.EC.severity", key]
        > df.set_index("parameter").loc["model.synergy", key]
    )
    cli = subprocess.run([sys.executable, "-m", "sim", "analyze", "sensitivity", str(tmp_path / "out"), "--metric", "cost"],
                         capture_output=True, text=True)  # fmt: skip
    assert cli.returncode == 0 and "levers.EC.severity" in cli.stdout


def test_sensitivity_needs_a_sampled_design(tmp_path):
    from sim.experiments.analysis import sensitivity

    run_sweep(write_exp(tmp_path), out=tmp_path / "out", executor="serial", progress=False)
    with pytest.raises(SimError, match="needs a sobol or morris design"):
        sensitivity(tmp_path / "out", "cost")


# ----------------------------------------------------------------------------- interoperability
def test_mesa_batch_run_with_flat_parameters():
    import mesa

    from sim.model import RuleMakingModel

    res = mesa.batch_run(
        RuleMakingModel,
        parameters={"scenario": [str(SMALL)], "seed": [1, 2], "model__synergy": [0.0, 1.0]},
        iterations=1, max_steps=20, number_processes=1, display_progress=False,
    )  # fmt: skip
    df = pd.DataFrame(res)
    assert len(df[["seed", "model__synergy"]].drop_duplicates()) == 4
    # batch_run drops the final step of a model that stops itself (8 steps: rows 0..7)
    assert df["Step"].max() == 7 and {"alignment_index", "influence_hhi", "influence_share"} <= set(
        df.columns
    )
    m = RuleMakingModel(str(SMALL), seed=1, model__synergy=0.0)
    assert m.scenario.model.synergy == 0.0


def test_ema_workbench_replicator_model():
    pytest.importorskip("ema_workbench")
    from ema_workbench import SequentialEvaluator

    from sim.experiments.ema import ema_model

    model = ema_model(
        SMALL, uncertainties={"synergy": ("model.synergy", 0.0, 2.0), "severity": ("levers.EC.severity", 0.0, 1.0)},
        outcomes={"gap": "powers.compute_gap[EC]", "a_share": "states.influence_share[A]"}, seeds=[1, 2, 3],
    )  # fmt: skip
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=4)
    assert len(experiments) == 4 and outcomes["gap"].shape == (4, 3)
    assert np.isfinite(outcomes["gap"]).all() and np.isfinite(outcomes["a_share"]).all()
