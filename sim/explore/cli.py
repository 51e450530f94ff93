"""`sim explore`: its arguments (argparse only: imported by every `sim` call) and its command."""

from __future__ import annotations

import argparse

INSTALL = "pip install -e '.[viz]'"  # quoted: zsh would expand the brackets


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(
        "explore",
        help="open a local web app to play with a scenario (needs the `viz` extra)",
        description="Serve a local, offline web app (Solara) where you pick a scenario, switch its levers "
        "off and on, move the sliders of the declared uncertain parameters (sim/parameters.yaml), run "
        "a few seeds, see the headline figures, and save the settings as a variant file. Needs the "
        f"`viz` extra ({INSTALL}); see docs/explore.md.",
    )
    e.add_argument(
        "scenario", nargs="?", default="baseline", help="scenario file or shipped name (default: baseline)"
    )
    e.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    e.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765; 0: a free port)")
    e.add_argument("--no-browser", action="store_true", help="do not open a browser; only print the address")
    e.add_argument(
        "--mesa",
        action="store_true",
        help="serve Mesa's SolaraViz page of the model instead (step, plot)",
    )


def _check_viz() -> None:
    """The `viz` extra must be installed: said plainly, before anything else."""
    import importlib.util

    from sim.errors import SimError

    missing = [m for m in ("solara", "uvicorn", "solara_assets") if importlib.util.find_spec(m) is None]
    if missing:
        raise SimError(
            f"sim explore needs the optional `viz` extra ({', '.join(missing)} not installed): "
            f"run `{INSTALL}` in the clone (or `pip install 'sim[viz]'`)"
        )


def command(args: argparse.Namespace, argv: list[str]) -> int:
    import contextlib
    import sys

    from sim.errors import SimError

    if not 0 <= args.port <= 65535:
        raise SimError(f"--port: expected 0-65535, got {args.port}")
    _check_viz()
    from sim.explore.state import load_setup

    load_setup(args.scenario)  # a bad scenario is said here, before the server starts
    import sim.model  # noqa: F401  (Mesa and the model, imported now: the page's first run does not wait)
    from sim.explore.serve import serve

    app = "sim.explore.mesa_page" if args.mesa else "sim.explore.app"
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the way to stop it
        serve(app, args.scenario, args.host, args.port, not args.no_browser)
    # on a terminal, Ctrl-C leaves `^C` echoed on the current line: the message goes on the next
    print(f"{chr(10) if sys.stderr.isatty() else ''}sim explore: stopped", file=sys.stderr)
    return 130
