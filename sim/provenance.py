"""Provenance carried by every output: what produced it, from what, and when."""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path


def versions() -> dict[str, str]:
    import mesa
    import numpy

    from sim import __version__

    out = {"sim": __version__, "mesa": mesa.__version__, "numpy": numpy.__version__}
    for dist in ("pandas", "pyarrow", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    out["python"] = sys.version.split()[0]
    return out


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, with '+dirty' if modified."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def command_line(argv: list[str] | None = None) -> str:
    args = sys.argv if argv is None else argv
    return shlex.join(["sim", *args[1:]] if args and args[0].endswith(("sim", "__main__.py")) else args)
