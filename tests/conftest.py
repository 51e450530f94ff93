"""Shared fixtures: a small, fully controlled world for mechanism tests."""

from __future__ import annotations

import copy
import os
import tempfile

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))

from sim.model import RuleMakingModel
from sim.scenario.loader import validate

NORMS = ["hardness", "rights", "security"]


def _state(name, tier, pos, **kw):
    s = {
        "name": name,
        "tier": tier,
        "resources": {"compute": 10.0 / tier, "data": 10.0 / tier, "algorithms": 10.0 / tier},
        "market": 10.0 / tier,
        "capacities": {"standards": 0.5, "regulatory": 0.5, "discourse": 0.5},
        "position": pos,
        "policy": {"kind": "fixed", "mix": {"institutional": 1, "discourse": 1, "practice": 1}},
    }
    s.update(kw)
    return s


BASE = {
    "name": "small",
    "model": {"start_year": 2020, "steps_per_year": 4, "end_year": 2022, "seed": 1},
    "norms": [{"name": n} for n in NORMS],
    "states": [
        _state("A", 1, [0.8, 0.8, 0.2], region="North"),
        _state("B", 2, [0.2, 0.6, 0.4], region="North"),
        _state("C", 3, [0.5, 0.2, 0.8], region="South"),
        _state("D", 3, [0.4, 0.4, 0.5], region="South"),
    ],
    "forums": [
        {"name": "F1", "members": ["A", "B"], "links": ["F2"], "inclusiveness": 0.1},
        {"name": "F2", "members": ["A", "B", "C", "D"], "inclusiveness": 0.9},
    ],
}


@pytest.fixture
def raw() -> dict:
    return copy.deepcopy(BASE)


def isolate(raw: dict) -> dict:
    """Switch off every background process, so that one mechanism can be measured alone."""
    raw.setdefault("paths", {}).setdefault("institutional", {})["consensus_rate"] = 0.0
    raw["paths"]["institutional"]["brokerage_rate"] = 0.0
    raw["paths"].setdefault("practice", {})["capacity_building"] = 0.0
    raw.setdefault("influence", {}).update({"anchoring": 0.0, "reputation_weight": 0.0})
    raw.setdefault("membership", {})["join_rate"] = 0.0
    return raw


def only(raw: dict, actor: str, action: str) -> dict:
    """`actor` takes `action` every step; every other state is inactive."""
    for s in raw["states"]:
        if s["name"] == actor:
            s["policy"] = {"kind": "fixed", "mix": {action: 1}}
            s["activity"] = 1.0
        else:
            s["activity"] = 0.0
    return raw


def build(raw: dict, **kw) -> RuleMakingModel:
    return RuleMakingModel(validate(copy.deepcopy(raw), "test.yaml"), **kw)


def membership_rows(iso3: list, members, years: list[int]) -> list[dict]:
    """A membership record (the rows of a data file, as data/gpai_members.csv) of simulated
    members [state, year]: a state's first member year as a join within that year, others
    as not members by the end of 2025."""
    import numpy as np

    rows = []
    for i, code in enumerate(iso3):
        first = np.flatnonzero(members[i] > 0)
        if first.size:
            y = years[first[0]]
            rows.append(
                {"iso3": code, "status": "member", "date": "", "date_min": f"{y}-01", "date_max": f"{y}-12"}
            )
        else:
            rows.append({"iso3": code, "status": "no", "date": "2025-12-31", "date_min": "", "date_max": ""})
    return rows
