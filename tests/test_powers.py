"""The technology powers and the AI stack, each against its counterfactual: direction and size."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import build, isolate

from sim.engine.geometry import distance
from sim.errors import ScenarioError
from sim.scenario.loader import validate


def world(raw: dict, levers: list | None = None, **stack) -> dict:
    """The small world, quiet (no path effects), with a stack and the given levers."""
    isolate(raw)
    for s in raw["states"]:
        s["activity"] = 0.0
    raw["model"]["end_year"] = 2027
    raw["stack"] = {"position_pull": 0.0, **stack}
    raw["levers"] = levers or []
    return raw


def run(raw: dict, seed: int = 1):
    m = build(raw, seed=seed)
    m.run()
    return m


def metric(m, lever: str, name: str) -> np.ndarray:
    p = m.tables()["powers"]
    return p[(p.lever == lever) & (p.metric == name)].sort_values("step")["value"].to_numpy()


# ----------------------------------------------------------------------------- the stack
def test_dependence_rows_stay_distributions_and_start_from_the_logit(raw):
    m = run(world(raw))
    dep = m.world.dependence
    np.testing.assert_allclose(dep.sum(axis=2), 1.0)
    assert (dep >= 0).all()
    # the biggest supplier (A, tier 1) is every other buyer's first foreign supplier
    for b in (1, 2, 3):
        foreign = [j for j in range(4) if j != b]
        assert (dep[:, b, foreign].argmax(axis=1) == 0).all()


def test_lock_in_grows_with_the_installed_base(raw):
    raw = world(raw, lock_in=0.8, installed=2.0)
    m = build(raw)
    st, w = m.stack, m.world
    w.dependence[:, 2, :] = [0.9, 0.1, 0.0, 0.0]  # C: deeply installed on A
    w.dependence[:, 3, :] = [0.5, 0.5, 0.0, 0.0]  # D: half on A
    target = st.target_shares()
    assert target[1, 2, 0] > target[1, 3, 0]  # increasing returns: installed base attracts
    before = w.dependence[1, [2, 3], 0].copy()
    st.step()
    moved = np.abs(w.dependence[1, [2, 3], 0] - before) / np.abs(target[1, [2, 3], 0] - before)
    assert moved[0] < moved[1]  # the more installed, the slower the switch (lock-in)
    raw["stack"].update(lock_in=0.0)
    m0 = build(raw)
    m0.world.dependence[:, 2, :] = [0.9, 0.1, 0.0, 0.0]
    m0.world.dependence[:, 3, :] = [0.5, 0.5, 0.0, 0.0]
    t0 = m0.stack.target_shares()
    b0 = m0.world.dependence[1, [2, 3], 0].copy()
    m0.stack.step()
    moved0 = np.abs(m0.world.dependence[1, [2, 3], 0] - b0) / np.abs(t0[1, [2, 3], 0] - b0)
    # without lock-in buyers close 1 - exp(-switch_rate / steps_per_year) of the gap, whatever the installed base
    np.testing.assert_allclose(moved0, -np.expm1(-0.42 / 4))


def test_dependence_pulls_positions_toward_suppliers(raw):
    pulled = run(world(copy.deepcopy(raw), position_pull=0.1))
    free = run(world(raw, position_pull=0.0))
    a = 0
    d_pulled = distance(pulled.world.pos[1:], pulled.world.pos[a][None, :]).mean()
    d_free = distance(free.world.pos[1:], free.world.pos[a][None, :]).mean()
    assert d_pulled < d_free - 0.05
    assert pulled.world.influence[a] > 0 and free.world.influence[a] == 0  # structural power credited


# ----------------------------------------------------------------------------- coercive
CONTROL = {"type": "export_controls", "name": "EC", "controller": "A", "targets": ["B"], "date": "2020-04",
           "layers": ["compute"], "severity": 0.9, "leakage": 0.3, "efficiency": 0.2}  # fmt: skip


def dependent(raw: dict) -> dict:
    """B buys 90% of its chips from A and keeps doing so unless cut off."""
    raw["states"][1]["dependence"] = {"base": {"A": 0.9, "B": 0.1}}
    raw["stack"].update(home=0.0, trust=0.0, installed=3.0)
    return raw


def test_export_controls_widen_then_narrow_the_gap_and_cost_the_controller(raw):
    for s in raw["states"]:
        s["growth"] = {"compute": 0.3}
    raw["model"]["end_year"] = 2032
    free = run(dependent(world(copy.deepcopy(raw))))
    fa, fb = free.recorder.res[:, :, 0].T[:2]

    def extra_gap(m):  # the compute gap the controls add, step by step
        ca, cb = m.recorder.res[:, :, 0].T[:2]
        return (1 - cb / ca) - (1 - fb / fa)

    ctrl = run(dependent(world(copy.deepcopy(raw), [CONTROL])))
    gap = extra_gap(ctrl)
    assert gap[1] == pytest.approx(0.0)  # nothing before the start
    peak = int(np.argmax(gap))
    assert gap[peak] > 0.05  # the gap widens in the short run...
    assert 2 < peak < len(gap) - 10 and gap[-1] < 0.85 * gap[peak]  # ...and narrows later
    # without efficiency innovation, leakage only stops the widening: no catching up
    flat = extra_gap(run(dependent(world(copy.deepcopy(raw), [{**CONTROL, "efficiency": 0.0}]))))
    assert flat[-1] > 0.98 * flat.max() and flat.max() > gap[peak]
    cost = metric(ctrl, "EC", "coercion_cost_total")
    assert cost[-1] > 0 and ctrl.world.market[0] < free.world.market[0]  # the controller pays
    dep = metric(ctrl, "EC", "target_dependence_on_controller")
    free_dep = free.world.dependence[0, 1, 0]
    assert free_dep > 0.89  # without controls B stays with A
    assert dep.min() < free_dep - 0.03  # the target substitutes away while the control bites


def test_the_target_catches_up_at_the_efficiency_rate_once_the_bite_is_gone(raw):
    """Seed 002 lines 424-446: controls cannot hold a lead for long. Once leakage has worn the
    bite away, the target's shortfall from its uncontrolled path shrinks by exp(-efficiency) a
    year (here over four quarters); with efficiency 0 it stays."""
    brief = {**CONTROL, "severity": 0.9, "leakage": 6.0, "efficiency": 0.5}
    for s in raw["states"]:
        s["growth"] = {"compute": 1.0}
    raw["model"]["end_year"] = 2026
    free = run(dependent(world(copy.deepcopy(raw))))
    fb = free.recorder.res[:, 1, 0]

    def shortfall(lever):
        cb = run(dependent(world(copy.deepcopy(raw), [lever]))).recorder.res[:, 1, 0]
        return np.log(fb / cb)

    lost = shortfall(brief)
    k1, k2 = 12, 16  # 2023 and 2024: the bite is below 1e-7 of its start
    assert lost[k1] > 0.01
    assert lost[k2] / lost[k1] == pytest.approx(np.exp(-0.5), rel=1e-3)
    kept = shortfall({**brief, "efficiency": 0.0})
    assert kept[k2] == pytest.approx(kept[k1], rel=1e-6) and kept[k2] > lost[k1]


def test_a_second_tightening_stacks(raw):
    calm = {**CONTROL, "efficiency": 0.0}
    one = run(dependent(world(copy.deepcopy(raw), [calm])))
    two = run(dependent(world(copy.deepcopy(raw), [calm, {**calm, "name": "EC2", "date": "2021-01"}])))
    none = run(dependent(world(copy.deepcopy(raw))))
    b = 1
    assert two.recorder.res[-1, b, 0] < one.recorder.res[-1, b, 0] < none.recorder.res[-1, b, 0]


# ----------------------------------------------------------------------------- open weights
def _two_suppliers(raw, open_b: float, price_b: float = 1.0):
    """C buys models from A (closed) or B; B's open-weight share and price vary."""
    raw = world(raw, switch_rate=4.0, lock_in=0.9, installed=0.0, trust=0.0, home=0.0)
    for s in raw["states"][2:]:
        s["stack"] = {"supply": {"technical": 0.0}}
    raw["states"][0]["stack"] = {"supply": {"technical": 10.0}}
    raw["states"][1]["stack"] = {"supply": {"technical": 10.0}, "price": {"technical": price_b},
                                 "open": {"technical": open_b}}  # fmt: skip
    return raw


def test_open_weights_make_a_model_cheaper_to_adopt(raw):
    closed = build(_two_suppliers(copy.deepcopy(raw), 0.0, price_b=2.0)).stack.target_shares()
    opened = build(_two_suppliers(copy.deepcopy(raw), 1.0, price_b=2.0)).stack.target_shares()
    # price 2 at open_discount 0.5 costs as much as price 1: B then ties with A
    assert closed[1, 2, 1] < 0.5
    assert opened[1, 2, 1] == pytest.approx(0.5)


def test_open_weights_are_cheap_to_leave(raw):
    """A buyer concentrated on a closed supplier is locked in; on an open one it is not."""
    moved = {}
    for open_b in (0.0, 1.0):
        m = build(_two_suppliers(copy.deepcopy(raw), open_b))
        w = m.world
        w.dependence[1, 2, :] = [0.0, 0.95, 0.0, 0.05]  # C runs on B's models
        target = m.stack.target_shares()
        before = w.dependence[1, 2, 1]
        m.stack.step()
        moved[open_b] = (before - w.dependence[1, 2, 1]) / (before - target[1, 2, 1])
    spy = 4
    # locked in by the largest closed share: 0.05 (D) when B is open, 0.95 (B) when it is closed
    assert moved[1.0] == pytest.approx(-np.expm1(-4.0 / spy * (1 - 0.9 * 0.05)))
    assert moved[0.0] == pytest.approx(-np.expm1(-4.0 / spy * (1 - 0.9 * 0.95)))
    assert moved[1.0] > 4 * moved[0.0]


def test_a_set_event_can_be_relative_to_another_state(raw):
    raw = world(raw)
    raw["states"][0]["stack"] = {"supply": {"technical": 40.0}}
    raw["states"][1]["stack"] = {"supply": {"technical": 4.0}}
    raw["events"] = [{"type": "set", "date": "2021-01", "state": "B", "field": "stack.supply.technical",
                      "value": 0.9, "relative_to": "A"}]  # fmt: skip
    m = build(raw)
    for _ in range(5):
        m.step()
    sup = m.stack.supply()[1]
    assert sup[1] == pytest.approx(0.9 * sup[0], rel=0.05)  # set at 0.9 of A's, then both grow
    raw["events"][0]["relative_to"] = "Q"
    with pytest.raises(ScenarioError, match=r"events\[0\].relative_to: unknown state 'Q'"):
        validate(raw, "x.yaml")


# ----------------------------------------------------------------------------- structural
ALLIANCE = {"type": "alliance", "name": "AL", "hub": "A", "partners": ["C", "D"], "date": "2020-04",
            "offer": {"compute": 1.0, "api": 1.0}, "lock_in": 0.5}  # fmt: skip


def test_alliance_raises_partner_dependence_and_pulls_positions(raw):
    allied = run(world(copy.deepcopy(raw), [ALLIANCE], position_pull=0.05))
    alone = run(world(copy.deepcopy(raw), [], position_pull=0.05))
    cd = [2, 3]
    for layer in (0, 1):
        assert (
            allied.world.dependence[layer, cd, 0].mean() > alone.world.dependence[layer, cd, 0].mean() + 0.05
        )
    d_allied = distance(allied.world.pos[cd], allied.world.pos[0][None, :]).mean()
    d_alone = distance(alone.world.pos[cd], alone.world.pos[0][None, :]).mean()
    assert d_allied < d_alone
    assert metric(allied, "AL", "partners")[-1] == 2


def test_an_alliance_without_discourse_attracts_fewer_partners(raw):
    open_call = {**ALLIANCE, "partners": [], "open_call": True, "join_rate": 0.5}
    counts = {}
    for cap in (0.05, 0.9):
        r = world(copy.deepcopy(raw), [open_call])
        r["states"][0]["capacities"]["discourse"] = cap
        counts[cap] = np.mean([metric(run(r, seed=s), "AL", "partners")[-1] for s in range(6)])
    assert counts[0.9] > counts[0.05]


def test_an_alliance_admits_only_states_close_to_its_charter(raw):
    """`admission` on rights at 0.75: B (rights 0.6, hub A 0.8) may join, C (0.2) and D (0.4) may
    not; without it all three join an open call."""
    open_call = {**ALLIANCE, "partners": [], "open_call": True, "join_rate": 3.0}
    joined = {}
    for adm in (None, {"dimensions": ["rights"], "threshold": 0.75}):
        lever = {**open_call, **({"admission": adm} if adm else {})}
        who: set[str] = set()
        for seed in range(4):
            ev = run(world(copy.deepcopy(raw), [lever]), seed=seed).tables()["events"]
            who |= set(ev[ev.event == "alliance_join"].state)
        joined[adm is None] = who
    assert joined[True] == {"B", "C", "D"}
    assert joined[False] == {"B"}


# ----------------------------------------------------------------------------- institutional
REG = {"type": "regulation", "name": "R", "regulator": "A", "date": "2020-04", "stringency": 0.8,
       "emulation_rate": 1.0, "compliance_cost": 0.05, "innovation_drag": 0.5}  # fmt: skip


def test_stringency_slows_the_regulators_own_growth(raw):
    comp = {}
    for s in (0.0, 0.4, 0.8):
        comp[s] = run(world(copy.deepcopy(raw), [{**REG, "stringency": s}])).world.res[0, 0]
    assert comp[0.8] < comp[0.4] < comp[0.0]
    growth = (1 + 0.15) ** (1 / 4) - 1
    # growth comes before events in a step: steps 1 and 2 grow freely, steps 3..32 are dragged
    expected = 10 * (1 + growth) ** 2 * (1 + growth * (1 - 0.5 * 0.8)) ** 30
    assert comp[0.8] == pytest.approx(expected, rel=1e-9)


def test_brussels_effect_grows_with_market_share(raw):
    adopters = {}
    for market in (1.0, 40.0):
        vals = []
        for seed in range(8):
            r = world(copy.deepcopy(raw), [REG])
            r["states"][0]["market"] = market
            m = run(r, seed=seed)
            vals.append(metric(m, "R", "adopters")[-1])
        adopters[market] = np.mean(vals)
    assert adopters[40.0] > adopters[1.0]
    m = run(world(copy.deepcopy(raw), [REG]), seed=3)
    ev = m.tables()["events"]
    assert (ev.event == "adopt").sum() == metric(m, "R", "adopters")[-1]
    # adopters moved their home position toward the regulator's on the regulated dimensions
    hard = m.world.norms.index("hardness")
    adopted = [m.world.index[s] for s in ev[ev.event == "adopt"].state]
    assert all(
        abs(m.world.home[i, hard] - 0.8) < abs(m.scenario.states[i].position[hard] - 0.8) for i in adopted
    )


def test_de_facto_compliance_pulls_suppliers_toward_the_regulator(raw):
    raw["states"][1]["market"] = 0.1  # B sells mostly into A's market
    reg = {**REG, "emulation_rate": 0.0, "defacto_pull": 0.3, "scope": ["rights"]}
    on = run(world(copy.deepcopy(raw), [reg]))
    off = run(world(copy.deepcopy(raw), [{**reg, "defacto_pull": 0.0}]))
    r = on.world.norms.index("rights")
    assert metric(on, "R", "compliance_share")[-1] > 0
    assert abs(on.world.pos[1, r] - 0.8) < abs(off.world.pos[1, r] - 0.8) - 0.05


# ----------------------------------------------------------------------------- productive
DECL = {"type": "declaration", "name": "DC", "issuer": "A", "date": "2020-04", "content": [0.5, 0.5, 0.5],
        "reach": 1.0, "strength": 0.8, "duration_years": 2.0}  # fmt: skip


def test_declaration_pulls_many_states_a_little_and_developing_states_more(raw):
    raw["norms"] = [{"name": "hardness"}, {"name": "development"}, {"name": "security"}]
    raw["paths"] = {"discourse": {"framing_penalty": {}}}
    for s in raw["states"]:
        s["position"] = [0.1, 0.1, 0.5]
    raw["states"][2]["developing"] = True
    weak = {**DECL, "content": [0.5, 0.9, 0.5], "strength": 0.04, "duration_years": 1.0}  # linear regime
    on = run(world(copy.deepcopy(raw), [weak]))
    off = run(world(copy.deepcopy(raw), []))
    moved = distance(on.world.pos, off.world.pos)
    assert (moved[1:] > 0.01).all() and metric(on, "DC", "reach")[-1] == 3
    d = 1
    assert on.world.pos[2, d] - off.world.pos[2, d] > 1.5 * (on.world.pos[3, d] - off.world.pos[3, d])
    assert on.gains.shape and on.world.influence[0] > 0


def test_declaration_mean_shift_counts_only_its_own_pull(raw):
    """Positions drift for many reasons (here B shares practice); the declaration's indicator
    counts only what its own pulls moved."""
    raw = world(raw, [{**DECL, "strength": 0.0}])
    raw["states"][1].update(
        activity=1.0, policy={"kind": "fixed", "mix": {"practice": 1}}, partners=["C", "D"]
    )
    m = run(raw)
    assert (
        distance(
            m.world.pos, np.array([[0.8, 0.8, 0.2], [0.2, 0.6, 0.4], [0.5, 0.2, 0.8], [0.4, 0.4, 0.5]])
        ).max()
        > 0.01
    )
    assert metric(m, "DC", "mean_shift")[-1] == 0.0 and metric(m, "DC", "reach")[-1] == 0


def test_securitised_framing_lowers_acceptance(raw):
    """The share of the distance to the content that a state closes in the first step."""
    raw["paths"] = {"discourse": {"framing_penalty": {"security": 3.0}}}
    closed = {}
    for sec in (0.5, 1.0):
        m = build(world(copy.deepcopy(raw), [{**DECL, "content": [0.5, 0.5, sec]}]))
        content = np.array([0.5, 0.5, sec])
        m.step()  # before the start
        before = distance(m.world.pos, content[None, :])
        m.step()  # the declaration pulls
        after = distance(m.world.pos, content[None, :])
        closed[sec] = ((before - after) / before)[1:].mean()
    assert 0 < closed[1.0] < closed[0.5]
    assert build(world(copy.deepcopy(raw), [])).tables()["powers"].empty


# ----------------------------------------------------------------------------- co-creation
COCREATE = {"type": "cocreation", "name": "CC", "sponsor": "B", "partners": ["C", "D"], "date": "2020-04",
            "pillars": {"solutions": 1, "institutions": 1, "talent": 1, "local_models": 1}, "forum": "F1", "rate": 0.2}  # fmt: skip


def test_cocreation_raises_openness_alignment_and_membership(raw):
    on = run(world(copy.deepcopy(raw), [COCREATE]))
    off = run(world(copy.deepcopy(raw), []))
    cd = [2, 3]
    assert on.world.openness[cd].mean() > off.world.openness[cd].mean() + 0.1
    d_on = distance(on.world.pos[cd], on.world.pos[1][None, :]).mean()
    d_off = distance(off.world.pos[cd], off.world.pos[1][None, :]).mean()
    assert d_on < d_off
    assert on.world.members[cd, 0].all() and not off.world.members[cd, 0].any()


def test_local_models_win_ecosystem_share_only_with_strong_foundation_models(raw):
    gains = {}
    for tech in (0.5, 20.0):
        r = world(copy.deepcopy(raw), [{**COCREATE, "pillars": {"local_models": 1.0, "institutions": 0, "talent": 0,
                                                                 "solutions": 0}}])  # fmt: skip
        r["states"][1]["stack"] = {"supply": {"technical": tech}}
        r0 = copy.deepcopy(r)
        r0["levers"] = []
        gains[tech] = (
            run(r).world.dependence[1, [2, 3], 1].mean() - run(r0).world.dependence[1, [2, 3], 1].mean()
        )
    assert gains[0.5] >= 0 and gains[20.0] > 5 * gains[0.5]


# ----------------------------------------------------------------------------- powers as actions
def test_a_state_can_choose_a_power_as_its_action(raw):
    raw = world(raw, [{**DECL, "date": None}])
    raw["states"][0].update(activity=1.0, actions=["discourse", "declaration"],
                            policy={"kind": "fixed", "mix": {"declaration": 1}})  # fmt: skip
    m = run(raw)
    df = m.tables()["states"]
    assert set(df[(df.state == "A") & (df.step > 0)].action) == {"declaration"}
    assert metric(m, "DC", "reach")[-1] == 3
    assert m.gains.shape[1] == 8 and m.world.influence[0] > 0


def test_a_power_cannot_be_chosen_before_its_lever_exists(raw):
    """History first: a state may use a power as an action only through a lever it wields that
    exists now (an undated template, or a dated lever whose date has come)."""
    raw = world(raw, [{**DECL, "date": "2021-01"}])
    raw["states"][0].update(activity=1.0, actions=["discourse", "declaration"],
                            policy={"kind": "fixed", "mix": {"discourse": 1, "declaration": 1}})  # fmt: skip
    m = run(raw)
    df = m.tables()["states"]
    a = df[(df.state == "A") & (df.step > 0)].set_index("year").action
    assert set(a[a.index <= 2021.0]) == {"discourse"}  # 2020: no declaration yet to renew
    assert "declaration" in set(a[a.index > 2021.0])


def test_power_action_without_a_lever_is_an_error(raw):
    raw["states"][0]["actions"] = ["discourse", "export_controls"]
    with pytest.raises(
        ScenarioError, match=r"states\[0\] \(A\).actions\[1\]: action 'export_controls' needs a lever"
    ):
        validate(raw, "x.yaml")


@pytest.mark.parametrize(
    ("lever", "message"),
    [
        ({**CONTROL, "targets": ["Z"]}, "levers[0] (EC).targets[0]: unknown state 'Z'"),
        ({**CONTROL, "controller": "Q"}, "levers[0] (EC).controller: unknown state 'Q'"),
        ({**CONTROL, "targets": ["A"]}, "the controller cannot be one of its own targets"),
        ({**CONTROL, "date": "2035-01"}, "levers[0] (EC).date: 2035-01 is after the end of the run"),
        ({**CONTROL, "date": "2010-01"}, "levers[0] (EC).date: 2010-01 is before the start of the run"),
        ({**CONTROL, "layers": ["chips"]}, "expected layers among compute, models, investment, got 'chips'"),
        ({**CONTROL, "severity": 2}, "levers[0] (EC).severity: expected a number in [0, 1], got 2"),
        ({**REG, "scope": ["privacy"]}, "levers[0] (R).scope[0]: unknown norm dimension 'privacy'"),
        ({**ALLIANCE, "partners": []}, "levers[0] (AL): an alliance needs partners or open_call: true"),
        (
            {**ALLIANCE, "admission": {"dimensions": ["rigths"]}},
            "levers[0] (AL).admission.dimensions[0]: unknown norm dimension 'rigths'",
        ),
        ({**COCREATE, "forum": "F9"}, "levers[0] (CC).forum: unknown forum 'F9'"),
        ({**DECL, "content": [0.1]}, "levers[0] (DC).content: expected 3 values"),
        ({"type": "sanctions", "issuer": "A"}, "levers[0]: expected one of 'export_controls'"),
    ],
)
def test_lever_validation(raw, lever, message):
    raw["levers"] = [lever]
    with pytest.raises(ScenarioError) as exc:
        validate(raw, "x.yaml")
    assert message in str(exc.value)
