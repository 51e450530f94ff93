"""Sweep output on disk, streamed as runs finish, every part checked.

- `parts/runs-NNNNNN.parquet`: the rows of one finished chunk, each file written aside and
  renamed into place, so a part that exists is complete (a crash loses only runs in flight);
- `series/part-NNNNNN.parquet`: per-step metric series of that chunk (when `every` is set);
- `manifest.json`: experiment hash, versions, times, counts, status, and `parts`: the sha256
  and row count of every part, recorded after the part is in place. A part that is not
  recorded, does not match its checksum or cannot be read is moved to `rejected/` and its runs
  are run again (`verified_parts`);
- `runs.parquet`: all runs, one row each, sorted by run index; written (atomically) only
  when every run of the sweep has a verified row, with its own checksum in the manifest.
Another sweep's parts (a shard's) are checked without writing anything (`check_parts`) and
copied in as parts of this one (`copy_part`), their checksums checked again on the copy.
The driver holds one chunk at a time; memory does not grow with the number of runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import SimError
from sim.io import MARKER, atomic, write_text

TIMING = ("wall_seconds",)  # per-run timings go to the manifest, not into runs.parquet


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_table(table: pa.Table, path: Path) -> str:
    """Write a table atomically; its sha256 (computed before it is renamed into place)."""
    digest = ""

    def write(tmp: Path) -> None:
        nonlocal digest
        pq.write_table(table, tmp, compression="zstd")
        digest = sha256_file(tmp)

    atomic(path, write)
    return digest


def _atomic_copy(src: Path, dest: Path, sha256: str) -> None:
    """Copy `src` to `dest` atomically, refusing a copy whose sha256 is not `sha256` (the
    source changed since it was checked)."""

    def write(tmp: Path) -> None:
        shutil.copyfile(src, tmp)
        if sha256_file(tmp) != sha256:
            raise SimError(f"{src}: changed while being copied (its checksum no longer matches); run again")

    atomic(dest, write)


def part_problem(
    part: Path, entry: dict[str, Any] | None, known: set[str] | None = None, legacy: bool = False
) -> str | None:
    """Why the part `parts/runs-N.parquet` (and its series part) cannot be trusted, given its
    `entry` in the manifest; None if its checksums match and its rows are runs of `known`.
    Reads only."""
    if entry is None:
        return (
            "begun by an earlier version of sim, without checksums"
            if legacy
            else "not recorded in the manifest (written when the sweep was killed?)"
        )
    if sha256_file(part) != entry.get("sha256"):
        return "checksum does not match the manifest (corrupted)"
    s = part.parent.parent / "series" / f"part-{part.stem.split('-')[1]}.parquet"
    if entry.get("series_sha256") and (not s.exists() or sha256_file(s) != entry["series_sha256"]):
        return "its series part is missing or corrupted"
    try:
        ids = pq.read_table(part, columns=["run_id"]).column("run_id").to_pylist()
    except Exception as exc:  # unreadable despite a matching checksum: written corrupt
        return f"unreadable ({type(exc).__name__})"
    if len(ids) != entry.get("rows") or (known is not None and not set(ids) <= known):
        return "holds rows that are not runs of this sweep"
    return None


def check_parts(
    folder: Path, manifest: dict[str, Any], known: set[str] | None = None
) -> tuple[list[Path], list[str]]:
    """The parts of another sweep's `folder` checked as `SweepStore.verified_parts` checks its
    own, without moving or writing anything: the good parts, and one located problem for
    each part that cannot be trusted."""
    entries = manifest.get("parts")
    good: list[Path] = []
    problems: list[str] = []
    for p in sorted((folder / "parts").glob("runs-*.parquet")):
        why = part_problem(
            p, entries.get(p.name) if isinstance(entries, dict) else None, known, entries is None
        )
        if why is None:
            good.append(p)
        else:
            problems.append(f"{p}: {why}")
    return good, problems


class SweepStore:
    def __init__(self, root: Path, manifest: dict[str, Any] | None = None) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.series = self.root / "series"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.series.mkdir(exist_ok=True)
        (self.root / MARKER).touch()
        self.manifest: dict[str, Any] = manifest if manifest is not None else {}
        self.legacy = "parts" not in self.manifest  # begun by a version without checksums
        self.manifest.setdefault("parts", {})
        # part numbers are never reused, not even those of rejected parts
        existing = [*self.parts.glob("runs-*.parquet"), *(self.root / "rejected").glob("runs-*.parquet")]
        self.next_part = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=0)
        self.wall = 0.0
        self.rejected: list[str] = []

    # ---------------------------------------------------------------- verification
    def _reject(self, part: Path, why: str) -> None:
        """Move a part that cannot be trusted (and its series) aside; its runs are run again."""
        dest = self.root / "rejected"
        dest.mkdir(exist_ok=True)
        n = part.stem.split("-")[1]
        for p in (part, self.series / f"part-{n}.parquet"):
            if p.exists():
                os.replace(p, dest / p.name)
        self.manifest["parts"].pop(part.name, None)
        self.rejected.append(f"{part.name}: {why}")

    def verified_parts(self, known: set[str] | None = None) -> list[Path]:
        """The parts whose checksum matches the manifest and whose rows are runs of this sweep
        (`known`: its run ids); the others are rejected."""
        good = []
        for p in sorted(self.parts.glob("runs-*.parquet")):
            why = part_problem(p, self.manifest["parts"].get(p.name), known, self.legacy)
            if why is None:
                good.append(p)
            else:
                self._reject(p, why)
        return good

    def completed(self, known: set[str] | None = None) -> set[str]:
        """Run ids already finished with status ok in verified parts (failed runs are tried
        again)."""
        done: set[str] = set()
        for p in self.verified_parts(known):
            t = pq.read_table(p, columns=["run_id", "status"])
            for rid, status in zip(
                t.column("run_id").to_pylist(), t.column("status").to_pylist(), strict=True
            ):
                if status == "ok":
                    done.add(rid)
        return done

    # ---------------------------------------------------------------- writing
    def write_chunk(self, results: list[tuple[dict, list[tuple]]]) -> None:
        """Write one chunk's rows (and series) as a new part and record it in the manifest."""
        if not results:
            return
        rows = [r for r, _ in results]
        self.wall += sum(r.get("wall_seconds", 0.0) for r in rows)
        df = pd.DataFrame([{k: v for k, v in r.items() if k not in TIMING} for r in rows])
        n = self.next_part
        self.next_part += 1
        entry: dict[str, Any] = {"rows": len(df)}
        series = [s for _, ss in results for s in ss]
        if series:
            sdf = pd.DataFrame(series, columns=["run_id", "step", "year", "metric", "value"])
            entry["series_sha256"] = _atomic_table(
                pa.Table.from_pandas(sdf, preserve_index=False), self.series / f"part-{n:06d}.parquet"
            )
        name = f"runs-{n:06d}.parquet"
        entry["sha256"] = _atomic_table(pa.Table.from_pandas(df, preserve_index=False), self.parts / name)
        self.manifest["parts"][name] = entry
        self.write_manifest()

    def copy_part(self, part: Path, entry: dict[str, Any], source: str) -> str:
        """Copy a verified part of another sweep (`part`, its series part, and `entry`, their
        record in that sweep's manifest) in as a new part of this one, each copy checked
        against the recorded checksum before it is renamed into place; recorded in this
        manifest with its `source` (written by the caller). Returns the new part's name."""
        n = self.next_part
        self.next_part += 1
        new: dict[str, Any] = {"rows": entry["rows"]}
        if entry.get("series_sha256"):
            series = part.parent.parent / "series" / f"part-{part.stem.split('-')[1]}.parquet"
            _atomic_copy(series, self.series / f"part-{n:06d}.parquet", entry["series_sha256"])
            new["series_sha256"] = entry["series_sha256"]
        name = f"runs-{n:06d}.parquet"
        _atomic_copy(part, self.parts / name, entry["sha256"])
        new["sha256"] = entry["sha256"]
        new["source"] = source
        self.manifest["parts"][name] = new
        return name

    def consolidate(self, known: set[str]) -> pd.DataFrame:
        """All runs of this sweep, one row each from verified parts (an ok row wins over a
        failed one), in run order; written to runs.parquet only when every run is present."""
        frames = [pd.read_parquet(p) for p in self.verified_parts(known)]
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        df["_ok"] = df["status"] == "ok"
        df = df.sort_values(["run_id", "_ok"], kind="stable").drop_duplicates("run_id", keep="last")
        df = df.drop(columns="_ok").sort_values("index", kind="stable").reset_index(drop=True)
        if set(df["run_id"]) == known:
            table = pa.Table.from_pandas(df, preserve_index=False)
            self.manifest["runs_sha256"] = _atomic_table(table, self.root / "runs.parquet")
        return df

    def write_manifest(self) -> None:
        write_text(self.root / "manifest.json", json.dumps(self.manifest, indent=2, default=str) + "\n")


def read_runs(folder: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """The manifest and runs.parquet of a finished sweep, refused unless the sweep finished
    and runs.parquet matches its checksum."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimError(f"{folder}: not a sweep folder (no manifest.json)") from None
    except (OSError, ValueError) as exc:
        raise SimError(f"{folder}/manifest.json: unreadable ({type(exc).__name__})") from None
    if not isinstance(manifest, dict):
        raise SimError(f"{folder}/manifest.json: not a sweep's manifest")
    runs = folder / "runs.parquet"
    if manifest.get("status") != "finished" or not runs.exists():
        raise SimError(
            f"{folder}: not a finished sweep (status {manifest.get('status')!r}); "
            "run the same sweep command again to finish it"
        )
    expected = manifest.get("runs_sha256")
    if expected and sha256_file(runs) != expected:
        raise SimError(
            f"{runs}: does not match its checksum in the manifest (corrupted); "
            "run the same sweep command again to rebuild it from the verified parts"
        )
    try:
        return manifest, pd.read_parquet(runs)
    except Exception as exc:
        raise SimError(f"{runs}: unreadable ({type(exc).__name__})") from None
