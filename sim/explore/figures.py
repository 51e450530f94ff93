"""The explorer's headline figures, drawn as PNG bytes (matplotlib's Agg canvas, no pyplot:
the server draws for several sessions in threads).

Each figure shows the current settings in colour with 95% t bands over the seeds (none with
one seed), and, when the settings change the scenario, the scenario as it is (same seeds) in
grey dashes, so the effect of the change is read against it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from sim.explore.state import Outcome, band, final_punching, leaders

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe-Ito: a colour-blind-safe palette for the highlighted states
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
REFERENCE = "#777777"
SIZE = (5.2, 3.2)
DPI = 90


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _years(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")


def _label_ends(ax: Axes, ends: list[tuple[float, str, str, float]]) -> None:
    """Direct labels at the lines' ends, pushed apart so that none overlaps the next."""
    lo, hi = ax.get_ylim()
    gap = 0.055 * (hi - lo)
    placed: list[float] = []
    for y, state, colour, x in sorted(ends):
        at = max(y, placed[-1] + gap) if placed else y
        placed.append(at)
        ax.annotate(state, (x, y), xytext=(x + 0.3, at), textcoords="data", color=colour, va="center",
                    fontsize=8, annotation_clip=False)  # fmt: skip


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _seeds(outcome: Outcome) -> str:
    n = len(outcome.seeds)
    return f"mean of {n} seeds, 95% t band" if n > 1 else "1 seed (no band)"


def influence_share(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    """Influence share over time of the five leading states (by the last year's mean)."""
    fig, ax = _figure()
    top = leaders(outcome, 5)
    b = band(outcome.states, ["state", "year"], "influence_share")
    rb = band(reference.states, ["state", "year"], "influence_share") if reference is not None else None
    ends = []
    for i, state in enumerate(top):
        colour = PALETTE[i % len(PALETTE)]
        d = b[b["state"] == state]
        ax.plot(d["year"], d["mean"], color=colour, lw=2)
        ax.fill_between(d["year"], d["lo"], d["hi"], color=colour, alpha=0.2, lw=0)
        ends.append((float(d["mean"].iloc[-1]), state, colour, float(d["year"].iloc[-1])))
        if rb is not None:
            r = rb[rb["state"] == state]
            ax.plot(r["year"], r["mean"], color=REFERENCE, lw=1, ls="--")
    ax.set_ylim(bottom=0)
    _label_ends(ax, ends)
    _years(ax)
    ax.set_ylabel("influence share")
    ref = "; grey dashes: the scenario as it is" if reference is not None else ""
    ax.set_title(f"Influence share of the five leading states\n({_seeds(outcome)}{ref})", fontsize=9)
    ax.margins(x=0.12)
    return _png(fig)


def punching(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    """Punching ratio (influence share / resource share) per state in the last year."""
    fig, ax = _figure()
    p = final_punching(outcome).head(12).iloc[::-1]
    y = range(len(p))
    err = [(p["mean"] - p["lo"]).fillna(0).clip(lower=0), (p["hi"] - p["mean"]).fillna(0).clip(lower=0)]
    ax.barh(list(y), p["mean"], xerr=err, color=PALETTE[0], alpha=0.85, error_kw={"lw": 1})
    if reference is not None:
        r = final_punching(reference).set_index("state")["mean"]
        ax.scatter([r.get(s, float("nan")) for s in p["state"]], list(y), marker="|", s=200,
                   color="black", zorder=3, label="the scenario as it is")  # fmt: skip
        ax.legend(fontsize=8, loc="lower right")
    ax.axvline(1.0, color=REFERENCE, lw=1, ls=":")
    ax.set_xlim(left=0)
    ax.set_yticks(list(y), list(p["state"]), fontsize=8)
    year = outcome.states["year"].max()
    ax.set_xlabel("influence share / resource share (1: its weight)")
    ax.set_title(f"Punching ratio in {year:.0f}, the twelve highest\n({_seeds(outcome)})", fontsize=9)
    return _png(fig)


def alignment(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    """The forum alignment index over time."""
    fig, ax = _figure()
    b = band(outcome.world, ["year"], "alignment_index")
    ax.plot(b["year"], b["mean"], color=PALETTE[0], lw=2, label="these settings")
    ax.fill_between(b["year"], b["lo"], b["hi"], color=PALETTE[0], alpha=0.2, lw=0)
    if reference is not None:
        r = band(reference.world, ["year"], "alignment_index")
        ax.plot(r["year"], r["mean"], color=REFERENCE, lw=1, ls="--", label="the scenario as it is")
        ax.legend(fontsize=8)
    _years(ax)
    ax.set_ylabel("forum alignment index")
    ax.set_title(f"Alignment of the forums' texts ({_seeds(outcome)})", fontsize=9)
    return _png(fig)


FIGURES = {"influence": influence_share, "punching": punching, "alignment": alignment}
