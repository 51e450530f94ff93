"""The shipped scenarios: valid, complete, sourced, and variants that change only what they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.model import RuleMakingModel
from sim.scenario import load_scenario
from sim.scenario.loader import resolved_dict

SCEN = Path(__file__).resolve().parents[1] / "scenarios"
REQUIRED_STATES = {
    "United States", "China", "European Union", "Japan", "United Kingdom", "Canada", "South Korea",
    "India", "Brazil", "Singapore", "Australia", "Russia", "Saudi Arabia", "South Africa",
    "Indonesia", "Vietnam", "Thailand", "Malaysia", "Philippines",
}  # fmt: skip
REQUIRED_FORUMS = {"G7", "G20", "OECD", "GPAI", "UN", "ASEAN", "BRICS", "Hiroshima Friends Group"}


@pytest.mark.parametrize("path", sorted(SCEN.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_runs(path):
    m = RuleMakingModel(path, steps=4).run()
    assert m.steps == 4


def test_baseline_content():
    sc = load_scenario(SCEN / "baseline.yaml")
    names = {s.name for s in sc.states}
    assert len(names) >= 20 and names >= REQUIRED_STATES
    assert {f.name for f in sc.forums} == REQUIRED_FORUMS
    assert sc.model.start_year == 2016 and sc.model.steps_per_year == 4 and sc.model.end_year >= 2030
    forums = {f.name: f for f in sc.forums}
    assert forums["G7"].presidency[2016] == forums["G7"].presidency[2023] == "Japan"
    assert forums["G20"].presidency[2019] == "Japan"
    assert forums["Hiroshima Friends Group"].start == "2024-05"


def test_every_number_in_the_baseline_carries_a_source():
    """Each line with a number has a comment (seed passage or 'assumption:') or a sourced note."""
    lines = (SCEN / "baseline.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("model:")  # the name and the prose description come before
    bad = []
    for k, line in enumerate(lines):
        code = re.sub(r"\bG\d+\b|\biso3: [A-Z]{3}", "", line.split("#", 1)[0])  # forum names, ISO codes
        if k < start:
            continue
        if line.lstrip().startswith("#") or not re.search(r"\d", code) or "name:" in code:
            continue
        nearby = " ".join(lines[k : k + 2])
        if "#" not in line and "note:" not in nearby:
            bad.append(f"line {k + 1}: {line.strip()}")
    assert not bad, "numbers without a source:\n" + "\n".join(bad)
    text = "\n".join(lines)
    assert "s000" in text and "s002" in text and "assumption" in text


def _diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            label = x.get("name", i) if isinstance(x, dict) else i
            out += _diff(x, y, f"{path}[{label}]")
        return out
    return [] if a == b else [path]


@pytest.mark.parametrize(
    ("variant", "changed"),
    [
        ("no_synergy", {"model.synergy"}),
        ("japan_single_path_institutional", {"states[Japan].actions", "states[Japan].policy.mix.discourse",
                                             "states[Japan].policy.mix.practice"}),
        ("japan_single_path_discourse", {"states[Japan].actions", "states[Japan].policy.mix.institutional",
                                         "states[Japan].policy.mix.practice"}),
        ("japan_single_path_practice", {"states[Japan].actions", "states[Japan].policy.mix.institutional",
                                        "states[Japan].policy.mix.discourse"}),
    ],
)  # fmt: skip
def test_variants_change_only_what_they_say(variant, changed):
    base = resolved_dict(load_scenario(SCEN / "baseline.yaml"))
    var = resolved_dict(load_scenario(SCEN / f"{variant}.yaml"))
    diffs = set(_diff(base, var)) - {"name", "description"}
    assert diffs == changed


@pytest.mark.parametrize(
    ("variant", "dropped"),
    [
        ("no_export_controls", {"US chip controls 2022", "US chip controls 2023", "ENFORCE Act",
                                "US outbound investment rule"}),
        ("no_brussels_effect", {"EU AI Act"}),
        ("no_alliances", {"Frontier Model Forum", "AI Alliance", "PGIAI"}),
        ("no_declarations", {"Global AI Governance Initiative", "Shanghai Declaration"}),
        ("no_cocreation", {"Japan-ASEAN AI co-creation"}),
    ],
)  # fmt: skip
def test_counterfactuals_differ_only_in_one_lever(variant, dropped):
    base = resolved_dict(load_scenario(SCEN / "baseline.yaml"))
    var = resolved_dict(load_scenario(SCEN / f"{variant}.yaml"))
    assert {lv["name"] for lv in base["levers"]} - {lv["name"] for lv in var["levers"]} == dropped
    kept = [lv for lv in base["levers"] if lv["name"] not in dropped]
    assert var["levers"] == kept
    # a power that is gone is no longer a choice either: only its type leaves the actions
    gone = {lv["type"] for lv in base["levers"] if lv["name"] in dropped}
    for b, v in zip(base["states"], var["states"], strict=True):
        assert [a for a in b["actions"] or () if a not in gone] == list(v["actions"] or ()), b["name"]
        assert {**b, "actions": None} == {**v, "actions": None}, b["name"]
    for key in base:
        if key not in ("levers", "name", "description", "states"):
            assert base[key] == var[key], key


def test_baseline_timeline_has_the_historical_levers():
    sc = load_scenario(SCEN / "baseline.yaml")
    dates = {lv.name: lv.date for lv in sc.levers}
    assert dates["US chip controls 2022"] == "2022-10" and dates["US chip controls 2023"] == "2023-10-17"
    assert dates["ENFORCE Act"] == "2024-05-22" and dates["US outbound investment rule"] == "2025-01"
    assert dates["Frontier Model Forum"] == "2023-07-26" and dates["AI Alliance"] == "2023-12-05"
    assert dates["PGIAI"] == "2024-09-23" and dates["EU AI Act"] == "2024-03-13"
    assert (
        dates["Global AI Governance Initiative"] == "2023-10" and dates["Shanghai Declaration"] == "2024-07"
    )
    assert dates["Japan-ASEAN AI co-creation"] == "2025-10-26"


def test_sea_contest_is_the_southeast_asian_world():
    sc = load_scenario(SCEN / "sea_contest.yaml")
    names = {s.name for s in sc.states}
    assert {
        "Indonesia",
        "Vietnam",
        "Thailand",
        "Malaysia",
        "Philippines",
        "Singapore",
        "China",
        "Japan",
    } <= names
    assert len(names) == 10
    assert any(lv.type == "cocreation" for lv in sc.levers) and any(lv.name == "PGIAI" for lv in sc.levers)
