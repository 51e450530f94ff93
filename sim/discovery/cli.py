"""`sim discover`: its arguments (argparse only: imported by every `sim` call) and its command."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "discover",
        help="find where in a sweep's parameter space an outcome holds (PRIM, CART)",
        description="Scenario discovery on a finished sweep: the regions of parameter space where an outcome "
        "holds, as PRIM boxes (coverage, density, peeling trajectory) and a CART tree. Writes "
        "SWEEP_DIR/discovery/NAME/ (docs/discovery.md).",
    )
    d.add_argument("sweep_dir", help="a finished sweep folder")
    d.add_argument(
        "--outcome",
        required=True,
        help="an expression over the sweep's metrics: a condition ('japan_share > japan_resources', "
        "'gap < 0.1 and share > 0.2') or a number with --threshold; + - * /, comparisons, and/or/not, "
        "abs/min/max; a metric name with '.' or '-' in quotes",
    )
    d.add_argument(
        "--threshold", type=float, help="for a numeric outcome: it holds where the number is above this value"
    )
    d.add_argument(
        "--below", action="store_true", help="with --threshold: it holds where the number is below"
    )
    d.add_argument("--name", help="the discovery's folder name (default: made from the outcome)")
    d.add_argument("--out", help="write to this folder instead of SWEEP_DIR/discovery/NAME")
    d.add_argument("--force", action="store_true", help="replace an earlier discovery of the same name")
    d.add_argument(
        "--min-density", type=float, default=0.8, help="PRIM: least density of a box (default 0.8)"
    )
    d.add_argument(
        "--peel-alpha", type=float, default=0.05, help="PRIM: share peeled per step (default 0.05)"
    )
    d.add_argument(
        "--paste-alpha", type=float, default=0.05, help="PRIM: share pasted per step (default 0.05)"
    )
    d.add_argument(
        "--mass-min",
        type=float,
        default=0.05,
        help="PRIM: least share of runs in a box; CART: in a leaf (default 0.05)",
    )
    d.add_argument("--max-boxes", type=int, default=3, help="PRIM: at most this many boxes (default 3)")
    d.add_argument("--max-depth", type=int, default=3, help="CART: depth of the tree (default 3)")
    d.add_argument("--quiet", action="store_true", help="do not print the summary")


def command(args: argparse.Namespace, argv: list[str]) -> int:
    from sim.discovery.analysis import Settings
    from sim.discovery.discover import discover
    from sim.provenance import command_line

    settings = Settings(
        min_density=args.min_density,
        peel_alpha=args.peel_alpha,
        paste_alpha=args.paste_alpha,
        mass_min=args.mass_min,
        max_boxes=args.max_boxes,
        max_depth=args.max_depth,
    )
    out, summary = discover(
        args.sweep_dir,
        args.outcome,
        args.threshold,
        args.below,
        args.name,
        args.out,
        args.force,
        settings,
        command_line(argv),
    )
    if not args.quiet:
        print(summary, end="")
    print(f"wrote {out}")
    return 0
