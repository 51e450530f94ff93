"""What every report shares: the Agg backend, one colour per state, figures saved with their
data as CSV beside them, and a small self-contained HTML page.

Colours follow one design in every report: the states a report is about (its *focus*: the
leading states, the actors of its levers) get strong, colour-blind-safe colours (Okabe-Ito)
and are named at the ends of their lines; every other state gets a shade of its region's hue
(Paul Tol's muted set) where all states are drawn (bars, networks), and light grey where
lines would crowd. A state keeps its colour in every figure of a report."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from sim.errors import SimError

matplotlib.use("Agg")
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

plt.rcParams.update(
    {"figure.dpi": 100, "savefig.dpi": 110, "font.size": 10, "axes.titlesize": 11, "axes.grid": True,
     "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8,
     "legend.frameon": False}
)  # fmt: skip

# Okabe & Ito (2008), the colour-blind-safe categorical set, yellow left out (unreadable as a
# line on white) and Tol's wine added: eight strong colours, each pair at CIE76 distance > 25
FOCUS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255")
# Paul Tol's "muted" set: one hue family per region (states of a region are shades of it)
REGION_COLOURS = ("#332288", "#117733", "#44AA99", "#88CCEE", "#DDCC77", "#CC6677", "#AA4499", "#999933",
                  "#882255", "#6699CC")  # fmt: skip
GREY = "#BBBBBB"  # the states a figure is not about
DARK = "#444444"  # reference lines (forum texts, an overall index)
OTHERS = "#999999"  # "everything else" summed


def _lab(colour: Any) -> np.ndarray:
    """CIE L*a*b* (D65) of a matplotlib colour, for telling colours apart."""
    rgb = np.asarray(mcolors.to_rgb(colour), dtype=float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: Any, b: Any) -> float:
    """CIE76 colour difference (about 2.3: just noticeable; above 20: clearly different)."""
    return float(np.linalg.norm(_lab(a) - _lab(b)))


def _shade(colour: str, k: int, n: int) -> tuple[float, ...]:
    """The k-th of n shades of a region's hue: from the hue itself toward white."""
    rgb = np.asarray(mcolors.to_rgb(colour))
    mix = 0.35 + (0.35 * k / (n - 1) if n > 1 else 0.0)  # lighter than the focus colours
    return tuple(float(v) for v in rgb + (1.0 - rgb) * mix)


class Palette:
    """One fixed colour per state, the same in every figure and in every report of a scenario
    and its variants: the scenario's first eight states (its main actors, listed first) keep
    one strong colour each, by their place in the scenario, not by their rank in a run; the
    other states are shades of their region's hue (full strength when a figure is about them,
    lighter otherwise). `focus`: the states the report is about (coloured, not grey, in line
    figures, and named)."""

    def __init__(
        self, names: Iterable[str], regions: dict[str, str] | None = None, focus: Sequence[str] = ()
    ) -> None:
        self.names = list(dict.fromkeys(names))
        self.regions = dict(regions or {})
        self.focus = list(dict.fromkeys(focus))[: len(FOCUS_COLOURS)]
        rest = self.names[len(FOCUS_COLOURS) :]  # the states that take their region's hue
        order = list(dict.fromkeys(self.regions.get(s, "") for s in rest))
        self._region_hue = {r: REGION_COLOURS[k % len(REGION_COLOURS)] for k, r in enumerate(order)}

    def __call__(self, name: str) -> Any:
        if name not in self.names:
            self.names.append(name)
        k = self.names.index(name)
        if k < len(FOCUS_COLOURS):
            return FOCUS_COLOURS[k]
        region = self.regions.get(name, "")
        hue = self._region_hue.get(region, REGION_COLOURS[-1])
        keyed = self.names[: len(FOCUS_COLOURS)]
        if name in self.focus:  # full strength; a second one of the region darker, and so on
            near = [s for s in self.focus if s not in keyed and self.regions.get(s, "") == region]
            rgb = np.asarray(mcolors.to_rgb(hue)) * (1.0 - 0.3 * near.index(name) / max(1, len(near) - 1))
            return tuple(float(v) for v in rgb)
        peers = [s for s in self.names if self.regions.get(s, "") == region and s not in keyed]
        return _shade(hue, peers.index(name), len(peers))

    def line(self, name: str) -> Any:
        """A line's colour: the state's colour when it is in focus, grey otherwise."""
        return self(name) if name in self.focus else GREY

    def region_of(self, name: str) -> str:
        return self.regions.get(name, "")


def regions_of(folder: Path) -> dict[str, str]:
    """state -> region, from a run folder's scenario.resolved.yaml (empty if there is none)."""
    import yaml

    path = Path(folder) / "scenario.resolved.yaml"
    if not path.exists():
        return {}
    return regions_in(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def regions_in(sc: dict[str, Any]) -> dict[str, str]:
    """state -> region, from a resolved scenario already read (a report reads the file once)."""
    return {str(s["name"]): str(s.get("region", "")) for s in sc.get("states", []) if "name" in s}


def label_ends(
    ax: Any, items: Sequence[tuple[str, float, Any]], fontsize: float = 8, x: float = 1.01
) -> None:
    """Name lines at their right ends (label, last y in data units, colour), just outside the
    axes, moved apart vertically so that no two labels overlap. Call after the y limits are set."""
    items = [(lab, y, c) for lab, y, c in items if np.isfinite(y)]
    if not items:
        return
    y0, y1 = ax.get_ylim()
    frac = np.array([(y - y0) / (y1 - y0) for _, y, _ in items])
    height = ax.get_position().height * ax.figure.get_figheight()  # inches
    gap = fontsize * 1.25 / 72.0 / max(height, 0.5)
    order = np.argsort(frac)
    pos = frac[order].copy()
    for k in range(1, len(pos)):
        pos[k] = max(pos[k], pos[k - 1] + gap)
    over = pos[-1] - 1.0
    if over > 0:
        pos -= over
        for k in range(len(pos) - 2, -1, -1):
            pos[k] = min(pos[k], pos[k + 1] - gap)
    for k, i in enumerate(order):
        lab, _, colour = items[i]
        moved = abs(pos[k] - frac[i]) > gap / 3
        arrow = {"arrowstyle": "-", "color": colour, "lw": 0.5, "alpha": 0.6, "relpos": (0.0, 0.5),
                 "shrinkA": 0, "shrinkB": 1} if moved else None  # fmt: skip
        ax.annotate(
            lab,
            xy=(1.0, frac[i]),
            xytext=(x + (0.01 if moved else 0.0), pos[k]),
            xycoords="axes fraction",
            textcoords="axes fraction",
            fontsize=fontsize,
            color=colour,
            va="center",
            ha="left",
            annotation_clip=False,
            arrowprops=arrow,
        )


def fmt_share(x: float) -> str:
    return f"{x:.2f}" if abs(x) >= 0.095 else f"{x:.3f}"


@dataclass
class Figure:
    file: str
    title: str
    caption: str


@dataclass
class Report:
    """A folder of figures (PNG + CSV) and the index.html that shows them."""

    title: str
    folder: Path
    figures: list[Figure] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)

    def save(self, fig, name: str, title: str, caption: str, data: pd.DataFrame) -> None:
        png = f"{name}.png"
        fig.savefig(self.folder / png, bbox_inches="tight")
        plt.close(fig)
        data.to_csv(self.folder / f"{name}.csv", index=False, float_format="%.6g")
        self.figures.append(Figure(png, title, caption))
        self.sections.append(
            f'<figure id="{name}"><h3>{html.escape(title)}</h3><img src="{png}" alt="{html.escape(title)}">'
            f'<figcaption>{html.escape(caption)} <a href="{name}.csv">Data (CSV)</a></figcaption></figure>'
        )

    def text(self, heading: str, body_html: str) -> None:
        self.sections.append(f"<section><h2>{html.escape(heading)}</h2>{body_html}</section>")

    def write(self, intro: str) -> Path:
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
figcaption {{ color: #444; max-width: 900px; }} table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }} th {{ background: #f3f3f3; }}
td:first-child, th:first-child {{ text-align: left; }} code {{ background: #f3f3f3; }}
</style></head><body>
<h1>{html.escape(self.title)}</h1>
<p>{intro}</p>
{"".join(self.sections)}
</body></html>
"""
        (self.folder / "index.html").write_text(page, encoding="utf-8")
        return self.folder / "index.html"


def table_html(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    return df.to_html(
        index=False, border=0, float_format=lambda x: floatfmt.format(x), na_rep="", escape=True
    )


def provenance_html(manifest: dict) -> str:
    keys = [k for k in manifest if not isinstance(manifest[k], (dict, list)) or k == "versions"]
    rows = []
    for k in keys:
        v = manifest[k]
        v = ", ".join(f"{a} {b}" for a, b in v.items()) if isinstance(v, dict) else v
        rows.append(
            f"<tr><th>{html.escape(str(k))}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        raise SimError(f"{folder}/manifest.json: not valid JSON") from None
    return data if isinstance(data, dict) else {}
