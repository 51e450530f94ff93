"""Every validation error path: a located message, exit code 2, no traceback, no output."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import BASE

from sim.errors import ScenarioError
from sim.scenario import load_scenario
from sim.scenario.loader import validate


def _err(raw: dict) -> str:
    with pytest.raises(ScenarioError) as exc:
        validate(raw, "scenarios/x.yaml")
    return str(exc.value)


def _raw() -> dict:
    return copy.deepcopy(BASE)


def test_out_of_range_capacity_message_is_located():
    raw = _raw()
    raw["states"][3]["capacities"]["discourse"] = 1.7
    assert (
        _err(raw)
        == "scenarios/x.yaml: states[3] (D).capacities.discourse: expected a number in [0, 1], got 1.7"
    )


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["states"][0].update(tier=5), "states[0] (A).tier: expected 1, 2 or 3, got 5"),
        (lambda r: r["states"][0].update(market="big"), "states[0] (A).market: expected a number, got 'big'"),
        (lambda r: r["states"][0].update(market=-1), "states[0] (A).market: expected greater than 0, got -1"),
        (lambda r: r["states"][1].update(colour="red"), "states[1] (B).colour: unknown key; allowed: name"),
        (lambda r: r["states"][1].update(capacites={}), "(did you mean 'capacities'?)"),
        (lambda r: r["states"][0].pop("capacities"), "states[0] (A).capacities: required key is missing"),
        (
            lambda r: r["forums"][0]["members"].append("Atlantis"),
            "forums[0] (F1).members[2]: unknown state 'Atlantis'",
        ),
        (lambda r: r["forums"][0]["members"].append("A"), "forums[0] (F1).members[2]: duplicate member 'A'"),
        (lambda r: r["forums"][0].update(links=["F9"]), "forums[0] (F1).links[0]: unknown forum 'F9'"),
        (lambda r: r["forums"][0].update(links=["F1"]), "a forum cannot link to itself"),
        (
            lambda r: r["states"][2].update(position=[0.1, 0.2]),
            "states[2] (C).position: expected 3 values (hardness, rights, security), got 2",
        ),
        (
            lambda r: r["states"][2].update(position={"hardness": 0.1, "rights": 0.2, "securty": 0.3}),
            "unknown dimension 'securty'",
        ),
        (
            lambda r: r["states"][0].update(dependence={"base": {"A": 0.5, "B": 0.4}}),
            "states[0] (A).dependence.base: shares must sum to 1, got 0.9",
        ),
        (
            lambda r: r["states"][0].update(dependence={"chips": {"A": 1.0}}),
            "states[0] (A).dependence.chips: unknown layer 'chips'",
        ),
        (
            lambda r: r["states"][0].update(dependence={"base": {"Z": 1.0}}),
            "states[0] (A).dependence.base.Z: unknown state 'Z'",
        ),
        (
            lambda r: r["states"].append(copy.deepcopy(r["states"][0])),
            "states[4] (A).name: duplicate state name 'A'",
        ),
        (lambda r: r["states"][0].update(partners=["A"]), "a state cannot be its own partner"),
        (
            lambda r: r["states"][0].update(actions=["bribery"]),
            "states[0] (A).actions[0]: unknown action 'bribery'",
        ),
        (
            lambda r: r["states"][0].update(policy={"kind": "genius"}),
            "states[0] (A).policy: expected one of 'fixed', 'learning', 'best_response', got 'genius'",
        ),
        (
            lambda r: r["states"][0].update(policy={"kind": "fixed", "mix": {"institutional": 0}}),
            "states[0] (A).policy.mix: expected at least one positive weight",
        ),
        (
            lambda r: r["states"][0].update(actions=["discourse"]),
            "states[0] (A).policy.mix.institutional: action 'institutional' is not among this state's actions",
        ),
        (
            lambda r: r["states"][0].update(
                policy={"kind": "learning", "choice": "softmax", "temperature": 0}
            ),
            "states[0] (A).policy.temperature: expected greater than 0, got 0",
        ),
        (
            lambda r: r["states"][0].update(policy={"kind": "learning", "temperature": 0.5}),
            "states[0] (A).policy: temperature applies to choice: softmax only",
        ),
        (lambda r: r["model"].update(steps=10), "model: give exactly one of end_year or steps"),
        (
            lambda r: r["model"].update(end_year=2010),
            "model.end_year: must not be before start_year (2020), got 2010",
        ),
        (
            lambda r: r.update(events=[{"type": "join", "date": "2019-05", "state": "A", "forum": "F2"}]),
            "events[0].date: 2019-05 is before the start of the run (2020)",
        ),
        (
            lambda r: r.update(events=[{"type": "join", "date": "2031-05", "state": "A", "forum": "F2"}]),
            "events[0].date: 2031-05 is after the end of the run (the end of 2022)",
        ),
        (
            lambda r: r.update(events=[{"type": "join", "date": "2021-02-30", "state": "A", "forum": "F2"}]),
            "events[0].date: not a real date",
        ),
        (
            lambda r: r.update(events=[{"type": "join", "date": "2021-02", "state": "Q", "forum": "F2"}]),
            "events[0].state: unknown state 'Q'",
        ),
        (
            lambda r: r.update(
                events=[{"type": "set", "date": "2021-02", "state": "A", "field": "tier", "value": 1}]
            ),
            "events[0].field: expected 'capacities.standards'",
        ),
        (
            lambda r: r.update(frameworks=[{"name": "X", "founder": "A", "forum": "F7", "date": "2021"}]),
            "frameworks[0] (X).forum: unknown forum 'F7'",
        ),
        (
            lambda r: r["forums"][0].update(presidency={2021: "Nobody"}),
            "forums[0] (F1).presidency.2021: unknown state",
        ),
        (
            lambda r: r["forums"][0].update(open_to=["Narnia"]),
            "forums[0] (F1).open_to: unknown region 'Narnia'",
        ),
        (
            lambda r: r.update(paths={"discourse": {"framing_penalty": {"secrecy": 1}}}),
            "paths.discourse.framing_penalty.secrecy: unknown norm dimension 'secrecy'",
        ),
        (
            lambda r: r.update(norms=[{"name": "a"}, {"name": "a"}]),
            "norms[1] (a).name: duplicate norm dimension 'a'",
        ),
    ],
)
def test_validation_errors(mutate, expected):
    raw = _raw()
    mutate(raw)
    assert expected in _err(raw)


def test_all_problems_are_reported_at_once():
    raw = _raw()
    raw["states"][0]["capacities"]["discourse"] = 2
    raw["states"][1]["market"] = 0
    assert len(_err(raw).splitlines()) == 2


def _write(tmp_path: Path, name: str, data) -> Path:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return p


def test_yaml_syntax_error_is_located(tmp_path):
    p = _write(tmp_path, "bad.yaml", "model:\n  seed: [1, 2\nstates: {}\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: line ") and "YAML syntax error" in msg


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="expected a mapping at the top level, got list"):
        load_scenario(_write(tmp_path, "list.yaml", "- 1\n- 2\n"))


def test_extends_merges_by_name_and_drops(tmp_path):
    _write(tmp_path, "base.yaml", _raw())
    variant = {
        "extends": "base.yaml",
        "model": {"synergy": 0.0},
        "states": [{"name": "B", "capacities": {"discourse": 0.9}}, {"name": "D", "drop": True}],
        "forums": [{"name": "F2", "members": ["A", "B", "C"]}],
    }
    sc = load_scenario(_write(tmp_path, "variant.yaml", variant))
    assert sc.name == "variant"
    assert sc.model.synergy == 0.0 and sc.model.end_year == 2022
    assert [s.name for s in sc.states] == ["A", "B", "C"]
    b = sc.states[1]
    assert b.capacities.discourse == 0.9 and b.capacities.standards == 0.5
    assert b.position == [0.2, 0.6, 0.4]


def test_extends_errors(tmp_path):
    with pytest.raises(ScenarioError, match=r"extends: file not found: missing\.yaml"):
        load_scenario(_write(tmp_path, "v.yaml", {"extends": "missing.yaml"}))
    _write(tmp_path, "a.yaml", {"extends": "b.yaml"})
    with pytest.raises(ScenarioError, match="circular extends chain"):
        load_scenario(_write(tmp_path, "b.yaml", {"extends": "a.yaml"}))


def test_anchors_and_extension_keys(tmp_path):
    text = yaml.safe_dump(_raw()).replace("policy:\n", "policy: &pol\n", 1)
    text = "x-shared: &caps {standards: 0.1, regulatory: 0.2, discourse: 0.3}\n" + text
    p = _write(tmp_path, "anch.yaml", text)
    data = yaml.safe_load(p.read_text())
    assert "x-shared" in data
    sc = load_scenario(p)
    assert sc.states[0].policy.kind == "fixed"


def test_set_overrides(tmp_path):
    p = _write(tmp_path, "s.yaml", _raw())
    sc = load_scenario(p, ["states.C.capacities.discourse=0.9", "model.synergy=0", "forums.F1.weight=2"])
    assert sc.states[2].capacities.discourse == 0.9 and sc.model.synergy == 0 and sc.forums[0].weight == 2
    with pytest.raises(ScenarioError, match=r"--set: states.Japn: no item named 'Japn'"):
        load_scenario(p, ["states.Japn.market=1"])
    with pytest.raises(ScenarioError, match=r"expected key\.path=value"):
        load_scenario(p, ["model.synergy"])
    with pytest.raises(ScenarioError, match=r"states\[0\] \(A\).market: expected a number, got 'x'"):
        load_scenario(p, ["states.A.market=x"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_bad_scenario_exit_2_no_traceback_no_output(tmp_path):
    raw = _raw()
    raw["states"][3]["capacities"]["discourse"] = 1.7
    _write(tmp_path, "x.yaml", raw)
    r = _cli("run", "x.yaml", "--out", "out", cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    # file, line, key path, expected, found; the line is the one that holds the value
    m = re.search(
        r"x\.yaml:(\d+): states\[3\] \(D\)\.capacities\.discourse: expected a number in \[0, 1\], got 1\.7",
        r.stderr,
    )
    assert m, r.stderr
    assert "discourse: 1.7" in (tmp_path / "x.yaml").read_text().splitlines()[int(m.group(1)) - 1]
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.yaml"]
    v = _cli("validate", "x.yaml", cwd=tmp_path)
    assert v.returncode == 2 and "Traceback" not in v.stderr


def test_cli_bad_arguments_exit_2(tmp_path):
    _write(tmp_path, "ok.yaml", _raw())
    assert _cli("run", "ok.yaml", "--steps", "0", cwd=tmp_path).returncode == 2
    assert _cli("run", "ok.yaml", "--steps", "many", cwd=tmp_path).returncode == 2
    r = _cli("run", "ok.yaml", "--set", "states.Nobody.market=1", cwd=tmp_path)
    assert r.returncode == 2 and "no item named 'Nobody'" in r.stderr
    assert not (tmp_path / "results").exists()
