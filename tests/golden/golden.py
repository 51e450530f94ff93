"""Golden outputs: content hashes of every output table of fixed runs and sweeps.

The hashes in `hashes.json` were recorded from the code at a known commit. A change that is
meant to leave behaviour alone must reproduce them exactly (`tests/test_golden.py`); a change
that is meant to alter outputs regenerates them on purpose, with a CHANGELOG line:

    .venv/bin/python tests/golden/golden.py --write

What is hashed is the *content* of each table (column names, dtypes and the bytes of every
value), not the Parquet file, whose metadata carries provenance (versions, the scenario hash)
that legitimately changes with the code. Sweep rows are hashed without `run_id`, which is
derived from the scenario hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HASHES = HERE / "hashes.json"

# (label, scenario, seed, steps): every shipped scenario, plus a generated world that uses all
# three policy kinds (learning and best response included) and endogenous membership.
RUNS: list[tuple[str, str, int | None, int | None]] = [
    ("baseline", "baseline", None, None),
    ("baseline_seed7", "baseline", 7, None),
    ("japan_no_institutional", "japan_no_institutional", 3, None),
    ("japan_single_path_discourse", "japan_single_path_discourse", 3, None),
    ("japan_single_path_institutional", "japan_single_path_institutional", 3, None),
    ("japan_single_path_practice", "japan_single_path_practice", 3, None),
    ("no_alliances", "no_alliances", 3, None),
    ("no_brussels_effect", "no_brussels_effect", 3, None),
    ("no_cocreation", "no_cocreation", 3, None),
    ("no_declarations", "no_declarations", 3, None),
    ("no_export_controls", "no_export_controls", 3, None),
    ("no_synergy", "no_synergy", 3, None),
    ("sea_contest", "sea_contest", 3, None),
    ("generated", str(HERE / "generated.yaml"), 11, None),
]
SWEEPS = ["sweep_factorial.yaml", "sweep_sobol.yaml"]


def table_digest(df: pd.DataFrame) -> str:
    """sha256 over the names, dtypes and value bytes of every column, in order."""
    h = hashlib.sha256()
    h.update(f"{len(df)}|".encode())
    for col in df.columns:
        s = df[col]
        h.update(f"{col}|{s.dtype}|".encode())
        values = s.to_numpy()
        if values.dtype.kind in "biufcmM":  # numbers, booleans, times: their bytes
            h.update(np.ascontiguousarray(values).tobytes())
        else:  # text and other objects: their repr, separated
            h.update("\x1f".join(repr(v) for v in values.tolist()).encode())
    return h.hexdigest()


def run_digests() -> dict[str, dict[str, str]]:
    from sim.runner import RunTask, run_one

    out = {}
    for label, scenario, seed, steps in RUNS:
        res = run_one(RunTask(scenario, seed, steps))
        out[label] = {name: table_digest(df) for name, df in sorted(res.tables.items())}
    return out


def sweep_digests() -> dict[str, dict[str, str]]:
    from sim.experiments.sweep import run_sweep

    out = {}
    for exp in SWEEPS:
        with tempfile.TemporaryDirectory() as tmp:
            s = run_sweep(HERE / exp, out=Path(tmp) / "sw", workers=1, executor="serial", progress=False)
            runs = pd.read_parquet(s.out / "runs.parquet")
            ids = dict(zip(runs["run_id"], runs["index"], strict=True))
            digest = {"runs": table_digest(runs.drop(columns=["run_id"]))}
            parts = sorted((s.out / "series").glob("part-*.parquet"))
            if parts:
                series = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
                series.insert(0, "index", series.pop("run_id").map(ids))
                series = series.sort_values(["index", "metric", "step"], kind="stable").reset_index(drop=True)
                digest["series"] = table_digest(series)
            out[exp.removesuffix(".yaml")] = digest
    return out


def compute() -> dict[str, dict[str, dict[str, str]]]:
    return {"runs": run_digests(), "sweeps": sweep_digests()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="record the hashes (a deliberate change)")
    args = ap.parse_args()
    now = compute()
    if args.write:
        HASHES.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {HASHES}")
        return 0
    old = json.loads(HASHES.read_text())
    bad = [
        f"{kind}/{label}/{table}"
        for kind in now
        for label in now[kind]
        for table in now[kind][label]
        if old.get(kind, {}).get(label, {}).get(table) != now[kind][label][table]
    ]
    print("\n".join(bad) if bad else "golden outputs identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
