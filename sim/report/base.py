"""What every report shares: the Agg backend, one colour per state, figures saved with their
data as CSV beside them, and a small self-contained HTML page."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from sim.errors import SimError

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

plt.rcParams.update(
    {"figure.dpi": 100, "savefig.dpi": 110, "font.size": 10, "axes.titlesize": 11, "axes.grid": True,
     "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False, "legend.fontsize": 8}
)  # fmt: skip

# distinct hues first (tab10), then two more qualitative sets, then the tab20b shades
_BASE_COLOURS = (
    [plt.get_cmap("tab10")(k) for k in range(10)]
    + [plt.get_cmap("Dark2")(k) for k in range(8)]
    + [plt.get_cmap("Set1")(k) for k in range(9)]
    + [plt.get_cmap("tab20b")(k) for k in range(20)]
)


class Palette:
    """One fixed colour per state, by its place in the scenario (kept across all figures)."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)

    def __call__(self, name: str):
        if name not in self.names:
            self.names.append(name)
        return _BASE_COLOURS[self.names.index(name) % len(_BASE_COLOURS)]


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
