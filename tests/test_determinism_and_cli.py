"""Same scenario + seed: identical tables and byte-identical Parquet; the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import BASE, build

from sim.runner import RunTask, run_one

FILES = [
    "emulation.parquet",
    "events.parquet",
    "forums.parquet",
    "influence_sources.parquet",
    "manifest.json",
    "model.parquet",
    "powers.parquet",
    "scenario.resolved.yaml",
    "states.parquet",
]


def test_same_seed_same_tables_different_seed_differs(raw):
    a, b, c = build(raw).run().tables(), build(raw).run().tables(), build(raw, seed=99).run().tables()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["states"]["influence"].equals(c["states"]["influence"])


def test_run_one_is_picklable_and_deterministic(tmp_path):
    import pickle

    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(BASE))
    cfg = RunTask(str(p), seed=5, steps=6)
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    r1, r2 = run_one(cfg), run_one({"scenario": str(p), "seed": 5, "steps": 6})
    assert r1.steps == 6 and r1.seed == 5 and r1.scenario_sha256 == r2.scenario_sha256
    pd.testing.assert_frame_equal(r1.tables["states"], r2.tables["states"])
    assert run_one(RunTask(str(p), seed=6, steps=6)).scenario_sha256 == r1.scenario_sha256  # seed excluded
    # only the tables asked for, the same as among all (the explorer's runs ask for two)
    few = run_one(cfg, tables=("states", "model"))
    assert set(few.tables) == {"states", "model"}
    for name in few.tables:
        pd.testing.assert_frame_equal(few.tables[name], r1.tables[name], check_exact=True)
    with pytest.raises(ValueError, match="unknown tables 'nope'"):
        run_one(cfg, tables=("states", "nope"))
    with pytest.raises(TypeError, match="a sequence of table names"):
        run_one(cfg, tables="states")


def _sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_run_end_to_end(tmp_path):
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(BASE))
    r = _sim("run", "small.yaml", "--seed", "3", "--out", "r1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "influence share" in r.stdout and "punching ratio" in r.stdout and "wrote r1" in r.stdout
    out = tmp_path / "r1"
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, ".sim-output"])  # the marker: ours
    man = json.loads((out / "manifest.json").read_text())
    for key in (
        "scenario",
        "scenario_sha256",
        "seed",
        "versions",
        "git_commit",
        "command",
        "started",
        "finished",
    ):
        assert key in man
    assert man["seed"] == 3 and man["steps"] == 12 and man["command"].startswith("sim run small.yaml")
    assert set(man["versions"]) >= {"sim", "mesa", "numpy"}
    states = pd.read_parquet(out / "states.parquet")
    assert list(states.columns[:14]) == [
        "step", "year", "state", "action", "influence", "influence_share", "resource_share",
        "punching_ratio", "rule_alignment", "followers", "compute", "data", "algorithms", "market",
    ]  # fmt: skip
    assert len(states) == 13 * 4 and states.step.min() == 0
    forums = pd.read_parquet(out / "forums.parquet")
    assert {"step", "year", "forum", "members", "weight", "hardness", "rights", "security"} <= set(
        forums.columns
    )
    model = pd.read_parquet(out / "model.parquet")
    assert {"alignment_index", "alignment[F1~F2]", "influence_hhi"} <= set(model.columns)
    meta = json.loads(pq.read_schema(out / "states.parquet").metadata[b"sim.provenance"])
    assert meta["seed"] == "3" and meta["scenario_sha256"] == man["scenario_sha256"]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["model"]["seed"] == 3 and resolved["paths"]["discourse"]["presidency_multiplier"] == 2.0

    # same scenario and seed: byte-identical data files, whatever the output folder
    assert _sim("run", "small.yaml", "--seed", "3", "--out", "r2", "--quiet", cwd=tmp_path).returncode == 0
    for name in FILES:
        if name.endswith(".parquet") or name.endswith(".yaml"):
            assert (out / name).read_bytes() == (tmp_path / "r2" / name).read_bytes(), name
    # a third run with another seed differs
    assert _sim("run", "small.yaml", "--seed", "4", "--out", "r3", "--quiet", cwd=tmp_path).returncode == 0
    assert (out / "states.parquet").read_bytes() != (tmp_path / "r3" / "states.parquet").read_bytes()
    # no stray partial folders
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # refusing to overwrite
    again = _sim("run", "small.yaml", "--out", "r1", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_cli_default_scenario_steps_and_set(tmp_path):
    r = _sim("run", "--steps", "32", "--set", "model.synergy=0", cwd=tmp_path)  # to the end of 2023
    assert r.returncode == 0, r.stderr
    (out,) = (tmp_path / "results").iterdir()
    assert out.name.startswith("baseline+model.synergy=0-")  # named after what --set changed
    man = json.loads((out / "manifest.json").read_text())
    assert man["steps"] == 32 and "--set model.synergy=0" in man["command"]
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text())["model"]["synergy"] == 0.0
    assert "Japan" in r.stdout and "levers at the end of the run:" in r.stdout
    assert (out / "dependence.parquet").exists() and (out / "powers.parquet").exists()
    powers = pd.read_parquet(out / "powers.parquet")
    assert {"step", "year", "lever", "type", "actor", "metric", "value"} == set(powers.columns)


def test_cli_runs_a_shipped_scenario_by_name(tmp_path):
    r = _sim("run", "no_synergy", "--steps", "2", "--out", "o", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["scenario"] == "no_synergy"


def test_cli_validate_and_help(tmp_path):
    repo = Path(__file__).resolve().parents[1]
    r = _sim("validate", str(repo / "scenarios" / "baseline.yaml"), cwd=tmp_path)
    assert r.returncode == 0 and "ok (21 states, 8 forums" in r.stdout
    h = _sim("--help", cwd=tmp_path)
    assert h.returncode == 0 and "run" in h.stdout and "validate" in h.stdout
    assert _sim(cwd=tmp_path).returncode == 2


def test_write_run_is_atomic_on_failure(tmp_path, monkeypatch):
    import sim.runner as runner

    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(BASE))
    result = run_one(RunTask(str(p), steps=2))

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_write_parquet", boom)
    with pytest.raises(KeyboardInterrupt):
        runner.write_run(result, tmp_path / "out", "sim run")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["s.yaml"]


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path, monkeypatch, capsys):
    """`sim run ... | head`: the pipe breaks while sim prints; the command ends with 141 (as
    when stopped by SIGPIPE) and no error message, and what it wrote is complete."""
    import io
    import sys

    from sim.cli import main

    class Gone(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Gone())
    assert main(["run", "baseline", "--steps", "4", "--out", str(tmp_path / "run")]) == 141
    assert capsys.readouterr().err == ""
    assert (tmp_path / "run" / "manifest.json").is_file()  # written before the summary is printed


def test_a_closed_pipe_on_stdout_ends_a_real_process_quietly(tmp_path):
    """The same in a real process with buffered stdout (no PYTHONUNBUFFERED): the pipe's
    reader is closed before sim writes, so the break shows when sim flushes its output."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "sim", "validate", "baseline"],
            stdout=write, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write)
    assert (r.returncode, r.stderr) == (141, "")
