"""Shards of a sweep (`sim sweep EXP --shard I/N`, for job arrays) and their merge (`sim sweep
EXP --merge DIR...`): shards run exactly the whole sweep's runs, seeds and run ids between
them; merged, they give the whole sweep's tables; every refusal is located, exits 2 and
writes nothing; a shard resumes like a sweep."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sim.cli import main
from sim.errors import OutputError, SimError
from sim.experiments import sweep as sweep_mod
from sim.experiments.store import SweepStore, read_runs
from sim.experiments.sweep import merge_shards, parse_shard, run_sweep

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"
RUNS = 12  # 3 x 2 points x 2 replications
N = 5  # does not divide RUNS: shards of 3, 3, 2, 2 and 2 runs
KEYS = ["run_id", "step", "metric"]


def write_exp(folder: Path, name: str = "exp", **over) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "factorial",
        "vary": {"model.synergy": [0.0, 0.5, 1.0], "levers.EC.severity": [0.2, 0.8]},
        "replications": 2,
        "base_seed": 5,
        "steps": 4,
        "every": 2,
        "metrics": {"a_share": "states.influence_share[A]", "cost": "powers.coercion_cost_total[EC]"},
        "chunk": 2,
    } | over
    p = folder / f"{name}.yaml"
    p.write_text(yaml.safe_dump(exp))
    return p


def sweep(exp: Path, out: Path, **kw):
    return run_sweep(exp, out=out, executor="serial", progress=False, **kw)


def series(out: Path) -> pd.DataFrame:
    parts = sorted((out / "series").glob("part-*.parquet"))
    if not parts:
        return pd.DataFrame()
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return df.sort_values(KEYS, kind="stable").reset_index(drop=True)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def snapshot(*folders: Path) -> dict[str, bytes]:
    """Every file under the folders, with its bytes: to show that nothing was written."""
    return {
        str(p): p.read_bytes() for f in folders if f.exists() for p in sorted(f.rglob("*")) if p.is_file()
    }


def assert_same_tables(a: Path, b: Path) -> None:
    """The same runs.parquet content (schema and values, not file metadata) and series."""
    ta, tb = pq.read_table(a / "runs.parquet"), pq.read_table(b / "runs.parquet")
    assert ta.schema.remove_metadata() == tb.schema.remove_metadata()
    assert ta.equals(tb)
    pd.testing.assert_frame_equal(pd.read_parquet(a / "runs.parquet"), pd.read_parquet(b / "runs.parquet"))
    pd.testing.assert_frame_equal(series(a), series(b))
    assert (a / "experiment.resolved.yaml").read_bytes() == (b / "experiment.resolved.yaml").read_bytes()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A factorial sweep run whole, and as N shards (not to be damaged: tests copy them)."""
    folder = tmp_path_factory.mktemp("shards")
    exp = write_exp(folder)
    assert sweep(exp, folder / "whole").ok == RUNS
    shards = []
    for i in range(1, N + 1):
        s = sweep(exp, folder / f"s{i}", shard=f"{i}/{N}")
        assert (s.shard, s.total, s.ok, s.failed) == (f"{i}/{N}", len(range(i - 1, RUNS, N)), s.total, 0)
        shards.append(folder / f"s{i}")
    return exp, folder / "whole", shards


@pytest.fixture
def copies(made, tmp_path) -> tuple[Path, list[Path]]:
    """Copies of the shards, to damage."""
    exp, _, shards = made
    out = []
    for s in shards:
        shutil.copytree(s, tmp_path / s.name)
        out.append(tmp_path / s.name)
    return exp, out


# ----------------------------------------------------------------------------- shards and merge
def test_shards_merged_give_the_whole_sweep(made, tmp_path):
    exp, whole, shards = made
    full = pd.read_parquet(whole / "runs.parquet")
    for i, s in enumerate(shards, start=1):
        m = manifest(s)
        assert m["shard"]["index"] == i and m["shard"]["count"] == N and m["shard"]["runs_total"] == RUNS
        assert m["shard"]["indices"] == {"start": i - 1, "stop": RUNS, "step": N}
        assert m["runs"] == m["shard"]["runs"] == len(range(i - 1, RUNS, N)) and m["points"] == RUNS // 2
        assert m["status"] == "finished" and m["experiment_sha256"] == manifest(whole)["experiment_sha256"]
        # the whole sweep's runs, with the same seeds and run ids, and the same results
        mine = full[full["index"] % N == i - 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(read_runs(s)[1], mine)

    out = tmp_path / "merged"
    m = merge_shards(exp, shards, out, command="sim sweep exp.yaml --merge ...")
    assert (m.shards, m.total, m.ok, m.failed) == (N, RUNS, RUNS, 0)
    assert_same_tables(out, whole)
    merged, runs = read_runs(out)  # finished, runs.parquet matches its checksum
    assert len(runs) == RUNS and runs["run_id"].is_unique
    ref = manifest(whole)
    same = ["experiment", "experiment_sha256", "scenario_sha256", "design", "problem", "samples", "levels",
            "replications", "base_seed", "points", "runs", "metrics", "runs_sha256", "runs_ok_total",
            "versions", "git_commit"]  # fmt: skip
    assert {k: merged[k] for k in same} == {k: ref[k] for k in same}
    assert "shard" not in merged and merged["counts"] == {"done": RUNS, "failed": 0, "skipped": 0}
    # provenance: the shard folders and the sha256 of their manifests
    assert [(f["folder"], f["shard"], f["manifest_sha256"]) for f in merged["merged_from"]] == [
        (str(s.resolve()), f"{i}/{N}", hashlib.sha256((s / "manifest.json").read_bytes()).hexdigest())
        for i, s in enumerate(shards, start=1)
    ]
    assert all(e["source"].startswith(str(shards[0].parent.resolve())) for e in merged["parts"].values())
    assert (out / ".sim-output").exists() and not list(out.rglob(".*partial*"))


def test_a_sobol_design_in_three_shards_gives_the_same_sensitivity(tmp_path):
    from sim.experiments.analysis import sensitivity

    vary = {"model.synergy": {"low": 0.0, "high": 2.0}, "levers.EC.severity": {"low": 0.0, "high": 1.0}}
    exp = write_exp(tmp_path, design="sobol", samples=4, vary=vary, replications=1, every=None, chunk=3)
    whole = sweep(exp, tmp_path / "whole")
    assert whole.total == 16 and 16 % 3 == 1  # shards of 6, 5 and 5 runs
    shards = [tmp_path / f"s{i}" for i in (1, 2, 3)]
    assert [sweep(exp, s, shard=(i, 3)).total for i, s in enumerate(shards, start=1)] == [6, 5, 5]
    with pytest.raises(SimError, match="points lack an ok run"):  # a shard is not the whole design
        sensitivity(shards[0], "cost")
    merge_shards(exp, list(reversed(shards)), tmp_path / "merged")  # in any order
    assert_same_tables(tmp_path / "merged", tmp_path / "whole")
    pd.testing.assert_frame_equal(
        sensitivity(tmp_path / "merged", "cost", seed=1)[0],
        sensitivity(tmp_path / "whole", "cost", seed=1)[0],
    )


def test_merging_again_and_resuming_the_merged_folder_change_nothing(made, tmp_path):
    exp, whole, shards = made
    out = tmp_path / "merged"
    assert main(["sweep", str(exp), "--merge", *map(str, shards), "--out", str(out)]) == 0
    again = merge_shards(exp, shards, out)
    n_parts = sum(len(manifest(s)["parts"]) for s in shards)
    assert again.copied == 0 and len(manifest(out)["parts"]) == n_parts  # no part twice
    assert_same_tables(out, whole)
    # the whole sweep's command finds every run done, and keeps the provenance
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (0, RUNS) and len(manifest(out)["merged_from"]) == N
    assert_same_tables(out, whole)


def test_an_interrupted_merge_is_not_finished_and_the_same_command_finishes_it(made, tmp_path, monkeypatch):
    exp, whole, shards = made
    out = tmp_path / "merged"
    copy_part = SweepStore.copy_part
    calls = []

    def interrupted(self, *args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return copy_part(self, *args, **kw)

    monkeypatch.setattr(SweepStore, "copy_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        merge_shards(exp, shards, out)
    assert manifest(out)["status"] == "interrupted" and not (out / "runs.parquet").exists()
    with pytest.raises(SimError, match="not a finished sweep"):
        read_runs(out)
    monkeypatch.setattr(SweepStore, "copy_part", copy_part)
    m = merge_shards(exp, shards, out)
    n_parts = sum(len(manifest(s)["parts"]) for s in shards)
    assert m.copied == n_parts - 2 and len(manifest(out)["parts"]) == n_parts
    assert_same_tables(out, whole)


# ----------------------------------------------------------------------------- a shard is a sweep
def test_a_shard_resumes_like_a_sweep_and_keeps_to_its_folder(made, tmp_path, monkeypatch):
    exp, whole, shards = made
    out = tmp_path / "s2"
    serial = sweep_mod.EXECUTORS["serial"]

    def half(chunks, workers=1):  # stops after the first chunk (a job killed at its time limit)
        yield from serial(chunks[:1], workers)

    monkeypatch.setitem(sweep_mod.EXECUTORS, "half", half)
    with pytest.raises(OutputError, match="stopped with 1 of 3 runs done"):
        run_sweep(exp, out=out, executor="half", progress=False, shard=f"2/{N}")
    assert manifest(out)["status"] == "incomplete" and manifest(out)["shard"]["index"] == 2
    s = sweep(exp, out, shard=f"2/{N}", resume=True)  # the same command, or with --resume
    assert (s.ok, s.skipped, s.shard) == (2, 1, f"2/{N}")
    pd.testing.assert_frame_equal(read_runs(out)[1], read_runs(shards[1])[1])
    with pytest.raises(SimError, match=f"holds shard 2/{N} of this experiment, not shard 3/{N}"):
        sweep(exp, out, shard=f"3/{N}")
    with pytest.raises(SimError, match=f"holds shard 2/{N} of this experiment, not the whole sweep.*--merge"):
        sweep(exp, out)
    with pytest.raises(SimError, match=f"holds the whole sweep of this experiment, not shard 1/{N}"):
        sweep(exp, whole, shard=f"1/{N}")
    sweep(exp, tmp_path / "t", shard="2/3")
    with pytest.raises(SimError, match="holds shard 2/3 of this experiment, not shard 2/4"):
        sweep(exp, tmp_path / "t", shard="2/4")


def test_shards_are_numbered_from_one_and_out_of_range_is_refused(made, tmp_path, capsys):
    exp = made[0]
    assert parse_shard("1/4") == (1, 4) and parse_shard(" 4 / 4 ") == (4, 4)
    cases = {
        "0/4": "--shard 0/4: out of range: shards are numbered from 1 to 4; for a job array numbered "
        "from 0, give $((TASK_ID + 1))/4",
        "5/4": "--shard 5/4: out of range: shards are numbered from 1 to 4",
        "2/0": "--shard 2/0: the number of shards N must be at least 1",
        "/4": "--shard: expected I/N, shard I of N counted from 1 (for example 1/4), got '/4' (is the job "
        "array's task id variable empty?)",
        "1": "got '1'",
        "-1/4": "got '-1/4'",
        "a/b": "got 'a/b'",
        f"1/{RUNS + 1}": f"--shard 1/{RUNS + 1}: the sweep has {RUNS} runs, too few for {RUNS + 1} shards; "
        f"use at most {RUNS}",
    }
    for text, message in cases.items():
        out = tmp_path / "o"
        assert main(["sweep", str(exp), f"--shard={text}", "--out", str(out), "--quiet"]) == 2, text
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (text, err)
        assert not out.exists()
    code = main(["sweep", str(exp), "--shard", "2/2", "--out", str(tmp_path / "ok"), "--executor", "serial",
                 "--quiet"])  # fmt: skip
    assert code == 0 and "shard 2/2: 6 runs: 6 done now" in capsys.readouterr().out
    for flag in (["--shard", "1/2"], ["--resume"]):
        assert main(["sweep", str(exp), "--merge", str(tmp_path / "ok"), *flag]) == 2
        assert f"--merge: cannot be combined with {flag[0]}" in capsys.readouterr().err


# ----------------------------------------------------------------------------- merge refusals
def _missing(exp, shards, tmp_path):
    return [s for s in shards if s.name != "s3"], f"2 runs (index 2, 7) are in none of the folders given: shard 3/{N} is missing"  # fmt: skip


def _duplicated(exp, shards, tmp_path):
    shutil.copytree(shards[0], tmp_path / "s1-again")
    return [*shards, tmp_path / "s1-again"], (
        f"3 runs (index 0, 5, 10) are in more than one folder: {shards[0]} (shard 1/{N}) and "
        f"{tmp_path / 's1-again'} (shard 1/{N}); give each shard once"
    )


def _given_twice(exp, shards, tmp_path):
    return [*shards, shards[1]], f"{shards[1]}: given twice (as {shards[1]}); give each shard once"


def _another_experiment(exp, shards, tmp_path):
    other = write_exp(tmp_path, "other", base_seed=99)
    sweep(other, tmp_path / "other", shard=f"3/{N}")
    return [*shards[:2], tmp_path / "other", *shards[3:]], (
        f"{tmp_path / 'other'}: a sweep of another experiment (other, experiment sha256"
    )


def _another_split(exp, shards, tmp_path):
    sweep(exp, tmp_path / "four", shard="3/4")
    return [*shards[:2], tmp_path / "four", *shards[3:]], (
        f"{tmp_path / 'four'}: shard 3/4, but {shards[0]} is shard 1/{N}: shards of different splits"
    )


def _unfinished(exp, shards, tmp_path):
    shutil.rmtree(shards[2])

    def interrupted(chunks, workers=1):
        yield from sweep_mod.EXECUTORS["serial"](chunks[:1])
        raise KeyboardInterrupt

    sweep_mod.EXECUTORS["flaky"] = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(exp, out=shards[2], executor="flaky", progress=False, shard=f"3/{N}")
    finally:
        del sweep_mod.EXECUTORS["flaky"]
    return shards, f"{shards[2]}: shard 3/{N} is not finished (status 'interrupted'); run its command again"


def _corrupted_part(exp, shards, tmp_path):
    part = shards[1] / "parts" / "runs-000001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    return shards, f"{part}: checksum does not match the manifest (corrupted); run shard 2/{N}'s command"


def _corrupted_series(exp, shards, tmp_path):
    part = shards[1] / "series" / "part-000002.parquet"
    part.write_bytes(part.read_bytes()[:100])
    return shards, f"{shards[1] / 'parts' / 'runs-000002.parquet'}: its series part is missing or corrupted"


def _unrecorded_part(exp, shards, tmp_path):
    shutil.copyfile(shards[4] / "parts" / "runs-000001.parquet", shards[4] / "parts" / "runs-000009.parquet")
    return shards, f"{shards[4] / 'parts' / 'runs-000009.parquet'}: not recorded in the manifest"


def _corrupted_runs_table(exp, shards, tmp_path):
    runs = shards[0] / "runs.parquet"
    runs.write_bytes(runs.read_bytes()[:-10])
    return shards, f"{runs}: does not match its checksum in the manifest (corrupted)"


def _edit_manifest(shard: Path, **changes) -> None:
    m = manifest(shard)
    for key, value in changes.items():
        if key in ("sim", "numpy"):
            m["versions"][key] = value
        else:
            m[key] = value
    (shard / "manifest.json").write_text(json.dumps(m))


def _another_commit(exp, shards, tmp_path):
    _edit_manifest(shards[0], git_commit="aaaa")  # as if recorded (sim may run outside a git tree)
    _edit_manifest(shards[3], git_commit="0123abcd")
    return shards, f"{shards[3]}: computed with git commit 0123abcd, but {shards[0]} with aaaa; the shards"


def _another_numpy(exp, shards, tmp_path):
    _edit_manifest(shards[3], numpy="0.0.1")
    return shards, f"{shards[3]}: computed with numpy version 0.0.1, but {shards[0]} with "


def _another_scenario(exp, shards, tmp_path):
    _edit_manifest(shards[2], scenario_sha256="f" * 64)
    return shards, f"{shards[2]}: ran on another version of the scenario (scenario sha256 ffffffff"


def _the_whole_sweep(exp, shards, tmp_path):
    sweep(exp, tmp_path / "whole")
    return [tmp_path / "whole"], f"{tmp_path / 'whole'}: the whole sweep, not a shard"


def _not_a_sweep(exp, shards, tmp_path):
    (tmp_path / "empty").mkdir()
    return [*shards, tmp_path / "empty", tmp_path / "nowhere"], (
        f"{tmp_path / 'empty'}: not a sweep folder (no manifest.json)\n{tmp_path / 'nowhere'}: not a folder"
    )


REFUSALS: dict[str, Callable] = {
    "missing shard": _missing,
    "duplicated runs": _duplicated,
    "folder given twice": _given_twice,
    "shard of another experiment": _another_experiment,
    "shard of another split": _another_split,
    "unfinished shard": _unfinished,
    "corrupted part": _corrupted_part,
    "corrupted series part": _corrupted_series,
    "part not recorded": _unrecorded_part,
    "corrupted runs table": _corrupted_runs_table,
    "another git commit": _another_commit,
    "another numpy": _another_numpy,
    "another scenario": _another_scenario,
    "the whole sweep as a shard": _the_whole_sweep,
    "not a sweep": _not_a_sweep,
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_merge_that_cannot_give_the_whole_sweep_is_refused_and_writes_nothing(
    copies, tmp_path, capsys, case
):
    exp, shards = copies
    dirs, message = REFUSALS[case](exp, shards, tmp_path)
    before = snapshot(tmp_path)
    out = tmp_path / "merged"
    assert main(["sweep", str(exp), "--merge", *map(str, dirs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err
    assert not out.exists() and snapshot(tmp_path) == before  # nothing written, shards untouched


def test_a_merge_refuses_an_output_folder_that_is_not_this_sweeps(copies, tmp_path, capsys):
    exp, shards = copies
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    other = tmp_path / "other"
    sweep(write_exp(tmp_path, "other", base_seed=99), other)
    shard_copy = tmp_path / "s1-copy"
    shutil.copytree(shards[0], shard_copy)
    cases = {
        mine: f"{mine}: exists, is not empty and is not a sweep folder; choose another --out",
        other: f"{other}: holds a different experiment (other); choose another --out",
        shard_copy: f"{shard_copy}: holds shard 1/{N} of this experiment, not the whole sweep",
        shards[2]: f"{shards[2]}: the output folder overlaps the shard folder {shards[2]}",
        shards[2] / "merged": f"{shards[2] / 'merged'}: the output folder overlaps the shard folder",
    }
    for out, message in cases.items():
        before = snapshot(tmp_path)
        assert main(["sweep", str(exp), "--merge", *map(str, shards), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert snapshot(tmp_path) == before and not (shards[2] / "merged").exists()


def test_the_command_line_merge_exit_codes(copies, tmp_path):
    exp, shards = copies
    out = tmp_path / "merged"

    def merge(dirs: list[Path]) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--merge", *map(str, dirs), "--out", str(out)]
        return subprocess.run(cmd, capture_output=True, text=True)

    bad = merge(shards[:-1])
    assert bad.returncode == 2 and f"shard {N}/{N} is missing" in bad.stderr and "Traceback" not in bad.stderr
    assert not out.exists()
    good = merge(shards)
    assert good.returncode == 0, good.stderr
    assert f"merged {N} shards: {RUNS} runs, {RUNS} ok, 0 failed" in good.stdout
    assert read_runs(out)[0]["status"] == "finished"


def test_failed_runs_are_merged_as_data_and_the_merge_exits_1(tmp_path, capsys):
    exp = write_exp(
        tmp_path, vary={"states.A.capacities.discourse": [0.5, 1.7, 0.6]}, replications=1, every=None
    )
    assert main(["sweep", str(exp), "--out", str(tmp_path / "whole"), "--executor", "serial", "--quiet"]) == 1
    for i in (1, 2):
        code = main(["sweep", str(exp), "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}"), "--executor",
                     "serial", "--quiet"])  # fmt: skip
        assert code == (1 if i == 2 else 0)  # run index 1 fails: it is in shard 2/2
    capsys.readouterr()
    assert main(["sweep", str(exp), "--merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out",
                 str(tmp_path / "merged")]) == 1  # fmt: skip
    out = capsys.readouterr()
    assert "3 runs, 2 ok, 1 failed" in out.out and "got 1.7" in out.err
    a, b = (pq.read_table(tmp_path / d / "runs.parquet") for d in ("whole", "merged"))
    assert a.equals(b) and read_runs(tmp_path / "merged")[0]["counts"]["failed"] == 1
