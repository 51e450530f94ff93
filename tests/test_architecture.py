"""The package is layered: no import cycle, no import from a lower layer up to a higher one,
and no mechanism that reaches for the model (`tools/architecture.py` defines the layers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import architecture


def test_no_import_cycle_in_sim():
    assert architecture.cycles(architecture.import_graph()) == []


def test_every_import_points_down_or_across_a_layer():
    assert architecture.upward(architecture.import_graph()) == []


def test_every_module_has_a_layer():
    for m in architecture.modules():
        architecture.layer_of(m)


def test_mechanisms_and_engine_do_not_see_the_model_or_the_scenario():
    g = architecture.import_graph()
    low = [m for m in g if architecture.layer_of(m) <= architecture.layer_of("sim.powers")]
    for m in low:
        reached = {b for b in g.successors(m)}
        assert not {b for b in reached if b.startswith(("sim.model", "sim.scenario"))}, m


def test_a_new_lever_is_one_module_and_one_table_line():
    """The lever types come from one table; the scenario schema and the actions follow it."""
    from sim.powers.registry import LEVERS
    from sim.scenario.schema import ACTION_NAMES

    assert tuple(LEVERS) == ACTION_NAMES[3:]
    for kind, t in LEVERS.items():
        assert t.spec.model_fields["type"].annotation.__args__ == (kind,)
        assert t.spec.role in t.spec.model_fields
