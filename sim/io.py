"""Output on disk: atomic, only where asked, never over what is not ours, one writer at a time.

- `atomic(target, write)` lets `write(tmp)` create a hidden sibling of `target` (a file or a
  whole folder) and renames it into place only when `write` returns; on any failure or Ctrl-C
  the sibling is removed and `target` is untouched. Siblings left by a killed process (its pid
  no longer runs) are removed on the next write of the same target. A folder written this way
  carries a `.sim-output` marker; an existing folder without it (and not empty) is never
  replaced unless `force=True`.
- `inside(root, name)`: the path `root/name`, refused if it would leave `root`.
- `check_writable(folder)`: fail before any work if `folder` cannot be created or written.
- `exclusive(folder)`: a lock held while a command writes into a folder; a second command on
  the same folder is refused with the holder's pid, host, start time and command line.
Every output of the package goes through these.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from sim.errors import SimError

MARKER = ".sim-output"  # in every folder `atomic` creates: the folder is ours to replace
LOCK = ".sim-lock"
HELD: set[int] = set()  # lock descriptors this process holds (closed in forked workers)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: Path) -> list[Path]:
    """Remove what processes killed while writing left beside `target`: its own hidden
    siblings (`.NAME.partial-PID`, `.NAME.old-PID`), and, under any name, hidden partial
    folders that carry the marker (a killed `sim run` into `results/`). Only those of
    processes that no longer run; nothing without our name pattern or marker."""
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for p in target.parent.glob(".*-*"):
        stem, _, pid = p.name.rpartition("-")
        if not pid.isdigit() or not stem.endswith((".partial", ".old")):
            continue
        own = stem in (f".{target.name}.partial", f".{target.name}.old")
        marked = p.is_dir() and not p.is_symlink() and (p / MARKER).is_file()
        if (own or marked) and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove(p)
            removed.append(p)
    return removed


def ours(folder: Path) -> bool:
    """A folder this program created (it carries the marker), or an empty one."""
    return (folder / MARKER).is_file() or not any(folder.iterdir())


def atomic(
    target: str | Path,
    write: Callable[[Path], object],
    replace: bool = True,
    folder: bool = False,
    force: bool = False,
) -> Path:
    """Create `target` through `write(tmp)` and rename it into place.

    `folder=True` creates `tmp` as an empty folder for `write` to fill. `replace=False`
    refuses a `target` that already exists; `replace=True` swaps a previous one out (a file
    is replaced in one rename; a folder is moved aside, then removed) if it is ours or
    `force` is set."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        if not replace:
            raise SimError(f"{target}: already exists; choose another output")
        if target.is_symlink() or (target.is_dir() and not force and not ours(target)):
            raise SimError(
                f"{target}: exists and has no {MARKER} marker (not written by sim, or by a version "
                "before 0.2); refusing to replace it (choose another output folder, or use --force)"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(tmp)
    try:
        if folder:
            tmp.mkdir()
            (tmp / MARKER).write_text("written by sim; safe for sim to replace\n", encoding="utf-8")
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


def inside(root: str | Path, name: str) -> Path:
    """`root / name`, refused when it would not stay inside `root` (`..`, `/`, a symlink out)."""
    root = Path(root)
    path = root / name
    base = root.resolve()
    if os.sep in name or name in ("", ".", "..") or not path.resolve().is_relative_to(base):
        raise SimError(f"{name!r}: not a valid output name inside {root}")
    return path


def check_writable(folder: str | Path) -> None:
    """Fail now, before any work, if `folder` (or the folder that would hold it) cannot be
    written: the nearest existing ancestor must be a folder in which a file can be created."""
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise SimError(f"{folder}: cannot create output here ({probe} is not a folder)")
    try:
        fd, name = tempfile.mkstemp(prefix=".sim-probe-", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise SimError(f"{folder}: cannot write output here ({probe}: {exc.strerror})") from None


@contextlib.contextmanager
def exclusive(folder: str | Path, command: str = "") -> Iterator[None]:
    """Hold an exclusive lock on `folder` (created if missing) while the block runs. The lock
    is the kernel's (`flock`): it goes with the process, even when killed."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    try:  # never through a symbolic link: the lock file is ours, inside the folder
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise SimError(
            f"{path}: cannot open the lock file ({exc.strerror}); is it a symbolic link?"
        ) from None
    HELD.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            try:
                holder = json.loads(path.read_text(encoding="utf-8") or "{}")
            except (OSError, ValueError):
                holder = {}
            who = ", ".join(f"{k} {v}" for k, v in holder.items()) or "another process"
            raise SimError(
                f"{folder}: in use by {who}; wait for it to finish or choose another --out"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        HELD.discard(fd)
        os.close(fd)  # releases the lock


def release_inherited() -> None:
    """In a forked worker: close the lock descriptors inherited from the driver, so that a
    killed driver's lock goes with it even while its workers linger."""
    for fd in list(HELD):
        with contextlib.suppress(OSError):
            os.close(fd)
    HELD.clear()
