"""Reliability (issue 14): every output stays where it was asked for and never replaces what
sim did not write; one writer per sweep folder; work that cannot finish is refused before it
starts; a sweep says finished only when every run is present and verified; runs carry their
scenario. Each test is named after what it protects. (Hostile input documents:
test_hostile_input.py; killed and corrupted sweeps: test_faults.py.)"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.errors import OutputError, ScenarioError, SimError
from sim.experiments import sweep as sweep_mod
from sim.experiments.store import read_runs
from sim.experiments.sweep import run_sweep
from sim.io import MARKER, atomic, exclusive
from sim.scenario import load_scenario
from sim.yamlfile import read_yaml

SMALL = Path(__file__).resolve().parent / "data" / "small.yaml"


def _exp(tmp_path: Path, **over) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "factorial",
        "vary": {"model.synergy": [0.0, 0.5, 1.0]},
        "replications": 2,
        "base_seed": 5,
        "steps": 4,
        "metrics": {"a_share": "states.influence_share[A]"},
        "chunk": 1,
    } | over
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(exp))
    return p


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# ----------------------------------------------------------------------------- input files
def test_extends_reads_the_scenario_folder_tree_and_packaged_scenarios_only(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    folder = tmp_path / "study"
    (folder / "sub").mkdir(parents=True)
    (folder / "common.yaml").write_text("extends: baseline.yaml\nname: base\n")  # packaged, by name
    (folder / "sub" / "base.yaml").write_text("extends: ../common.yaml\nmodel: {synergy: 0.5}\n")
    (folder / "variant.yaml").write_text("extends: sub/base.yaml\nmodel: {seed: 3}\n")
    # within the first file's folder tree, chains may go down and back up; packaged by name
    sc = load_scenario(folder / "variant.yaml")
    assert (sc.model.synergy, sc.model.seed, len(sc.states)) == (0.5, 3, 21)
    # but not above the first file's folder
    (folder / "sub" / "up.yaml").write_text("extends: ../../secret.yaml\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder / "sub" / "up.yaml")
    msg = str(exc.value)
    assert "is outside the scenario's folder" in msg and "hunter2" not in msg
    (folder / "abs.yaml").write_text(f"extends: {secret}\n")
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        load_scenario(folder / "abs.yaml")
    # a symlink inside the folder that points outside it is outside too
    (folder / "link.yaml").symlink_to(secret)
    (folder / "via_link.yaml").write_text("extends: link.yaml\n")
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        load_scenario(folder / "via_link.yaml")


def test_input_files_are_limited_in_size_and_must_be_regular_files(tmp_path, monkeypatch):
    import sim.yamlfile

    with pytest.raises(ScenarioError, match="not a regular file"):
        read_yaml("/dev/zero")
    with pytest.raises(ScenarioError, match="not a regular file"):
        read_yaml(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 5000 + "\n")
    monkeypatch.setattr(sim.yamlfile, "MAX_FILE_BYTES", 1000)
    with pytest.raises(ScenarioError, match="input files are limited to 1,000"):
        read_yaml(big)


def test_aliases_cannot_expand_a_small_file_into_a_huge_document(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 2000
    with pytest.raises(ScenarioError, match="once aliases are expanded"):
        read_yaml(bomb)


def test_a_numeric_overflow_stops_the_run_instead_of_writing_wrong_numbers(tmp_path):
    p = tmp_path / "huge.yaml"
    p.write_text("extends: baseline.yaml\nstates:\n  - name: Japan\n    market: 1.0e300\n")
    out = tmp_path / "out"
    code = main(["run", str(p), "--steps", "8", "--out", str(out), "--quiet"])
    assert code == 2 and not out.exists()


# ----------------------------------------------------------------------------- size limits
def test_runs_and_sweeps_above_the_limits_are_refused_with_the_estimate_and_the_flag(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--steps", "20000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "more than 10,000 steps" in err and "--allow-large" in err and "per run" in err
    assert not out.exists()
    # a factorial of 10^12 runs is refused from its size alone, before its runs are listed
    values = list(range(1000))
    exp = _exp(
        tmp_path, vary={f"model.{k}": values for k in ("synergy", "seed", "steps_per_year", "start_year")}
    )
    with pytest.raises(SimError, match="more than 200,000 runs") as exc:
        run_sweep(exp, out=tmp_path / "sw", executor="serial", progress=False)
    assert "2,000,000,000,000 runs" in str(exc.value) and not (tmp_path / "sw").exists()


# ----------------------------------------------------------------------------- output folders
def test_compare_never_replaces_a_folder_sim_did_not_write(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d, seed in ((a, "1"), (b, "2")):
        assert main(["run", str(SMALL), "--seed", seed, "--out", str(d), "--quiet"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    assert main(["report", "--compare", str(a), str(b), "--out", str(mine)]) == 2
    assert (mine / "thesis.tex").read_text() == "years of work" and len(list(mine.iterdir())) == 1
    # a folder sim wrote is replaced; --force replaces another one
    ours = tmp_path / "ours"
    assert main(["report", "--compare", str(a), str(b), "--out", str(ours)]) == 0
    assert (ours / MARKER).exists() and (ours / "index.html").exists()
    assert main(["report", "--compare", str(a), str(b), "--out", str(ours)]) == 0
    assert main(["report", "--compare", str(a), str(b), "--out", str(mine), "--force"]) == 0
    assert not (mine / "thesis.tex").exists()


def test_a_sweep_refuses_an_output_folder_that_is_not_a_sweep(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "runs.parquet").write_bytes(b"someone else's data")
    with pytest.raises(SimError, match="is not a sweep folder"):
        run_sweep(_exp(tmp_path), out=other, executor="serial", progress=False)
    assert (other / "runs.parquet").read_bytes() == b"someone else's data"


def test_two_commands_cannot_write_one_sweep_folder_at_once(tmp_path):
    out = tmp_path / "sw"
    with exclusive(out, "sim sweep exp.yaml (the first)"), pytest.raises(SimError) as exc:
        run_sweep(_exp(tmp_path), out=out, executor="serial", progress=False)
    msg = str(exc.value)
    assert f"pid {os.getpid()}" in msg and "the first" in msg and "in use by" in msg
    assert not (out / "manifest.json").exists()
    s = run_sweep(_exp(tmp_path), out=out, executor="serial", progress=False)  # the lock went with it
    assert s.ok == 6


def test_an_unwritable_output_fails_before_the_simulation(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--out", str(blocker / "out")]) == 2
    assert "cannot create output here" in capsys.readouterr().err
    with pytest.raises(SimError, match="cannot create output here"):
        run_sweep(_exp(tmp_path), out=blocker / "sw", executor="serial", progress=False)
    assert blocker.read_text() == "x"


def test_partial_outputs_left_by_a_killed_process_are_removed_on_the_next_write(tmp_path):
    target = tmp_path / "report"
    dead = tmp_path / ".report.partial-999999999"  # no such process
    dead.mkdir()
    (dead / "half.html").write_text("<html")
    alive = tmp_path / f".report.partial-{os.getppid()}"  # a running process: kept
    alive.mkdir()
    atomic(target, lambda tmp: (tmp / "index.html").write_text("ok"), folder=True)
    assert not dead.exists() and alive.exists() and (target / "index.html").read_text() == "ok"


# ----------------------------------------------------------------------------- sweep status
def test_a_sweep_is_finished_only_when_every_run_is_present(tmp_path, monkeypatch):
    exp = _exp(tmp_path)
    out = tmp_path / "sw"
    serial = sweep_mod.EXECUTORS["serial"]

    def half(chunks, workers=1):  # an executor that stops early (a lost scheduler)
        yield from serial(chunks[: len(chunks) // 2], workers)

    monkeypatch.setitem(sweep_mod.EXECUTORS, "serial", half)
    with pytest.raises(OutputError, match="stopped with 3 of 6 runs done"):
        run_sweep(exp, out=out, executor="serial", progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and not (out / "runs.parquet").exists()
    with pytest.raises(SimError, match="not a finished sweep"):
        read_runs(out)
    monkeypatch.setitem(sweep_mod.EXECUTORS, "serial", serial)
    s = run_sweep(exp, out=out, executor="serial", progress=False)
    assert (s.ok, s.skipped) == (3, 3)
    manifest, runs = read_runs(out)
    assert manifest["status"] == "finished" and len(runs) == 6 and runs["run_id"].is_unique
    assert len(manifest["parts"]) == 6 and all(len(e["sha256"]) == 64 for e in manifest["parts"].values())


def test_a_corrupted_runs_table_is_refused_by_reports_and_rebuilt_by_resume(tmp_path):
    exp, out = _exp(tmp_path), tmp_path / "sw"
    run_sweep(exp, out=out, executor="serial", progress=False)
    before = pd.read_parquet(out / "runs.parquet")
    data = bytearray((out / "runs.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / "runs.parquet").write_bytes(bytes(data))
    assert main(["report", str(out)]) == 2
    s = run_sweep(exp, out=out, executor="serial", progress=False)
    assert (s.ok, s.skipped) == (0, 6)
    pd.testing.assert_frame_equal(read_runs(out)[1], before)


def test_sweep_tasks_carry_the_scenario_so_remote_workers_need_no_shared_folder(tmp_path):
    import shutil

    from sim.experiments import designs
    from sim.experiments.spec import load_experiment
    from sim.runner import run_task
    from sim.scenario.loader import read_scenario

    scen = tmp_path / "scen.yaml"
    shutil.copy(SMALL, scen)
    exp, path = load_experiment(_exp(tmp_path, scenario=str(scen)))
    tasks = designs.tasks(exp, str(path), "sha", read_scenario(str(path)))
    scen.unlink()  # a worker on another machine: the file is not there
    row, _ = run_task(tasks[0])
    assert row["status"] == "ok", row["error"]


def test_unknown_state_in_a_metric_fails_before_the_first_run(tmp_path):
    exp = _exp(tmp_path, metrics={"x": "states.influence_share[Atlantis]"})
    with pytest.raises(ScenarioError) as exc:
        run_sweep(exp, out=tmp_path / "sw", executor="serial", progress=False)
    assert re.search(r"exp\.yaml:\d+: metrics\.x: unknown state 'Atlantis'", str(exc.value))
    assert not (tmp_path / "sw").exists()


def test_a_bad_vary_value_is_located_in_the_experiment_file(tmp_path):
    exp = _exp(tmp_path, vary={"model.synergy": [0.5, -3.0]})
    with pytest.raises(ScenarioError) as exc:
        run_sweep(exp, out=tmp_path / "sw", executor="serial", progress=False)
    msg = str(exc.value)
    assert (
        re.match(rf"{re.escape(str(exp))}:\d+: vary\.model\.synergy: at -3\.0 \(model\.synergy\): ", msg)
        and "got -3.0" in msg
    )
    assert not (tmp_path / "sw").exists()


def test_leftovers_of_killed_runs_under_other_names_are_removed_too(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    stale = results / ".baseline-20260101-000000.partial-999999999"  # a killed `sim run`
    stale.mkdir()
    (stale / MARKER).write_text("")  # written first, so a killed run's partial folder carries it
    keep = results / ".notes.txt"  # not ours: the pattern does not match
    keep.write_text("x")
    atomic(results / "run2", lambda tmp: (tmp / "a").write_text("1"), folder=True)
    assert not stale.exists() and keep.exists()


# ----------------------------------------------------------------------------- from review
def test_cleanup_never_touches_hidden_files_that_are_not_sim_leftovers(tmp_path):
    (tmp_path / ".zshrc.old-2024").write_text("mine")
    photos = tmp_path / ".photos.partial-31337"  # our pattern, but no marker and another name
    photos.mkdir()
    (photos / "a.jpg").write_text("pic")
    (tmp_path / ".x.old-99999999999999999999999").write_text("huge pid")
    atomic(tmp_path / "out", lambda tmp: (tmp / "a").write_text("1"), folder=True)
    assert (tmp_path / ".zshrc.old-2024").exists() and (photos / "a.jpg").exists()
    assert (tmp_path / ".x.old-99999999999999999999999").exists()


def test_a_killed_drivers_lock_does_not_live_on_in_its_forked_workers(tmp_path):
    from sim.experiments.executors import init_worker

    folder = tmp_path / "sw"
    with exclusive(folder, "driver"):
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # a pool worker: it inherits the driver's descriptors
            init_worker()
            os.write(ready_w, b"1")
            os.read(go_r, 1)  # lingers until told
            os._exit(0)
        os.read(ready_r, 1)
    try:
        with exclusive(folder, "second"):  # the driver is gone; its worker still runs
            pass
    finally:
        os.write(go_w, b"x")
        os.waitpid(pid, 0)


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    sw = tmp_path / "sw"
    sw.mkdir()
    (sw / ".sim-lock").symlink_to(victim)
    with pytest.raises(SimError, match="lock file"):
        run_sweep(_exp(tmp_path), out=sw, executor="serial", progress=False)
    assert victim.read_text() == "precious"


def test_a_folder_with_a_manifest_that_is_not_a_sweeps_is_refused(tmp_path):
    for text in ("not json", "[1, 2]", '{"scenario": "x"}'):
        u = tmp_path / "u"
        u.mkdir(exist_ok=True)
        (u / "manifest.json").write_text(text)
        with pytest.raises(SimError, match="not a sweep"):
            run_sweep(_exp(tmp_path), out=u, executor="serial", progress=False)
        assert (u / "manifest.json").read_text() == text and not (u / "parts").exists()


def test_yaml_merge_keys_still_load_and_may_override(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(
        "extends: baseline.yaml\nx-cap: &cap {standards: 0.9, regulatory: 0.5, discourse: 0.1}\n"
        "states:\n  - name: United States\n    capacities:\n      <<: *cap\n      discourse: 0.7\n"
    )
    us = next(s for s in load_scenario(p).states if s.name == "United States")
    assert (us.capacities.standards, us.capacities.discourse) == (0.9, 0.7)


def test_yes_no_values_are_refused_inside_lists_and_mappings_too():
    for key, value in (
        ("states.Japan.position", [True, 0.5, 0.5, 0.5, 0.5]),
        ("states.Japan.policy", {"kind": "fixed", "mix": {"institutional": True, "discourse": 1}}),
    ):
        with pytest.raises(ScenarioError, match="not a yes/no value"):
            load_scenario(None, [(key, value)])


def test_a_failed_run_has_the_same_columns_in_the_same_order_as_an_ok_run():
    from sim.runner import RunTask, run_task

    metrics = {"a_share": "states.influence_share[A]"}
    ok, _ = run_task(
        RunTask(str(SMALL), seed=1, steps=2, metrics=metrics, overrides=(("model.synergy", 0.5),))
    )
    bad, _ = run_task(
        RunTask(str(SMALL), seed=1, steps=2, metrics=metrics, overrides=(("model.synergy", -5),))
    )
    assert (ok["status"], bad["status"]) == ("ok", "failed")
    assert list(ok) == list(bad)


def test_the_memory_estimate_counts_the_ledger_only_where_tables_are_built(tmp_path):
    """A 2,000-state world of 100 steps: refused for `sim run` (its tables need about 10 GB)
    but within the limits for a sweep, whose runs keep no ledger entries (about 0.6 GB)."""
    from sim.limits import MAX_RUN_BYTES, check_run, check_sweep, run_cost

    run, sweep = run_cost(2000, 100), run_cost(2000, 100, tables=False)
    assert run.bytes > MAX_RUN_BYTES > 4 * sweep.bytes
    with pytest.raises(SimError, match="GB per run"):
        check_run(2000, 100)
    assert check_sweep(10, 2000, 100).bytes == sweep.bytes


def test_replications_are_checked_against_the_sweep_limits_and_their_files():
    """`sim run --replications N` keeps every run's tables (about 1 kB per state and step), so
    their files count; a comparison writes none, but its 2N runs count as a sweep's."""
    from sim.limits import MAX_OUTPUT_BYTES, check_replications, output_bytes

    assert output_bytes(21, 60) == pytest.approx(1.26e6)  # the baseline's files: 1.3 MB measured
    check_replications(10_000, 21, 60)  # 12.6 GB: allowed
    with pytest.raises(SimError, match="would write too much") as exc:
        check_replications(20_000, 21, 60, what="20,000 replications of baseline")
    assert "about 25 GB" in str(exc.value) and "--allow-large" in str(exc.value)
    assert 20_000 * output_bytes(21, 60) > MAX_OUTPUT_BYTES
    check_replications(20_000, 21, 60, written=False)  # a comparison's runs write no tables
    check_replications(20_000, 21, 60, allow=True)
    with pytest.raises(SimError, match="more than 200,000 runs"):
        check_replications(200_002, 21, 60, written=False)
