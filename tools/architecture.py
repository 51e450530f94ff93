"""The package's import graph and its layers: the check behind `tests/test_architecture.py`,
and the picture in `docs/architecture.md`.

    python tools/architecture.py            print modules, edges, cycles and layer breaches
    python tools/architecture.py --draw     also draw docs/img/import_graph.png

Every import counts: at module level, inside functions, and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]

# Layers, lowest first. A module may import modules of its own layer or of lower layers only.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("sim", "sim.errors", "sim.fields", "sim.io", "sim.provenance")),
    ("engine", ("sim.engine",)),
    ("mechanisms", ("sim.paths", "sim.forums", "sim.influence", "sim.policies", "sim.growth", "sim.powers")),
    ("scenario", ("sim.scenario",)),
    ("model", ("sim.model",)),
    ("running", ("sim.runner", "sim.experiments")),
    ("analysis", ("sim.report", "sim.claims", "sim.calibration", "sim.discovery")),
    ("interface", ("sim.cli", "sim.__main__", "sim.validate", "sim.explore")),
]


def layer_of(module: str) -> int:
    """Index of the layer of `module` (the longest matching prefix wins)."""
    best, best_len = -1, -1
    for k, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = k, len(p)
    if best < 0:
        raise KeyError(f"{module} is in no layer: add it to tools/architecture.py")
    return best


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for p in sorted((root / "sim").rglob("*.py")):
        parts = list(p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    """module -> module it imports (within `sim`), for every import statement."""
    mods = modules(root)
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from a.b import c`: the module a.b.c if it is one, else a.b
                names = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
            else:
                continue
            for n in names:
                if n in mods and n != m:
                    g.add_edge(m, n)
    return g


def cycles(g: nx.DiGraph) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]


def upward(g: nx.DiGraph) -> list[tuple[str, str]]:
    """Imports from a lower layer up to a higher one."""
    return [(a, b) for a, b in g.edges if layer_of(b) > layer_of(a)]


def group(module: str) -> str:
    """The package a module belongs to (sim.paths.discourse -> paths), or the module itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sim"


def draw(g: nx.DiGraph, path: Path) -> None:
    """The import graph condensed to packages, one row per layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = nx.DiGraph()
    for m in g.nodes:
        h.add_node(group(m), layer=layer_of(m))
    for a, b in g.edges:
        if group(a) != group(b):
            w = h.get_edge_data(group(a), group(b), {"n": 0})["n"]
            h.add_edge(group(a), group(b), n=w + 1)
    rows: dict[int, list[str]] = {}
    for n, data in sorted(h.nodes(data=True)):
        rows.setdefault(data["layer"], []).append(n)
    pos = {n: ((j + 0.5) / len(names), k) for k, names in rows.items() for j, n in enumerate(names)}
    fig, ax = plt.subplots(figsize=(12, 9))
    widths = [0.4 + 0.25 * d["n"] for _, _, d in h.edges(data=True)]
    nx.draw_networkx_edges(
        h, pos, ax=ax, width=widths, alpha=0.35, arrowsize=12, node_size=1700, connectionstyle="arc3,rad=0.08"
    )
    nx.draw_networkx_nodes(h, pos, ax=ax, node_size=1700, node_color="#dbe8f5", edgecolors="#4a78a8")
    nx.draw_networkx_labels(h, pos, ax=ax, font_size=8)
    ax.set_yticks(range(len(LAYERS)), [name for name, _ in LAYERS])
    ax.tick_params(left=True, labelleft=True, bottom=False, labelbottom=False)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.6, len(LAYERS) - 0.4)
    n_mod, n_edge = g.number_of_nodes(), g.number_of_edges()
    ax.set_title(
        f"Imports of sim/ by package ({n_mod} modules, {n_edge} import edges, {len(cycles(g))} cycles): "
        "every arrow points down or across a layer; width = number of imports",
        fontsize=9,
    )
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draw", action="store_true")
    args = ap.parse_args()
    g = import_graph()
    cyc, up = cycles(g), upward(g)
    n, e = g.number_of_nodes(), g.number_of_edges()
    print(f"{n} modules, {e} import edges, {len(cyc)} cycles, {len(up)} upward")
    for c in cyc:
        print("cycle:", " ".join(c))
    for a, b in up:
        print(f"upward: {a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})")
    if args.draw:
        out = ROOT / "docs" / "img" / "import_graph.png"
        draw(g, out)
        print(f"wrote {out}")
    return 1 if cyc or up else 0


if __name__ == "__main__":
    sys.exit(main())
