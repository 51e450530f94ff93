"""Each mechanism draws from its own random stream, spawned from the run's seed, and draws
the same amount every step: a counterfactual leaves every other mechanism's draws identical,
so paired runs differ only where the intervention acts (common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.streams import Streams, stream_key
from sim.model import RuleMakingModel


def _states(scenario: str, seed: int = 5, **params) -> dict[str, object]:
    m = RuleMakingModel(scenario, seed=seed, **params)
    m.run()
    return m.streams.states()


def test_streams_are_distinct_reproducible_and_keyed_by_name():
    a, b = Streams(7), Streams(7)
    x = a["choice"].random(5)
    np.testing.assert_array_equal(x, b["choice"].random(5))
    assert not np.allclose(x, Streams(7)["membership"].random(5))
    assert not np.allclose(x, Streams(8)["choice"].random(5))
    assert stream_key("choice") == stream_key("choice") != stream_key("membership")


@pytest.mark.parametrize(
    ("counterfactual", "params"),
    [
        ("baseline", {"levers__US chip controls 2022__severity": 0.9}),  # a lever that draws nothing
        ("baseline", {"levers__PGIAI__join_rate": 0.6}),  # a lever that draws: its amount is fixed
        ("baseline", {"levers__EU AI Act__emulation_rate": 0.9}),
        ("no_alliances", {}),  # levers removed
        ("no_export_controls", {}),
    ],
)
def test_a_counterfactual_leaves_every_other_mechanisms_draws_identical(counterfactual, params):
    base = _states("baseline")
    other = _states(counterfactual, **params)
    assert {"choice", "membership", "frameworks"} <= set(base)
    common = set(base) & set(other)
    assert common >= set(other) - {k for k in other if k.startswith("lever:")}
    for name in sorted(common):
        assert base[name] == other[name], f"stream {name} drew differently"


def test_another_seed_moves_every_stream():
    a, b = _states("baseline", seed=5), _states("baseline", seed=6)
    assert all(a[k] != b[k] for k in a)
