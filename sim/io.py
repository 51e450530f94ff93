"""Atomic output: a file or folder appears complete, or not at all.

`atomic(target, write)` lets `write(tmp)` create a hidden sibling of `target` (a file or a
whole folder) and renames it into place only when `write` returns; on any failure or Ctrl-C
the sibling is removed and `target` is untouched. Every output of the package goes through it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from sim.errors import SimError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic(
    target: str | Path, write: Callable[[Path], object], replace: bool = True, folder: bool = False
) -> Path:
    """Create `target` through `write(tmp)` and rename it into place.

    `folder=True` creates `tmp` as an empty folder for `write` to fill. `replace=False`
    refuses a `target` that already exists; `replace=True` swaps a previous one out (a file
    is replaced in one rename; a folder is moved aside, then removed)."""
    target = Path(target)
    if not replace and target.exists():
        raise SimError(f"{target}: already exists; choose another output")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(tmp)
    try:
        if folder:
            tmp.mkdir()
        write(tmp)
        if target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            _remove(old)
        else:
            os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    return target


def write_text(target: str | Path, text: str) -> Path:
    """Write a text file (UTF-8) atomically."""
    return atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
