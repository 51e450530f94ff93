"""`sim run --replications N`: N seeds of one scenario in one folder (every table with
`replication` and `seed` columns), a summary with t intervals, bands in the report; runs made
with --set named after what was set; `sim claims` shows progress unless --quiet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.designs import run_seed
from sim.runner import run_name

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rep") / "r"
    assert main(["run", str(SMALL), "--replications", "4", "--seed", "9", "--out", str(out), "--quiet"]) == 0
    return out


def test_every_table_holds_every_seed_with_its_replication_and_seed(replicated, tmp_path):
    man = json.loads((replicated / "manifest.json").read_text())
    seeds = [run_seed(9, r) for r in range(4)]
    assert man["seeds"] == seeds and man["replications"] == 4 and man["base_seed"] == 9
    assert {"versions", "git_commit", "command", "scenario_sha256", "files"} <= set(man)
    states = pd.read_parquet(replicated / "states.parquet")
    assert list(states.columns[:4]) == ["replication", "seed", "step", "year"]
    assert states.groupby("replication").seed.first().tolist() == seeds
    # replication 2 is the run `sim run --seed <its seed>` gives
    single = tmp_path / "single"
    assert main(["run", str(SMALL), "--seed", str(seeds[2]), "--out", str(single), "--quiet"]) == 0
    for name in ("states", "forums", "model", "events", "powers", "influence_sources"):
        mine = pd.read_parquet(replicated / f"{name}.parquet")
        mine = mine[mine.replication == 2].drop(columns=["replication", "seed"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, pd.read_parquet(single / f"{name}.parquet"), check_dtype=False)


def test_the_summary_intervals_contain_the_mean_of_the_seeds(replicated):
    summary = pd.read_csv(replicated / "summary.csv", keep_default_na=False, na_values=[""])
    states = pd.read_parquet(replicated / "states.parquet")
    last = states[states.step == states.step.max()]
    share = summary[summary.metric == "influence_share"].set_index("state")
    for state, rows in last.groupby("state"):
        mean = rows.influence_share.mean()
        row = share.loc[state]
        assert row["n"] == 4 and row["mean"] == pytest.approx(mean, rel=1e-12)
        assert row["lo"] <= mean <= row["hi"] and row["lo"] < row["hi"]
    assert {"alignment_index", "influence_hhi", "punching_ratio"} <= set(summary.metric)
    text = (replicated / "summary.md").read_text()
    assert "4 replications (seeds derived from 9)" in text and "95% t interval over the seeds (n = 4)" in text


def test_workers_give_the_same_files(replicated, tmp_path):
    out = tmp_path / "w2"
    argv = [
        "run",
        str(SMALL),
        "--replications",
        "4",
        "--seed",
        "9",
        "--workers",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    for p in replicated.glob("*.parquet"):
        assert p.read_bytes() == (out / p.name).read_bytes(), p.name
    assert (replicated / "summary.csv").read_bytes() == (out / "summary.csv").read_bytes()


def test_the_report_draws_bands_over_the_seeds(replicated):
    assert main(["report", str(replicated)]) == 0
    index = (replicated / "report" / "index.html").read_text()
    names = set(re.findall(r'<img src="([^"]+)\.png"', index))
    assert {"influence_share", "influence_stock", "punching_ratio", "action_mix", "forum_texts", "alignment",
            "emulation_network", "lever_export_controls"} <= names  # fmt: skip
    for name in ("influence_share", "influence_stock", "forum_texts", "alignment", "lever_export_controls"):
        data = pd.read_csv(replicated / "report" / f"{name}.csv")
        assert {"mean", "lo", "hi", "n"} <= set(data.columns) and (data["n"] <= 4).all()
        assert (data["lo"] <= data["mean"] + 1e-12).all()
    assert index.count("95% t intervals over the seeds (n = 4)") >= 6
    assert "Final metrics: mean [95% t interval] over the seeds" in index


def test_one_replication_is_allowed_and_says_there_is_no_interval(tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["run", str(SMALL), "--replications", "1", "--out", str(out)]) == 0
    assert "one replication: no interval" in capsys.readouterr().out
    assert pd.read_csv(out / "summary.csv")["lo"].isna().all()


# ----------------------------------------------------------------------------- names of --set runs
def test_a_run_with_set_is_named_after_what_was_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["run", str(SMALL), "--steps", "2", "--quiet", "--set", "model.synergy=0", "--set",
            "states.A.capacities.discourse=0.9"]  # fmt: skip
    assert main(argv) == 0
    (out,) = (tmp_path / "results").iterdir()
    assert re.fullmatch(
        r"small\+model\.synergy=0\+states\.A\.capacities\.discourse=0\.9-\d{8}-\d{6}", out.name
    )
    assert (
        main(
            ["run", str(SMALL), "--steps", "2", "--quiet", "--replications", "2", "--set", "model.synergy=0"]
        )
        == 0
    )
    assert any(
        p.name.startswith("small+model.synergy=0-") and p != out for p in (tmp_path / "results").iterdir()
    )


def test_run_names_are_folder_safe_short_and_readable():
    assert run_name("baseline", ["states.Japan.capacities.discourse=0.9"]) == (
        "baseline+states.Japan.capacities.discourse=0.9"
    )
    assert run_name("baseline", ["levers.US chip controls 2022.severity=0"]) == (
        "baseline+levers.US_chip_controls_2022.severity=0"
    )
    assert (
        run_name("baseline", ["levers.X.targets=[China, Russia]"])
        == "baseline+levers.X.targets=_China_Russia"
    )
    assert run_name("baseline", ["a/b=../../etc", "x=\x00y"]) == "baseline+a_b=.._.._etc+x=_y"
    long = run_name("baseline", [f"states.State{k}.capacities.discourse=0.{k}" for k in range(9)])
    assert len(long) <= 100 and re.search(r"\+\d_more$", long) and long.startswith("baseline+states.State0.")
    assert run_name("baseline") == "baseline"


# ----------------------------------------------------------------------------- claims progress
def test_claims_show_progress_unless_quiet(monkeypatch, tmp_path):
    import sim.claims.run as claims_run

    seen: list[bool] = []

    def fake(path, out, reps, workers, quick, progress, command, overrides=None):
        seen.append(progress)
        raise SystemExit(0)

    monkeypatch.setattr(claims_run, "run_claims", fake)
    claims = Path(__file__).resolve().parents[1] / "experiments" / "claims.yaml"
    for extra in ([], ["--progress"], ["--quiet"]):
        with pytest.raises(SystemExit):
            main(["claims", "--file", str(claims), "--quick", *extra])
    assert seen == [True, True, False]


def test_interval_of_a_constant_is_the_constant():
    from sim.report.replicate import interval

    mean, lo, hi, n = interval(np.full((5, 3), 0.25))
    assert (mean == 0.25).all() and (lo == 0.25).all() and (hi == 0.25).all() and (n == 5).all()


def test_report_compare_pairs_two_replicated_runs_on_the_same_seeds(replicated, tmp_path):
    assert (
        main(["report", "--compare", str(replicated), str(replicated), "--out", str(tmp_path / "self")]) == 0
    )
    df = pd.read_csv(tmp_path / "self" / "compare.csv")
    assert (df["diff"] == 0).all() and (df["n"] == 4).all() and (df["lo"] == 0).all()
