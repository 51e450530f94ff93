"""Sweep output on disk, streamed as runs finish.

- `parts/runs-NNNNNN.parquet`: the rows of one finished chunk, each file written aside and
  renamed into place, so a part that exists is complete (a crash loses only runs in flight);
- `series/part-NNNNNN.parquet`: per-step metric series of that chunk (when `every` is set);
- `runs.parquet`: all runs, one row each, sorted by run index; written (atomically) only
  when a sweep finishes, from the parts;
- `manifest.json`: experiment hash, versions, times, counts, status.
The driver holds one chunk at a time; memory does not grow with the number of runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.io import atomic, write_text

TIMING = ("wall_seconds",)  # per-run timings go to the manifest, not into runs.parquet


def _atomic_table(table: pa.Table, path: Path) -> None:
    atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


class SweepStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.series = self.root / "series"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.series.mkdir(exist_ok=True)
        existing = sorted(self.parts.glob("runs-*.parquet"))
        self.next_part = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=0)
        self.wall = 0.0

    def completed(self) -> set[str]:
        """Run ids already finished with status ok (failed runs are tried again)."""
        done: set[str] = set()
        for p in sorted(self.parts.glob("runs-*.parquet")):
            t = pq.read_table(p, columns=["run_id", "status"])
            ids = t.column("run_id").to_pylist()
            for rid, status in zip(ids, t.column("status").to_pylist(), strict=True):
                if status == "ok":
                    done.add(rid)
        return done

    def write_chunk(self, results: list[tuple[dict, list[tuple]]]) -> None:
        if not results:
            return
        rows = [r for r, _ in results]
        self.wall += sum(r.get("wall_seconds", 0.0) for r in rows)
        df = pd.DataFrame([{k: v for k, v in r.items() if k not in TIMING} for r in rows])
        n = self.next_part
        self.next_part += 1
        series = [s for _, ss in results for s in ss]
        if series:
            sdf = pd.DataFrame(series, columns=["run_id", "step", "year", "metric", "value"])
            _atomic_table(
                pa.Table.from_pandas(sdf, preserve_index=False), self.series / f"part-{n:06d}.parquet"
            )
        _atomic_table(pa.Table.from_pandas(df, preserve_index=False), self.parts / f"runs-{n:06d}.parquet")

    def consolidate(self) -> pd.DataFrame:
        """All runs, the latest row per run id (an ok row wins over a failed one)."""
        frames = [pd.read_parquet(p) for p in sorted(self.parts.glob("runs-*.parquet"))]
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        df["_ok"] = df["status"] == "ok"
        df = df.sort_values(["run_id", "_ok"], kind="stable").drop_duplicates("run_id", keep="last")
        df = df.drop(columns="_ok").sort_values("index", kind="stable").reset_index(drop=True)
        _atomic_table(pa.Table.from_pandas(df, preserve_index=False), self.root / "runs.parquet")
        return df

    def write_manifest(self, manifest: dict) -> None:
        write_text(self.root / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
