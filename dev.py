#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+.

    python3 dev.py run [sim run arguments]   set up .venv for running if needed, run the default scenario
    python3 dev.py test [pytest arguments]   set up .venv for development if needed, check (ruff, mypy),
                                             run the tests (the fast suite; `--all`, or CI=1 as .ci/run
                                             sets, runs the slow tests too)
    python3 dev.py check                     ruff and mypy only
    python3 dev.py bench                     run the speed benchmark
    python3 dev.py lock [uv options]         re-resolve requirements/*.txt from pyproject.toml (network;
                                             keeps the current pins unless told, e.g. `--upgrade` or
                                             `--upgrade-package numpy`)

.venv is set up in two levels, each from its lock file of exact versions: `run` installs
requirements/run.txt (the runtime dependencies), `test`, `check` and `bench` add
requirements/dev.txt (the dev extra: test, check and notebook tools). Then the project itself is
installed editable, without dependencies. A level is (re)installed when .venv is missing, or when
its lock file or the install-relevant parts of pyproject.toml changed (a stamp per level in .venv).
SIM_DEV_VERBOSE=1 shows pip's own output in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SIM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXE = ".exe" if os.name == "nt" else ""
PY = BIN / f"python{EXE}"
LOCKS = {"run": ROOT / "requirements" / "run.txt", "dev": ROOT / "requirements" / "dev.txt"}
WHAT = {"run": "the runtime dependencies", "dev": "the development tools (tests, checks, notebooks)"}
LEVEL = {"run": "run", "test": "dev", "check": "dev", "bench": "dev"}
UV = "uv==0.13.9"  # resolves the lock files (`dev.py lock`); a fixed version gives the same output
LOCK_PYTHON = ("--python-version", "3.11", "--python-platform", "linux")  # what the lock is for
START = time.monotonic()

# This machine's pip configuration lists local index folders that hold only some packages; pip
# warns once per package and folder that lacks it. Harmless: the package comes from PyPI.
ABSENT_INDEX_FOLDER = re.compile(r"WARNING: Location '.*' is ignored: it is neither a file nor a directory")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f} s] {message}", flush=True)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(lock: Path) -> list[str]:
    """The canonical names pinned in a lock file."""
    return [canonical(m[1]) for line in lock.read_text().splitlines() if (m := PIN.match(line))]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def install_inputs() -> bytes:
    """What in pyproject.toml decides the install ([tool.ruff] and the like do not)."""
    data = pyproject()
    keep = {k: data.get(k) for k in ("build-system", "project")}
    keep["setuptools"] = data.get("tool", {}).get("setuptools")
    return json.dumps(keep, sort_keys=True).encode()


def digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def stamp(name: str) -> Path:
    return VENV / f".sim-{name}"


def current(name: str, value: str) -> bool:
    return stamp(name).exists() and stamp(name).read_text().strip() == value


def requirement_names(specs: list[str]) -> set[str]:
    out = set()
    for spec in specs:
        if ";" in spec and "extra ==" in spec.split(";", 1)[1]:
            continue
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if m:
            out.add(canonical(m[1]))
    return out


def check_lock(level: str) -> None:
    """The lock file must pin everything pyproject.toml asks for at this level."""
    project = pyproject()["project"]
    wanted = requirement_names(project.get("dependencies", []))
    if level == "dev":
        wanted |= requirement_names(project.get("optional-dependencies", {}).get("dev", []))
    lock = LOCKS[level]
    if not lock.exists():
        sys.exit(f"dev.py: {lock.relative_to(ROOT)} is missing: `python3 dev.py lock` writes it")
    missing = sorted(wanted - set(pinned(lock)))
    if missing:
        sys.exit(
            f"dev.py: pyproject.toml asks for {', '.join(missing)}, which {lock.relative_to(ROOT)} "
            "does not pin: run `python3 dev.py lock` (CONTRIBUTING.md, 'Dependencies')"
        )


def pip(python: Path, args: list[str], total: int = 0) -> None:
    """Run pip and show what it does, one short line per package, with the elapsed time."""
    cmd = [str(python), "-m", "pip", *args]
    if os.environ.get("SIM_DEV_VERBOSE"):
        if subprocess.run(cmd).returncode != 0:
            sys.exit("dev.py: pip failed (above)")
        return
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    got = satisfied = absent = 0
    width = len(str(total))
    hidden: list[str] = []
    for raw in proc.stdout:
        line = raw.rstrip()
        word = line.split(" ", 1)[0]
        if not line.strip() or ABSENT_INDEX_FOLDER.match(line):
            absent += bool(line.strip())
        elif word in ("Collecting", "Processing"):
            got += 1
            what = line.split()[1]
            if word == "Processing":  # a local wheel: name-version-...
                what = "==".join(Path(what).name.split("-")[:2])
            count = f"{got:{width}}/{total} " if total else ""
            say(f"  {count}{what}")
        elif line.startswith("  Downloading ") and " MB)" in line:
            say(f"  {' ' * (2 * width + 2) if total else ''}downloading {line.split()[-2].lstrip('(')} MB")
        elif line.startswith("Requirement already satisfied"):
            got += 1  # the counter is the position in the lock file
            satisfied += 1
        elif line.startswith("Installing collected packages:"):
            if total:
                n = len(line.split(":", 1)[1].split(","))
                say(f"unpacking and compiling {n} packages into {VENV.name} (the longest step)")
        elif line.startswith("Successfully installed"):
            if total:
                say(f"installed {len(line.split()) - 2} packages")
        elif line.startswith(("Looking in ", "Obtaining ", "Successfully built", "Building wheels")):
            pass
        elif line.startswith(("  ", "Using cached")) and "ERROR" not in line:
            hidden.append(line)  # download bars, cache notes, the build backend's steps
        else:
            print(line, flush=True)
    if proc.wait() != 0:
        print(*[h for h in hidden if "━" not in h][-40:], sep="\n")
        sys.exit(f"dev.py: pip failed (above); `SIM_DEV_VERBOSE=1 python3 dev.py {sys.argv[1]}` shows all")
    if satisfied:
        say(f"{satisfied} package(s) were already installed")
    if absent:
        say(
            f"({absent} pip warnings left out: this machine's pip configuration lists local index "
            "folders that lack those packages, so they came from PyPI)"
        )


def ensure_venv(level: str) -> None:
    inputs = install_inputs()
    project = digest(inputs)
    wanted = {name: digest(inputs, lock.read_bytes()) for name, lock in LOCKS.items() if lock.exists()}
    enough = ("run", "dev") if level == "run" else ("dev",)  # dev includes run
    if PY.exists() and any(n in wanted and current(n, wanted[n]) for n in enough):
        return
    check_lock(level)
    started = time.monotonic()
    if not PY.exists():
        say(f"creating the virtual environment {VENV} (Python {sys.version.split()[0]})")
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = LOCKS[level]
    n = len(pinned(lock))
    say(f"installing {WHAT[level]}: {lock.relative_to(ROOT)}, {n} exact versions")
    pip(PY, ["install", "--disable-pip-version-check", "-r", str(lock)], total=n)
    if not current("project", project):
        say("installing the project itself, editable (changes to sim/ need no reinstall)")
        pip(PY, ["install", "--disable-pip-version-check", "--no-deps", "-e", str(ROOT)])
        stamp("project").write_text(project)
    stamp(level).write_text(wanted[level])
    (VENV / ".sim-installed").unlink(missing_ok=True)  # the stamp of an older dev.py
    say(f"{VENV.name} ready for `{level}` in {time.monotonic() - started:.0f} s")


def lock(args: list[str]) -> int:
    """Re-resolve the lock files with uv (from PyPI, in a throwaway environment)."""
    with tempfile.TemporaryDirectory(prefix="sim-lock-") as tmp:
        tools = Path(tmp)
        say(f"installing {UV} into a throwaway environment")
        venv.EnvBuilder(with_pip=True).create(tools)
        tpy = tools / BIN.name / PY.name
        pip(tpy, ["install", "--quiet", "--disable-pip-version-check", UV])
        uv = [str(tpy), "-m", "uv", "pip", "compile", "pyproject.toml", *LOCK_PYTHON, "--quiet"]
        uv += ["--custom-compile-command", "python3 dev.py lock"]
        LOCKS["dev"].parent.mkdir(exist_ok=True)
        steps = (
            ("dev", ["--extra", "dev", "-o", "requirements/dev.txt", *args]),
            # the runtime subset of the dev lock, at the same versions
            ("run", ["-c", "requirements/dev.txt", "-o", "requirements/run.txt"]),
        )
        for level, extra in steps:
            say(f"resolving requirements/{level}.txt")
            if subprocess.run([*uv, *extra], cwd=ROOT).returncode != 0:
                print(f"dev.py: resolving requirements/{level}.txt failed (above)", file=sys.stderr)
                return 1
    for level in ("run", "dev"):
        say(f"requirements/{level}.txt: {len(pinned(LOCKS[level]))} exact versions")
    say("check them with `python3 dev.py test` (tests/test_setup.py) and commit both files")
    return 0


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


def summarize(junit: Path) -> None:
    """The counts, and every skipped test with its reason, as the last lines."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return
    n = failed = xfailed = 0
    skipped = []
    for suite in [root] if root.tag == "testsuite" else root.findall("testsuite"):
        n += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        for case in suite.iter("testcase"):
            for skip in case.findall("skipped"):
                if skip.get("type") == "pytest.xfail":
                    xfailed += 1
                else:
                    where = case.get("file") or case.get("classname", "")
                    skipped.append(f"  {where}::{case.get('name')}: {skip.get('message')}")
    if skipped:
        print(f"skipped, with the reason ({len(skipped)}):", *skipped, sep="\n")
    if xfailed:
        print(f"{xfailed} expected failure(s) (xfail)")
    passed = n - failed - len(skipped) - xfailed
    print(f"tests: {passed} passed, {failed} failed, {len(skipped)} skipped", flush=True)


def test(rest: list[str]) -> int:
    everything = "--all" in rest or bool(os.environ.get("CI"))
    rest = [a for a in rest if a != "--all"]
    if not everything:
        print("the fast suite (slow tests deselected; `python3 dev.py test --all` runs them too)", flush=True)
        rest = ["-m", "not slow", *rest]
    with tempfile.TemporaryDirectory(prefix="sim-test-") as tmp:
        junit = Path(tmp) / "junit.xml"
        report = [f"--junitxml={junit}", "-o", "junit_family=xunit1"]  # for the skip reasons
        code = subprocess.run([str(PY), "-m", "pytest", *report, *rest], cwd=ROOT).returncode
        summarize(junit)
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*LEVEL, "lock"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "lock":
        return lock(rest)
    ensure_venv(LEVEL[cmd])
    if cmd == "run":
        return subprocess.run([str(BIN / "sim"), "run", *rest], cwd=ROOT).returncode
    if cmd == "bench":
        return subprocess.run([str(PY), "benchmarks/bench_run.py", *rest], cwd=ROOT).returncode
    code = check()
    if code != 0 or cmd == "check":
        return code
    return test(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
