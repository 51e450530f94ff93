"""Scenario discovery proper: which runs an outcome holds in, and the regions of parameter
space that hold them, by PRIM (the EMA Workbench's, optional extra `ema`) and CART
(scikit-learn).

PRIM peels a box from the whole space, a small slice (`peel_alpha` of the runs still in the
box) at a time along one parameter, each time the slice that raises the share of runs where
the outcome holds the most, down to a box of `mass_min` of the runs; then pastes back what
raises the share again. Every step is a box on the peeling trajectory, with its coverage
(share of all runs where the outcome holds that it holds) and density (share of its runs
where the outcome holds). The box reported is the step of highest coverage among those with
density at least `min_density`; the runs in it are then set aside and PRIM looks for the
next box in the rest, up to `max_boxes`, until no step reaches `min_density`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.discovery.expressions import Outcome, evaluate
from sim.errors import SimError


@dataclass(frozen=True)
class Settings:
    """PRIM's and CART's settings (`sim discover --min-density` ...; docs/discovery.md)."""

    min_density: float = 0.8
    peel_alpha: float = 0.05
    paste_alpha: float = 0.05
    mass_min: float = 0.05
    max_boxes: int = 3
    max_depth: int = 3

    def check(self) -> None:
        """Each setting in the range its method accepts, as a located command-line error."""
        rules = [
            ("--min-density", self.min_density, 0.0, 1.0, "above 0 and at most 1"),
            ("--peel-alpha", self.peel_alpha, 0.0, 0.5, "above 0 and at most 0.5"),
            ("--paste-alpha", self.paste_alpha, 0.0, 0.5, "above 0 and at most 0.5"),
            ("--mass-min", self.mass_min, 0.0, 0.5, "above 0 and at most 0.5"),
        ]
        for flag, v, lo, hi, text in rules:
            if not (np.isfinite(v) and lo < v <= hi):
                raise SimError(f"{flag}: expected a share {text}, got {v:g}")
        if not 1 <= self.max_boxes <= 10:
            raise SimError(f"--max-boxes: expected 1 to 10, got {self.max_boxes}")
        if not 1 <= self.max_depth <= 10:
            raise SimError(f"--max-depth: expected 1 to 10, got {self.max_depth}")


@dataclass
class Data:
    """The runs PRIM and CART see: one row per ok run with a defined outcome."""

    x: pd.DataFrame  # columns: the varied keys; numbers, or level names (categorical)
    y: np.ndarray  # bool: the outcome holds
    categorical: list[str]
    constant: list[str]  # varied keys that took one value only (left out)
    failed: int  # runs that failed
    undefined: int  # ok runs where the outcome is not defined (a NaN metric, a division by 0)

    @property
    def base_rate(self) -> float:
        return float(self.y.mean()) if len(self.y) else float("nan")


def outcome_label(outcome: Outcome, threshold: float | None, below: bool) -> str:
    """Where the outcome holds, in words: the condition, or `number > threshold` (`<` with --below)."""
    if outcome.kind == "condition":
        return outcome.text.strip()
    return f"{outcome.text.strip()} {'<' if below else '>'} {threshold:g}"


def prepare(runs: pd.DataFrame, outcome: Outcome, threshold: float | None, below: bool, where: str) -> Data:
    """The parameters and outcome of each ok run; refused when the outcome holds in all or
    none of them (nothing to discover) or no parameter varies."""
    if outcome.kind == "condition" and threshold is not None:
        raise SimError(
            f"--threshold: the outcome {outcome.text.strip()!r} is already a condition; "
            "give --threshold only with a numeric outcome (it then holds where the number is above it)"
        )
    if outcome.kind == "condition" and below:
        raise SimError("--below: applies to a numeric outcome with --threshold; write the condition instead")
    if outcome.kind == "number" and threshold is None:
        raise SimError(
            f"--outcome {outcome.text.strip()!r} is a number: give --threshold X (it holds where the "
            "number is above X; add --below for under X), or write a condition such as 'a > b'"
        )
    if threshold is not None and not np.isfinite(threshold):
        raise SimError(f"--threshold: expected a finite number, got {threshold}")
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    failed = len(runs) - len(ok)
    values, valid = evaluate(outcome, {m: ok[m].to_numpy(dtype=float) for m in outcome.metrics})
    if outcome.kind == "number":
        values = values < threshold if below else values > threshold
    holds = np.asarray(values, dtype=bool)
    undefined = int((~valid).sum())
    params = [c for c in runs.columns if c.startswith("param:")]
    if not params:
        raise SimError(f"{where}: the sweep varies no parameter; nothing to discover")
    x = ok.loc[valid, params].rename(columns=lambda c: c.removeprefix("param:")).reset_index(drop=True)
    y = holds[valid]
    label = outcome_label(outcome, threshold, below)
    if len(y) == 0:
        raise SimError(
            f"{where}: the outcome {label!r} is defined in none of the {len(ok)} ok runs "
            f"({failed} runs failed; its metrics are NaN or it divides by zero everywhere)"
        )
    if y.all() or not y.any():
        which = "every one" if y.all() else "none"
        raise SimError(
            f"{where}: the outcome {label!r} holds in {which} of the {len(y)} runs, so there is no region "
            "to find; choose another threshold or outcome"
        )
    categorical: list[str] = []
    constant: list[str] = []
    for col in list(x.columns):
        if x[col].nunique(dropna=False) < 2:
            constant.append(col)
            x = x.drop(columns=col)
        elif pd.api.types.is_numeric_dtype(x[col]) and not pd.api.types.is_bool_dtype(x[col]):
            x[col] = x[col].astype(float)
        else:  # level names (strings), yes/no values, or a mix of numbers and names
            x[col] = np.asarray([str(v) for v in x[col]], dtype=object)
            categorical.append(col)
    if x.shape[1] == 0:
        raise SimError(f"{where}: every varied parameter took one value only; nothing to discover")
    return Data(x, y, categorical, constant, failed, undefined)


# ----------------------------------------------------------------------------- PRIM
BOX_COLUMNS = [
    "box", "parameter", "restricted", "lower", "upper", "levels", "range_low", "range_high", "all_levels",
    "qp_lower", "qp_upper", "coverage", "density", "mass", "n_runs", "n_holds", "step",
]  # fmt: skip
TRAJECTORY_COLUMNS = ["box", "id", "coverage", "density", "mass", "res_dim", "n", "k", "restricted", "chosen"]


@dataclass
class PrimResult:
    available: bool
    version: str = ""
    boxes: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per (box, parameter)
    stats: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per box
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per (box, step)
    note: str = ""


def prim_available() -> tuple[bool, str]:
    """Whether the EMA Workbench (the optional `ema` extra) can be imported, and its version."""
    import warnings
    from importlib.metadata import version

    try:
        with warnings.catch_warnings():  # "ipyparallel not installed": not used here
            warnings.simplefilter("ignore")
            import ema_workbench.analysis.prim  # noqa: F401

        return True, version("ema_workbench")
    except ImportError:
        return False, ""


def run_prim(data: Data, s: Settings) -> PrimResult:
    """PRIM boxes (see the module docstring), with EMA's peeling and pasting."""
    available, version = prim_available()
    if not available:
        return PrimResult(
            False,
            boxes=pd.DataFrame(columns=BOX_COLUMNS),
            trajectory=pd.DataFrame(columns=TRAJECTORY_COLUMNS),
            note="PRIM needs the EMA Workbench: pip install -e .[ema]",
        )
    from ema_workbench.analysis import prim as ema_prim

    logging.getLogger("EMA").setLevel(logging.WARNING)

    class KeepingPrim(ema_prim.Prim):
        """EMA's Prim, whose box is kept whatever density its last step reaches (EMA's own
        `find_box` swaps it for the whole space): the step reported is chosen here."""

        def next_box(self) -> Any:
            self._update_yi_remaining(self)
            for b in self._boxes:
                b._frozen = True
            if self.yi_remaining.shape[0] == 0 or self.determine_coi(self.yi_remaining) == 0:
                return None
            box = ema_prim.PrimBox(self, self.box_init, self.yi_remaining[:])
            box = self._paste(self._peel(box))
            self._boxes.append(box)
            return box

    names = list(data.x.columns)
    x = data.x.copy()
    x.columns = [f"x{k}" for k in range(len(names))]  # EMA indexes columns by name: plain ones
    for k, name in enumerate(names):
        if name in data.categorical:
            x[f"x{k}"] = x[f"x{k}"].astype(object)
    import warnings

    with warnings.catch_warnings():  # EMA 2.5 uses pandas' deprecated drop(inplace=True)
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        alg = KeepingPrim(
            x,
            data.y.astype(int),
            threshold=s.min_density,
            peel_alpha=s.peel_alpha,
            paste_alpha=s.paste_alpha,
            mass_min=s.mass_min,
        )
    init = alg.box_init
    rows: list[dict[str, Any]] = []
    traj: list[pd.DataFrame] = []
    stats: list[dict[str, Any]] = []
    note = ""
    for number in range(1, s.max_boxes + 1):
        box = alg.next_box()
        if box is None:
            note = note or "every run where the outcome holds is in a box"
            break
        t = box.peeling_trajectory.reset_index(drop=True)
        ok = t[t["density"] >= s.min_density - 1e-12]
        chosen = None
        if len(ok):
            chosen = int(
                ok.sort_values(["coverage", "density", "res_dim"], ascending=[False, False, True]).index[0]
            )
        tt = t[["id", "coverage", "density", "mass", "res_dim", "n", "k"]].copy()
        tt.insert(0, "box", number)
        tt["restricted"] = [
            "; ".join(names[int(c[1:])] for c in _restricted(box.box_lims[i], init)) for i in range(len(t))
        ]
        tt["chosen"] = tt["id"] == (chosen if chosen is not None else -1)
        traj.append(tt)
        if chosen is None:
            best = t["density"].max()
            note = (
                f"box {number}: no step of the peeling reaches density {s.min_density:g} "
                f"(the densest reaches {best:.3f}); no further box"
            )
            break
        box.select(chosen)
        if chosen == 0 and number == 1:
            note = (
                f"the outcome already holds in {t.loc[0, 'density']:.3f} of all runs, at least the "
                f"minimum density {s.min_density:g}: the whole space is the box (raise --min-density to "
                "find a denser one)"
            )
        r = t.loc[chosen]
        lims = box.box_lims[chosen]
        qp = box.qp[chosen] if chosen < len(box.qp) else {}
        restricted = set(_restricted(lims, init))
        stats.append(
            {
                "box": number,
                "step": chosen,
                "coverage": r["coverage"],
                "density": r["density"],
                "mass": r["mass"],
                "n_runs": int(r["n"]),
                "n_holds": int(r["k"]),
                "restricted": len(restricted),
            }
        )
        for k, name in enumerate(names):
            c = f"x{k}"
            row: dict[str, Any] = {
                "box": number,
                "parameter": name,
                "restricted": c in restricted,
                "coverage": r["coverage"],
                "density": r["density"],
                "mass": r["mass"],
                "n_runs": int(r["n"]),
                "n_holds": int(r["k"]),
                "step": chosen,
            }
            if name in data.categorical:
                kept = sorted(str(v) for v in lims.loc[0, c])
                every = sorted(str(v) for v in init.loc[0, c])
                row.update(
                    lower=np.nan,
                    upper=np.nan,
                    range_low=np.nan,
                    range_high=np.nan,
                    levels=json.dumps(kept, ensure_ascii=False),
                    all_levels=json.dumps(every, ensure_ascii=False),
                )
            else:
                row.update(
                    lower=float(lims.loc[0, c]),
                    upper=float(lims.loc[1, c]),
                    range_low=float(init.loc[0, c]),
                    range_high=float(init.loc[1, c]),
                    levels="",
                    all_levels="",
                )
            q = qp.get(c) if isinstance(qp, dict) else None
            row["qp_lower"], row["qp_upper"] = (_qp(q[0]), _qp(q[1])) if q is not None else (np.nan, np.nan)
            rows.append(row)
    boxes = pd.DataFrame(rows, columns=BOX_COLUMNS)
    trajectory = pd.concat(traj, ignore_index=True) if traj else pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    return PrimResult(True, version, boxes, pd.DataFrame(stats), trajectory, note)


def _qp(v: object) -> float:
    """EMA's quasi-p value of one limit; -1 (the limit is not restricted) becomes NaN."""
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan
    return f if 0 <= f <= 1 else np.nan


def _restricted(lims: pd.DataFrame, init: pd.DataFrame) -> list[str]:
    """The columns whose limits differ from the whole space's."""
    out = []
    for c in init.columns:
        a, b = lims[c], init[c]
        if isinstance(b.iloc[0], set):
            if set(a.iloc[0]) != set(b.iloc[0]):
                out.append(c)
        elif float(a.iloc[0]) != float(b.iloc[0]) or float(a.iloc[1]) != float(b.iloc[1]):
            out.append(c)
    return out


# ----------------------------------------------------------------------------- CART
@dataclass
class CartResult:
    version: str
    features: list[str]
    leaves: pd.DataFrame  # one row per leaf: rule, n, holds, density, coverage, mass
    text: str  # the tree, one node per line, leaves with their coverage and density
    model: Any  # the fitted DecisionTreeClassifier (for the figure)
    accuracy: float
    min_leaf: int


def _features(data: Data) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Numbers as they are; each level of a categorical factor as a 0/1 column `key = level`."""
    cols: dict[str, Any] = {}
    onehot: dict[str, tuple[str, str]] = {}
    for c in data.x.columns:
        if c in data.categorical:
            for level in sorted(data.x[c].unique()):
                name = f"{c} = {level}"
                cols[name] = (data.x[c] == level).astype(float).to_numpy()
                onehot[name] = (c, str(level))
        else:
            cols[c] = data.x[c].to_numpy(dtype=float)
    return pd.DataFrame(cols), onehot


def run_cart(data: Data, s: Settings) -> CartResult:
    """A classification tree (Gini, depth at most `max_depth`, leaves of at least `mass_min`
    of the runs, fixed random_state), and per leaf its rule, coverage and density."""
    from importlib.metadata import version

    from sklearn.tree import DecisionTreeClassifier

    xf, onehot = _features(data)
    n = len(data.y)
    min_leaf = max(1, int(np.ceil(s.mass_min * n)))
    tree = DecisionTreeClassifier(max_depth=s.max_depth, min_samples_leaf=min_leaf, random_state=0)
    tree.fit(xf.to_numpy(), data.y.astype(int))
    t = tree.tree_
    leaf_of = tree.apply(xf.to_numpy())
    total = int(data.y.sum())
    names = list(xf.columns)

    levels = {c: sorted(str(v) for v in data.x[c].unique()) for c in data.categorical}

    def cond(node: int, left: bool) -> tuple[str, str, object]:
        f, thr = names[t.feature[node]], float(t.threshold[node])
        if f in onehot:
            key, level = onehot[f]
            return key, "is not" if left else "is", level
        return f, "<=" if left else ">", thr

    def shown(c: tuple[str, str, object]) -> str:
        return f"{c[0]} {c[1]} {c[2]:.4g}" if isinstance(c[2], float) else f"{c[0]} {c[1]} {c[2]}"

    def rule_text(conds: list[tuple[str, str, object]]) -> str:
        """A leaf's path as one condition per parameter: the tightest bounds, the levels left."""
        out: list[str] = []
        for key in dict.fromkeys(c[0] for c in conds):
            mine = [c for c in conds if c[0] == key]
            if key in levels:
                kept = [lv for lv in levels[key] if all(c[2] != lv for c in mine if c[1] == "is not")]
                kept = [lv for lv in kept if all(c[2] == lv for c in mine if c[1] == "is")]
                out.append(f"{key} is {kept[0]}" if len(kept) == 1 else f"{key} in {{{', '.join(kept)}}}")
                continue
            lows = [float(c[2]) for c in mine if c[1] == ">"]  # type: ignore[arg-type]
            highs = [float(c[2]) for c in mine if c[1] == "<="]  # type: ignore[arg-type]
            lo, hi = (max(lows) if lows else None), (min(highs) if highs else None)
            if lo is not None and hi is not None:
                out.append(f"{lo:.4g} < {key} <= {hi:.4g}")
            else:
                out.append(f"{key} > {lo:.4g}" if lo is not None else f"{key} <= {hi:.4g}")
        return " and ".join(out) or "(all runs)"

    lines: list[str] = []
    leaves: list[dict[str, Any]] = []

    def walk(node: int, depth: int, rule: list[tuple[str, str, object]]) -> None:
        if t.children_left[node] == -1:
            inside = leaf_of == node
            k, m = int(data.y[inside].sum()), int(inside.sum())
            density = k / m if m else float("nan")
            cover = k / total if total else float("nan")
            verdict = "holds" if density > 0.5 else "does not hold"
            lines.append(
                f"{'|   ' * depth}|--- leaf {len(leaves) + 1}: {m} runs, holds in {k}; "
                f"density {density:.3f}, coverage {cover:.3f} (mostly {verdict})"
            )
            leaves.append(
                {
                    "leaf": len(leaves) + 1,
                    "node": node,
                    "rule": rule_text(rule),
                    "n_runs": m,
                    "n_holds": k,
                    "density": density,
                    "coverage": cover,
                    "mass": m / n,
                }
            )
            return
        for child, left in ((t.children_left[node], True), (t.children_right[node], False)):
            c = cond(node, left)
            lines.append(f"{'|   ' * depth}|--- {shown(c)}")
            walk(int(child), depth + 1, [*rule, c])

    walk(0, 0, [])
    acc = float((tree.predict(xf.to_numpy()) == data.y.astype(int)).mean())
    return CartResult(
        version("scikit-learn"), names, pd.DataFrame(leaves), "\n".join(lines), tree, acc, min_leaf
    )
