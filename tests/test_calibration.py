"""Calibration: the record's reading, the time split, the scores by hand, and recovery of a
known parameter from data the model itself generated."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import membership_rows

from sim.calibration.fit import TrainDistance, tie_breaking_epsilon
from sim.calibration.observed import observe
from sim.calibration.run import calibrate
from sim.calibration.scores import brier, coverage, log_loss, naive, score_table
from sim.calibration.simulate import Simulator
from sim.calibration.spec import Target, load_calibration
from sim.errors import ScenarioError
from sim.scenario.loader import load_scenario, patch_for, read_scenario
from sim.scenario.uncertain import check_declared, declaration

ROOT = Path(__file__).resolve().parents[1]
JOINERS = ROOT / "tests" / "data" / "joiners.yaml"
YEARS = list(range(2016, 2026))


def _csv(tmp_path: Path, rows: list[dict], name: str = "club.csv") -> Path:
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_the_record_by_year_end_with_ranges_and_gaps(tmp_path):
    rows = [
        {"iso3": "SAA", "status": "member", "date": "2018-06-15", "date_min": "", "date_max": ""},
        {"iso3": "SAB", "status": "member", "date": "", "date_min": "2019-11", "date_max": "2020-02"},
        {"iso3": "SAC", "status": "no", "date": "2025-12-31", "date_min": "", "date_max": ""},
        {"iso3": "SAD", "status": "member", "date": "2021", "date_min": "", "date_max": ""},
    ]
    t = Target(name="club", data="club.csv", observe="membership", forum="Club", rows={"status": "member"})
    m = observe(
        t, _csv(tmp_path, rows), ["SAA", "SAB", "SAC", "SAD", "SAE", None], [2017, 2018, 2019, 2020, 2021]
    )
    np.testing.assert_array_equal(m[0], [0, 1, 1, 1, 1])  # joined mid-2018
    assert m[1, 1] == 0 and math.isnan(m[1, 2]) and m[1, 3] == 1  # Nov 2019 - Feb 2020: 2019 unknown
    np.testing.assert_array_equal(m[2], [0, 0, 0, 0, 0])  # covered, never a member
    np.testing.assert_array_equal(m[3], [0, 0, 0, 0, 1])  # sometime in 2021: a member by its end
    assert np.isnan(m[4]).all() and np.isnan(m[5]).all()  # not in the file / no code: unknown


def test_the_distance_sees_only_training_years():
    d = TrainDistance(train_cols=[0, 1, 2], weights={"a": 1.0, "b": 2.0})
    obs = {"a": np.array([[0, 1, 1, 1, 1.0], [0, 0, np.nan, 1, 1]]), "b": np.zeros((2, 5))}
    sim = {"a": np.array([[0, 0, 1, 0, 0.0], [1, 0, 0, 0, 0]]), "b": np.ones((2, 5))}
    # a: cells (0,1) and (1,0) differ among 5 known training cells -> 2/5; b: all 6 differ -> 1 * 2
    assert d(sim, obs) == pytest.approx(2 / 5 + 2.0)
    changed = {"a": obs["a"].copy(), "b": obs["b"].copy()}
    changed["a"][:, 3:] = 1 - np.nan_to_num(changed["a"][:, 3:])
    changed["b"][:, 3:] = 1.0
    assert d(sim, changed) == d(sim, obs)  # held-out years do not move it


def test_the_epsilon_schedule_moves_past_a_tie_only_when_acceptance_allows():
    tie = 1 / 147
    d = np.array([tie] * 14 + [0.004, 0.004, 0.003, 0.002, 0.001, 0.0])
    pop = pd.DataFrame({"distance": d, "w": np.full(d.size, 1 / d.size)})
    plain = pd.DataFrame({"distance": np.linspace(0.001, 0.02, 20), "w": np.full(20, 0.05)})

    def step(last_rate: float, weighted: pd.DataFrame, before: float = tie) -> float:
        eps = tie_breaking_epsilon(0.5, min_acceptance=0.02)
        eps._look_up = {0: before}
        eps.last_rate = last_rate
        eps._update(1, weighted)
        return eps._look_up[1]

    # the plain median equals the last threshold (14 of 20 tie); the median of the 6 below is 0.002-0.003
    moved = step(0.8, pop)
    assert 0.001 < moved <= 0.003
    # expected acceptance 0.05 x (weight at or below the new threshold, 0.2) = 0.01 < 0.02: it stays
    assert step(0.05, pop) == pytest.approx(tie)
    # no tie (all below the last threshold 0.03): pyabc's own median
    assert step(0.8, plain, before=0.03) == pytest.approx(0.0105, abs=0.001)


def test_scores_and_naive_rules_by_hand():
    p = np.array([0.9, 0.2, 0.5])
    o = np.array([1.0, 0.0, 1.0])
    assert brier(p, o) == pytest.approx((0.01 + 0.04 + 0.25) / 3)
    assert log_loss(p, o, 0.01) == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.5)) / 3)
    obs = np.array([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 1, 1.0]])  # years 0..3; train 0..2, test 3
    f = naive(obs, [0, 1, 2, 3], [0, 1, 2], [3])
    np.testing.assert_allclose(f["persistence"][:, 0], [1, 0, 1])
    np.testing.assert_allclose(f["base rate"][:, 0], 3 / 9)
    # share of states with the event: 0, 1/3, 2/3 -> slope 1/3 a year; next year +1/3 of the 1/3 not yet
    np.testing.assert_allclose(f["trend"][:, 0], [1, 1.0, 1])
    cov = coverage(np.array([[1, 2], [2, 3], [3, 4], [4, 5]], dtype=float), np.array([2.5, 9.0]), [0, 1])
    assert cov == {"coverage_50": 0.5, "coverage_90": 0.5}
    # a trend below the clip: shares 0, 1/4, 1/4 -> slope 1/8; a state without the event gets 1/8 / (3/4)
    obs4 = np.array([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, np.nan]])
    t4 = naive(obs4, [0, 1, 2, 3], [0, 1, 2], [3])["trend"][:, 0]
    np.testing.assert_allclose(t4, [1, 1 / 6, 1 / 6, 1 / 6])


def test_the_verdict_needs_both_scores_and_a_change_to_forecast():
    years, train, test = [0, 1, 2, 3], [0, 1, 2], [3]
    changed = {"t": np.array([[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, np.nan]])}
    still = {"t": np.array([[0, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, np.nan]])}
    good = {"m": {"t": np.array([[1, 1, 1, 0.9], [0, 0, 0, 0.8], [0, 0, 0, 0.1], [0, 0, 0, 0.5]])}}
    bad = {"m": {"t": np.array([[1, 1, 1, 0.2], [0, 0, 0, 0.1], [0, 0, 0, 0.9], [0, 0, 0, 0.5]])}}
    row = lambda obs, model: score_table(obs, model, years, train, test, 0.01).iloc[0]  # noqa: E731
    r = row(changed, good)
    assert (r.train_events, r.cells, r.events, r.changes) == (1, 3, 2, 1)  # the NaN cell is not scored
    assert r.brier == pytest.approx((0.01 + 0.04 + 0.01) / 3)
    assert r.beats_naive == "yes"
    assert row(changed, bad).beats_naive == "no"
    assert row(still, good).beats_naive == "untestable"


def _spec(tmp_path: Path, **over) -> Path:
    doc = {
        "name": "club", "scenario": str(JOINERS), "parameters": ["membership.join_rate"],
        "targets": [{"name": "club", "data": "club.csv", "observe": "membership", "forum": "Club",
                     "rows": {"status": "member"}}],
        "split": {"train": [2016, 2021], "test": [2022, 2025]}, "seed": 3,
        "quick": {"population": 32, "generations": 4, "replicates": 4, "predictive_draws": 24},
        **over,
    }  # fmt: skip
    p = tmp_path / "calibration.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"split": {"train": [2016, 2022], "test": [2022, 2025]}}, "years in both train and test: 2022"),
        ({"parameters": ["membership.join_rat"]}, "'membership.join_rat' is not declared"),
        ({"split": {"train": [2020, 2022], "test": [2016, 2019]}}, "test years must come after the training years"),
        ({"parameters": ["membership.join_rate", "membership.join_rate"]}, "repeated: membership.join_rate"),
        ({"split": {"train": [2016, 2021], "test": [2022, 2029]}}, "outside the years run, 2016-2025"),
        ({"targets": [{"name": "club", "data": "none.csv", "observe": "membership", "forum": "Club"}]},
         "targets[0] (club).data: file not found: none.csv"),
        ({"targets": [{"name": "club", "data": "club.csv", "observe": "membership", "forum": "Pub"}]},
         "targets[0] (club).forum: unknown forum 'Pub'"),
    ],
)  # fmt: skip
def test_the_calibration_file_is_checked_before_anything_runs(tmp_path, over, message):
    _csv(tmp_path, [{"iso3": "SAA", "status": "member", "date": "2016-01-01"}])
    with pytest.raises(ScenarioError) as exc:
        load_calibration(_spec(tmp_path, **over))
    assert message in str(exc.value)


def test_every_declared_parameter_can_be_set_on_the_baseline():
    check_declared(declaration(), ROOT / "scenarios" / "baseline.yaml")
    keys = [p.key for p in declaration().parameters]
    assert len(keys) == len(set(keys)) and "levers.EU AI Act.emulation_rate" in keys


def test_the_calibrated_patch_sets_named_list_items():
    raw = read_scenario(str(ROOT / "scenarios" / "baseline.yaml"))
    patch = patch_for(raw, "levers.EU AI Act.emulation_rate", 1.5)
    assert patch == {"levers": [{"name": "EU AI Act", "emulation_rate": 1.5}]}
    assert patch_for(raw, "forums.GPAI.admission.threshold", 0.7) == {
        "forums": [{"name": "GPAI", "admission": {"threshold": 0.7}}]
    }
    assert patch_for(raw, "membership.join_rate", 0.3) == {"membership": {"join_rate": 0.3}}
    # a position names the item as `--set` reads it, and the patch names it
    first = raw["forums"][0]["name"]
    assert patch_for(raw, "forums.0.weight", 2.0) == {"forums": [{"name": first, "weight": 2.0}]}
    assert patch_for(raw, "forums.-1.weight", 2.0) == {
        "forums": [{"name": raw["forums"][-1]["name"], "weight": 2.0}]
    }
    with pytest.raises(ScenarioError, match="has no name"):
        patch_for({"xs": [{"a": 1}]}, "xs.0.a", 2)


def _record_from(tmp_path: Path, join_rate: float, seed_salt: int) -> Path:
    """The club's membership as the model makes it at `join_rate`, written as a data file."""
    t = Target(name="club", data="club.csv", observe="membership", forum="Club", rows={"status": "member"})
    sim = Simulator(str(JOINERS), ["membership.join_rate"], ["p0"], [t], YEARS, seed=99)
    m = sim.run({"p0": join_rate}, salt=seed_salt)["club"]
    return _csv(tmp_path, membership_rows([s.iso3 for s in load_scenario(JOINERS).states], m, YEARS))


@pytest.mark.slow
def test_a_known_joining_rate_is_recovered(tmp_path):
    """Data simulated at join_rate 0.3 (the truth); a quick ABC-SMC on the training years puts
    the truth inside its 90% posterior interval and narrows the prior's range (on a log scale)
    to less than half. Recovery at 1.2 too, so the interval moves with the truth."""
    widths = {}
    for truth in (0.3, 1.2):
        folder = tmp_path / str(truth)
        folder.mkdir()
        _record_from(folder, truth, seed_salt=7)
        out = calibrate(_spec(folder), folder / "out", quick=True, say=lambda _m: None)
        post = pd.read_parquet(out / "posterior.parquet")
        x, w = post["membership.join_rate"].to_numpy(), post["weight"].to_numpy()
        order = np.argsort(x)
        cw = np.cumsum(w[order])
        lo, hi = x[order][np.searchsorted(cw, 0.05)], x[order][min(np.searchsorted(cw, 0.95), len(x) - 1)]
        assert lo <= truth <= hi, (truth, lo, hi)
        widths[truth] = math.log(hi / lo) / math.log(2.0 / 0.02)
        assert widths[truth] < 0.5, widths
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["train_years"] == [2016, 2021]
    assert {"posterior.parquet", "abc.db", "calibrated.yaml", "scores.csv", "predictive.parquet"} <= {
        p.name for p in out.iterdir()
    }
    cal = load_scenario(out / "calibrated.yaml")
    assert cal.membership.join_rate == pytest.approx(
        manifest["posterior_median"]["membership.join_rate"], rel=1e-5
    )


@pytest.mark.slow
def test_a_dask_cluster_gives_the_posterior_of_one_core(tmp_path):
    """--scheduler ADDR: the fit and the predictive runs go to an existing Dask cluster, and give
    the same posterior, predictions and scores as one core (each job of the sampler is seeded)."""
    from dask.distributed import LocalCluster

    _record_from(tmp_path, 0.3, seed_salt=7)
    spec = _spec(tmp_path, quick={"population": 12, "generations": 2, "replicates": 2, "predictive_draws": 8})
    one = calibrate(spec, tmp_path / "one", quick=True, say=lambda _m: None)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        many = calibrate(spec, tmp_path / "many", quick=True, scheduler=cluster.scheduler_address,
                         say=lambda _m: None)  # fmt: skip
    assert json.loads((many / "manifest.json").read_text())["scheduler"]
    for name in ("posterior.parquet", "predictive.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(one / name), pd.read_parquet(many / name))
    pd.testing.assert_frame_equal(pd.read_csv(one / "scores.csv"), pd.read_csv(many / "scores.csv"))


def test_the_same_calibration_twice_gives_the_same_posterior(tmp_path):
    _record_from(tmp_path, 0.3, seed_salt=7)
    spec = _spec(tmp_path, quick={"population": 8, "generations": 2, "predictive_draws": 4})
    a = calibrate(spec, tmp_path / "a", quick=True, say=lambda _m: None)
    b = calibrate(spec, tmp_path / "b", quick=True, say=lambda _m: None)
    pd.testing.assert_frame_equal(
        pd.read_parquet(a / "posterior.parquet"), pd.read_parquet(b / "posterior.parquet")
    )
    pd.testing.assert_frame_equal(pd.read_csv(a / "scores.csv"), pd.read_csv(b / "scores.csv"))


def test_cli_refuses_an_overlapping_split_with_a_located_error(tmp_path):
    _csv(tmp_path, [{"iso3": "SAA", "status": "member", "date": "2016-01-01"}])
    p = _spec(tmp_path, split={"train": [2016, 2023], "test": [2022, 2025]})
    r = subprocess.run([sys.executable, "-m", "sim", "calibrate", str(p), "--quick", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "split: years in both train and test: 2022, 2023" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_quick_calibration_of_the_shipped_file(tmp_path):
    """The CI form: the shipped calibration on the shipped data, quick settings, end to end."""
    r = subprocess.run([sys.executable, "-m", "sim", "calibrate", "experiments/calibration.yaml", "--quick",
                        "--out", str(tmp_path / "c")], capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert r.returncode == 0, r.stderr
    scores = pd.read_csv(tmp_path / "c" / "scores.csv")
    assert {"model (calibrated)", "persistence", "base rate", "trend"} <= set(scores.forecaster)
    assert (tmp_path / "c" / "report" / "index.html").exists()
    load_scenario(tmp_path / "c" / "calibrated.yaml")


def test_the_sampler_is_reproducible_reports_progress_and_keeps_its_limits():
    import time

    import pyabc

    from sim.calibration.sampler import OrderedSampler

    def one():  # one particle in three is accepted; its value comes from the job's seed
        x = float(np.random.random())
        return pyabc.Particle(m=0, parameter=pyabc.Parameter({"x": x}), weight=1.0, sum_stat={}, distance=x,
                              accepted=x < 1 / 3)  # fmt: skip

    def accepted(sample):
        return [p.parameter["x"] for p in sample.accepted_particles]

    lines: list[str] = []
    a = OrderedSampler(seed=1, on_progress=lines.append, every=0.0).sample_until_n_accepted(6, one, t=0)
    b = OrderedSampler(seed=1).sample_until_n_accepted(6, one, t=0)
    assert a.ok and accepted(a) == accepted(b) and len(accepted(a)) == 6
    assert accepted(a) != accepted(OrderedSampler(seed=2).sample_until_n_accepted(6, one, t=0))
    assert lines and "accepted of" in lines[0] and lines[0].startswith("  generation 1:")
    # the minimum acceptance: at most max_eval simulations, then the generation is left unfinished
    stops: list[str] = []
    s = OrderedSampler(seed=1, on_stop=stops.append)
    assert s.sample_until_n_accepted(6, one, t=1).ok and s.unfinished_ == 0
    assert not s.sample_until_n_accepted(100, one, t=2, max_eval=20).ok and s.nr_evaluations_ == 20
    assert "generation 3 left unfinished: 20 simulations" in stops[-1]
    assert s.unfinished_ == 20  # counted in the calibration's simulations (pyabc's history drops them)
    # the time limit
    late = OrderedSampler(seed=1, deadline=time.monotonic() - 1, on_stop=stops.append)
    assert not late.sample_until_n_accepted(5, one, t=0).ok and "time limit" in stops[-1]


def test_a_failure_after_the_fit_keeps_the_fit(tmp_path, monkeypatch):
    """A crash in the predictive runs or the report must not cost the fit: the folder keeps
    abc.db, the posterior and the generations, with FAILED.txt; the error says so (exit 1)."""
    import sim.calibration.report as report
    from sim.calibration.run import FailedAfterFit

    _record_from(tmp_path, 0.3, seed_salt=7)
    spec = _spec(tmp_path, quick={"population": 8, "generations": 1, "predictive_draws": 4})

    def broken(*_a, **_k):
        raise RuntimeError("the report broke")

    monkeypatch.setattr(report, "write_report", broken)
    with pytest.raises(FailedAfterFit, match="the report broke") as exc:
        calibrate(spec, tmp_path / "out", quick=True, say=lambda _m: None)
    assert exc.value.exit_code == 1
    out = tmp_path / "out"
    assert {"abc.db", "posterior.parquet", "generations.csv", "FAILED.txt"} <= {p.name for p in out.iterdir()}
    assert len(pd.read_parquet(out / "posterior.parquet")) == 8
    assert "the report broke" in (out / "FAILED.txt").read_text()


def test_runs_that_end_with_the_last_target_year_give_the_same_record():
    """The calibration ends its runs in the last year it reads (2025, not the baseline's 2030):
    each mechanism draws step by step from its own stream, so the years run are unchanged."""
    from sim.calibration.run import run_to

    path = ROOT / "experiments" / "calibration.yaml"
    spec, priors = load_calibration(path)
    scen = ROOT / "scenarios" / "baseline.yaml"
    names = [f"p{i}" for i in range(len(spec.parameters))]
    cut = run_to(scen, load_scenario(scen), spec.split.years[-1])
    assert cut == {"model.end_year": 2025}
    full = Simulator(str(scen), list(spec.parameters), names, spec.targets, spec.split.years, seed=5)
    short = Simulator(
        str(scen), list(spec.parameters), names, spec.targets, spec.split.years, seed=5, fixed=cut
    )
    rng = np.random.default_rng(0)
    for _ in range(3):
        params = {
            n: float(p.ppf(u)) for n, p, u in zip(names, priors.values(), rng.random(len(names)), strict=True)
        }
        a, b = full.run(params), short.run(params)
        assert all(np.array_equal(a[k], b[k]) for k in a)
