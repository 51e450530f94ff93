"""Running one scenario and writing its results.

`run_one(config)` is a picklable, top-level function (Mesa forces the `spawn` start method,
so process pools need one) that returns tables and metadata in memory; `write_run` writes
them to a directory that appears atomically: everything is written into a hidden sibling
folder first and renamed into place only when complete, and removed on any failure or
Ctrl-C, so a directory that exists is a complete run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import SimError


@dataclass(frozen=True)
class RunConfig:
    scenario: str | None = None  # path; None: the packaged baseline
    seed: int | None = None  # None: the scenario's model.seed
    steps: int | None = None  # None: the scenario's run length
    overrides: tuple[str, ...] = ()


@dataclass
class RunResult:
    scenario_name: str
    scenario_sha256: str
    resolved_yaml: str
    seed: int
    steps: int
    tables: dict[str, Any]
    wall_seconds: float
    started: str
    finished: str
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_one(config: RunConfig | dict) -> RunResult:
    """Build, run and tabulate one model; raises `ScenarioError` on a bad scenario."""
    from sim.model import RuleMakingModel
    from sim.scenario import load_scenario, resolved_yaml, scenario_hash

    if isinstance(config, dict):
        config = RunConfig(**config)
    sc = load_scenario(config.scenario, config.overrides)
    if config.steps is not None:
        sc.model.steps, sc.model.end_year = config.steps, None
    if config.seed is not None:
        sc.model.seed = config.seed
    started = _now()
    t0 = time.perf_counter()
    model = RuleMakingModel(sc)
    model.run()
    tables = model.tables()
    wall = time.perf_counter() - t0
    return RunResult(
        scenario_name=sc.name,
        scenario_sha256=scenario_hash(sc),
        resolved_yaml=resolved_yaml(sc),
        seed=model.seed_used,
        steps=model.steps,
        tables=tables,
        wall_seconds=wall,
        started=started,
        finished=_now(),
    )


def default_out(result: RunResult, root: Path = Path("results")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{result.scenario_name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{result.scenario_name}-{stamp}-{n}"
    return out


def _write_parquet(df, path: Path, meta: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    merged = dict(table.schema.metadata or {})
    merged[b"sim.provenance"] = json.dumps(meta, sort_keys=True).encode()
    pq.write_table(table.replace_schema_metadata(merged), path, compression="zstd")


def write_run(result: RunResult, out: Path, command: str) -> Path:
    """Write the run's files into `out`, atomically. Refuses to overwrite."""
    from sim.provenance import git_commit, versions

    out = Path(out)
    if out.exists():
        raise SimError(f"{out}: output directory already exists; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    vers = versions()
    commit = git_commit()
    # Parquet metadata: only what is fixed by scenario + seed + code, so files stay identical.
    meta = {
        "scenario": result.scenario_name,
        "scenario_sha256": result.scenario_sha256,
        "seed": str(result.seed),
        "sim": vers["sim"],
        "mesa": vers["mesa"],
    }
    try:
        tmp.mkdir()
        for name in sorted(result.tables):
            _write_parquet(result.tables[name], tmp / f"{name}.parquet", meta)
        (tmp / "scenario.resolved.yaml").write_text(result.resolved_yaml, encoding="utf-8")
        manifest = {
            "scenario": result.scenario_name,
            "scenario_sha256": result.scenario_sha256,
            "seed": result.seed,
            "steps": result.steps,
            "versions": vers,
            "git_commit": commit,
            "command": command,
            "started": result.started,
            "finished": result.finished,
            "wall_seconds": round(result.wall_seconds, 4),
            "files": sorted(p.name for p in tmp.iterdir()),
            **result.extra,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def summary(result: RunResult) -> str:
    """Final-step table: influence share, resource share and punching ratio per state."""
    df = result.tables["states"]
    last = df[df["step"] == df["step"].max()].sort_values("influence_share", ascending=False)
    year = float(last["year"].iloc[0])
    until = f"to the end of {int(year) - 1}" if year.is_integer() else f"to {year:.2f}"
    lines = [
        f"{result.scenario_name}: seed {result.seed}, {result.steps} steps, {until}",
        f"{'state':<16}{'influence share':>16}{'resource share':>16}{'punching ratio':>16}",
    ]
    for row in last.itertuples():
        lines.append(
            f"{row.state:<16}{row.influence_share:>16.3f}{row.resource_share:>16.3f}{row.punching_ratio:>16.2f}"
        )
    powers = result.tables.get("powers")
    if powers is not None and len(powers):
        final = powers[powers["step"] == powers["step"].max()]
        lines.append("levers at the end of the run:")
        for lever, rows in final.groupby("lever", sort=False):
            shown = ", ".join(f"{r.metric} {r.value:.3g}" for r in rows.itertuples())
            lines.append(f"  {lever}: {shown}")
    eco = result.tables.get("ecosystem")
    if eco is not None and len(eco):
        sea = eco[(eco["region"] == "Southeast Asia") & (eco["step"] == eco["step"].max())]
        if len(sea):
            top = sea.sort_values("share", ascending=False).head(4)
            shares = ", ".join(f"{r.supplier} {r.share:.2f}" for r in top.itertuples())
            lines.append(f"Southeast Asia model (technical-layer) shares: {shares}")
    m = result.tables["model"].iloc[-1]
    lines.append(
        f"forum alignment index {m['alignment_index']:.3f}; "
        f"influence concentration (HHI) {m['influence_hhi']:.3f}"
    )
    return "\n".join(lines)
