#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py run [sim run arguments]   create .venv if needed, run the default scenario
    python3 dev.py test [pytest arguments]   create .venv if needed, check (ruff, mypy), run the tests
                                             (the fast suite; `--all`, or CI=1 as .ci/run sets, runs
                                             the slow tests too)
    python3 dev.py check                     ruff and mypy only
    python3 dev.py bench                     run the speed benchmark

The virtual environment is (re)installed when it is missing or pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SIM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".sim-installed"


def ensure_venv() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies (pip install -e .[dev])", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


def check() -> int:
    """ruff (lint and format) and mypy; the first that fails stops the check."""
    for name, cmd in (
        ("ruff", ["-m", "ruff", "check", "."]),
        ("ruff format", ["-m", "ruff", "format", "--check", "--quiet", "."]),
        ("mypy", ["-m", "mypy"]),
    ):
        code = subprocess.run([str(PY), *cmd], cwd=ROOT).returncode
        if code != 0:
            print(f"{name} found problems (above)", file=sys.stderr)
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "check", "bench"):
        print(__doc__)
        return 2
    ensure_venv()
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        return subprocess.run([str(BIN / "sim"), "run", *rest], cwd=ROOT).returncode
    if cmd == "bench":
        return subprocess.run([str(PY), "benchmarks/bench_run.py", *rest], cwd=ROOT).returncode
    code = check()
    if code != 0 or cmd == "check":
        return code
    everything = "--all" in rest or bool(os.environ.get("CI"))
    rest = [a for a in rest if a != "--all"]
    if not everything:
        print("the fast suite (slow tests deselected; `python3 dev.py test --all` runs them too)", flush=True)
        rest = ["-m", "not slow", *rest]
    return subprocess.run([str(PY), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
