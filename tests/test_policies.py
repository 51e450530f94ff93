"""Policies: fixed mixes, learning from realised gains, myopic best response."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build


def _choose(m):
    return m.policies.choose(m.rng, m.world.activity, m.potentials)


def test_fixed_mix_frequencies(raw):
    raw["states"][0]["policy"] = {"kind": "fixed", "mix": {"institutional": 6, "discourse": 3, "practice": 1}}
    m = build(raw)
    draws = np.array([_choose(m)[0] for _ in range(4000)])
    freq = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=0.03)


def test_removing_an_action_changes_only_the_steps_that_chose_it(raw):
    """Common random numbers across paired runs: each action keeps its own draw (Gumbel-max),
    so a counterfactual without one action makes the same choice in every step in which the
    original did not choose that action (inverse-CDF sampling would shift most of them)."""
    raw["states"][0]["policy"] = {"kind": "fixed", "mix": {"institutional": 2, "discourse": 1, "practice": 1}}
    full = build(raw)
    raw["states"][0]["actions"] = ["discourse", "practice"]
    raw["states"][0]["policy"]["mix"] = {"discourse": 1, "practice": 1}
    less = build(raw)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    pairs = np.array([(full.policies.choose(a, full.world.activity, full.potentials)[0],
                       less.policies.choose(b, less.world.activity, less.potentials)[0]) for _ in range(3000)])  # fmt: skip
    kept = pairs[:, 0] != 0  # the original did not choose institutional participation
    assert kept.sum() > 1200 and (pairs[kept, 0] == pairs[kept, 1]).all()
    np.testing.assert_allclose(np.bincount(pairs[:, 1], minlength=3) / 3000, [0, 1 / 2, 1 / 2], atol=0.03)


def test_default_policy_adapts_to_allowed_actions(raw):
    raw["states"][0]["actions"] = ["practice"]
    del raw["states"][0]["policy"]  # the default mix
    m = build(raw)
    for _ in range(5):
        m.step()
        assert m.state("A").last_action == "practice"


def test_disallowed_actions_are_never_chosen(raw):
    raw["states"][1]["actions"] = ["practice"]
    raw["states"][1]["policy"] = {"kind": "learning"}
    raw["states"][2]["actions"] = ["discourse"]
    raw["states"][2]["policy"] = {"kind": "best_response", "noise": 5.0}
    m = build(raw)
    m.run()
    df = m.tables()["states"]
    assert set(df[(df.state == "B") & (df.step > 0)].action) == {"practice"}
    assert set(df[(df.state == "C") & (df.step > 0)].action) == {"discourse"}


SOFTMAX = {"choice": "softmax", "temperature": 0.5}


@pytest.mark.parametrize("choice", [{}, SOFTMAX], ids=["proportional", "softmax"])
def test_learning_moves_toward_the_rewarded_action(raw, choice):
    raw["states"][0]["policy"] = {"kind": "learning", "learning_rate": 1.2, **choice}  # 0.3 a quarter
    m = build(raw)
    pol = m.policies
    p0 = pol.probabilities()[0].copy()
    np.testing.assert_allclose(p0[:3], 1 / 3)
    assert (p0[3:] == 0).all()  # powers are not among its actions
    gains = np.zeros((4, m.world.A))
    gains[0, 1] = 1.0  # discourse pays, the others do not
    for a in [0, 1, 2] * 10:
        action = np.array([a, -1, -1, -1])
        pol.learn(action, gains if a == 1 else np.zeros_like(gains), gains.sum(axis=1))
    p = pol.probabilities()[0]
    assert p[1] > 0.7 and p[1] > p0[1]


def _play(raw, policy: dict, steps: int = 160) -> np.ndarray:
    """Closed loop: state A chooses, discourse pays 1 a step, the others nothing; the
    frequencies of the last half."""
    raw["states"][0]["policy"] = {"kind": "learning", **policy}
    m = build(raw)
    pol, rng = m.policies, np.random.default_rng(1)
    counts = np.zeros(m.world.A)
    for t in range(steps):
        a = int(rng.choice(m.world.A, p=pol.probabilities()[0]))
        gains = np.zeros((4, m.world.A))
        gains[0, a] = float(a == 1)
        pol.learn(np.array([a, -1, -1, -1]), gains, np.ones(4))
        counts[a] += t >= steps // 2
    return counts / counts.sum()


def test_roth_erev_learns_what_pays_and_keeps_experimenting(raw):
    """Proportional choice concentrates on the action that pays (the others keep about what
    experimentation gives them); softmax over normalised propensities at temperature 1 stays
    near uniform; without learning the mix is uniform."""
    roth = _play(raw, {})
    soft = _play(raw, {"choice": "softmax", "temperature": 1.0})
    off = _play(raw, {"learning_rate": 0.0})
    assert roth[1] > 0.75 and min(roth[0], roth[2]) > 0.02
    assert soft[1] < 0.6 and abs(off[1] - 1 / 3) < 0.1


@pytest.mark.parametrize("choice", [{}, SOFTMAX], ids=["proportional", "softmax"])
def test_standing_flows_do_not_reward_the_action(raw, choice):
    """A channel that pays the same whether or not the action is taken (a regulation already
    in force, dependence credit) teaches nothing; one that pays only when taken does."""
    raw["states"][0]["policy"] = {"kind": "learning", "learning_rate": 1.2, **choice}

    def probs(standing: bool) -> np.ndarray:
        m = build(raw)
        pol = m.policies
        paid = np.zeros((4, m.world.A))
        paid[0, 1] = 1.0
        for a in [0, 1, 2] * 20:
            g = paid if (standing or a == 1) else np.zeros_like(paid)
            pol.learn(np.array([a, -1, -1, -1]), g, g.sum(axis=1))
        return pol.probabilities()[0]

    earned, standing = probs(False), probs(True)
    assert earned[1] > 0.75  # proportional, forced round robin: 1 - e = 0.8 in the limit
    np.testing.assert_allclose(standing[:3], 1 / 3, atol=0.05)


def test_learning_rate_zero_does_not_learn(raw):
    raw["states"][0]["policy"] = {"kind": "learning", "learning_rate": 0.0}
    m = build(raw)
    gains = np.zeros((4, m.world.A))
    gains[0, 1] = 1.0
    m.policies.learn(np.array([1, -1, -1, -1]), gains, gains.sum(axis=1))
    np.testing.assert_allclose(m.policies.probabilities()[0][:3], 1 / 3)


@pytest.mark.parametrize("state", ["A", "B", "C"])
def test_best_response_without_noise_picks_the_largest_expected_gain(raw, state):
    for s in raw["states"]:
        s["policy"] = {"kind": "best_response", "noise": 0.0}
    m = build(raw)
    m.step()  # let some history build up
    m._refresh()
    i = m.world.index[state]
    pot = [m.potential(a, np.array([i]))[0] for a in m.actions]
    assert _choose(m)[i] == int(np.argmax(pot))


def test_best_response_noise_spreads_choices(raw):
    for s in raw["states"]:
        s["policy"] = {"kind": "best_response", "noise": 10.0}
    m = build(raw)
    choices = {int(_choose(m)[0]) for _ in range(200)}
    assert choices == {0, 1, 2}
