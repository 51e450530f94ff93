#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py run [sim run arguments]   create .venv if needed, run the default scenario
    python3 dev.py test [pytest arguments]   create .venv if needed, lint with ruff, run the tests
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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "bench"):
        print(__doc__)
        return 2
    ensure_venv()
    cmd, rest = argv[0], argv[1:]
    if cmd == "run":
        return subprocess.run([str(BIN / "sim"), "run", *rest], cwd=ROOT).returncode
    if cmd == "bench":
        return subprocess.run([str(PY), "benchmarks/bench_run.py", *rest], cwd=ROOT).returncode
    lint = subprocess.run([str(PY), "-m", "ruff", "check", "."], cwd=ROOT).returncode
    if lint != 0:
        print("ruff found problems (above)", file=sys.stderr)
        return lint
    return subprocess.run([str(PY), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
