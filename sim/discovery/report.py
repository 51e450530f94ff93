"""Figures, tables and text of a scenario discovery, for its own folder and for the sweep's
report (`sections`): the peeling trajectory, the box limits, the tree, the summary."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.discovery.analysis import BOX_COLUMNS, TRAJECTORY_COLUMNS, CartResult
from sim.errors import SimError
from sim.report.base import Report, plt, read_manifest, table_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# ----------------------------------------------------------------------------- figures
def peeling_figure(trajectory: pd.DataFrame, min_density: float) -> Figure:
    """Coverage against density at every step of each box's peeling and pasting, coloured by
    the number of restricted parameters; the step reported is ringed."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    dims = trajectory["res_dim"].astype(int)
    top = max(1, int(dims.max()))
    cmap = plt.get_cmap("viridis", top + 1)
    markers = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<"]
    for number, t in trajectory.groupby("box"):
        number = int(str(number))
        sc = ax.scatter(
            t["coverage"],
            t["density"],
            c=t["res_dim"].astype(int),
            cmap=cmap,
            vmin=-0.5,
            vmax=top + 0.5,
            marker=markers[(number - 1) % len(markers)],
            s=28,
            edgecolors="none",
            label=f"box {number}",
        )
        chosen = t[t["chosen"].astype(bool)]
        for _, r in chosen.iterrows():
            ax.scatter([r["coverage"]], [r["density"]], s=220, facecolors="none", edgecolors="crimson", lw=2)
            right = r["coverage"] > 0.5  # the label on the side with room
            ax.annotate(
                f"box {number}: coverage {r['coverage']:.2f}, density {r['density']:.2f}",
                (r["coverage"], r["density"]),
                xytext=(-12 if right else 12, -16),
                textcoords="offset points",
                color="crimson",
                fontsize=9,
                ha="right" if right else "left",
            )
    ax.axhline(min_density, color="grey", ls="--", lw=1)
    ax.text(0.01, min_density, f" min density {min_density:g}", va="bottom", color="grey", fontsize=8)
    bar = fig.colorbar(sc, ax=ax, ticks=range(top + 1))
    bar.set_label("restricted parameters")
    ax.set(
        xlabel="coverage (share of the runs where the outcome holds that are in the box)",
        ylabel="density (share of the box's runs where it holds)",
        xlim=(-0.02, 1.05),
        ylim=(-0.02, 1.05),
    )
    if trajectory["box"].nunique() > 1:
        ax.legend(loc="lower left")
    return fig


def box_figure(boxes: pd.DataFrame) -> Figure:
    """Each box's limits on every parameter, normalised over the range the sweep covered
    (0: the smallest value run, 1: the largest); a categorical factor's levels as dots,
    filled when the box keeps them. Restricted parameters first."""
    order = (
        boxes.groupby("parameter", sort=False)["restricted"].any().sort_values(ascending=False, kind="stable")
    )
    params = list(order.index)
    n_boxes = int(boxes["box"].max())
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(params) * max(1, n_boxes) ** 0.5 + 1.4))
    colours = plt.get_cmap("tab10")
    h = 0.7 / n_boxes
    for i, p in enumerate(params):
        y0 = len(params) - 1 - i
        for _, r in boxes[boxes["parameter"] == p].iterrows():
            b = int(r["box"])
            y = y0 + 0.35 - (b - 0.5) * h
            c = colours((b - 1) % 10)
            if isinstance(r["all_levels"], str) and r["all_levels"]:
                every = [str(v) for v in json.loads(r["all_levels"])]
                kept = {str(v) for v in json.loads(r["levels"])}
                for j, level in enumerate(every):
                    xj = (j + 0.5) / len(every)
                    ax.scatter([xj], [y], s=70, color=c if level in kept else "white", edgecolors=c, zorder=3)
                    ax.annotate(
                        level, (xj, y), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7
                    )
            else:
                span = r["range_high"] - r["range_low"]
                lo = (r["lower"] - r["range_low"]) / span if span else 0.0
                hi = (r["upper"] - r["range_low"]) / span if span else 1.0
                ax.barh(y, hi - lo, left=lo, height=h * 0.8, color=c, alpha=0.85 if r["restricted"] else 0.25)
                if (
                    r["restricted"] and r["lower"] > r["range_low"]
                ):  # the limits PRIM moved, with their values
                    ax.annotate(
                        f"{r['lower']:.3g}",
                        (lo, y),
                        xytext=(-3, 0),
                        textcoords="offset points",
                        ha="right",
                        va="center",
                        fontsize=7,
                    )
                if r["restricted"] and r["upper"] < r["range_high"]:
                    ax.annotate(
                        f"{r['upper']:.3g}",
                        (hi, y),
                        xytext=(3, 0),
                        textcoords="offset points",
                        ha="left",
                        va="center",
                        fontsize=7,
                    )
    ax.set_yticks(range(len(params)), [f"{p}{' *' if order[p] else ''}" for p in reversed(params)])
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.6, len(params) - 0.4)
    ax.set_xlabel("limits, normalised over the range the sweep covered (0 = smallest, 1 = largest value run)")
    for b in range(1, n_boxes + 1):
        ax.barh([np.nan], [0], color=colours((b - 1) % 10), label=f"box {b}")
    if n_boxes > 1:
        ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0)
    return fig


def tree_figure(cart: CartResult, leaves: pd.DataFrame) -> Figure:
    """The fitted tree: each split's rule; each leaf's runs, density and coverage."""
    from sklearn.tree import plot_tree

    model = cart.model
    t = model.tree_
    n_leaves = int(model.get_n_leaves())
    fig, ax = plt.subplots(figsize=(max(8.0, 2.3 * n_leaves), 1.9 * (model.get_depth() + 1) + 0.6))
    anns = plot_tree(model, feature_names=cart.features, filled=True, ax=ax, fontsize=8, impurity=False)
    boxes = [a for a in anns if a.get_bbox_patch() is not None]  # the nodes, in the order of their ids
    by_node = leaves.set_index("node")
    for node, ann in enumerate(boxes):
        if t.children_left[node] == -1 and node in by_node.index:
            r: Any = by_node.loc[node]
            ann.set_text(
                f"leaf {int(r['leaf'])}\n{int(r['n_runs'])} runs, holds in {int(r['n_holds'])}\n"
                f"density {r['density']:.2f}\ncoverage {r['coverage']:.2f}"
            )
        elif t.children_left[node] != -1:
            name = cart.features[t.feature[node]]
            key, eq, level = name.partition(" = ")
            rule = f"{key} is not {level}" if eq else f"{name} <= {t.threshold[node]:.4g}"
            ann.set_text(f"{rule}\n{int(t.n_node_samples[node])} runs")
    ax.set_title(
        "CART: the left branch (True) is where the node's rule holds; "
        "blue: the outcome mostly holds, orange: mostly not",
        fontsize=9,
    )
    return fig


# ----------------------------------------------------------------------------- text
def _limits(group: pd.DataFrame) -> str:
    """A box's restrictions in words, each with its quasi-p value (EMA's one-sided binomial test
    of the restriction: a large value says the data hardly support it)."""
    parts = []
    for _, r in group[group["restricted"]].iterrows():
        qps = [float(q) for q in (r["qp_lower"], r["qp_upper"]) if pd.notna(q)]
        qp = f" (qp {max(qps):.2g})" if qps else ""
        if isinstance(r["all_levels"], str) and r["all_levels"]:
            kept = [str(v) for v in json.loads(r["levels"])]
            what = f"is {kept[0]}" if len(kept) == 1 else f"in {{{', '.join(kept)}}}"
            parts.append(f"{r['parameter']} {what}{qp}")
            continue
        lo = f"{r['lower']:.4g}" if r["lower"] > r["range_low"] else None
        hi = f"{r['upper']:.4g}" if r["upper"] < r["range_high"] else None
        if lo and hi:
            parts.append(f"{lo} <= {r['parameter']} <= {hi}{qp}")
        elif lo:
            parts.append(f"{r['parameter']} >= {lo}{qp}")
        else:
            parts.append(f"{r['parameter']} <= {hi}{qp}")
    return "; ".join(parts) or "(no restriction: the whole space)"


def box_table(boxes: pd.DataFrame) -> pd.DataFrame:
    """One row per box: its statistics and its limits in words."""
    rows = []
    for number, g in boxes.groupby("box"):
        r = g.iloc[0]
        rows.append(
            {
                "box": int(str(number)),
                "coverage": r["coverage"],
                "density": r["density"],
                "mass": r["mass"],
                "runs": int(r["n_runs"]),
                "holds": int(r["n_holds"]),
                "limits": _limits(g),
            }
        )
    return pd.DataFrame(rows, columns=["box", "coverage", "density", "mass", "runs", "holds", "limits"])


def _md_table(df: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join(
        "| " + " | ".join(cell(v) for v in row) + " |\n" for row in df.itertuples(index=False)
    )


def summary_markdown(m: dict[str, Any], boxes: pd.DataFrame, leaves: pd.DataFrame, cart_text: str) -> str:
    """The summary printed to the terminal and kept as summary.md."""
    p, c, r = m["prim"], m["cart"], m["runs"]
    lines = [
        f"# Scenario discovery: {m['outcome']['holds_where']}",
        "",
        f"Sweep `{m['sweep']['folder']}` (experiment {m['sweep']['experiment']}, "
        f"{m['sweep']['design']} design): "
        f"{r['used']} runs used, the outcome holds in {r['holds']} (base rate {m['base_rate']:.3f}). "
        f"Left out: {r['failed']} failed runs, {r['undefined']} runs where the outcome is undefined.",
        f"Parameters: {', '.join(m['parameters'])}"
        + (f" (categorical: {', '.join(m['categorical'])})" if m["categorical"] else "")
        + (f"; constant, left out: {', '.join(m['constant'])}" if m["constant"] else "")
        + ".",
        "",
        "## PRIM boxes",
        "",
    ]
    if not p["available"]:
        lines.append(f"Not run: {p['note']}.")
    else:
        s = p["settings"]
        lines.append(
            f"EMA Workbench {p['version']}; min density {s['min_density']:g}, "
            f"peel alpha {s['peel_alpha']:g}, "
            f"paste alpha {s['paste_alpha']:g}, min mass {s['mass_min']:g}, at most {s['max_boxes']} boxes. "
            "Each box is the step of its peeling trajectory with the highest coverage among those with "
            "density at least the minimum; qp: quasi-p value of each restriction (above 0.05: weakly "
            "supported)."
        )
        lines.append("")
        lines.append(
            _md_table(box_table(boxes)).rstrip("\n") if len(boxes) else "No box reaches the minimum density."
        )
        if p["note"]:
            lines += ["", f"Note: {p['note']}."]
    lines += [
        "",
        "## CART",
        "",
        f"scikit-learn {c['version']} decision tree: depth at most {c['max_depth']}, leaves of at least "
        f"{c['min_leaf']} runs; accuracy {c['accuracy']:.3f} on the runs it was fitted to.",
        "",
        "```",
        cart_text,
        "```",
        "",
    ]
    dense = leaves[leaves["density"] >= m["prim"]["settings"]["min_density"]]
    if len(dense):
        lines += [
            f"Leaves with density at least {m['prim']['settings']['min_density']:g}:",
            "",
            _md_table(dense[["leaf", "rule", "n_runs", "n_holds", "density", "coverage"]]),
        ]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- sweep report
def sections(rep: Report, sweep_folder: str | Path) -> None:
    """Add every discovery found in `sweep_folder/discovery/` to a sweep report: the boxes, the
    peeling trajectory and box figures (drawn again from their CSVs), and the tree as text.
    A discovery folder that cannot be read is named, not fatal: the report still builds. One
    made from other runs than the sweep holds now (its runs table's SHA-256 differs) is marked."""
    root = Path(sweep_folder) / "discovery"
    if not root.is_dir():
        return
    try:
        runs_now = read_manifest(Path(sweep_folder)).get("runs_sha256")
    except SimError:
        runs_now = None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for number, folder in enumerate(folders, start=1):
        try:
            m = json.loads((folder / "discovery.json").read_text(encoding="utf-8"))
            boxes = pd.read_csv(folder / "boxes.csv", keep_default_na=False, na_values=[""])
            traj = pd.read_csv(folder / "peeling.csv", keep_default_na=False, na_values=[""])
            tree = (folder / "tree.txt").read_text(encoding="utf-8")
            for name, df, cols in (("boxes", boxes, BOX_COLUMNS), ("peeling", traj, TRAJECTORY_COLUMNS)):
                lacking = [c for c in cols if c not in df.columns]
                if lacking:
                    raise ValueError(f"{name}.csv lacks the columns {', '.join(lacking)}")
            holds = str(m["outcome"]["holds_where"])
            intro = (
                f"<p>Where <code>{html.escape(holds)}</code>: it holds in {int(m['runs']['holds'])} of "
                f"{int(m['runs']['used'])} runs (base rate {float(m['base_rate']):.3f}). Files in "
                f"<code>discovery/{html.escape(folder.name)}/</code>.</p>"
            )
            made_from = m["sweep"].get("runs_sha256")
            if runs_now and made_from and made_from != runs_now:
                intro += (
                    "<p><strong>Out of date:</strong> found on other runs than the sweep holds now (its "
                    "runs table's SHA-256 differs); run <code>sim discover</code> again with "
                    "<code>--force</code>.</p>"
                )
            prim_available, prim_note = bool(m["prim"]["available"]), str(m["prim"]["note"])
            min_density = float(m["prim"]["settings"]["min_density"])
            table = (
                table_html(box_table(boxes))
                if len(boxes)
                else "<p>No PRIM box reaches the minimum density.</p>"
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a damaged or hand-edited folder
            rep.text(
                f"Scenario discovery: {folder.name}",
                f"<p>Not readable ({html.escape(type(exc).__name__)}: {html.escape(str(exc)[:200])}).</p>",
            )
            continue
        slug = f"discovery{number}"  # figure files: unique whatever the folders' names
        if not prim_available:
            table = f"<p>PRIM not run: {html.escape(prim_note)}.</p>"
        rep.text(f"Scenario discovery: {holds}", intro + table)
        if len(traj):
            rep.save(
                peeling_figure(traj, min_density),
                f"{slug}_peeling",
                f"PRIM peeling trajectory: {holds}",
                "Coverage against density at each step of the peeling and pasting; colour: number of "
                "restricted parameters; ringed: the box reported.",
                traj,
            )
        if len(boxes):
            rep.save(
                box_figure(boxes),
                f"{slug}_box",
                f"PRIM box limits: {holds}",
                "Each box's limits normalised over the range the sweep covered; * restricted parameters; "
                "dots: levels of a categorical factor (filled: in the box).",
                boxes,
            )
        rep.text(f"CART tree: {holds}", f"<pre>{html.escape(tree)}</pre>")
