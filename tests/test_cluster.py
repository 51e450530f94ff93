"""Runs on one BLAS thread wherever they execute, and sweeps and calibrations on a Dask
cluster (docs/performance.md): the same results as on one machine, and the recipe's job
script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import membership_rows
from threadpoolctl import threadpool_info, threadpool_limits

import sim.runner
from sim.experiments.executors import EXECUTORS
from sim.runner import RunTask, one_blas_thread

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"
JOINERS = ROOT / "tests" / "data" / "joiners.yaml"
DOC = ROOT / "docs" / "performance.md"
YEARS = list(range(2016, 2026))


def blas_threads() -> list[int]:
    return sorted({int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"})


# ----------------------------------------------------------------------------- one BLAS thread
def _probe_run(task):
    """Stands in for `run_task` in a worker: what the run's process computes with."""
    return {"run_id": task.run_id, "blas": blas_threads()}, []


def test_local_pool_workers_run_with_one_blas_thread(monkeypatch):
    """The driver has loaded numpy with several BLAS threads; the forked workers inherit its
    OpenBLAS, on which an environment variable set in the worker no longer acts."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        pytest.skip("the probe reaches the workers through fork")
    monkeypatch.setattr(sim.runner, "run_task", _probe_run)
    with threadpool_limits(limits=2, user_api="blas"):
        driver = blas_threads()
        chunks = [[RunTask(run_id=f"r{i}-{j}") for j in range(2)] for i in range(6)]
        rows = [row for results in EXECUTORS["local"](chunks, workers=2) for row, _ in results]
    assert len(rows) == 12
    assert all(row["blas"] == [1] for row in rows), rows
    if max(driver) > 1:  # a one-core machine has one thread anyway
        assert blas_threads() == driver  # the driver keeps its own


def test_one_blas_thread_holds_inside_and_restores_after():
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        with one_blas_thread():
            assert blas_threads() == [1]
            with one_blas_thread():
                assert blas_threads() == [1]
            assert blas_threads() == [1]
        assert blas_threads() == before


def test_sim_run_computes_with_one_blas_thread(monkeypatch):
    from sim.model import RuleMakingModel

    seen = []
    run = RuleMakingModel.run

    def probe(self, *a, **kw):
        seen.append(blas_threads())
        return run(self, *a, **kw)

    monkeypatch.setattr(RuleMakingModel, "run", probe)
    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        sim.runner.run_one(RunTask(str(SMALL), 1, 4))
        assert blas_threads() == before
    assert seen == [[1]]


# ----------------------------------------------------------------------------- the recipe
def recipe() -> dict:
    """The recipe script of docs/performance.md, as its own module (main() not run)."""
    code = re.search(r"```python\n(# cluster_sweep\.py.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code, "docs/performance.md: the cluster_sweep.py recipe is missing"
    ns: dict = {"__name__": "cluster_sweep"}
    exec(compile(code.group(1), "cluster_sweep.py", "exec"), ns)
    return ns


@pytest.mark.parametrize("kind", ["slurm", "pbs"])
def test_the_recipe_writes_job_scripts_with_its_resources_and_one_thread(kind):
    """dask-jobqueue writes the job script without the batch system being there."""
    pytest.importorskip("dask_jobqueue")
    cluster = recipe()["make_cluster"](
        kind, cores=4, memory="8GB", walltime="01:30:00", account="proj42", venv="/shared/venv"
    )
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    if kind == "slurm":
        assert {
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --mem=8G",
            "#SBATCH -t 01:30:00",
            "#SBATCH -A proj42",
        } <= set(lines)
    else:
        assert any(x.startswith("#PBS -l select=1:ncpus=4:mem=") for x in lines), script
        assert {"#PBS -l walltime=01:30:00", "#PBS -A proj42"} <= set(lines)
    for env in ("source /shared/venv/bin/activate", "export OPENBLAS_CORETYPE=Haswell",
                "export OPENBLAS_NUM_THREADS=1", "export OMP_NUM_THREADS=1"):  # fmt: skip
        assert env in lines, f"{env!r} not in the job script:\n{script}"
    worker = lines[-1]
    assert worker.startswith("/shared/venv/bin/python -m distributed.cli.dask_worker tcp://")
    assert "--nthreads 1" in worker and "--nworkers 4" in worker


# ----------------------------------------------------------------------------- on a cluster
def _sweep_file(tmp_path: Path) -> Path:
    exp = {
        "scenario": str(SMALL),
        "design": "factorial",
        "vary": {"model.synergy": [0.0, 1.0], "levers.EC.severity": [0.2, 0.8]},
        "replications": 2,
        "base_seed": 5,
        "chunk": 2,
        "metrics": {"a_share": "states.influence_share[A]", "align": "model.alignment_index"},
        "every": 2,
    }
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump(exp))
    return p


def _calibration_file(tmp_path: Path) -> Path:
    """A one-parameter calibration on the joiners world, against a record the model made."""
    from sim.calibration.simulate import Simulator
    from sim.calibration.spec import Target
    from sim.scenario.loader import load_scenario

    target = {"name": "club", "data": "club.csv", "observe": "membership", "forum": "Club",
              "rows": {"status": "member"}}  # fmt: skip
    sim_ = Simulator(str(JOINERS), ["membership.join_rate"], ["p0"], [Target(**target)], YEARS, seed=99)
    members = sim_.run({"p0": 0.3}, salt=7)["club"]
    rows = membership_rows([s.iso3 for s in load_scenario(JOINERS).states], members, YEARS)
    pd.DataFrame(rows).to_csv(tmp_path / "club.csv", index=False)
    doc = {
        "name": "club", "scenario": str(JOINERS), "parameters": ["membership.join_rate"], "targets": [target],
        "split": {"train": [2016, 2021], "test": [2022, 2025]}, "seed": 3,
        "quick": {"population": 8, "generations": 2, "replicates": 1, "predictive_draws": 4},
    }  # fmt: skip
    p = tmp_path / "calibration.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _sim(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _table(folder: Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(folder / name)
    keys = [c for c in ("run_id", "metric", "step") if c in df.columns]
    return df.sort_values(keys).reset_index(drop=True)


@pytest.mark.slow
def test_a_sweep_and_a_calibration_through_a_scheduler_equal_local_runs(tmp_path):
    """`sim sweep --executor dask --scheduler ADDR` and `sim calibrate --scheduler ADDR` on one
    LocalCluster (2 worker processes, 1 thread each) give the tables of local runs, and the
    workers that ran them compute with one BLAS thread."""
    from dask.distributed import Client, LocalCluster

    from sim.calibration.run import calibrate
    from sim.experiments.sweep import run_sweep

    exp = _sweep_file(tmp_path)
    cal = _calibration_file(tmp_path)
    run_sweep(exp, out=tmp_path / "local", workers=2, executor="local", progress=False)
    one = calibrate(cal, tmp_path / "one", quick=True, say=lambda _m: None)

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        addr = cluster.scheduler_address
        _sim("sweep", str(exp), "--executor", "dask", "--scheduler", addr, "--workers", "2",
             "--out", str(tmp_path / "dask"), "--quiet")  # fmt: skip
        _sim("calibrate", str(cal), "--quick", "--scheduler", addr, "--out", str(tmp_path / "many"))
        workers = list(client.scheduler_info()["workers"])
        assert len(workers) == 2
        for w in workers:  # every worker, even one that was handed nothing: after a task of its own
            client.submit(sim.runner.run_chunk, [], workers=[w], pure=False).result()
            info = client.submit(threadpool_info, workers=[w], pure=False).result()
            assert {i["num_threads"] for i in info if i["user_api"] == "blas"} == {1}, (w, info)

    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["counts"]["done"] == 8
    for name in ("runs.parquet", "series"):
        pd.testing.assert_frame_equal(_table(tmp_path / "local", name), _table(tmp_path / "dask", name))
    many = tmp_path / "many"
    assert json.loads((many / "manifest.json").read_text())["scheduler"] == addr
    for name in ("posterior.parquet", "predictive.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(one / name), pd.read_parquet(many / name))
    pd.testing.assert_frame_equal(pd.read_csv(one / "scores.csv"), pd.read_csv(many / "scores.csv"))
