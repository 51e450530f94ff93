"""The input files that ship with sim, found by name from any folder.

Scenarios live in the package (`sim/scenarios`, found by `sim.scenario.loader`); experiments,
claims and calibrations live in the clone's `experiments/` folder beside the package (an
editable install, as `dev.py` makes, keeps it there). A command given a file that does not
exist where it runs looks for a shipped one of that name: `sim sweep synergy_sobol`,
`sim claims` (the shipped claims), `sim validate calibration`.
"""

from __future__ import annotations

from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def shipped_input(arg: str) -> str:
    """`arg` if it names a file here; else the shipped experiment of that name (with or
    without `.yaml`, with or without a leading `experiments/`), if there is one; else `arg`."""
    p = Path(arg)
    try:
        if p.exists():
            return arg
        for cand in (EXPERIMENTS / p.name, EXPERIMENTS / f"{p.name}.yaml"):
            if cand.is_file():
                return str(cand)
    except (OSError, ValueError):
        pass
    return arg


def default_input(name: str) -> str:
    """The shipped file `experiments/NAME` (the default of `sim claims` and `sim calibrate`)."""
    return str(EXPERIMENTS / name)
