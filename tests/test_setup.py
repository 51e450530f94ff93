"""The lock files agree with pyproject.toml: `python3 dev.py run` installs requirements/run.txt and
`python3 dev.py test` requirements/dev.txt, so every dependency declared in pyproject.toml must be
pinned there, at a version its specifier admits. After changing a dependency, `python3 dev.py lock`
rewrites both files (CONTRIBUTING.md, 'Dependencies')."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = {"run": ROOT / "requirements" / "run.txt", "dev": ROOT / "requirements" / "dev.txt"}
# what the lock files are resolved for (dev.py LOCK_PYTHON): markers are judged there
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
          "platform_python_implementation": "CPython", "extra": ""}  # fmt: skip
FIX = "run `python3 dev.py lock` and commit requirements/*.txt"


def read_lock(path: Path) -> dict[str, Version]:
    """Every requirement line of a lock file, which must be an exact pin."""
    pins: dict[str, Version] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        where = f"{path.relative_to(ROOT)}:{number}"
        assert not text.startswith("-"), f"{where}: only exact pins belong in a lock file, not {text!r}"
        req = Requirement(text)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{where}: {text!r} is not an exact pin (==)"
        assert "*" not in specs[0].version, f"{where}: {text!r} is not an exact pin"
        name = canonicalize_name(req.name)
        assert name not in pins, f"{where}: {req.name} is pinned twice"
        pins[name] = Version(specs[0].version)
    assert pins, f"{path.relative_to(ROOT)} pins nothing"
    return pins


def declared(level: str) -> list[Requirement]:
    specs = list(PROJECT["dependencies"])
    if level == "dev":
        specs += PROJECT["optional-dependencies"]["dev"]
    reqs = [Requirement(s) for s in specs]
    return [r for r in reqs if r.marker is None or r.marker.evaluate(TARGET)]


@pytest.fixture(scope="module")
def locks() -> dict[str, dict[str, Version]]:
    for level, path in LOCKS.items():
        assert path.exists(), f"requirements/{level}.txt is missing: {FIX}"
    return {level: read_lock(path) for level, path in LOCKS.items()}


@pytest.mark.parametrize("level", ["run", "dev"])
def test_every_declared_dependency_is_pinned_at_an_admitted_version(locks, level):
    pins = locks[level]
    problems = []
    for req in declared(level):
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} is not pinned")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req} does not admit the pinned {pins[name]}")
    assert not problems, f"requirements/{level}.txt against pyproject.toml: {'; '.join(problems)}: {FIX}"


def test_the_run_lock_is_the_dev_lock_restricted_to_the_runtime(locks):
    run, dev = locks["run"], locks["dev"]
    missing = sorted(set(run) - set(dev))
    differ = sorted(f"{n} {run[n]} (run) != {dev[n]} (dev)" for n in set(run) & set(dev) if run[n] != dev[n])
    assert not missing, f"pinned in run.txt but not in dev.txt: {missing}: {FIX}"
    assert not differ, f"run.txt and dev.txt disagree: {differ}: {FIX}"


def test_the_dev_extra_adds_packages_that_running_does_not_need(locks):
    """The point of two levels: the checkers and test runners stay out of a `run` install."""
    for tool in ("pytest", "mypy", "ruff", "playwright"):
        assert tool in locks["dev"] and tool not in locks["run"], tool


def test_the_lock_files_say_how_they_are_made():
    for path in LOCKS.values():
        assert "python3 dev.py lock" in path.read_text().split("\n", 3)[1], path
