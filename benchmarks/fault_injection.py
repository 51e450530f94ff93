"""Fault injection for sweeps (issue 14): kill, corrupt, fill the disk, lose the scheduler; then
resume and compare with an uninterrupted sweep.

A small factorial experiment on the baseline (48 runs, 8 steps, 3 metrics, series every 2
steps, chunks of 2 runs: about 24 parts) is swept once without interruption (the reference,
`--executor serial`), then once per repetition of each fault scenario, at points drawn from a
seeded random generator:

a. kill -9 the driver (`--executor local --workers 2`) after a random number of parts or a
   random delay, then run the same command again;
b. kill -9 one worker process, then run the same command again;
c. kill -9 during part writes: the driver kills itself (SIGKILL) at an exact point of a write
   (a part half written, written but not renamed, renamed but not recorded, a series part
   without its runs part, the manifest half written, before the first manifest, runs.parquet
   half written), or is killed from outside as soon as a new `.runs-*.partial-*` file appears;
d. truncate a file of a finished sweep (a copy of the reference) to half its bytes (a runs
   part, a series part, runs.parquet), then run the same command again;
e. flip random bytes in such a file, then run the same command again;
f. copy a part (and its series) as an extra part file, then run the same command again;
   f2 (tampering, reported but not counted in the exit status) also records the copy in the
   manifest, as a crash cannot;
i. (reported, not counted: issue 14 names parts) truncate or flip bytes in manifest.json,
   then run the same command again;
g. fill a small disk: a tmpfs with a size limit mounted by this script (as root; skipped with
   the reason when mounting is not permitted), too small for the sweep: the sweep must stop
   with a clear error (exit 1, no traceback, status not "finished"); then the tmpfs is
   remounted bigger, or the folder copied to a normal disk, and the sweep resumed;
h. kill -9 a Dask scheduler (`dask scheduler` and `dask worker` on a free localhost port) in
   the middle of `--executor dask --scheduler ...`: the sweep must not say it finished (exit
   non-zero, no traceback); then resume serially or on a new scheduler.

After each resume the output is compared with the reference: runs lost (in the reference,
missing from runs.parquet or from the series), runs duplicated (a run id twice in runs.parquet,
or a (run, metric, step) twice in series/), and the tables whose content differs (runs.parquet
sorted by run index; every series/part-*.parquet concatenated and sorted by run, metric,
step), by pandas `.equals` and by the bytes of a canonical form (Arrow IPC without metadata).
The manifest must say "finished" with the checksum of runs.parquet, and no command may print a
traceback. A resume that is refused (the folder in use, not a sweep folder) is a failure.

    python benchmarks/fault_injection.py [--quick] [--seed N] [--only a,c,h] [--workdir DIR] [--keep]
                                         [--json FILE]

Prints one table (scenario, repetitions, exit codes, runs lost, duplicated, differing tables,
bytes differing, problems, verdict) and exits 1 if any counted scenario fails. Linux only
(/proc, tmpfs); run it with the project's venv python.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

PY = sys.executable
TIMEOUT = 180.0  # seconds for any one command

EXPERIMENT = {
    "name": "fault_injection",
    "description": "issue 14: a small factorial with many parts, for fault injection",
    "scenario": "baseline",
    "design": "factorial",
    "vary": {
        "model.synergy": [0.0, 0.5, 1.0, 1.5],
        "levers.US chip controls 2022.severity": [0.2, 0.4, 0.6],
    },
    "replications": 4,
    "base_seed": 14,
    "steps": 8,
    "metrics": {
        "japan_share": "states.influence_share[Japan]",
        "china_compute": "states.compute[China]",
        "alignment": "model.alignment_index",
    },
    "every": 2,
    "chunk": 2,
}
N_RUNS = 4 * 3 * 4
N_PARTS = N_RUNS // 2  # chunks of 2 runs, with 1 or 2 workers

# The driver kills itself (SIGKILL) at an exact point of a write. Run as
# `python -c HOOK '{"point": ..., "nth": ...}' sweep EXP --out ...`; only the driver process
# (not the workers it forks) counts and dies.
HOOK = r"""
import json, os, signal, sys
import sim  # first, as `sim sweep` does: it pins the BLAS kernels before numpy loads
cfg = json.loads(sys.argv[1])
POINT, NTH, DRIVER = cfg["point"], cfg["nth"], os.getpid()
seen = 0

def hit():
    global seen
    if os.getpid() != DRIVER:
        return False
    seen += 1
    return seen == NTH

def die(half=None):
    if half is not None:
        os.truncate(half, os.path.getsize(half) // 2)
    os.kill(os.getpid(), signal.SIGKILL)

import pyarrow.parquet as pq
_write_table = pq.write_table

def write_table(table, where, *args, **kwargs):
    _write_table(table, where, *args, **kwargs)
    name = os.path.basename(str(where))
    if POINT == "part half written" and name.startswith(".runs-") and ".partial-" in name and hit():
        die(half=str(where))

pq.write_table = write_table
_replace = os.replace

def replace(src, dst, *args, **kwargs):
    dst = str(dst)
    name, parent = os.path.basename(dst), os.path.basename(os.path.dirname(dst))
    part = parent == "parts" and name.startswith("runs-")
    if POINT == "part written, not renamed" and part and hit():
        die()
    if POINT == "manifest half written" and name == "manifest.json" and hit():
        die(half=str(src))
    if POINT == "before the first manifest" and name == "experiment.resolved.yaml" and hit():
        die()
    if POINT == "runs.parquet half written" and name == "runs.parquet" and hit():
        die(half=str(src))
    _replace(src, dst, *args, **kwargs)
    if POINT == "part renamed, not recorded" and part and hit():
        die()
    if POINT == "series part without its runs part" and parent == "series" and hit():
        die()

os.replace = replace
from sim.cli import main
sys.exit(main(sys.argv[2:]))
"""
HOOK_POINTS = {  # point -> the range of its occurrence to die at
    "part half written": (1, N_PARTS - 1),
    "part written, not renamed": (1, N_PARTS - 1),
    "part renamed, not recorded": (1, N_PARTS - 1),
    "series part without its runs part": (1, N_PARTS - 1),
    "manifest half written": (2, N_PARTS),
    "before the first manifest": (1, 1),
    "runs.parquet half written": (1, 1),
}


# ----------------------------------------------------------------------------- results
@dataclass
class Cmd:
    what: str
    argv: list[str]
    rc: int | None  # None: timed out (then killed)
    out: str
    err: str
    seconds: float


@dataclass
class Rep:
    variant: str
    fault_rcs: list[int | None] = field(default_factory=list)
    resume_rcs: list[int | None] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    differing: list[str] = field(default_factory=list)
    bytes_differing: int = 0
    problems: list[str] = field(default_factory=list)  # failures
    notes: list[str] = field(default_factory=list)  # information


@dataclass
class Scenario:
    key: str
    title: str
    counted: bool = True  # counted in the exit status
    reps: list[Rep] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.reps)

    @property
    def duplicated(self) -> int:
        return sum(r.duplicated for r in self.reps)

    @property
    def differing(self) -> int:
        return sum(len(r.differing) for r in self.reps)

    @property
    def bytes_differing(self) -> int:
        return sum(r.bytes_differing for r in self.reps)

    @property
    def problems(self) -> int:
        return sum(len(r.problems) for r in self.reps)

    @property
    def verdict(self) -> str:
        if self.skipped:
            return "skipped"
        bad = self.lost or self.duplicated or self.differing or self.problems or not self.reps
        return "FAIL" if bad else "pass"


# ----------------------------------------------------------------------------- comparison
def canonical_bytes(df: pd.DataFrame) -> bytes:
    """The content of a table as bytes: Arrow IPC of its columns, without schema metadata
    (Parquet files of equal content may differ in their metadata)."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def bytes_apart(a: bytes, b: bytes) -> int:
    """How many bytes differ (position by position, plus the difference in length)."""
    n = min(len(a), len(b))
    same = np.frombuffer(a[:n], np.uint8) == np.frombuffer(b[:n], np.uint8)
    return int(n - same.sum()) + abs(len(a) - len(b))


def how_apart(want: pd.DataFrame, got: pd.DataFrame) -> str:
    """A short diagnosis of two tables that differ."""
    if list(want.columns) != list(got.columns) or len(want) != len(got):
        return f"shape {want.shape} vs {got.shape}"
    cols = [c for c in want.columns if not want[c].equals(got[c])]
    num = [c for c in cols if pd.api.types.is_float_dtype(want[c]) and pd.api.types.is_float_dtype(got[c])]
    if cols and num == cols:
        rel = ((want[num] - got[num]).abs() / want[num].abs().clip(lower=1e-300)).max().max()
        rows = int((want[num] != got[num]).any(axis=1).sum())
        return f"{rows} rows, float columns {num}, max relative difference {rel:.1e}"
    return f"columns {cols}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_runs(folder: Path) -> pd.DataFrame | None:
    path = folder / "runs.parquet"
    if not path.exists():
        return None
    return pd.read_parquet(path).sort_values("index", kind="stable").reset_index(drop=True)


def read_series(folder: Path) -> pd.DataFrame | None:
    """Every series part a reader of the folder would see, concatenated and sorted."""
    parts = sorted((folder / "series").glob("part-*.parquet"))
    if not parts:
        return None
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return df.sort_values(["run_id", "metric", "step"], kind="stable").reset_index(drop=True)


@dataclass
class Reference:
    runs: pd.DataFrame
    series: pd.DataFrame
    runs_sha256: str

    @classmethod
    def of(cls, folder: Path) -> Reference:
        runs, series = read_runs(folder), read_series(folder)
        if runs is None or series is None or len(runs) != N_RUNS:
            raise RuntimeError(f"{folder}: the reference sweep is incomplete")
        return cls(runs, series, sha256(folder / "runs.parquet"))


def compare(ref: Reference, folder: Path, rep: Rep) -> None:
    """Runs lost and duplicated, tables that differ from the reference, and the manifest."""
    keys = ["run_id", "metric", "step"]
    runs, series = read_runs(folder), read_series(folder)
    lost: set[str] = set(ref.runs["run_id"])
    dup: set[str] = set()
    if runs is not None:
        lost -= set(runs["run_id"])
        dup |= set(runs.loc[runs["run_id"].duplicated(), "run_id"])
    if series is None:
        lost |= set(ref.series["run_id"])
    else:
        have = set(map(tuple, series[keys].itertuples(index=False)))
        lost |= {k[0] for k in map(tuple, ref.series[keys].itertuples(index=False)) if k not in have}
        dup |= set(series.loc[series.duplicated(keys), "run_id"])
    rep.lost, rep.duplicated = len(lost), len(dup)
    for name, want, got in (("runs", ref.runs, runs), ("series", ref.series, series)):
        a = canonical_bytes(want)
        if got is None:
            rep.differing.append(name)
            rep.bytes_differing += len(a)
            continue
        b = canonical_bytes(got)
        if not (want.equals(got) and a == b):
            rep.differing.append(name)
            rep.bytes_differing += bytes_apart(a, b)
            rep.notes.append(f"{name} differs: {how_apart(want, got)}")
    if (
        runs is not None
        and "runs" not in rep.differing
        and sha256(folder / "runs.parquet") != ref.runs_sha256
    ):
        rep.notes.append("runs.parquet: same content, other file bytes than the reference's")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        rep.problems.append(f"manifest.json unreadable after the resume ({type(exc).__name__})")
        return
    if manifest.get("status") != "finished":
        rep.problems.append(f"manifest status after the resume: {manifest.get('status')!r}")
    elif runs is not None and manifest.get("runs_sha256") != sha256(folder / "runs.parquet"):
        rep.problems.append("runs.parquet does not match runs_sha256 in the manifest")
    left = [p.name for p in folder.rglob(".*.partial-*")] + [p.name for p in folder.rglob(".*.old-*")]
    if left:
        rep.notes.append(f"left over after the resume: {len(left)} hidden partial file(s)")


# ----------------------------------------------------------------------------- processes
def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _pgid(int(name)) == pgid:
            try:
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                out.append(int(name))
    return out


def children(pid: int) -> list[int]:
    """The worker processes of a sweep driver (its children but the resource tracker)."""
    try:
        import psutil

        kids = []
        for c in psutil.Process(pid).children():
            with contextlib.suppress(psutil.Error):
                if "resource_tracker" not in " ".join(c.cmdline()):
                    kids.append(c.pid)
        return kids
    except ImportError:
        pass
    except Exception:
        return []
    kids = []
    for f in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            kids += [int(x) for x in f.read_text().split()]
    out = []
    for k in kids:
        with contextlib.suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes():
                out.append(k)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def n_parts(out: Path) -> int:
    try:
        return sum(1 for e in os.scandir(out / "parts") if e.name.startswith("runs-"))
    except FileNotFoundError:
        return 0


def wait_for(pred: Callable[[], bool], proc: subprocess.Popen | None, timeout: float, every: float) -> bool:
    """Poll `pred` until it holds (True), `proc` ends or the time is up (False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return pred()
        time.sleep(every)
    return False


def summary_counts(out: str) -> tuple[int, int] | None:
    """(done now, done before) from the sweep's summary line."""
    m = re.search(r"(\d+) runs: (\d+) done now, (\d+) done before", out)
    return (int(m.group(2)), int(m.group(3))) if m else None


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:240] if lines else ""


class Lab:
    """The folders and processes of one session. Every command runs in a process group of
    its own, so that it and its children (and only they) can be cleaned up."""

    def __init__(self, work: Path, log: Callable[[str], None]) -> None:
        self.work = work
        self.log = log
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.exp = work / "fault_injection.yaml"
        self.exp.write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False), encoding="utf-8")
        self.groups: list[int] = []
        self.running: dict[int, tuple] = {}  # pid -> what, argv, log stem, files, start
        self.mounts: list[Path] = []
        self.n = 0
        self.env = {k: v for k, v in os.environ.items() if k != "SIM_DEBUG"}
        import sim

        if sim.BLAS_KERNEL:  # hand-started `dask worker`s need it (docs/reliability.md)
            self.env["OPENBLAS_CORETYPE"] = "Haswell"

    def sweep(self, out: Path, *extra: str) -> list[str]:
        return [PY, "-m", "sim", "sweep", str(self.exp), "--out", str(out), "--quiet", *extra]

    def local(self, out: Path) -> list[str]:
        return self.sweep(out, "--executor", "local", "--workers", "2")

    def start(self, argv: list[str], what: str) -> subprocess.Popen:
        self.n += 1
        stem = self.logs / f"{self.n:03d}-{re.sub(r'[^A-Za-z0-9]+', '_', what)}"
        out = open(f"{stem}.out", "w")  # noqa: SIM115 (closed in finish)
        err = open(f"{stem}.err", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=self.work, env=self.env,
            start_new_session=True,
        )  # fmt: skip
        self.running[proc.pid] = (what, argv, stem, out, err, time.monotonic())
        self.groups.append(proc.pid)
        return proc

    def finish(self, proc: subprocess.Popen, timeout: float = TIMEOUT) -> Cmd:
        what, argv, stem, out, err, t0 = self.running.pop(proc.pid)
        try:
            rc: int | None = proc.wait(timeout=max(1.0, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            self.kill_group(proc.pid)
            proc.wait()
            rc = None
        out.close()
        err.close()
        return Cmd(
            what, argv, rc, Path(f"{stem}.out").read_text(errors="replace"),
            Path(f"{stem}.err").read_text(errors="replace"), round(time.monotonic() - t0, 2),
        )  # fmt: skip

    def run(self, argv: list[str], what: str, timeout: float = TIMEOUT) -> Cmd:
        return self.finish(self.start(argv, what), timeout)

    def kill_group(self, pgid: int, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def cleanup(self) -> None:
        for g in self.groups:
            if group_members(g):
                self.kill_group(g)
        self.groups.clear()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        self.mounts.clear()


def check(cmd: Cmd, rep: Rep) -> None:
    """Problems any command may show: a traceback, an internal error, a timeout."""
    if cmd.rc is None:
        rep.problems.append(f"{cmd.what}: timed out after {TIMEOUT:.0f} s (killed)")
    if "Traceback" in cmd.err:
        rep.problems.append(f"{cmd.what}: a traceback on stderr (ends: {last_line(cmd.err)!r})")
    if "internal error" in cmd.err:
        rep.problems.append(f"{cmd.what}: {last_line(cmd.err)!r}")


def resume(lab: Lab, argv: list[str], what: str, rep: Rep, killed: tuple[int, ...] = ()) -> Cmd:
    """Run the same command again. If it is refused because the folder is in use while
    processes of the killed command are still alive, that is a failure; they are then killed
    (the user's way out) and the command run once more, to measure what was kept."""
    cmd = lab.run(argv, what)
    check(cmd, rep)
    rep.resume_rcs.append(cmd.rc)
    if cmd.rc != 0 and "in use by" in cmd.err:
        left = [p for g in killed for p in group_members(g)]
        rep.problems.append(
            f"resume refused, exit {cmd.rc}: {last_line(cmd.err)[:150]!r}"
            + (f" ({len(left)} process(es) of the killed sweep still alive)" if left else "")
        )
        if left:
            for g in killed:
                lab.kill_group(g)
            wait_for(lambda: not any(group_members(g) for g in killed), None, 10, 0.05)
            cmd = lab.run(argv, f"{what} again")
            check(cmd, rep)
            rep.resume_rcs.append(cmd.rc)
    elif cmd.rc != 0:
        rep.problems.append(f"resume exited {cmd.rc}: {last_line(cmd.err)!r}")
    return cmd


def orphans_after(lab: Lab, proc: subprocess.Popen, rep: Rep) -> None:
    """Processes of a sweep that outlive it (forked workers of a killed driver)."""
    time.sleep(0.3)
    left = group_members(proc.pid)
    if left:
        rep.notes.append(f"{len(left)} process(es) of the killed sweep still alive after it")


# ----------------------------------------------------------------------------- scenarios
def kill_driver(lab: Lab, ref: Reference, rng: random.Random, i: int) -> Rep:
    out = lab.work / f"a{i}"
    argv = lab.local(out)
    proc = lab.start(argv, f"a{i} killed driver")
    if i % 2 == 0:
        k = rng.randint(1, N_PARTS - 2)
        rep = Rep(f"kill -9 the driver after {k} parts")
        wait_for(lambda: n_parts(out) >= k, proc, TIMEOUT, 0.002)
    else:
        delay = rng.uniform(0.2, 3.0)
        rep = Rep(f"kill -9 the driver after {delay:.2f} s")
        wait_for(lambda: False, proc, delay, 0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    else:
        rep.notes.append("the sweep ended before the kill")
    cmd = lab.finish(proc)
    check(cmd, rep)
    rep.fault_rcs.append(cmd.rc)
    orphans_after(lab, proc, rep)
    resume(lab, argv, f"a{i} resume", rep, killed=(proc.pid,))
    compare(ref, out, rep)
    return rep


def kill_worker(lab: Lab, ref: Reference, rng: random.Random, i: int) -> Rep:
    out = lab.work / f"b{i}"
    argv = lab.local(out)
    proc = lab.start(argv, f"b{i} killed worker")
    k = rng.randint(1, N_PARTS // 2)
    rep = Rep(f"kill -9 a worker after {k} parts")
    wait_for(lambda: n_parts(out) >= k, proc, TIMEOUT, 0.002)
    kids = children(proc.pid) if proc.poll() is None else []
    if kids:
        os.kill(rng.choice(kids), signal.SIGKILL)
    else:
        rep.notes.append("no worker to kill: the sweep ended first")
    cmd = lab.finish(proc)
    check(cmd, rep)
    rep.fault_rcs.append(cmd.rc)
    if kids and cmd.rc == 0:
        rep.notes.append("the sweep finished despite the kill")
    elif kids and (cmd.rc != 1 or "a worker process died" not in cmd.err):
        rep.problems.append(f"killed worker: exit {cmd.rc}, {last_line(cmd.err)!r}")
    orphans_after(lab, proc, rep)
    resume(lab, argv, f"b{i} resume", rep, killed=(proc.pid,))
    compare(ref, out, rep)
    return rep


def kill_in_write(lab: Lab, ref: Reference, rng: random.Random, i: int, point: str) -> Rep:
    out = lab.work / f"c{i}"
    argv = lab.local(out)
    if point == "poll":
        skip = rng.randint(0, N_PARTS - 2)
        rep = Rep(f"kill -9 from outside as partial part #{skip + 1} appears")
        proc = lab.start(argv, f"c{i} killed in a write")
        seen: set[str] = set()
        parts = out / "parts"
        while proc.poll() is None:
            try:
                names = os.listdir(parts)
            except FileNotFoundError:
                time.sleep(0.001)
                continue
            seen |= {n for n in names if n.startswith(".runs-") and ".partial-" in n}
            if len(seen) > skip:
                os.kill(proc.pid, signal.SIGKILL)
                break
        cmd = lab.finish(proc)
        if cmd.rc == 0:
            rep.notes.append("the sweep ended before the kill")
        elif any(parts.glob(".runs-*.partial-*")):
            rep.notes.append("killed while a part was being written (its partial file remains)")
        else:
            rep.notes.append("killed just after a part write (no partial file remains)")
    else:
        lo, hi = HOOK_POINTS[point]
        nth = rng.randint(lo, hi)
        rep = Rep(f"SIGKILL at: {point}" + (f" (#{nth})" if hi > lo else ""))
        hook = [PY, "-c", HOOK, json.dumps({"point": point, "nth": nth}), *argv[3:]]
        proc = lab.start(hook, f"c{i} {point}")
        cmd = lab.finish(proc)
        if cmd.rc != -signal.SIGKILL:
            rep.problems.append(f"the hook did not fire (exit {cmd.rc}, {last_line(cmd.err)!r})")
    check(cmd, rep)
    rep.fault_rcs.append(cmd.rc)
    orphans_after(lab, proc, rep)
    resume(lab, argv, f"c{i} resume", rep, killed=(proc.pid,))
    compare(ref, out, rep)
    return rep


TARGETS = ("runs part", "series part", "runs.parquet")  # manifest.json: scenario i


def damage(lab: Lab, ref: Reference, rng: random.Random, key: str, i: int, how: str, target: str) -> Rep:
    """Damage a file of a finished sweep (a copy of the reference; `how`: truncate, flip, copy,
    copy+record), then run the same command again: damaged parts go to rejected/ and their
    runs are run again."""
    out = lab.work / f"{key}{i}"
    shutil.copytree(lab.work / "reference", out, symlinks=True)  # a finished sweep
    argv = lab.sweep(out, "--executor", "serial")
    rep = Rep(f"{how}: {target}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    runs_parts = sorted((out / "parts").glob("runs-*.parquet"))
    part = rng.choice(runs_parts)
    number = part.stem.split("-")[1]
    rows = manifest["parts"][part.name]["rows"]
    expect_rerun: int | None = None
    rejected: str | None = None
    if target == "runs part":
        path, expect_rerun, rejected = part, rows, part.name
    elif target == "series part":
        path, expect_rerun, rejected = out / "series" / f"part-{number}.parquet", rows, part.name
    elif target == "runs.parquet":
        path, expect_rerun = out / "runs.parquet", 0
    else:
        path = out / "manifest.json"
        expect_rerun = N_RUNS if how == "truncate" else None  # a flipped byte may keep it readable
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "flip":
        offsets = sorted(rng.sample(range(len(data)), rng.randint(1, 8)))
        for o in offsets:
            data[o] ^= rng.randint(1, 255)
        path.write_bytes(bytes(data))
        rep.variant += f" ({len(offsets)} bytes)"
    else:  # an extra copy of a part (and its series) under the next free number
        last = max(int(p.stem.split("-")[1]) for p in runs_parts)
        extra = f"{last + 1:06d}"
        shutil.copyfile(part, out / "parts" / f"runs-{extra}.parquet")
        shutil.copyfile(out / "series" / f"part-{number}.parquet", out / "series" / f"part-{extra}.parquet")
        expect_rerun, rejected = 0, f"runs-{extra}.parquet"
        if how == "copy, recorded in the manifest":
            manifest["parts"][f"runs-{extra}.parquet"] = dict(manifest["parts"][part.name])
            (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            rejected = None
    again = resume(lab, argv, f"{key}{i} rerun", rep)
    counts = summary_counts(again.out)
    if again.rc == 0 and expect_rerun is not None and (counts is None or counts[0] != expect_rerun):
        rep.problems.append(f"expected {expect_rerun} runs rerun, the summary says {counts}")
    if rejected is not None and not (out / "rejected" / rejected).exists():
        rep.problems.append(f"{rejected} was not moved to rejected/")
    compare(ref, out, rep)
    return rep


def full_disk(lab: Lab, ref: Reference, rng: random.Random, i: int, size_k: int) -> Rep:
    if os.geteuid() != 0:
        raise Skip("not root: cannot mount a tmpfs")
    mnt = lab.work / f"g{i}-disk"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_k}k,mode=0755", "tmpfs", str(mnt)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        raise Skip(f"cannot mount a tmpfs: {last_line(mounted.stderr) or mounted.returncode}")
    lab.mounts.append(mnt)
    remount = i % 2 == 0
    rep = Rep(f"{size_k} kB tmpfs, then " + ("remounted at 16 MB" if remount else "copied to a normal disk"))
    out = mnt / "out"
    argv = lab.local(out)
    cmd = lab.run(argv, f"g{i} full disk")
    check(cmd, rep)
    rep.fault_rcs.append(cmd.rc)
    try:
        status = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        status = None
    if cmd.rc == 0:
        rep.notes.append(f"the sweep fit in {size_k} kB")
    elif cmd.rc != 1 or not cmd.err.startswith("error:") or "space" not in cmd.err:
        rep.problems.append(f"full disk: exit {cmd.rc}, unclear message {last_line(cmd.err)!r}")
    if cmd.rc != 0 and status == "finished":
        rep.problems.append("the manifest says finished after a full disk")
    rep.notes.append(f"manifest status on the full disk: {status!r}")
    if remount:
        subprocess.run(["mount", "-o", "remount,size=16m", str(mnt)], check=True, capture_output=True)
    else:
        copy = lab.work / f"g{i}-copy"
        shutil.copytree(out, copy, symlinks=True)
        out, argv = copy, lab.local(copy)
    resume(lab, argv, f"g{i} resume", rep)
    compare(ref, out, rep)
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    lab.mounts.remove(mnt)
    return rep


def dask_cluster(lab: Lab, what: str) -> tuple[str, subprocess.Popen, subprocess.Popen]:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise Skip("dask.distributed is not installed") from None
    port = free_port()
    sched = lab.start(
        [PY, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        f"{what} scheduler",
    )
    if not wait_for(lambda: port_open(port), sched, 60, 0.1):
        raise RuntimeError(f"the Dask scheduler did not start on port {port}")
    addr = f"tcp://127.0.0.1:{port}"
    workers = lab.start(
        [PY, "-m", "dask", "worker", addr, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
         "--death-timeout", "30"],
        f"{what} workers",
    )  # fmt: skip
    return addr, sched, workers


def kill_scheduler(lab: Lab, ref: Reference, rng: random.Random, i: int) -> Rep:
    out = lab.work / f"h{i}"
    addr, sched, workers = dask_cluster(lab, f"h{i}")
    argv = lab.sweep(out, "--executor", "dask", "--scheduler", addr)
    k = rng.randint(1, N_PARTS // 2)
    serial = i % 2 == 0
    rep = Rep(f"kill -9 the scheduler after {k} parts, resume " + ("serially" if serial else "on a new one"))
    proc = lab.start(argv, f"h{i} dask sweep")
    wait_for(lambda: n_parts(out) >= k, proc, TIMEOUT, 0.005)
    if proc.poll() is None:
        os.kill(sched.pid, signal.SIGKILL)
    else:
        rep.notes.append("the sweep ended before the scheduler was killed")
    cmd = lab.finish(proc)
    check(cmd, rep)
    rep.fault_rcs.append(cmd.rc)
    try:
        status = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        status = None
    if cmd.rc != 0:
        rep.notes.append(f"manifest status: {status!r}; says: {last_line(cmd.err)[:160]!r}")
        if status == "finished" or "wrote" in cmd.out:
            rep.problems.append("the sweep says it finished after its scheduler was killed")
        if "Free space" in cmd.err or "cannot write" in cmd.err:
            rep.problems.append(
                "a lost scheduler reported as a write failure ('cannot write ... Free space')"
            )
    for p in (sched, workers):
        lab.kill_group(p.pid)
    if serial:
        resume(lab, lab.sweep(out, "--executor", "serial"), f"h{i} resume serial", rep)
    else:
        addr2, sched2, workers2 = dask_cluster(lab, f"h{i} new")
        resume(lab, lab.sweep(out, "--executor", "dask", "--scheduler", addr2), f"h{i} resume dask", rep)
        for p in (sched2, workers2):
            lab.kill_group(p.pid, signal.SIGTERM)
    compare(ref, out, rep)
    return rep


# ----------------------------------------------------------------------------- session
def plan(quick: bool) -> dict[str, int]:
    if quick:
        return {
            "a": 2,
            "b": 2,
            "c_poll": 1,
            "c_hook_rounds": 1,
            "d": 3,
            "e": 3,
            "f": 1,
            "f2": 1,
            "i": 2,
            "g": 2,
            "h": 1,
        }
    return {
        "a": 6,
        "b": 5,
        "c_poll": 4,
        "c_hook_rounds": 2,
        "d": 6,
        "e": 6,
        "f": 3,
        "f2": 1,
        "i": 2,
        "g": 4,
        "h": 3,
    }


class Skip(Exception):
    """A scenario that cannot run here (the reason)."""


def run(
    quick: bool = False,
    seed: int = 14,
    workdir: Path | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
    only: set[str] | None = None,
) -> list[Scenario]:
    """Run every scenario (or those whose keys are in `only`); the scenarios with their
    repetitions."""
    n = plan(quick)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="sim-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    lab = Lab(work, log)
    scenarios: list[Scenario] = []

    def scenario(
        key: str, title: str, reps: Sequence[Callable[[random.Random], Rep]], counted: bool = True
    ) -> None:
        if only and key not in only:
            return
        scen = Scenario(key, title, counted)
        scenarios.append(scen)
        rng = random.Random(f"{seed}-{key}")
        t = time.monotonic()
        for make in reps:
            try:
                rep = make(rng)
            except Skip as why:
                scen.skipped = str(why)
                break
            except Exception as exc:  # the harness itself failed: counted as a failure
                rep = Rep("harness error", problems=[f"{type(exc).__name__}: {exc}"])
            finally:
                lab.cleanup()
            scen.reps.append(rep)
            bad = rep.lost or rep.duplicated or rep.differing or rep.problems
            log(
                f"  {key}: {rep.variant}: fault exit {rep.fault_rcs}, resume exit {rep.resume_rcs}, "
                f"lost {rep.lost}, duplicated {rep.duplicated}, differing {rep.differing or '-'}: "
                + ("FAIL" if bad else "ok")
            )
        scen.seconds = round(time.monotonic() - t, 1)
        log(f"{key}. {title}: {scen.verdict} ({scen.seconds:.0f} s)")

    try:
        t0 = time.monotonic()
        refcmd = lab.run(lab.sweep(work / "reference", "--executor", "serial"), "reference")
        if refcmd.rc != 0:
            raise RuntimeError(f"the reference sweep failed ({refcmd.rc}): {refcmd.err[-2000:]}")
        ref = Reference.of(work / "reference")
        log(f"reference: {N_RUNS} runs, serial, {time.monotonic() - t0:.1f} s ({work})")
        scenario("a", "kill -9 the driver", [partial(kill_driver, lab, ref, i=i) for i in range(n["a"])])
        scenario("b", "kill -9 a worker", [partial(kill_worker, lab, ref, i=i) for i in range(n["b"])])
        points = [p for _ in range(n["c_hook_rounds"]) for p in HOOK_POINTS] + ["poll"] * n["c_poll"]
        writes = [partial(kill_in_write, lab, ref, i=i, point=p) for i, p in enumerate(points)]
        scenario("c", "kill -9 during part writes", writes)
        for key, how, title in (
            ("d", "truncate", "truncate a file to half"),
            ("e", "flip", "flip bytes in a file"),
        ):
            damaged = [
                partial(damage, lab, ref, key=key, i=i, how=how, target=TARGETS[i % len(TARGETS)])
                for i in range(n[key])
            ]
            scenario(key, title, damaged)
        copies = [partial(damage, lab, ref, key="f", i=i, how="copy", target="part") for i in range(n["f"])]
        scenario("f", "an extra copy of a part", copies)
        recorded = "copy, recorded in the manifest"
        tamper = [
            partial(damage, lab, ref, key="f2-", i=i, how=recorded, target="part") for i in range(n["f2"])
        ]
        scenario("f2", "an extra copy recorded in the manifest (tampering)", tamper, counted=False)
        pick = random.Random(f"{seed}-g-sizes")
        sizes = [pick.randint(48, 320) for _ in range(n["g"] - 1)] + [8]
        scenario(
            "g",
            "a full disk (tmpfs)",
            [partial(full_disk, lab, ref, i=i, size_k=k) for i, k in enumerate(sizes)],
        )
        scenario(
            "h", "kill -9 the Dask scheduler", [partial(kill_scheduler, lab, ref, i=i) for i in range(n["h"])]
        )
        manifests = [
            partial(damage, lab, ref, key="i", i=i, how=("truncate", "flip")[i % 2], target="manifest.json")
            for i in range(n["i"])
        ]
        scenario("i", "a damaged manifest.json", manifests, counted=False)
    finally:
        lab.cleanup()
    return scenarios


def _codes(rcs: list[int | None]) -> str:
    c = collections.Counter("timeout" if r is None else str(r) for r in rcs)
    return " ".join(f"{k}x{v}" if v > 1 else k for k, v in sorted(c.items())) or "-"


def table(scenarios: list[Scenario]) -> str:
    head = ["scenario", "reps", "fault exit", "resume exit", "runs lost", "runs duplicated",
            "differing tables", "bytes differing", "problems", "verdict"]  # fmt: skip
    rows = []
    for s in scenarios:
        name = f"{s.key}. {s.title}" + ("" if s.counted else " [not counted]")
        if s.skipped:
            rows.append([name, "0", "-", "-", "-", "-", "-", "-", "-", f"skipped: {s.skipped}"])
            continue
        rows.append([
            name, str(len(s.reps)), _codes([r for rep in s.reps for r in rep.fault_rcs]),
            _codes([r for rep in s.reps for r in rep.resume_rcs]), str(s.lost), str(s.duplicated),
            str(s.differing), str(s.bytes_differing), str(s.problems), s.verdict,
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = " | ".join(f"{{:{w}}}" for w in widths)
    lines = [fmt.format(*head), "-+-".join("-" * w for w in widths), *(fmt.format(*r) for r in rows)]
    details = []
    for s in scenarios:
        problems = collections.Counter(p for rep in s.reps for p in rep.problems)
        notes = collections.Counter(n for rep in s.reps for n in rep.notes)
        for p, k in problems.items():
            details.append(f"  {s.key} problem ({k}x): {p}")
        for p, k in notes.items():
            details.append(f"  {s.key} note ({k}x): {p}")
    return "\n".join(lines + (["", "details:", *details] if details else []))


def failed(scenarios: list[Scenario]) -> bool:
    return any(s.counted and s.verdict == "FAIL" for s in scenarios)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (about 2 minutes)")
    ap.add_argument("--seed", type=int, default=14, help="seed of the fault points (default 14)")
    ap.add_argument("--workdir", type=Path, help="folder for the sweeps (default: a new temporary one)")
    ap.add_argument(
        "--keep", action="store_true", help="keep the work folder (logs/ has every command's output)"
    )
    ap.add_argument("--json", type=Path, help="also write the results, per repetition, as JSON")
    ap.add_argument("--only", help="run only these scenarios, e.g. --only a,c,h")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sim-faults-"))
    t0 = time.monotonic()
    try:
        only = {k.strip() for k in args.only.split(",")} if args.only else None
        scenarios = run(args.quick, args.seed, work, only=only)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - t0
    print(f"\nfault injection ({'quick' if args.quick else 'full'}, seed {args.seed}): {wall:.0f} s\n")
    print(table(scenarios))
    if args.json:
        args.json.write_text(
            json.dumps([asdict(s) | {"verdict": s.verdict} for s in scenarios], indent=2), encoding="utf-8"
        )
    return 1 if failed(scenarios) else 0


if __name__ == "__main__":
    sys.exit(main())
