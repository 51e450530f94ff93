"""The explorer's headline figures, drawn as PNG bytes (matplotlib's Agg canvas, no pyplot:
the server draws for several sessions in threads).

Each figure shows the current settings with 95% t bands over the seeds (none with one seed),
and, when the settings change the scenario, the scenario as it is (same seeds) in thin dashes,
so the effect of the change is read against it. States have the reports' colours
(`sim.report.base.Palette`, built from the scenario's states in its order and their regions):
a state has the same colour here, in `sim report` and before and after a change.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from sim.explore.state import Outcome, band, final_punching, leaders

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sim.report.base import Palette

REFERENCE = "#777777"
WORLD = "k"  # a world-level line (the forum alignment index), as in the run report
SIZE = (5.2, 3.2)
DPI = 90
LEADING = 5
DASHES = (0, (4, 2))  # the scenario as it is: thin dashes


def palette(outcome: Outcome, reference: Outcome | None = None) -> Palette:
    """The reports' palette for this scenario: the leading states in focus (listed in the
    scenario's order, so a state's strong colour does not follow its rank), the others in
    shades of their region's hue."""
    from sim.report.base import Palette

    top = set(leaders(outcome, LEADING))
    names = outcome.names or list(dict.fromkeys(outcome.states["state"]))
    return Palette(names, outcome.regions, [s for s in names if s in top])


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _years(ax: Axes, years: list[float]) -> None:
    """Whole-year ticks over the recorded years only (a year is the end of a step, as in the
    tables: 2031.0 is the end of 2030)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(min(years), max(years))
    ax.set_xlabel("year (end of quarter)")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _seeds(outcome: Outcome) -> str:
    n = len(outcome.seeds)
    return f"mean of {n} seeds, 95% t band" if n > 1 else "1 seed (no band)"


def influence_figure(outcome: Outcome, reference: Outcome | None = None) -> Figure:
    """Influence share over time of the five leading states (by the last year's mean), each in
    its colour; with a reference, the same state in the scenario as it is, thin and dashed."""
    from matplotlib.lines import Line2D

    from sim.report.base import label_ends
    from sim.report.replicate import until

    fig, ax = _figure()
    pal = palette(outcome, reference)
    top = leaders(outcome, LEADING)
    b = band(outcome.states, ["state", "year"], "influence_share")
    rb = band(reference.states, ["state", "year"], "influence_share") if reference is not None else None
    ends = []
    for state in top:
        colour = pal(state)
        d = b[b["state"] == state]
        ax.plot(d["year"], d["mean"], color=colour, lw=2)
        ax.fill_between(d["year"], d["lo"], d["hi"], color=colour, alpha=0.2, lw=0)
        ends.append((state, float(d["mean"].iloc[-1]), colour))
        if rb is not None:
            r = rb[rb["state"] == state]
            ax.plot(r["year"], r["mean"], color=colour, lw=1, ls=DASHES, alpha=0.9)
    ax.set_ylim(bottom=0)
    _years(ax, list(b["year"]))
    label_ends(ax, ends)
    ax.set_ylabel("influence share")
    title = f"Influence share of the five states leading at {until(float(b['year'].max()))}"
    if reference is not None:
        keys = [Line2D([], [], color=REFERENCE, lw=2), Line2D([], [], color=REFERENCE, lw=1, ls=DASHES)]
        names = ["these settings", "the scenario as it is (same colour)"]
        ax.legend(keys, names, fontsize=7, loc="upper right")
    ax.set_title(f"{title}\n({_seeds(outcome)}; each state in its colour)", fontsize=9)
    return fig


def punching_figure(outcome: Outcome, reference: Outcome | None = None) -> Figure:
    """Punching ratio (influence share / resource share) per state in the last year, each bar
    in its state's colour."""
    from sim.report.replicate import until

    fig, ax = _figure()
    pal = palette(outcome, reference)
    p = final_punching(outcome).head(12).iloc[::-1]
    y = range(len(p))
    err = [(p["mean"] - p["lo"]).fillna(0).clip(lower=0), (p["hi"] - p["mean"]).fillna(0).clip(lower=0)]
    ax.barh(list(y), p["mean"], xerr=err, color=[pal(s) for s in p["state"]], error_kw={"lw": 1})
    if reference is not None:
        r = final_punching(reference).set_index("state")["mean"]
        ax.scatter([r.get(s, float("nan")) for s in p["state"]], list(y), marker="|", s=200,
                   color="black", zorder=3, label="the scenario as it is")  # fmt: skip
        ax.legend(fontsize=8, loc="lower right")
    ax.axvline(1.0, color=REFERENCE, lw=1, ls=":")
    ax.set_xlim(left=0)
    ax.set_yticks(list(y), list(p["state"]), fontsize=8)
    end = until(float(outcome.states["year"].max()))
    ax.set_xlabel("influence share / resource share (1: its weight)")
    ax.set_title(f"Punching ratio at {end}, the twelve highest\n({_seeds(outcome)})", fontsize=9)
    return fig


def alignment_figure(outcome: Outcome, reference: Outcome | None = None) -> Figure:
    """The forum alignment index over time."""
    fig, ax = _figure()
    b = band(outcome.world, ["year"], "alignment_index")
    ax.plot(b["year"], b["mean"], color=WORLD, lw=2, label="these settings")
    ax.fill_between(b["year"], b["lo"], b["hi"], color=WORLD, alpha=0.15, lw=0)
    if reference is not None:
        r = band(reference.world, ["year"], "alignment_index")
        ax.plot(r["year"], r["mean"], color=REFERENCE, lw=1, ls=DASHES, label="the scenario as it is")
        ax.legend(fontsize=8)
    _years(ax, list(b["year"]))
    ax.set_ylabel("forum alignment index")
    ax.set_title(f"Alignment of the forums' texts ({_seeds(outcome)})", fontsize=9)
    return fig


def influence_share(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    return _png(influence_figure(outcome, reference))


def punching(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    return _png(punching_figure(outcome, reference))


def alignment(outcome: Outcome, reference: Outcome | None = None) -> bytes:
    return _png(alignment_figure(outcome, reference))


# the page's figures, as PNG bytes; DRAW: the same as matplotlib figures (for tests)
FIGURES = {"influence": influence_share, "punching": punching, "alignment": alignment}
DRAW = {"influence": influence_figure, "punching": punching_figure, "alignment": alignment_figure}
