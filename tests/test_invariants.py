"""Invariants over generated valid scenarios (hypothesis): whatever the data, shares sum to 1,
positions and texts stay in [0, 1], dependence rows sum to 1, and nothing is NaN."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import RuleMakingModel
from sim.scenario.loader import validate

unit = st.floats(0.0, 1.0, allow_nan=False)
pos_amount = st.floats(0.05, 100.0, allow_nan=False)


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 7))
    d = draw(st.integers(1, 5))
    norms = ["hardness", "data_openness", "rights", "development", "security"][:d]
    names = [f"S{i}" for i in range(n)]
    states = []
    for i, name in enumerate(names):
        kind = draw(st.sampled_from(["fixed", "learning", "best_response"]))
        policy: dict = {"kind": kind}
        if kind == "fixed":
            policy["mix"] = {
                "institutional": draw(unit) + 0.01,
                "discourse": draw(unit),
                "practice": draw(unit),
            }
        elif kind == "learning":
            policy.update(learning_rate=draw(unit), forgetting=draw(unit))
            if draw(st.booleans()):
                policy.update(choice="softmax", temperature=draw(st.floats(0.05, 5)))
            else:
                policy.update(experimentation=draw(unit))
        else:
            policy["noise"] = draw(st.floats(0, 3))
        shares = np.array([draw(st.floats(0.01, 1)) for _ in range(n)])
        shares = (shares / shares.sum()).tolist()
        shares[-1] = 1.0 - sum(shares[:-1])
        states.append(
            {
                "name": name,
                "tier": draw(st.sampled_from([1, 2, 3])),
                "region": draw(st.sampled_from(["", "East", "West"])),
                "resources": {k: draw(pos_amount) for k in ("compute", "data", "algorithms")},
                "market": draw(pos_amount),
                "growth": {"compute": draw(st.floats(-0.5, 1.0))},
                "capacities": {k: draw(unit) for k in ("standards", "regulatory", "discourse")},
                "position": [draw(unit) for _ in norms],
                "openness": draw(unit),
                "activity": draw(unit),
                "partners": [names[(i + 1) % n]] if draw(st.booleans()) else [],
                "dependence": {"base": dict(zip(names, [max(0.0, s) for s in shares], strict=True))},
                "policy": policy,
            }
        )
    n_forums = draw(st.integers(1, 4))
    forums = []
    for f in range(n_forums):
        members = sorted(draw(st.sets(st.sampled_from(names), min_size=1, max_size=n)))
        forums.append(
            {
                "name": f"F{f}",
                "members": members,
                "weight": draw(st.floats(0.1, 3)),
                "inclusiveness": draw(unit),
                "openness": draw(unit),
                "links": [f"F{(f + 1) % n_forums}"] if n_forums > 1 and draw(st.booleans()) else [],
                "presidency": {2020: members[0]},
                "start": draw(st.sampled_from([None, "2020-01-20"])),  # inside step 1 at any pace
            }
        )
    levers = []
    if draw(st.booleans()):
        a, b = names[0], names[1]
        levers = [
            {"type": "export_controls", "controller": a, "targets": [b], "date": "2020-01-20",
             "severity": draw(unit), "leakage": draw(unit), "efficiency": draw(unit), "layers": ["compute", "models"]},
            {"type": "alliance", "hub": a, "partners": [b], "open_call": draw(st.booleans()), "date": "2020-01-20",
             "offer": {"compute": draw(unit), "api": draw(unit)}, "lock_in": draw(unit)},
            {"type": "regulation", "regulator": b, "date": "2020-01-20", "stringency": draw(unit),
             "scope": norms[:1], "emulation_rate": draw(unit)},
            {"type": "declaration", "issuer": a, "date": "2020-01-20", "reach": draw(unit), "strength": draw(unit)},
            {"type": "cocreation", "sponsor": b, "partners": [a], "date": "2020-01-20", "rate": draw(unit)},
        ]  # fmt: skip
    raw = {
        "name": "generated",
        "levers": levers,
        "model": {
            "start_year": 2020,
            "steps_per_year": draw(st.sampled_from([1, 4, 12])),
            "steps": draw(st.integers(1, 12)),
            "seed": draw(st.integers(0, 2**31)),
            "synergy": draw(st.floats(0, 3)),
            "memory": draw(unit),
        },
        "norms": [{"name": x} for x in norms],
        "paths": {
            "institutional": {
                "engagement_rate": draw(unit),
                "consensus_rate": draw(unit),
                "brokerage_rate": draw(unit),
            },
            "discourse": {
                "draft_rate": draw(unit),
                "presidency_multiplier": draw(st.floats(1, 10)),
                "framing_penalty": {},
            },
            "practice": {
                "share_rate": draw(unit),
                "soft_fit": draw(st.floats(0, 5)),
                "capacity_building": draw(unit),
            },
        },
        "influence": {"decay": draw(unit), "anchoring": draw(unit), "clout": draw(st.floats(0, 2))},
        "membership": {"join_threshold": draw(unit), "join_rate": draw(unit)},
        "states": states,
        "forums": forums,
        "frameworks": [{"name": "FW", "founder": names[0], "forum": "F0", "date": "2020-01"}],
    }
    return validate(raw, "generated")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_for_any_valid_scenario(sc):
    m = RuleMakingModel(sc)
    while m.running:
        m.step()
        w = m.world
        assert np.all((w.pos >= 0) & (w.pos <= 1))
        assert np.all((w.text >= 0) & (w.text <= 1))
        assert np.all((w.engagement >= 0) & (w.engagement <= 1))
        assert np.all((w.openness >= 0) & (w.openness <= 1))
        np.testing.assert_allclose(w.dependence.sum(axis=2), 1.0, atol=1e-9)
        assert np.isfinite(w.dependence).all() and (w.dependence >= 0).all()
        assert np.isfinite(w.res).all() and (w.res > 0).all() and (w.market > 0).all()
        assert np.all(w.influence >= 0)
    t = m.tables()
    states = t["states"]
    share_sum = states.groupby("step")["influence_share"].sum()
    np.testing.assert_allclose(share_sum, 1.0, atol=1e-9)
    rs = states.groupby("step")["resource_share"].sum()
    np.testing.assert_allclose(rs, 1.0, atol=1e-9)
    numeric = states.drop(columns=["state", "action", "rule_alignment"])
    assert not numeric.isna().any().any()
    active_any = t["forums"].groupby("step")["active"].any()
    ra = states.set_index("step")["rule_alignment"]
    assert not ra[active_any[active_any].index].isna().any()
    assert t["forums"][t["forums"].active][list(m.world.norms)].notna().all().all()
    assert ((t["model"]["influence_hhi"] > 0) & (t["model"]["influence_hhi"] <= 1 + 1e-12)).all()
