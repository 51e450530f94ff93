"""Each mechanism against its switched-off case: direction and size of the effect."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import build, isolate, only

from sim.engine.geometry import distance
from sim.paths import discourse, synergy


def _text_move(m, forum: str, toward: str) -> float:
    """Reduction of the distance between a forum's text and a state's position in one step."""
    w = m.world
    f, i = w.forum_index[forum], w.index[toward]
    before = float(distance(w.text[f], w.pos[i]))
    m.step()
    return before - float(distance(w.text[f], w.pos[i]))


# ----------------------------------------------------------------------------- influence stock
@pytest.mark.parametrize("decay", [0.0, 0.05, 0.3])
def test_influence_decays_geometrically_without_gains(raw, decay):
    isolate(raw)
    for s in raw["states"]:
        s["activity"] = 0.0
    raw["influence"]["decay"] = decay
    m = build(raw)
    m.world.influence[:] = 1.0
    for _ in range(3):
        m.step()
    # `decay` is the share lost per year: three quarters keep (1 - decay) ** (3 / 4)
    np.testing.assert_allclose(m.world.influence, (1 - decay) ** 0.75)


def test_reputation_earns_through_the_states_voice(raw):
    """Reputation is worth what the state's voice is worth: its influence per step is
    reputation_weight * reputation * clout, so a tiny engaged state no longer earns as much from
    it as a large one (the punching-ratio artefact of equal reputation for all)."""
    isolate(raw)
    raw["influence"]["reputation_weight"] = 0.5
    for s in raw["states"]:
        s["policy"] = {"kind": "fixed", "mix": {"institutional": 1}}
    m = build(raw)
    m.world.engagement[:, 1] = 0.6  # everyone equally engaged in F2
    m.step()
    w = m.world
    earned = (
        m.tables()["influence_sources"].query("source == 'reputation' and step == 1").set_index("state").gain
    )
    ratio = earned / w.reputation[[w.index[s] for s in earned.index]]
    np.testing.assert_allclose(ratio.to_numpy(), 0.5 / 4 * m.clout[[w.index[s] for s in earned.index]])
    per_unit = ratio.to_dict()
    assert per_unit["A"] > 1.5 * per_unit["D"]  # A (tier 1) has the larger voice


def test_reputation_adds_to_influence_of_engaged_states(raw):
    isolate(raw)
    raw["influence"]["reputation_weight"] = 0.5
    only(raw, "A", "institutional")
    m = build(raw)
    m.run()
    w = m.world
    assert w.reputation[w.index["A"]] > 0.1
    assert w.reputation[w.index["B"]] == 0.0
    assert w.influence[w.index["A"]] > w.influence[w.index["B"]]


# ----------------------------------------------------------------------------- discourse
def test_presidency_multiplies_the_draft(raw):
    isolate(raw)
    only(raw, "B", "discourse")
    raw["forums"][1]["presidency"] = {2020: "B"}
    raw["forums"][0]["members"] = ["A"]  # B can draft only in F2
    host = build(raw)
    moved_host = _text_move(host, "F2", "B")
    raw["forums"][1]["presidency"] = {2020: "A"}
    plain = build(raw)
    moved_plain = _text_move(plain, "F2", "B")
    assert moved_plain > 0
    # pull strength doubles (multiplier 2); the saturating update gives slightly less than 2x
    s = (1 - np.exp(-2 * _strength(host, "B", "F2") / 2)) / (1 - np.exp(-_strength(host, "B", "F2") / 2))
    assert moved_host / moved_plain == pytest.approx(s, rel=1e-6)
    assert 1.9 < moved_host / moved_plain <= 2.0
    raw["paths"]["discourse"] = {"presidency_multiplier": 1.0}
    raw["forums"][1]["presidency"] = {2020: "B"}
    assert _text_move(build(raw), "F2", "B") == pytest.approx(moved_plain)


def _strength(m, state: str, forum: str) -> float:
    w = m.world
    return float(discourse.strength(m.drafting(), np.array([w.index[state]]))[0, w.forum_index[forum]])


def test_agenda_weight_scales_the_draft(raw):
    """MODEL.md s.3: a draft's pull is proportional to the drafter's agenda weight in the forum
    (baseline_engagement + its engagement there); `agenda_weight: 0` switches it off."""
    isolate(raw)
    only(raw, "B", "discourse")
    engaged = build(raw)
    engaged.world.engagement[1, 1] = 0.9  # B engaged in F2
    engaged._refresh()  # the step's agenda weights, as a step would compute them
    idle = build(raw)
    s_engaged, s_idle = _strength(engaged, "B", "F2"), _strength(idle, "B", "F2")
    assert s_engaged / s_idle == pytest.approx((0.1 + 0.9) / 0.1)
    raw["paths"]["discourse"] = {"agenda_weight": 0.0}
    off = build(raw)
    off.world.engagement[1, 1] = 0.9
    off._refresh()
    assert _strength(off, "B", "F2") == pytest.approx(_strength(build(raw), "B", "F2"))


def test_hosting_shows_in_the_hosts_influence(raw):
    """MODEL.md s.9 (hosting matters; s000: G7 2016, G20 2019, G7 2023): holding a presidency
    raises the host's agenda setting, and its influence shows it. With the presidency's effects
    switched off (multiplier 1, no preference, no host bridging), hosting changes nothing."""
    isolate(raw)
    raw["paths"]["institutional"]["brokerage_rate"] = 0.4
    only(raw, "B", "discourse")
    raw["states"][1]["policy"] = {"kind": "fixed", "mix": {"institutional": 1, "discourse": 1, "practice": 1}}

    def gain(presidency: dict, **off) -> float:
        r = copy.deepcopy(raw)
        r["forums"][1]["presidency"] = presidency
        r["paths"].setdefault("discourse", {}).update(off.get("discourse", {}))
        r["paths"]["institutional"].update(off.get("institutional", {}))
        m = build(r)
        m.run()
        return float(m.world.influence[1])

    hosting = {2020: "B", 2021: "B"}
    assert gain(hosting) > 1.1 * gain(
        {2020: "A", 2021: "A"}
    )  # +14% here, from two years of hosting one forum
    off = {"discourse": {"presidency_multiplier": 1.0},
           "institutional": {"presidency_preference": 0.0, "host_brokerage": 1.0}}  # fmt: skip
    assert gain(hosting, **off) == pytest.approx(gain({2020: "A", 2021: "A"}, **off))


def test_participation_prefers_the_forum_it_presides(raw):
    isolate(raw)
    only(raw, "B", "institutional")
    raw["forums"][1]["weight"] = 0.6  # F2 matters less than F1...
    m = build(raw)
    m.step()
    assert m.world.engagement[1, 0] > 0 and m.world.engagement[1, 1] == 0  # ...so B engages in F1
    raw["forums"][1]["presidency"] = {2020: "B"}  # ...unless it presides F2
    raw["paths"]["institutional"]["presidency_preference"] = 5.0
    m = build(raw)
    m.step()
    assert m.world.engagement[1, 1] > 0 and m.world.engagement[1, 0] == 0


def test_accumulated_influence_lends_weight_to_drafts(raw):
    """MODEL.md s.9, discourse power is power: a state's influence, relative to the mean,
    raises its later drafts by 1 + standing * x / (1 + x), bounded; `standing: 0` switches it off."""
    isolate(raw)
    only(raw, "B", "discourse")
    m = build(raw)
    m.world.influence[:] = [1.0, 3.0, 0.0, 0.0]  # B holds 3 of 4 units: x = 3 * 4 / 4 = 3
    m._refresh()
    plain = build(raw)
    assert _strength(m, "B", "F2") / _strength(plain, "B", "F2") == pytest.approx(1 + 0.5 * 3 / 4)
    raw["influence"]["standing"] = 0.0
    off = build(raw)
    off.world.influence[:] = [1.0, 3.0, 0.0, 0.0]
    off._refresh()
    assert _strength(off, "B", "F2") == pytest.approx(_strength(plain, "B", "F2"))


def test_the_domestic_anchor_keeps_positions_apart(raw):
    """MODEL.md s.9, polarised not converging: a state's home position pulls back k times as
    hard as the outside pulls, k = (1 - openness) / openness, so under a steady outside pull it
    settles (k home + target) / (k + 1); with `domestic: 0` it goes all the way."""
    isolate(raw)
    for s in raw["states"]:
        s["activity"] = 0.0
        s["openness"] = 0.2  # k = 4
    raw["model"]["end_year"] = 2040
    raw["stack"] = {"position_pull": 0.0}
    raw["levers"] = [{"type": "declaration", "name": "D", "issuer": "A", "date": "2020-04", "reach": 1.0,
                      "strength": 4.0, "duration_years": 25, "content": [0.5, 0.5, 0.5], "development_bonus": 0.0}]  # fmt: skip
    raw["paths"]["discourse"] = {"framing_penalty": {}}
    anchored = build(raw).run()
    home = np.array([s["position"] for s in raw["states"]])
    expected = (4 * home + 0.5) / 5
    np.testing.assert_allclose(anchored.world.pos[1:], expected[1:], atol=1e-3)
    raw["influence"]["domestic"] = 0.0
    free = build(raw).run()
    np.testing.assert_allclose(free.world.pos[1:], 0.5, atol=1e-3)


def test_legitimacy_penalty_for_securitised_framing(raw):
    isolate(raw)
    only(raw, "C", "discourse")  # C is far from F2's centre on security (0.8 vs ~0.475)
    raw["paths"]["discourse"] = {"distance_penalty": 0.0, "framing_penalty": {"security": 2.0}}
    penalised = build(raw)
    moved_pen = _text_move(penalised, "F2", "C")
    raw["paths"]["discourse"]["framing_penalty"] = {}
    free = build(raw)
    moved_free = _text_move(free, "F2", "C")
    assert 0 < moved_pen < moved_free
    centre = np.mean([s["position"][2] for s in raw["states"]])
    expected = np.exp(-2.0 * abs(0.8 - centre))
    assert _strength(penalised, "C", "F2") / _strength(free, "C", "F2") == pytest.approx(expected)


def test_legitimacy_falls_with_distance_from_the_forum(raw):
    isolate(raw)
    raw["paths"]["discourse"] = {"framing_penalty": {}, "distance_penalty": 1.0}
    m = build(raw)
    legit = discourse.legitimacy(m.drafting())[:, m.world.forum_index["F2"]]
    w = m.world
    centre = w.pos.mean(axis=0)
    order = np.argsort(distance(w.pos, centre[None, :]))
    assert np.all(np.diff(legit[order]) <= 1e-12)  # further from the centre: less accepted


# ----------------------------------------------------------------------------- institutional
def test_participation_raises_engagement_and_consensus_pull(raw):
    raw = isolate(raw)
    raw["paths"]["institutional"]["consensus_rate"] = 0.2
    only(raw, "B", "institutional")
    engaged = build(raw)
    for _ in range(4):
        engaged.step()
    w = engaged.world
    b = w.index["B"]
    assert w.engagement[b].max() > 0.5
    assert w.engagement[w.index["A"]].max() == 0.0
    for s in raw["states"]:
        s["activity"] = 0.0
    idle = build(raw)
    for _ in range(4):
        idle.step()
    f = w.forum_index["F1"]
    d_eng = float(distance(w.text[f], w.pos[b]))
    d_idle = float(distance(idle.world.text[f], idle.world.pos[b]))
    assert d_eng < d_idle  # B's engagement pulled F1's consensus toward it
    # ...but the forum's consensus is nobody's doing: participation alone earns no credit
    # (a free rider, seed 000 s.3.1); with brokerage and reputation off, B gains nothing
    assert engaged.gains[b].sum() == 0.0 and engaged.world.influence[b] == 0.0


def _broker(raw, use=(0.0, 1.0, 1.0), rate=1.2, **inst):
    """A engaged in both linked forums (F1, F2), participating, with recent path use `use`."""
    raw = isolate(raw)
    only(raw, "A", "institutional")
    raw["paths"]["institutional"].update(brokerage_rate=rate, **inst)
    raw["forums"][0]["text"] = [0.9, 0.9, 0.1]
    raw["forums"][1]["text"] = [0.1, 0.2, 0.9]
    m = build(raw)
    m.world.engagement[0, :] = 0.8
    m.world.use[0] = use
    align0 = 1 - float(distance(m.world.text[0], m.world.text[1]))
    m.step()
    align = 1 - float(distance(m.world.text[0], m.world.text[1]))
    return m, align - align0


def test_brokerage_raises_alignment_and_credits_the_broker(raw):
    """A broker carrying content (its recent drafting and sharing) pulls the linked texts
    together and is credited; with brokerage off, nothing moves."""
    broker, gained = _broker(copy.deepcopy(raw))
    plain, none = _broker(copy.deepcopy(raw), rate=0.0)
    assert none == pytest.approx(0.0)
    assert gained > 0.05
    col = broker.gain_col["institutional"]
    assert broker.gains[0, col] > 0 and plain.gains[0, col] == 0
    align = 1 - float(distance(broker.world.text[0], broker.world.text[1]))
    assert broker.tables()["model"]["alignment_index"].iloc[-1] == pytest.approx(align)


def test_a_broker_without_content_is_a_free_rider(raw):
    """Seed 000 line 263: participation pays through the content that drafting and sharing give
    it. Sitting engaged in two linked forums without recent drafting or sharing bridges nothing
    and earns nothing; the bridging grows with the content carried (here one path's worth vs two)."""
    empty, moved_empty = _broker(copy.deepcopy(raw), use=(1.0, 0.0, 0.0))
    half, moved_half = _broker(copy.deepcopy(raw), use=(0.0, 1.0, 0.0))
    full, moved_full = _broker(copy.deepcopy(raw), use=(0.0, 1.0, 1.0))
    col = empty.gain_col["institutional"]
    assert moved_empty == pytest.approx(0.0) and empty.gains[0, col] == 0.0
    assert 0 < moved_half < moved_full
    assert 0 < half.gains[0, col] < full.gains[0, col]


def test_synergy_zero_leaves_participation_no_content_to_carry(raw):
    raw["model"]["synergy"] = 0.0
    m, moved = _broker(raw)
    assert moved == pytest.approx(0.0) and m.gains[0, m.gain_col["institutional"]] == 0.0


def test_hosting_multiplies_the_bridge(raw):
    """Seed 000 line 261: hosting gave Japan the structural power to build bridges between
    institutions. A broker holding F2's presidency bridges `host_brokerage` times as strongly."""
    hosted = copy.deepcopy(raw)
    hosted["forums"][1]["presidency"] = {2020: "A"}
    _, plain = _broker(copy.deepcopy(raw), rate=0.2)
    _, host = _broker(hosted, rate=0.2, host_brokerage=2.0)
    _, host1 = _broker(copy.deepcopy(hosted), rate=0.2, host_brokerage=1.0)
    assert host1 == pytest.approx(plain)
    assert 1.8 < host / plain < 2.0  # twice the pull, slightly less than twice the movement (saturation)


# ----------------------------------------------------------------------------- practice
def test_soft_law_practice_moves_low_capacity_targets_more(raw):
    isolate(raw)
    only(raw, "A", "practice")
    st = {s["name"]: s for s in raw["states"]}
    st["A"]["soft_law"] = 1.0
    st["A"]["partners"] = ["C", "D"]
    st["C"]["capacities"]["regulatory"] = 0.1
    st["D"]["capacities"]["regulatory"] = 0.9
    st["D"]["position"] = list(st["C"]["position"])  # same distance to A
    raw["paths"]["practice"].update({"soft_fit": 1.0, "region_tie": 0.0, "comember_tie": 0.0})

    def moves(r):
        m = build(r)
        w = m.world
        a, c, d = w.index["A"], w.index["C"], w.index["D"]
        before = distance(w.pos[[c, d]], w.pos[[a, a]])
        m.step()
        after = distance(m.world.pos[[c, d]], m.world.pos[[a, a]])
        return before - after, m

    (mc, md), m = moves(raw)
    assert mc > md > 0
    assert mc / md == pytest.approx((1 + 0.9) / (1 + 0.1), rel=0.02)
    assert m.gains[0, m.gain_col["practice"]] > 0
    raw["paths"]["practice"]["soft_fit"] = 0.0
    (mc0, md0), _ = moves(raw)
    assert mc0 == pytest.approx(md0)


def test_practice_builds_capacity_and_followers(raw):
    isolate(raw)
    only(raw, "A", "practice")
    raw["paths"]["practice"]["capacity_building"] = 0.1
    raw["states"][0]["partners"] = ["C"]
    m = build(raw)
    c = m.world.index["C"]
    base = m.world.openness[c]
    m.run()
    assert m.world.openness[c] > base + 0.05
    df = m.tables()["states"]
    last = df[df.step == df.step.max()].set_index("state")
    assert last.loc["A", "followers"] >= 1


# ----------------------------------------------------------------------------- synergy
def test_synergy_zero_makes_paths_independent(raw):
    isolate(raw)
    only(raw, "B", "discourse")
    moved = {}
    for syn in (0.0, 1.0):
        for use in ((0, 0, 0), (1, 0, 1)):
            raw["model"]["synergy"] = syn
            m = build(raw)
            m.world.use[m.world.index["B"]] = use
            gain_before = m.world.influence.copy()
            m.step()
            moved[syn, use] = (m.gains[m.world.index["B"], m.gain_col["discourse"]], gain_before)
    g = {k: v[0] for k, v in moved.items()}
    assert g[0.0, (1, 0, 1)] == pytest.approx(g[0.0, (0, 0, 0)])  # no synergy: history irrelevant
    assert g[1.0, (1, 0, 1)] > 1.5 * g[1.0, (0, 0, 0)]  # recent use of the others amplifies


def test_synergy_multiplier_formula(raw):
    m = build(raw)
    c = synergy.coupling_matrix(m.scenario.model.coupling)
    use = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    mult = synergy.multipliers(use, c, 2.0)
    # institutional use amplifies discourse (coupling 1.0) and practice (1.0)
    np.testing.assert_allclose(mult[0], [1.0, 3.0, 3.0])
    # discourse + practice use amplify institutional (0.5 each) and each other (1.0)
    np.testing.assert_allclose(mult[1], [1 + 2 * (0.25 + 0.25), 2.0, 2.0])
    np.testing.assert_allclose(synergy.multipliers(use, c, 0.0), 1.0)


# ----------------------------------------------------------------------------- forums
def test_framework_joiners_raise_forum_weight_and_credit_founder(raw):
    isolate(raw)
    for s in raw["states"]:
        s["activity"] = 0.0
    raw["frameworks"] = [
        {"name": "FW", "founder": "A", "forum": "F2", "date": "2020-01", "text": [0.5, 0.5, 0.5]}
    ]
    raw["framework_settings"] = {
        "join_rate": 200.0,
        "join_threshold": 0.0,
        "weight_gain": 1.0,
    }  # all join at once
    m = build(raw)
    m.world.engagement[0, 1] = 1.0
    m.step()
    w = m.world
    assert w.fw_members[0].all()
    assert w.weight[1] == pytest.approx(w.weight0[1] * 2.0)
    assert m.gains[0, m.gain_col["institutional"]] > 0
    raw["framework_settings"]["join_rate"] = 0.0
    m0 = build(raw)
    m0.step()
    assert m0.world.weight[1] == pytest.approx(m0.world.weight0[1] * (1 + 1 / 4))  # founder only


def test_open_forums_grow_by_closeness(raw):
    isolate(raw)
    raw["membership"] = {"join_threshold": 0.0, "join_rate": 200.0}
    raw["forums"][0]["openness"] = 1.0
    m = build(raw)
    m.step()
    assert m.world.members[:, 0].all()
    assert (m.tables()["events"]["event"] == "join").sum() == 2
    raw["forums"][0]["openness"] = 0.0
    m0 = build(raw)
    m0.step()
    assert m0.world.members[:, 0].sum() == 2


def test_forum_open_to_regions_only(raw):
    isolate(raw)
    raw["membership"] = {"join_threshold": 0.0, "join_rate": 200.0}
    raw["forums"][0].update({"openness": 1.0, "open_to": ["North"], "members": ["A"]})
    m = build(raw)
    m.step()
    assert m.forum("F1").members == ["A", "B"]


def _joiners(raw, admission: dict, **membership) -> set[str]:
    """Who joins the open forum F1 (founded by A and B) within the run, under a rule."""
    isolate(raw)
    for s in raw["states"]:
        s["activity"] = 0.0
    raw["membership"] = {"join_threshold": 0.0, "join_rate": 200.0, "cost": 0.0, **membership}
    raw["forums"][0].update(openness=1.0, admission=admission)
    m = build(raw)
    m.run()
    return set(m.forum("F1").members) - {"A", "B"}


def test_admission_rules_decide_who_may_join(raw):
    """MODEL.md s.9, membership follows rules: founders-only forums admit no one; a values rule
    admits only states close to the forum's text on its value dimensions; an invitation rule,
    those close to the members' mean position; an open forum, anyone who wants to join."""
    # positions (hardness, rights, security): A .8 .8 .2, B .2 .6 .4, C .5 .2 .8, D .4 .4 .5
    assert _joiners(copy.deepcopy(raw), {"rule": "open"}) == {"C", "D"}
    assert _joiners(copy.deepcopy(raw), {"rule": "founders"}) == set()
    # F1's text is A and B's mean, rights 0.7: D (0.4) is 0.7 close on rights, C (0.2) 0.5
    values = {"rule": "values", "dimensions": ["rights"], "threshold": 0.65}
    assert _joiners(copy.deepcopy(raw), values) == {"D"}
    assert _joiners(copy.deepcopy(raw), {**values, "threshold": 0.4}) == {"C", "D"}
    invite = {"rule": "invitation", "dimensions": ["security"], "threshold": 0.75}
    assert _joiners(copy.deepcopy(raw), invite) == {"D"}  # members' mean security 0.3: D 0.8 close, C 0.5


def test_joining_is_a_decision_with_a_cost(raw):
    """A state keeps up its memberships: it joins only a forum whose weight is at least `cost`
    times the memberships it already has (C and D are each in one forum, F2)."""
    raw["forums"][0]["weight"] = 0.5
    assert _joiners(copy.deepcopy(raw), {"rule": "open"}, cost=0.4) == {"C", "D"}
    assert _joiners(copy.deepcopy(raw), {"rule": "open"}, cost=0.6) == set()


def test_an_admission_rule_names_known_dimensions(raw):
    from sim.errors import ScenarioError
    from sim.scenario.loader import validate

    raw["forums"][0]["admission"] = {"rule": "values", "dimensions": ["privacy"]}
    with pytest.raises(
        ScenarioError, match=r"forums\[0\] \(F1\).admission.dimensions\[0\]: unknown norm dimension"
    ):
        validate(raw, "x.yaml")
    raw["forums"][0]["admission"] = {"rule": "lottery"}
    with pytest.raises(ScenarioError, match=r"admission\.rule"):
        validate(raw, "x.yaml")


# ----------------------------------------------------------------------------- events
def test_scheduled_events_fire_in_their_step(raw):
    isolate(raw)
    raw["forums"].append({"name": "F3", "members": ["C", "D"], "start": "2020-07", "presidency": {2021: "C"}})
    raw["events"] = [
        {"type": "join", "date": "2020-04-15", "state": "C", "forum": "F1"},
        {"type": "leave", "date": "2020-10", "state": "C", "forum": "F1"},
        {"type": "set", "date": "2021-02", "state": "D", "field": "capacities.discourse", "value": 0.9},
    ]
    m = build(raw)
    seen = {}
    for _ in range(8):
        m.step()
        seen[m.steps] = (bool(m.world.members[2, 0]), bool(m.world.active[2]), m.world.cap[3, 2])
    assert seen[1] == (False, False, 0.5)
    assert seen[2][0] and not seen[2][1]  # joined F1 in Q2 2020
    assert seen[3][1]  # F3 created in Q3 2020
    assert not seen[4][0]  # left in Q4 2020
    assert seen[4][2] == 0.5 and seen[5][2] == 0.9  # set in Feb 2021: Q1 2021 is step 5
    ev = m.tables()["events"]
    assert list(ev["event"]) == ["join", "forum_created", "leave", "presidency", "set"]
    assert ev.loc[ev.event == "presidency", "year"].item() == 2021.0


def test_inactive_states_take_no_action(raw):
    for s in raw["states"]:
        s["activity"] = 0.0
    m = build(raw)
    m.step()
    assert (m.world.action == -1).all()
    assert set(m.tables()["states"]["action"]) == {"none"}
