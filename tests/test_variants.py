"""Variants as an analyst writes them: `extends` that merges what it names and keeps the rest,
explicit removal and replacement, a policy changed in a variant or at a date, every problem
of a file at once with its line, `sim validate --explain` and `sim validate` of every kind of
input file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import ScenarioError
from sim.model import RuleMakingModel
from sim.scenario import load_scenario
from sim.scenario.explain import explain
from sim.scenario.loader import resolved_dict
from sim.validate import kind_of, validate_file

ROOT = Path(__file__).resolve().parents[1]
BASE = load_scenario("baseline")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Every test runs in a folder of its own, away from the repository: files are named as
    the user typed them, and commands must work from any folder."""
    monkeypatch.chdir(tmp_path)


def _variant(tmp_path: Path, text: str, name: str = "v.yaml") -> Path:
    p = Path(name)
    p.write_text(text, encoding="utf-8")
    return p


def _problems(path: Path | str) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    return [str(p) for p in exc.value.problems]


# ----------------------------------------------------------------------------- merging
def test_an_added_event_and_a_changed_lever_keep_everything_else(tmp_path):
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\n"
        "events:\n"
        "  - {type: join, date: 2025-06, state: Indonesia, forum: OECD}\n"
        "levers:\n"
        "  - {name: US chip controls 2023, severity: 0.6}\n",
    )
    sc = load_scenario(p)
    assert len(sc.events) == len(BASE.events) + 1  # the baseline's events are all kept
    assert [e.model_dump() for e in sc.events[:-1]] == [e.model_dump() for e in BASE.events]
    assert sc.events[-1].state == "Indonesia" and sc.events[-1].forum == "OECD"
    assert [lv.name for lv in sc.levers] == [lv.name for lv in BASE.levers]  # same levers, same order
    changed = {lv.name: lv for lv in sc.levers}["US chip controls 2023"]
    before = {lv.name: lv for lv in BASE.levers}["US chip controls 2023"]
    assert changed.severity == 0.6 and before.severity != 0.6
    assert changed.model_dump(exclude={"severity"}) == before.model_dump(exclude={"severity"})


def test_drop_and_replace_are_explicit(tmp_path):
    dropped = load_scenario(
        _variant(tmp_path, "extends: baseline.yaml\nlevers:\n  - {name: ENFORCE Act, drop: true}\n")
    )
    assert [lv.name for lv in dropped.levers] == [lv.name for lv in BASE.levers if lv.name != "ENFORCE Act"]
    replaced = load_scenario(
        _variant(
            tmp_path,
            "extends: baseline.yaml\nreplace: [events]\nevents:\n"
            "  - {type: join, date: 2025-06, state: Indonesia, forum: OECD}\n",
            "r.yaml",
        )
    )
    assert len(replaced.events) == 1
    none = load_scenario(_variant(tmp_path, "extends: baseline.yaml\nreplace: [events]\n", "n.yaml"))
    assert none.events == []
    # a typo in a name to drop is an error, not a silent no-op
    msgs = _problems(
        _variant(tmp_path, "extends: baseline.yaml\nlevers:\n  - {name: ENFORCE act, drop: true}\n", "t.yaml")
    )
    assert len(msgs) == 1 and "t.yaml:3" in msgs[0] and "did you mean 'ENFORCE Act'" in msgs[0]
    msgs = _problems(_variant(tmp_path, "extends: baseline.yaml\nreplace: [evnts]\n", "u.yaml"))
    assert "u.yaml:2" in msgs[0] and "nothing inherited at 'evnts'" in msgs[0]


def test_a_variant_changes_a_policy_kind(tmp_path):
    """The inherited keys of the old kind do not carry over into the new one."""
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\nstates:\n"
        "  - {name: Japan, policy: {kind: best_response, noise: 0.2}}\n"
        "  - {name: China, policy: {kind: learning}}\n",
    )
    sc = load_scenario(p)
    by = {s.name: s for s in sc.states}
    assert by["Japan"].policy.kind == "best_response" and by["Japan"].policy.noise == 0.2
    assert by["China"].policy.kind == "learning"
    assert {s.name: s.policy.kind for s in BASE.states}["Japan"] != "best_response"


# ----------------------------------------------------------------------------- policy at a date
def test_policy_event_changes_choices_from_its_date_only():
    """A new US strategy in 2025: discourse only. Before the date the runs are the same
    (paired streams); after it the US chooses discourse whenever it acts, which without the
    event it does in about a third of its steps or less."""
    event = {"type": "policy", "date": "2025-01", "state": "United States",
             "policy": {"kind": "fixed", "mix": {"discourse": 1}}}  # fmt: skip
    sc = load_scenario("baseline")
    with_event = sc.model_copy(update={"events": [*sc.events, load_scenario(
        "baseline", [("events", [*resolved_dict(sc)["events"], event])]).events[-1]]})  # fmt: skip
    a = RuleMakingModel(sc, seed=3).run().tables()["states"]
    b = RuleMakingModel(with_event, seed=3).run().tables()["states"]
    us_a, us_b = a[a.state == "United States"], b[b.state == "United States"]
    before = us_a.year <= 2025  # the row of step k holds the action of step k: 2025.0 ends 2024
    assert (us_a[before].action.values == us_b[before.values].action.values).all()
    after_b = us_b[us_b.year > 2025]
    acted = after_b[after_b.action != "none"]
    assert len(acted) > 10 and (acted.action == "discourse").all()
    after_a = us_a[(us_a.year > 2025) & (us_a.action != "none")]
    assert (after_a.action == "discourse").mean() < 0.6
    ev = RuleMakingModel(with_event, seed=3).run().tables()["events"]
    assert ((ev.event == "policy") & (ev.state == "United States")).sum() == 1


def test_policy_event_is_checked_against_the_states_actions(tmp_path):
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\nevents:\n"
        "  - {type: policy, date: 2025-01, state: Japan, policy: {kind: fixed, mix: {alliance: 1}}}\n"
        "  - {type: policy, date: 2025-01, state: Narnia, policy: {kind: best_response}}\n",
    )
    msgs = _problems(p)
    assert any(
        re.match(r"v\.yaml:3: events\[\d+\]\.policy\.mix\.alliance: action 'alliance' is not among", m)
        for m in msgs
    ), msgs
    assert any(re.match(r"v\.yaml:4: events\[\d+\]\.state: unknown state 'Narnia'", m) for m in msgs), msgs


# ----------------------------------------------------------------------------- errors
def test_every_problem_at_once_with_file_and_line(tmp_path):
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\n"
        "model: {synergy: -1}\n"
        "states:\n"
        "  - name: Japan\n"
        "    capacities: {discourse: 1.7}\n"
        "forums:\n"
        "  - name: G7\n"
        "    members: [Japan, Narnia]\n",
    )
    msgs = _problems(p)
    # schema problems and cross-reference problems together, each with its line
    assert any(
        m.startswith("v.yaml:2: model.synergy: expected greater than or equal to 0, got -1") for m in msgs
    )
    assert any(
        m.startswith("v.yaml:5: states[")
        and "capacities.discourse: expected a number in [0, 1], got 1.7" in m
        for m in msgs
    )
    assert any(
        m.startswith("v.yaml:8: forums[") and "members[1]: unknown state 'Narnia'" in m for m in msgs
    ), msgs


def test_an_inherited_value_is_located_where_it_was_written(tmp_path):
    """Japan limited to discourse in the variant; the baseline's policy mix still names the
    other paths: the error names the variant and the baseline's line."""
    p = _variant(tmp_path, "extends: baseline.yaml\nstates:\n  - {name: Japan, actions: [discourse]}\n")
    msgs = _problems(p)
    m = re.match(
        r"v\.yaml \(inherited from sim/scenarios/baseline\.yaml:(\d+)\): states\[\d+\] \(Japan\)\.policy",
        msgs[0],
    )
    assert m, msgs
    line = (ROOT / "sim" / "scenarios" / "baseline.yaml").read_text().splitlines()[int(m.group(1)) - 1]
    assert "policy" in line


# ----------------------------------------------------------------------------- explain
def test_explain_reads_back_as_the_scenario_and_names_each_values_origin(tmp_path):
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\nname: turn\nlevers:\n  - {name: US chip controls 2023, severity: 0.6}\n",
    )
    text = explain(str(p), [("model.synergy", 0.5)])
    assert yaml.safe_load(text) == resolved_dict(load_scenario(p, [("model.synergy", 0.5)]))
    lines = text.splitlines()
    assert any(re.match(r"\s+severity: 0\.6\s+# v\.yaml:4$", ln) for ln in lines)
    assert any(re.match(r"\s+synergy: 0\.5\s+# --set model\.synergy=0\.5$", ln) for ln in lines)
    assert any(re.match(r"\s+seed: \d+\s+# sim/scenarios/baseline\.yaml:\d+$", ln) for ln in lines)
    assert any(re.match(r"\s+steps: null\s+# default$", ln) for ln in lines)


# ----------------------------------------------------------------------------- sim validate
@pytest.mark.parametrize(
    ("file", "kind", "says"),
    [
        ("experiments/synergy_sobol.yaml", "experiment", "sobol design"),
        ("experiments/calibration.yaml", "calibration", "parameters"),
        ("sim/parameters.yaml", "parameters", "declared parameters"),
        ("scenarios/no_synergy.yaml", "scenario", "21 states"),
    ],
)
def test_validate_reads_every_kind_of_input_file(file, kind, says):
    path = ROOT / file
    assert kind_of(yaml.safe_load(path.read_text())) == kind
    assert says in validate_file(str(path))


def test_validate_checks_an_experiments_metrics_and_scenario_from_any_folder(tmp_path):
    """The experiment names a packaged scenario by file name and is validated from a folder
    that is not the repository; an unknown state in a metric is found before anything runs."""
    p = _variant(
        tmp_path,
        "scenario: baseline.yaml\nvary: {model.synergy: [0, 1]}\n"
        "metrics: {x: 'states.influence_share[Narnia]'}\n",
        "e.yaml",
    )
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(p)], capture_output=True, text=True, cwd=tmp_path
    )
    assert (
        r.returncode == 2 and "metrics.x: unknown state 'Narnia'" in r.stderr and "Traceback" not in r.stderr
    )
    p.write_text(p.read_text().replace("Narnia", "Japan"))
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "e.yaml"], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0 and "factorial design, 2 runs" in r.stdout
    assert [x.name for x in tmp_path.iterdir()] == ["e.yaml"]  # nothing written


def test_validate_explain_on_the_command_line(tmp_path):
    _variant(tmp_path, "extends: baseline.yaml\nmodel: {synergy: 0.5}\n")
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "--explain", "v.yaml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"synergy: 0\.5\s+# v\.yaml:2", r.stdout)
    assert np.isclose(yaml.safe_load(r.stdout)["model"]["synergy"], 0.5)


def test_the_readmes_variant_example_is_valid(tmp_path):
    text = (ROOT / "README.md").read_text()
    start = text.index("extends: baseline.yaml\nname: japan_adapts_2025")
    p = _variant(tmp_path, text[start : text.index("```", start)])
    sc = load_scenario(p)
    assert sc.events[-2].type == "policy" and len(sc.events) == len(BASE.events) + 2
    assert {s.name: s.policy.kind for s in sc.states}["India"] == "best_response"


def test_a_short_runs_resolved_scenario_runs_again_to_the_same_tables(tmp_path):
    """`sim run --steps 8` writes a scenario of 8 steps whose later events never fire; it is
    valid as it stands, and running it again gives the same tables byte for byte."""

    def sim(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=tmp_path
        )

    assert sim("run", "--steps", "8", "--out", "a", "--quiet").returncode == 0
    v = sim("validate", "a/scenario.resolved.yaml")
    assert v.returncode == 0 and "fall after the last step and never fire" in v.stdout
    assert sim("run", "a/scenario.resolved.yaml", "--out", "b", "--quiet").returncode == 0
    for table in ("states", "forums", "events"):
        assert (tmp_path / "a" / f"{table}.parquet").read_bytes() == (
            tmp_path / "b" / f"{table}.parquet"
        ).read_bytes()


def test_a_value_shared_through_a_yaml_anchor_changes_for_one_state_only():
    """The baseline's learning states share `policy: *learning`; setting one state's must not
    set them all (it did before the data were unshared)."""
    learning = [s.name for s in BASE.states if s.policy.kind == "learning"]
    sc = load_scenario("baseline", [("states.United States.policy.experimentation", 0.33)])
    got = {s.name: s.policy.experimentation for s in sc.states if s.policy.kind == "learning"}
    assert got["United States"] == 0.33
    assert all(
        got[n] == {s.name: s for s in BASE.states}[n].policy.experimentation
        for n in learning
        if n != "United States"
    )


def test_errors_inside_policies_levers_and_policy_events_name_their_own_line(tmp_path):
    p = _variant(
        tmp_path,
        "extends: baseline.yaml\n"  # 1
        "levers:\n"  # 2
        "  - name: US chip controls 2023\n"  # 3
        "    leakag: 0.1\n"  # 4
        "events:\n"  # 5
        "  - type: policy\n"  # 6
        "    date: 2025-01\n"  # 7
        "    state: Japan\n"  # 8
        "    policy:\n"  # 9
        "      kind: learning\n"  # 10
        "      experimentation: 0.5x\n"  # 11
        "states:\n"  # 12
        "  - name: India\n"  # 13
        "    policy: {kind: best_response, noise: -1}\n",  # 14
    )
    msgs = _problems(p)
    assert any(
        re.match(r"v\.yaml:4: levers\[\d+\] \(US chip controls 2023\)\.leakag: unknown key", m) for m in msgs
    ), msgs
    assert any(
        re.match(r"v\.yaml:11: events\[\d+\]\.policy\.experimentation: expected a number", m) for m in msgs
    ), msgs
    assert any(
        re.match(r"v\.yaml:14: states\[\d+\] \(India\)\.policy\.noise: expected greater", m) for m in msgs
    ), msgs


def test_an_empty_list_removes_nothing_and_says_how_to(tmp_path):
    msgs = _problems(_variant(tmp_path, "extends: baseline.yaml\nevents: []\n"))
    assert msgs == [
        "v.yaml:2: events: an empty list removes nothing inherited; to keep none, write replace: [events]"
    ]


def test_a_missing_scenario_path_is_not_answered_by_a_packaged_namesake(tmp_path):
    from sim.scenario.loader import find_scenario

    assert find_scenario("my_variants/no_synergy.yaml", tmp_path) is None
    assert find_scenario("no_synergy.yaml", tmp_path) is not None and find_scenario("no_synergy", tmp_path)


def test_explain_says_a_variants_description_is_its_own_and_refuses_other_files(tmp_path):
    p = _variant(tmp_path, "extends: baseline.yaml\n")
    assert any(re.match(r'description: ""\s+# default$', ln) for ln in explain(str(p)).splitlines())
    e = _variant(
        tmp_path,
        "scenario: baseline.yaml\nvary: {model.synergy: [0, 1]}\nmetrics: {x: model.alignment_index}\n",
        "e.yaml",
    )
    r = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "--explain", str(e)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "e.yaml is an experiment file" in r.stderr


def test_an_experiments_varied_keys_and_metrics_are_checked_together_with_lines(tmp_path):
    _variant(
        tmp_path,
        "scenario: baseline.yaml\nvary:\n  model.synergy: [0, -1]\nmetrics:\n  x: 'states.influence_share[Narnia]'\n",
        "e.yaml",
    )
    with pytest.raises(ScenarioError) as exc:
        validate_file("e.yaml")
    msgs = [str(p) for p in exc.value.problems]
    assert (
        msgs[0].startswith("e.yaml:3: vary.model.synergy: at -1")
        and msgs[1] == "e.yaml:5: metrics.x: unknown state 'Narnia'"
    )
