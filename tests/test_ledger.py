"""Influence by source: every credited gain is in the ledger with its source and target, and
the ledger adds up to the influence stock, step by step and state by state."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from sim import influence
from sim.fields import PerYear
from sim.model import RuleMakingModel
from sim.model.core import SOURCES


@pytest.fixture(scope="module")
def baseline():
    return RuleMakingModel(seed=3).run()


def test_the_ledger_adds_up_to_each_steps_gain(baseline):
    m = baseline
    t = m.tables()
    src, st = t["influence_sources"], t["states"]
    d = PerYear("share").to_step(m.scenario.influence.decay, m.scenario.model.steps_per_year)
    infl = st.pivot(index="step", columns="state", values="influence")
    expected = (infl - (1 - d) * infl.shift(1)).iloc[1:]
    got = src.groupby(["step", "state"]).gain.sum().unstack(fill_value=0.0)
    got = got.reindex(index=expected.index, columns=expected.columns, fill_value=0.0)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=1e-12)
    assert set(src.source) <= set(SOURCES) and len(set(src.source)) >= 8
    assert set(src.target_type) <= {"", "forum", "link", "state"}


def test_the_stock_by_source_sums_to_the_influence_stock(baseline):
    m = baseline
    w = m.world
    totals = m.ledger.totals(m.steps + 1, w.N)
    d = PerYear("share").to_step(m.scenario.influence.decay, m.scenario.model.steps_per_year)
    stock = influence.stock_by_source(totals, d)
    np.testing.assert_allclose(stock[-1].sum(axis=1), w.influence, rtol=1e-10)


def test_sources_and_targets_are_the_right_ones(raw):
    """A drafter's gain is on the forum it drafted in; a sharer's on the states it moved; a
    host's draft is split into discourse and hosting in the ratio 1 : multiplier - 1."""
    from conftest import build, isolate, only

    isolate(raw)
    only(raw, "B", "discourse")
    raw["forums"][0]["members"] = ["A"]  # B can draft only in F2
    raw["forums"][1]["presidency"] = {2020: "B"}
    m = build(raw)
    m.step()
    t = m.tables()["influence_sources"]
    assert set(t.state) == {"B"} and set(t.target) == {"F2"} and set(t.target_type) == {"forum"}
    by = t.groupby("source").gain.sum()
    assert by["hosting"] == pytest.approx(by["discourse"] * (2.0 - 1.0))  # presidency_multiplier 2
    r = copy.deepcopy(raw)
    only(r, "A", "practice")
    r["states"][0]["partners"] = ["C"]
    m = build(r)
    m.step()
    t = m.tables()["influence_sources"]
    assert set(t.source) == {"practice"} and set(t.target_type) == {"state"} and "A" not in set(t.target)


def test_the_table_is_written_with_a_run(tmp_path):
    from sim.runner import RunTask, run_one, write_run

    out = write_run(run_one(RunTask("baseline", 2, 8)), tmp_path / "r", "test")
    import pandas as pd

    t = pd.read_parquet(out / "influence_sources.parquet")
    assert list(t.columns) == ["step", "year", "state", "source", "target_type", "target", "gain"]
    assert len(t) > 0 and yaml.safe_load((out / "scenario.resolved.yaml").read_text())["influence"]
