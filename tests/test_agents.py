"""The Mesa agents are live, readable views of the model's arrays."""

from __future__ import annotations

import mesa
import pytest
from conftest import build

from sim.model.agents import ForumAgent, StateAgent


def test_agents_are_registered_mesa_agents(raw):
    m = build(raw)
    assert isinstance(m, mesa.Model)
    assert len(m.agents_by_type[StateAgent]) == 4 and len(m.agents_by_type[ForumAgent]) == 2
    assert m.steps == 0 and m.running


def test_views_follow_the_arrays(raw):
    raw["forums"][0]["presidency"] = {2020: "B"}
    m = build(raw)
    a = m.state("A")
    assert a.tier == 1 and a.position == pytest.approx({"hardness": 0.8, "rights": 0.8, "security": 0.2})
    assert a.forums == ["F1", "F2"] and a.last_action is None
    m.step()
    assert a.influence == pytest.approx(m.world.influence[0])
    assert a.last_action in m.actions
    assert a.resources["compute"] > 10.0  # grew
    f1 = m.forum("F1")
    assert f1.members == ["A", "B"] and f1.president == "B" and f1.active
    assert f1.text == pytest.approx(dict(zip(m.world.norms, m.world.text[0], strict=True)))
    assert "StateAgent('A'" in repr(a) and "ForumAgent('F1'" in repr(f1)


def test_a_finished_model_is_freed(raw):
    """Nothing keeps a model alive after its run (Mesa's agent-id counter did: about 2 MB per
    baseline run, gigabytes per worker over a sweep or a calibration)."""
    import gc
    import weakref

    model = build(raw)
    model.run()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
