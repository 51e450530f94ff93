"""Faults in a sweep's output (issue 14): damaged, extra and unrecorded parts, a damaged
manifest, a corrupt runs.parquet, a full disk, a sweep stopped before its first manifest; each
followed by the same command, which must give the uninterrupted sweep's tables, every run once.
The slow tests kill real processes: a driver with its workers, and the fault-injection script
(`benchmarks/fault_injection.py --quick`: kills, corruption, a full tmpfs, a lost Dask
scheduler)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sim.errors import OutputError, SimError
from sim.experiments.store import read_runs
from sim.experiments.sweep import run_sweep

HERE = Path(__file__).resolve().parent
SMALL = HERE / "data" / "small.yaml"
SCRIPT = HERE.parent / "benchmarks" / "fault_injection.py"
RUNS = 8  # 2 x 2 points x 2 replications, in 4 parts of 2 runs
KEYS = ["run_id", "metric", "step"]


def write_exp(folder: Path, **over) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "factorial",
        "vary": {"model.synergy": [0.0, 1.0], "levers.EC.severity": [0.2, 0.5]},
        "replications": 2,
        "base_seed": 3,
        "metrics": {"a_share": "states.influence_share[A]", "align": "model.alignment_index"},
        "every": 2,
        "chunk": 2,
    } | over
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def sweep(exp: Path, out: Path):
    return run_sweep(exp, out=out, executor="serial", progress=False)


def content(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """runs.parquet by run index, and every series part concatenated, by run, metric, step."""
    runs = pd.read_parquet(out / "runs.parquet").sort_values("index").reset_index(drop=True)
    parts = sorted((out / "series").glob("part-*.parquet"))
    series = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return runs, series.sort_values(KEYS, kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    exp = write_exp(folder)
    s = sweep(exp, folder / "reference")
    assert (s.ok, len(list((folder / "reference" / "parts").glob("runs-*.parquet")))) == (RUNS, 4)
    return exp, folder / "reference", content(folder / "reference")


@pytest.fixture
def finished(reference, tmp_path) -> tuple[Path, Path]:
    """A finished sweep to damage: a copy of the reference."""
    exp, ref, _ = reference
    shutil.copytree(ref, tmp_path / "out")
    return exp, tmp_path / "out"


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def flip(path: Path, at: float = 0.5, n: int = 4) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    for i in range(start, start + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def assert_same_as_reference(out: Path, reference) -> None:
    runs, series = content(out)
    want_runs, want_series = reference[2]
    assert runs["run_id"].is_unique and not series.duplicated(KEYS).any()
    pd.testing.assert_frame_equal(runs, want_runs)
    pd.testing.assert_frame_equal(series, want_series)
    assert manifest(out)["status"] == "finished"
    read_runs(out)  # runs.parquet matches its checksum


# ----------------------------------------------------------------------------- damaged output
def test_a_truncated_part_is_rejected_and_its_runs_rerun(finished, reference):
    exp, out = finished
    part = out / "parts" / "runs-000002.parquet"
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (2, RUNS - 2)
    assert (out / "rejected" / "runs-000002.parquet").exists()
    assert (out / "rejected" / "part-000002.parquet").exists()  # its series went with it
    assert any(r.startswith("runs-000002.parquet") for r in manifest(out)["rejected_parts"])
    assert_same_as_reference(out, reference)


def test_a_part_with_flipped_bytes_is_rejected(finished, reference):
    exp, out = finished
    flip(out / "parts" / "runs-000003.parquet")
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (2, RUNS - 2)
    assert (out / "rejected" / "runs-000003.parquet").exists()
    assert_same_as_reference(out, reference)


def test_a_series_part_with_flipped_bytes_is_rejected_with_its_runs(finished, reference):
    exp, out = finished
    flip(out / "series" / "part-000001.parquet", at=0.3)
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (2, RUNS - 2)
    assert (out / "rejected" / "runs-000001.parquet").exists()
    assert_same_as_reference(out, reference)


def test_an_extra_copy_of_a_part_does_not_duplicate_runs(finished, reference):
    exp, out = finished
    shutil.copyfile(out / "parts" / "runs-000001.parquet", out / "parts" / "runs-000005.parquet")
    shutil.copyfile(out / "series" / "part-000001.parquet", out / "series" / "part-000005.parquet")
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (0, RUNS)
    assert (out / "rejected" / "runs-000005.parquet").exists()
    assert not (out / "series" / "part-000005.parquet").exists()
    assert_same_as_reference(out, reference)


def test_a_part_renamed_but_not_recorded_is_rejected_and_rerun(finished, reference):
    """A driver killed between renaming a part into place and recording it in the manifest."""
    exp, out = finished
    m = manifest(out)
    del m["parts"]["runs-000004.parquet"]
    m["status"] = "running"
    (out / "manifest.json").write_text(json.dumps(m))
    (out / "runs.parquet").unlink()
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (2, RUNS - 2)
    assert any("not recorded" in r for r in manifest(out)["rejected_parts"])
    assert_same_as_reference(out, reference)


def test_a_half_written_part_left_by_a_killed_driver_does_not_count(finished, reference):
    """A driver killed while writing its last part: a hidden partial file, no part, no record."""
    exp, out = finished
    part = out / "parts" / "runs-000004.parquet"
    partial = out / "parts" / f".runs-000004.parquet.partial-{dead_pid()}"
    partial.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    part.unlink()
    (out / "series" / "part-000004.parquet").unlink()
    m = manifest(out)
    del m["parts"]["runs-000004.parquet"]
    (out / "manifest.json").write_text(json.dumps(m))
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (2, RUNS - 2)
    assert not partial.exists()  # removed when the same part was written again
    assert_same_as_reference(out, reference)


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_a_damaged_manifest_never_gives_wrong_results(finished, reference, damage):
    """Either refused, with the parts left as they were, or every run checked again."""
    exp, out = finished
    path = out / "manifest.json"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        flip(path, at=0.1)
    parts = sorted(p.name for p in (out / "parts").iterdir())
    try:
        sweep(exp, out)
    except SimError as exc:
        assert "manifest.json" in str(exc)
        assert sorted(p.name for p in (out / "parts").iterdir()) == parts and not (out / "rejected").exists()
    else:
        assert_same_as_reference(out, reference)


def test_a_corrupt_runs_parquet_is_refused_then_rebuilt_from_the_parts(finished, reference):
    exp, out = finished
    flip(out / "runs.parquet")
    with pytest.raises(SimError, match="does not match its checksum"):
        read_runs(out)
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (0, RUNS)
    assert_same_as_reference(out, reference)


# ----------------------------------------------------------------------------- stopped sweeps
def test_a_full_disk_stops_the_sweep_with_a_clear_error_and_the_rerun_finishes(
    reference, tmp_path, monkeypatch
):
    exp, out = reference[0], tmp_path / "out"
    real = pq.write_table
    calls = []

    def full(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) > 3:  # the series and runs of part 1, the series of part 2; then full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(OutputError, match="No space left on device") as exc:
        sweep(exp, out)
    assert exc.value.exit_code == 1 and "run the same command again" in str(exc.value)
    assert manifest(out)["status"] != "finished" and not (out / "runs.parquet").exists()
    assert not list(out.rglob(".*.partial-*"))
    monkeypatch.setattr(pq, "write_table", real)
    s = sweep(exp, out)
    assert (s.ok, s.skipped) == (RUNS - 2, 2)
    assert_same_as_reference(out, reference)


class Killed(BaseException):
    """Stands for SIGKILL: no `except Exception` catches it."""


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    "stopped", ["killed writing experiment.resolved.yaml", "disk full at the first manifest"]
)
def test_a_sweep_stopped_before_its_first_manifest_can_be_resumed(reference, tmp_path, monkeypatch, stopped):
    exp, out = reference[0], tmp_path / "out"
    real = os.replace
    killed = stopped.startswith("killed")

    def replace(src, dst, *args, **kwargs):
        if killed and str(dst).endswith("experiment.resolved.yaml"):
            raise Killed
        if not killed and str(dst).endswith("manifest.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(
        Killed if killed else OutputError, match=None if killed else "run the same command again"
    ):
        sweep(exp, out)
    monkeypatch.setattr(os, "replace", real)
    if killed:  # SIGKILL, unlike an exception, leaves the writer's partial file behind
        (out / f".experiment.resolved.yaml.partial-{dead_pid()}").write_text("name: x\n")
    assert not (out / "manifest.json").exists()
    s = sweep(exp, out)
    assert s.ok == RUNS
    assert_same_as_reference(out, reference)


# ----------------------------------------------------------------------------- real kills (slow)
def _kill_driver_mid_sweep(tmp_path: Path) -> tuple[subprocess.Popen, list[str], Path]:
    """Start a 2-worker sweep in a process group of its own and kill -9 its driver once the
    first part is written."""
    exp = write_exp(tmp_path, replications=25, every=None)  # 100 runs
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not list((out / "parts").glob("runs-*")):
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip("the sweep finished before the driver could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return proc, cmd, out


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for name in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if name.isdigit() and os.getpgid(int(name)) == pgid:
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    alive.append(int(name))
    return alive


@pytest.mark.slow
def test_the_same_command_finishes_a_sweep_whose_driver_was_killed(tmp_path):
    proc, cmd, out = _kill_driver_mid_sweep(tmp_path)
    try:
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
        assert " done before" in again.stdout and manifest(out)["status"] == "finished"
        runs = read_runs(out)[1]
        assert len(runs) == 100 and runs["run_id"].is_unique
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group this test started: orphans
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_workers_of_a_killed_driver_do_not_outlive_it(tmp_path):
    proc, _, _ = _kill_driver_mid_sweep(tmp_path)
    try:
        deadline = time.time() + 10
        while time.time() < deadline and _alive_in_group(proc.pid):
            time.sleep(0.1)
        assert not _alive_in_group(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_the_fault_injection_script_loses_duplicates_and_changes_nothing(tmp_path):
    """benchmarks/fault_injection.py --quick: every fault scenario, resumed, gives the
    uninterrupted sweep's tables byte for byte (its table is the failure message). It runs as a
    user would run it: without the OPENBLAS_CORETYPE that importing sim set in this process."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    report = tmp_path / "faults.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--seed", "14", "--workdir", str(tmp_path / "work")]
    done = subprocess.run([*cmd, "--json", str(report)], capture_output=True, text=True, env=env, timeout=900)
    table = done.stdout
    assert report.exists(), done.stderr[-3000:]
    scenarios = json.loads(report.read_text())
    counted = [s for s in scenarios if s["counted"] and not s["skipped"]]
    assert {s["key"] for s in counted} >= {"a", "b", "c", "d", "e", "f"}, table
    for s in counted:
        reps = s["reps"]
        lost, dup = sum(r["lost"] for r in reps), sum(r["duplicated"] for r in reps)
        differing = sum(len(r["differing"]) for r in reps)
        assert (lost, dup, differing) == (0, 0, 0), f"{s['key']}\n{table}"
        assert s["verdict"] == "pass", f"{s['key']}\n{table}"
    assert done.returncode == 0, table
