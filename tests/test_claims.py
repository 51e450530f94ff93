"""The claims machinery, checked against values computed by hand (not the verdicts)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.claims.spec import load_claims
from sim.claims.stats import effect_ci, verdict
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"


def test_effect_and_interval_by_hand():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    mean, lo, hi, n = effect_ci(d)
    # mean 2.5, sd = sqrt(5/3), t(0.975, 3) = 3.182446305284263
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2
    assert (mean, n) == (2.5, 4)
    assert lo == pytest.approx(2.5 - half) and hi == pytest.approx(2.5 + half)
    m2, lo2, hi2, n2 = effect_ci(np.array([0.5, np.nan, 0.5]))
    assert (m2, lo2, hi2, n2) == (0.5, 0.5, 0.5, 2)  # NaN dropped; no spread, no width
    assert math.isnan(effect_ci(np.array([]))[0]) and math.isnan(effect_ci(np.array([3.0]))[1])


def test_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        _, lo, hi, _ = effect_ci(rng.normal(1.0, 2.0, size=10))
        hits += lo <= 1.0 <= hi
    assert 0.935 < hits / 2000 < 0.965


@pytest.mark.parametrize(
    ("expect", "lo", "hi", "result"),
    [
        ("positive", 0.1, 0.3, "holds"), ("positive", -0.3, -0.1, "fails"), ("positive", -0.1, 0.2, "inconclusive"),
        ("negative", -0.3, -0.1, "holds"), ("negative", 0.1, 0.3, "fails"), ("negative", -0.1, 0.1, "inconclusive"),
        ("not_positive", -0.1, 0.1, "holds"), ("not_positive", -0.3, -0.1, "holds"), ("not_positive", 0.1, 0.3, "fails"),
        ("positive", math.nan, math.nan, "inconclusive"),
    ],
)  # fmt: skip
def test_verdicts(expect, lo, hi, result):
    assert verdict(expect, lo, hi) == result


def test_a_never_verdict_reads_every_replication_not_the_mean():
    """2 runs of 30 with an ineligible membership: the mean's interval contains 0, but a
    'never' fact fails; with none it holds."""
    effects = np.array([1.0, 1.0] + [0.0] * 28)
    _, lo, hi, _ = effect_ci(effects)
    assert lo < 0 < hi and verdict("not_positive", lo, hi) == "holds"
    assert verdict("never_positive", lo, hi, effects) == "fails"
    assert verdict("never_positive", 0.0, 0.0, np.zeros(30)) == "holds"
    assert verdict("never_positive", math.nan, math.nan, np.array([0.0])) == "inconclusive"


def test_the_shipped_claims_cover_every_pattern_and_the_baseline_facts():
    suite = load_claims(ROOT / "experiments" / "claims.yaml")
    assert {c.pattern for c in suite.claims} - {None} == set(range(1, 9))
    facts = [c for c in suite.claims if c.pattern is None]
    assert len(facts) >= 8 and all(c.source for c in facts)  # each fact names its seed passage
    assert suite.replications >= 30
    assert all(len(c.scan.values) >= 2 for c in suite.claims)


def test_an_included_claims_file_must_sit_beside(tmp_path):
    (tmp_path / "sub").mkdir()
    claim = {"id": "X", "statement": "s", "kind": "threshold", "scenario": "baseline", "reference": 0.0,
             "metric": "states.influence_share[Japan]", "expect": "positive", "scan": {"key": "model.synergy", "values": [0, 1]}}  # fmt: skip
    p = _write(tmp_path, [claim], include=["sub/other.yaml"])
    with pytest.raises(ScenarioError, match="include: expected a claims file beside this one"):
        load_claims(p)


def _write(tmp_path: Path, claims: list[dict], **over) -> Path:
    doc = {"replications": 4, "scan_replications": 3, "base_seed": 1, "claims": claims, **over}
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


CONTRAST = {
    "id": "C1", "pattern": 5, "statement": "controls cost the controller", "scenario": str(SMALL),
    "counterfactual_set": {"levers.EC.severity": 0.0}, "metric": "powers.coercion_cost_total[EC]",
    "expect": "positive", "scan": {"key": "levers.EC.revenue_share", "values": [0.0, 0.4]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"counterfactual_set": {}}, "a contrast needs a counterfactual"),
        ({"kind": "threshold"}, "a threshold claim needs a reference"),
        ({"kind": "trend"}, "a trend claim needs early and late years"),
        ({"scenario": "nowhere.yaml"}, "scenario not found: nowhere.yaml"),
        ({"metric": "states.compute"}, "states metrics need a [key]"),
        ({"expect": "up"}, "expected 'positive', 'negative', 'not_positive' or 'never_positive'"),
    ],
)
def test_claim_validation(tmp_path, change, message):
    with pytest.raises(ScenarioError) as exc:
        load_claims(_write(tmp_path, [{**CONTRAST, **change}]))
    assert message in str(exc.value)


def test_an_invalid_run_stops_the_suite_before_any_run(tmp_path):
    """A counterfactual or scan value that makes a scenario invalid is reported with its claim and
    location, exit 2, nothing written; not turned into silent `inconclusive, n = 0` verdicts."""
    bad = {**CONTRAST, "scan": {"key": "levers.EC.severity", "values": [0.5, -1.0]}}
    path = _write(tmp_path, [bad])
    r = subprocess.run([sys.executable, "-m", "sim", "claims", "--file", str(path), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "claims C1: scenario" in r.stderr and "levers[0] (EC).severity" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


def test_claims_end_to_end_against_the_runs(tmp_path):
    trend = {**CONTRAST, "id": "T1", "kind": "trend", "early": 2020.5, "late": 2021.75, "expect": "positive",
             "counterfactual_set": {}, "scan": {"key": "levers.EC.severity", "values": [0.0, 1.0]}}  # fmt: skip
    thr = {**CONTRAST, "id": "H1", "kind": "threshold", "metric": "states.punching_ratio[A]", "reference": 5.0,
           "expect": "positive", "counterfactual_set": {}}  # fmt: skip
    path = _write(tmp_path, [CONTRAST, trend, thr])
    r = subprocess.run([sys.executable, "-m", "sim", "claims", "--file", str(path), "--out", str(tmp_path / "out"),
                        "--workers", "2"], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    df = pd.read_csv(out / "claims.csv")
    assert list(df.claim) == ["C1", "T1", "H1"]
    assert {"statement", "metric", "effect", "ci_low", "ci_high", "n", "verdict"} <= set(df.columns)
    runs = pd.read_parquet(out / "claims_runs.parquet")
    # recompute C1's effect by hand from the runs: paired by seed, scenario minus counterfactual
    main = runs[runs["param:levers.EC.revenue_share"].isna()].dropna(subset=["C1:m"])  # not the scan
    sc = main[main["param:levers.EC.severity"].isna()].set_index("seed")["C1:m"]
    cf = main[main["param:levers.EC.severity"] == 0.0].set_index("seed")["C1:m"]
    diffs = (sc - cf.reindex(sc.index)).to_numpy()
    mean, lo, hi, n = effect_ci(diffs)
    row = df.set_index("claim").loc["C1"]
    assert n == 4 and row["n"] == 4
    assert row["effect"] == pytest.approx(mean, rel=1e-5) and row["ci_low"] == pytest.approx(lo, rel=1e-5)
    assert row["verdict"] == verdict("positive", lo, hi)
    h1 = runs[runs["param:levers.EC.revenue_share"].isna()].dropna(subset=["H1:m"])
    assert df.set_index("claim").loc["H1", "effect"] == pytest.approx((h1["H1:m"] - 5.0).mean(), rel=1e-5)
    scan = pd.read_csv(out / "claims_scan.csv")
    assert set(scan.claim) == {"C1", "T1", "H1"} and len(scan[scan.claim == "C1"]) == 2
    assert (out / "claims.md").read_text().startswith("| claim |")
    assert (out / "report" / "index.html").exists() and len(list((out / "report").glob("claim_*.png"))) == 3


@pytest.mark.slow
def test_quick_run_of_the_shipped_claims(tmp_path):
    """The CI form of the suite: every claim runs and gets a verdict (the verdicts are not tested)."""
    r = subprocess.run(
        [sys.executable, "-m", "sim", "claims", "--quick", "--workers", "2", "--out", str(tmp_path / "q")],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path / "q" / "claims.csv")
    assert len(df) == len(load_claims(ROOT / "experiments" / "claims.yaml").claims)
    assert set(df.verdict) <= {"holds", "fails", "inconclusive"} and (df.n == 4).all()
