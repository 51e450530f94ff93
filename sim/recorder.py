"""Outputs recorded into preallocated arrays during a run, turned into tables at the end.

Recording costs a few array copies per step; no DataFrame is built until `tables()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import forums, influence

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

STATE_SERIES = (
    "influence",
    "influence_share",
    "resource_share",
    "punching_ratio",
    "rule_alignment",
    "reputation",
    "openness",
)
RES_SERIES = ("compute", "data", "algorithms")


class Recorder:
    def __init__(self, model: RuleMakingModel, n_steps: int) -> None:
        w = model.world
        t = n_steps + 1
        self.n = 0
        self.s = {k: np.full((t, w.N), np.nan) for k in STATE_SERIES}
        self.res = np.full((t, w.N, 3), np.nan)
        self.market = np.full((t, w.N), np.nan)
        self.followers = np.zeros((t, w.N), dtype=np.int64)
        self.action = np.full((t, w.N), -1, dtype=np.int64)
        self.pos = np.full((t, w.N, w.D), np.nan)
        self.text = np.full((t, w.F, w.D), np.nan)
        self.members = np.zeros((t, w.F), dtype=np.int64)
        self.weight = np.full((t, w.F), np.nan)
        self.active = np.zeros((t, w.F), dtype=bool)
        self.align = np.full((t, len(w.link_a)), np.nan)
        self.hhi = np.full(t, np.nan)

    def record(self, model: RuleMakingModel, k: int) -> None:
        w, s = model.world, self.s
        share = w.influence_share()
        rshare = w.resource_share()
        s["influence"][k] = w.influence
        s["influence_share"][k] = share
        s["resource_share"][k] = rshare
        s["punching_ratio"][k] = share / rshare
        s["rule_alignment"][k] = influence.rule_alignment(model)
        s["reputation"][k] = w.reputation
        s["openness"][k] = w.openness
        self.res[k] = w.res
        self.market[k] = w.market
        self.followers[k] = influence.followers(model)
        self.action[k] = w.action
        self.pos[k] = w.pos
        self.text[k] = w.text
        self.members[k] = w.members.sum(axis=0)
        self.weight[k] = w.weight
        self.active[k] = w.active
        if w.link_a.size:
            self.align[k] = forums.alignment(model)
        self.hhi[k] = influence.herfindahl(share)
        self.n = k + 1

    # ------------------------------------------------------------------ tables
    def tables(self, model: RuleMakingModel) -> dict[str, pd.DataFrame]:
        w, t = model.world, self.n
        steps = np.arange(t)
        years = np.array([w.calendar.year_at(k) for k in steps])
        action_names = np.array([*w.actions, "none"], dtype=object)

        def long(n: int) -> tuple[np.ndarray, np.ndarray]:
            return np.repeat(steps, n), np.repeat(years, n)

        st, yr = long(w.N)
        states = {
            "step": st,
            "year": yr,
            "state": np.tile(np.array(w.names, dtype=object), t),
            "action": action_names[self.action[:t].ravel()],
        }
        for key in ("influence", "influence_share", "resource_share", "punching_ratio", "rule_alignment"):
            states[key] = self.s[key][:t].ravel()
        states["followers"] = self.followers[:t].ravel()
        for c, name in enumerate(RES_SERIES):
            states[name] = self.res[:t, :, c].ravel()
        states["market"] = self.market[:t].ravel()
        states["reputation"] = self.s["reputation"][:t].ravel()
        states["openness"] = self.s["openness"][:t].ravel()
        for d, dim in enumerate(w.norms):
            states[f"position_{dim}"] = self.pos[:t, :, d].ravel()

        ft, fy = long(w.F)
        forum_cols = {
            "step": ft,
            "year": fy,
            "forum": np.tile(np.array(w.forum_names, dtype=object), t),
            "active": self.active[:t].ravel(),
            "members": self.members[:t].ravel(),
            "weight": self.weight[:t].ravel(),
        }
        for d, dim in enumerate(w.norms):
            forum_cols[dim] = self.text[:t, :, d].ravel()

        model_cols: dict[str, np.ndarray] = {"step": steps, "year": years}
        align = self.align[:t]
        with np.errstate(all="ignore"):
            valid = ~np.isnan(align)
            n_valid = valid.sum(axis=1)
            overall = np.where(n_valid > 0, np.nansum(align, axis=1) / np.maximum(n_valid, 1), np.nan)
        model_cols["alignment_index"] = overall
        for j, name in enumerate(w.link_names):
            model_cols[f"alignment[{name}]"] = align[:, j]
        model_cols["influence_hhi"] = self.hhi[:t]

        events = pd.DataFrame(
            model.log.rows, columns=["step", "year", "event", "state", "forum", "detail"]
        ).astype({"step": "int64", "year": "float64"})
        return {
            "states": pd.DataFrame(states),
            "forums": pd.DataFrame(forum_cols),
            "model": pd.DataFrame(model_cols),
            "events": events,
        }
