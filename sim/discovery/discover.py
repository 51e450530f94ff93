"""`sim discover`: read a finished sweep, evaluate the outcome, run PRIM and CART, and write
the discovery folder (atomically, with its provenance) inside the sweep folder or --out."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sim.discovery import analysis, expressions, report
from sim.errors import SimError
from sim.io import MARKER, atomic, check_writable, inside, ours

_WORDS = {
    ">=": "ge",
    "<=": "le",
    "==": "eq",
    "!=": "ne",
    ">": "gt",
    "<": "lt",
    "+": "plus",
    "-": "minus",
    "*": "times",
    "/": "over",
}


def slug(label: str) -> str:
    """A folder name for an outcome: `japan_share > japan_resources` -> japan_share-gt-japan_resources."""
    text = label
    for op, word in _WORDS.items():
        text = text.replace(op, f" {word} ")
    text = re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-._")
    return text[:80].rstrip("-._") or "outcome"


def discover(
    sweep_dir: str | Path,
    outcome_text: str,
    threshold: float | None = None,
    below: bool = False,
    name: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
    settings: analysis.Settings | None = None,
    command: str = "",
) -> tuple[Path, str]:
    """Scenario discovery on a finished sweep; returns the folder written and its summary.
    Every check comes before anything is written."""
    from sim.experiments.store import read_runs, sha256_file
    from sim.provenance import git_commit, versions

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    s = settings or analysis.Settings()
    s.check()
    root = Path(sweep_dir)
    if not root.is_dir():
        raise SimError(f"{root}: not a folder (give a sweep folder, made by sim sweep)")
    try:
        first = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        first = None  # read_runs says what is wrong
    if isinstance(first, dict) and "experiment_sha256" not in first:
        raise SimError(
            f"{root}: not a sweep folder (its manifest.json is not a sweep's; sim sweep makes one)"
        )
    manifest, runs = read_runs(root)  # refused unless a finished sweep matching its checksum
    if manifest.get("shard"):
        raise SimError(
            f"{root}: holds one shard of a sweep; merge the shards first (sim sweep EXPERIMENT --merge ...)"
        )
    metrics = [m for m in manifest.get("metrics", {}) if m in runs.columns]
    outcome = expressions.parse(outcome_text, metrics)
    data = analysis.prepare(runs, outcome, threshold, below, str(root))
    label = analysis.outcome_label(outcome, threshold, below)
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name):
        raise SimError(
            f"--name {name!r}: expected letters, digits, '.', '_', '-' (up to 100), not starting with . _ -"
        )
    target = Path(out) if out else inside(root / "discovery", name or slug(label))
    if target.exists() and not target.is_dir():
        raise SimError(f"{target}: exists and is not a folder; choose another --out")
    here, sweep = target.resolve(), root.resolve()
    if here == sweep or sweep.is_relative_to(here):
        raise SimError(f"{target}: is the sweep folder or holds it; choose another --out")
    if here.is_relative_to(sweep) and here.parent != sweep / "discovery":
        # inside the sweep only as SWEEP/discovery/NAME: elsewhere it would take over or mix with
        # the sweep's own files (its parts/, series/), and the sweep report would not find it
        raise SimError(
            f"{target}: is inside the sweep folder; there a discovery goes in {root / 'discovery'}/NAME "
            "(leave out --out, give --name), or choose a folder outside the sweep"
        )
    if (
        target.is_dir()
        and any(target.iterdir())
        and not (ours(target) and (target / "discovery.json").is_file())
    ):
        raise SimError(
            f"{target}: exists and is not a discovery written by sim (no {MARKER} marker or discovery.json); "
            "choose another --name or --out"
        )
    if target.is_dir() and any(target.iterdir()) and not force:
        raise SimError(f"{target}: already exists; use --force to replace it, or choose another --name")
    check_writable(target.parent)

    prim = analysis.run_prim(data, s)
    cart = analysis.run_cart(data, s)
    holds = int(data.y.sum())
    m: dict[str, Any] = {
        "kind": "discovery",
        "outcome": {
            "expression": outcome_text.strip(),
            "kind": outcome.kind,
            "threshold": threshold,
            "below": below,
            "holds_where": label,
            "metrics": list(outcome.metrics),
        },
        "sweep": {
            "folder": str(root.resolve()),
            "manifest_sha256": sha256_file(root / "manifest.json"),
            "runs_sha256": manifest.get("runs_sha256"),
            **{
                k: manifest.get(k)
                for k in (
                    "experiment",
                    "experiment_sha256",
                    "scenario",
                    "scenario_sha256",
                    "design",
                    "points",
                    "replications",
                    "git_commit",
                )
            },
        },
        "runs": {
            "total": len(runs),
            "failed": data.failed,
            "undefined": data.undefined,
            "used": len(data.y),
            "holds": holds,
        },
        "base_rate": data.base_rate,
        "parameters": list(data.x.columns),
        "categorical": data.categorical,
        "constant": data.constant,
        "prim": {
            "available": prim.available,
            "version": prim.version,
            "note": prim.note,
            "settings": {
                **{k: v for k, v in asdict(s).items() if k != "max_depth"},
                "objective": "lenient1 (EMA's default: gain in mean over loss of mass)",
                "choice": "the step with the highest coverage among those with density >= min_density",
            },
            "boxes": prim.stats.to_dict(orient="records"),
        },
        "cart": {
            "version": cart.version,
            "max_depth": s.max_depth,
            "min_leaf": cart.min_leaf,
            "criterion": "gini",
            "random_state": 0,
            "accuracy": cart.accuracy,
            "categorical": "one 0/1 column per level",
            "leaves": len(cart.leaves),
        },
        "versions": {
            **versions(),
            "scikit-learn": cart.version,
            **({"ema_workbench": prim.version} if prim.version else {}),
        },
        "git_commit": git_commit(),
        "command": command,
        "started": started,
    }
    summary = report.summary_markdown(m, prim.boxes, cart.leaves, cart.text)

    def build(tmp: Path) -> None:
        from sim.report.base import plt

        prim.boxes.to_csv(tmp / "boxes.csv", index=False, float_format="%.6g")
        prim.trajectory.to_csv(tmp / "peeling.csv", index=False, float_format="%.6g")
        if len(prim.trajectory):
            fig = report.peeling_figure(prim.trajectory, s.min_density)
            fig.savefig(tmp / "peeling.png", bbox_inches="tight")
            plt.close(fig)
        if len(prim.boxes):
            fig = report.box_figure(prim.boxes)
            fig.savefig(tmp / "box.png", bbox_inches="tight")
            plt.close(fig)
        (tmp / "tree.txt").write_text(cart.text + "\n", encoding="utf-8")
        cart.leaves.drop(columns="node").to_csv(tmp / "leaves.csv", index=False, float_format="%.6g")
        fig = report.tree_figure(cart, cart.leaves)
        fig.savefig(tmp / "tree.png", bbox_inches="tight")
        plt.close(fig)
        (tmp / "summary.md").write_text(summary, encoding="utf-8")
        m["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        m["wall_seconds"] = round(time.perf_counter() - t0, 3)
        m["files"] = sorted([*(p.name for p in tmp.iterdir() if p.name != MARKER), "discovery.json"])
        (tmp / "discovery.json").write_text(json.dumps(m, indent=2, default=str) + "\n", encoding="utf-8")

    atomic(target, build, folder=True)
    return target, summary
