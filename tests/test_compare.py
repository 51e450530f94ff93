"""`sim compare A B --replications N` and `sim report --compare DIR_A DIR_B`: differences B - A
with paired t intervals, aligned on the common years, one-sided states listed, bad input
refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import BASE

from sim.claims.stats import effect_ci
from sim.cli import main
from sim.experiments.designs import run_seed
from sim.report.replicate import group_interval, interval

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
COLUMNS = ["metric", "state", "year", "mean_a", "mean_b", "diff", "lo", "hi", "n"]
ONE_SIDED = ["United Kingdom", "Canada", "South Korea", "India", "Brazil", "Australia", "Russia",
             "Saudi Arabia", "South Africa", "Argentina", "Mexico"]  # fmt: skip


def _csv(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "compare.csv", keep_default_na=False, na_values=[""])


def test_intervals_are_the_claims_intervals_column_by_column():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 5))
    x[2, 1] = np.nan  # a failed value is left out, as effect_ci does
    mean, lo, hi, n = interval(x)
    for j in range(5):
        m, l_, h, k = effect_ci(x[:, j])
        assert (mean[j], lo[j], hi[j], n[j]) == pytest.approx((m, l_, h, k), rel=1e-12)
    one = interval(x[:1])
    assert np.isnan(one[1]).all() and (one[3] == 1).all()  # n = 1: no interval
    df = pd.DataFrame({"g": np.repeat([0, 1, 2, 3, 4], 7), "value": x.T.ravel()})
    g = group_interval(df, ["g"])
    assert g["lo"].to_numpy() == pytest.approx(lo, rel=1e-9) and list(g["n"]) == list(n)


def test_a_scenario_against_itself_differs_by_exactly_zero(tmp_path, capsys):
    out = tmp_path / "same"
    code = main(["compare", str(SMALL), str(SMALL), "--replications", "3", "--seed", "11", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "# B minus A" in printed and "n = 3" in printed and f"wrote {out}" in printed
    df = _csv(out)
    assert list(df.columns) == COLUMNS
    assert (
        (df["diff"] == 0).all() and (df["lo"] == 0).all() and (df["hi"] == 0).all() and (df["n"] == 3).all()
    )
    assert (df["mean_a"] == df["mean_b"]).all()
    assert set(df.metric) >= {"influence_share", "resource_share", "punching_ratio", "alignment_index"}
    assert set(df.state.fillna("")) == {"A", "B", "C", "D", ""}  # "": the world's metrics
    man = json.loads((out / "manifest.json").read_text())
    assert man["seeds"] == [run_seed(11, r) for r in range(3)] and man["base_seed"] == 11
    assert (
        man["a"]["scenario_sha256"] == man["b"]["scenario_sha256"] and len(man["a"]["scenario_sha256"]) == 64
    )
    for key in ("versions", "git_commit", "command", "started", "finished", "wall_seconds", "files"):
        assert key in man
    assert man["command"].startswith("sim compare") and man["difference"] == "B - A"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".sim-output", "compare.csv", "compare.md", "manifest.json", "replications.parquet"]
    )
    pairs = pd.read_parquet(out / "replications.parquet")
    assert set(pairs.seed) == set(man["seeds"]) and (pairs.a == pairs.b).all()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folder left


def test_without_export_controls_china_gains_compute_and_nothing_differs_before_them(tmp_path):
    """Paired seeds: before the first control (October 2022) both runs draw the same numbers,
    so every difference is exactly 0; after, China's compute and the US market are larger
    without the controls, with intervals above 0."""
    out = tmp_path / "ec"
    argv = ["compare", "baseline", "no_export_controls", "--replications", "3", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    df = _csv(out)
    assert (df[df.year <= 2022.75]["diff"].fillna(0) == 0).all()
    last = df[df.year == df.year.max()].set_index(["metric", "state"])
    china = last.loc[("compute", "China")]
    assert china["n"] == 3 and china["lo"] > 0 and china["diff"] > 0
    assert china["mean_b"] - china["mean_a"] == pytest.approx(china["diff"])
    us = last.loc[("market", "United States")]
    assert us["lo"] > 0  # the controls cost the controller its market (claim P5b)
    assert last.loc[("compute", "United States")]["diff"] == 0  # the controller's compute is untouched


def test_sea_contest_against_the_baseline_lists_one_sided_states(tmp_path, capsys):
    out = tmp_path / "sea"
    argv = ["compare", "baseline", "sea_contest", "--replications", "2", "--steps", "8", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "States only in baseline" in printed and "South Korea" in printed
    man = json.loads((out / "manifest.json").read_text())
    assert man["only_in_a"] == ONE_SIDED and man["only_in_b"] == []
    df = _csv(out)
    uk = df[df.state == "United Kingdom"]
    assert len(uk) and uk["diff"].isna().all() and uk["mean_b"].isna().all() and uk["mean_a"].notna().all()
    assert df[df.state == "Japan"]["diff"].notna().all()


def test_runs_of_different_lengths_are_compared_over_the_overlap(tmp_path, capsys):
    longer = tmp_path / "longer.yaml"
    longer.write_text(
        yaml.safe_dump({"extends": "sea_contest.yaml", "name": "longer", "model": {"end_year": 2032}})
    )
    out = tmp_path / "len"
    argv = ["compare", "baseline", str(longer), "--replications", "2", "--out", str(out), "--report"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "differ in length" in printed and "at the end of 2030" in printed
    man = json.loads((out / "manifest.json").read_text())
    assert man["common_years"] == {"first": 2016.0, "last": 2031.0, "points": 61}
    assert man["a"]["years"]["last"] == 2031.0 and man["b"]["years"]["last"] == 2033.0
    assert man["only_in_a"] == ONE_SIDED
    assert _csv(out).year.max() == 2031.0
    index = (out / "report" / "index.html").read_text()
    for name in ("diff_influence_share", "diff_over_time", "influence_paths", "diff_world"):
        assert f'src="{name}.png"' in index and (out / "report" / f"{name}.csv").exists()
    assert "States only in baseline" in index and "differ in length" in index and "n = 2" in index


def test_one_replication_has_no_interval_and_says_so(tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["compare", str(SMALL), str(SMALL), "--replications", "1", "--out", str(out), "--set",
                 "model.synergy=0"]) == 0  # fmt: skip
    assert "One replication: differences have no interval" in capsys.readouterr().out
    df = _csv(out)
    assert df["lo"].isna().all() and (df["n"] == 1).all()
    assert json.loads((out / "manifest.json").read_text())["overrides"] == {"model.synergy": 0}


def test_workers_do_not_change_the_result(tmp_path):
    for w in ("1", "2"):
        argv = [
            "compare",
            str(SMALL),
            str(SMALL),
            "--replications",
            "4",
            "--workers",
            w,
            "--set",
            "model.synergy=0",
        ]
        assert main([*argv, "--out", str(tmp_path / w), "--quiet"]) == 0
    assert (tmp_path / "1" / "compare.csv").read_bytes() == (tmp_path / "2" / "compare.csv").read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "baseline", "no_such_scenario.yaml"], "no_such_scenario.yaml: file not found"),
        (["compare", "baseline", "no_synergy", "--replications", "0"], "--replications: expected a positive"),
        (["compare", "baseline", "no_synergy", "--workers", "0"], "--workers: expected a positive"),
        (["compare", "baseline", "no_synergy", "--seed", "-1"], "--seed: expected a non-negative"),
        (["compare", "baseline", "no_synergy", "--set", "model.synergy=abc"], "model.synergy"),
        (["compare", "baseline", "no_synergy", "--steps", "20000"], "--allow-large"),
        (["run", "--replications", "0"], "--replications: expected a positive"),
        # every run's tables kept: 126 GB of files (20 GB is the limit)
        (
            ["run", "--replications", "100000"],
            "sim run --replications 100000 of baseline would write too much",
        ),
        (["compare", "baseline", "no_synergy", "--replications", "150000"], "300,000 runs"),
        (["run", "no_such_scenario.yaml", "--replications", "2"], "no_such_scenario.yaml: file not found"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_scenarios_without_a_common_year_are_refused_before_any_run(tmp_path, capsys):
    later = tmp_path / "later.yaml"
    later.write_text(
        yaml.safe_dump({**BASE, "model": {**BASE["model"], "start_year": 2030, "end_year": 2031}})
    )
    out = tmp_path / "out"
    assert main(["compare", str(SMALL), str(later), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "(2020.00-2022.00)" in err and "(2030.00-2032.00) share no year: nothing to compare" in err
    assert not out.exists()


def test_an_existing_output_folder_is_refused_before_any_run(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    assert main(["compare", str(SMALL), str(SMALL), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and list(out.iterdir()) == []


# ----------------------------------------------------------------------------- sim report --compare
def _run(tmp: Path, name: str, *extra: str) -> Path:
    out = tmp / name
    assert main(["run", *extra, "--out", str(out), "--quiet"]) == 0
    return out


def test_report_compare_is_b_minus_a_everywhere(tmp_path):
    a = _run(tmp_path, "a", str(SMALL), "--seed", "3")
    b = _run(tmp_path, "b", str(SMALL), "--seed", "3", "--set", "levers.EC.severity=0")
    assert main(["report", "--compare", str(a), str(b), "--out", str(tmp_path / "ab")]) == 0
    df = _csv(tmp_path / "ab")
    sa, sb = (pd.read_parquet(d / "states.parquet") for d in (a, b))
    last = sa.step.max()
    fa, fb = (s[s.step == last].set_index("state") for s in (sa, sb))
    fin = df[(df.year == df.year.max()) & (df.metric == "compute")].set_index("state")
    for s in ("A", "B"):
        assert fin.loc[s, "diff"] == pytest.approx(fb.loc[s, "compute"] - fa.loc[s, "compute"], abs=1e-12)
    assert fin.loc["B", "diff"] > 0  # without the export controls the target keeps more compute
    figure = pd.read_csv(tmp_path / "ab" / "diff_influence_share.csv").set_index("state")
    share = fb.influence_share - fa.influence_share
    assert figure.loc["B", "diff"] == pytest.approx(share["B"], abs=1e-9)
    text = (tmp_path / "ab" / "compare.md").read_text()
    assert (
        "Single seed" in text and "sim compare" in text and "n = 1" not in text.split("Single seed")[0][-5:]
    )
    # the other way round: every difference changes sign
    assert main(["report", "--compare", str(b), str(a), "--out", str(tmp_path / "ba")]) == 0
    back = _csv(tmp_path / "ba")
    assert np.allclose(back["diff"].to_numpy(), -df["diff"].to_numpy(), equal_nan=True)


def test_report_compare_of_runs_with_other_states_and_lengths_does_not_fail(tmp_path):
    a = _run(tmp_path, "base", "--steps", "6")
    b = _run(tmp_path, "sea", "sea_contest", "--steps", "4")
    assert main(["report", "--compare", str(a), str(b)]) == 0
    folder = a / "compare-sea"
    text = (folder / "compare.md").read_text()
    assert "differ in length" in text and "States only in baseline" in text and "Mexico" in text
    assert _csv(folder).year.max() == 2017.0
    assert "Single seed" in (folder / "index.html").read_text()
