"""Outputs recorded into preallocated arrays during a run, turned into tables at the end.

Recording costs a few array copies per step; no DataFrame is built until `tables()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim import influence

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

STATE_SERIES = ("influence", "reputation", "openness")
RES_SERIES = ("compute", "data", "algorithms")


def model_has_stack(model: RuleMakingModel) -> bool:
    return getattr(model, "stack", None) is not None


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
        self.dependence = np.zeros((t, *w.dependence.shape)) if model_has_stack(model) else None

    def record(self, model: RuleMakingModel, k: int) -> None:
        w, s = model.world, self.s
        s["influence"][k] = w.influence
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
        if self.dependence is not None:
            self.dependence[k] = w.dependence
        model.powers.record(model)
        self.n = k + 1

    # ------------------------------------------------------------------ derived series
    def derived(self, model: RuleMakingModel) -> dict[str, np.ndarray]:
        """[T, N] series computed from the recorded stocks in one vectorised pass."""
        w, t = model.world, self.n
        infl = self.s["influence"][:t]
        total = infl.sum(axis=1, keepdims=True)
        share = np.divide(infl, total, out=np.full_like(infl, 1.0 / w.N), where=total > 0)
        res = self.res[:t]
        rshare = (res / res.sum(axis=1, keepdims=True)).mean(axis=2)
        pos, text = self.pos[:t], self.text[:t]
        sq = (
            np.einsum("tnd,tnd->tn", pos, pos)[:, :, None]
            + np.einsum("tfd,tfd->tf", text, text)[:, None, :]
            - 2.0 * np.einsum("tnd,tfd->tnf", pos, text)
        )  # [T, N, F] squared distances
        sim = 1.0 - np.sqrt(np.maximum(sq, 0.0) / w.D)
        wt = self.weight[:t] * self.active[:t]
        wsum = wt.sum(axis=1)
        with np.errstate(all="ignore"):
            align = np.einsum("tnf,tf->tn", sim, wt) / wsum[:, None]
        return {
            "influence": infl,
            "influence_share": share,
            "resource_share": rshare,
            "punching_ratio": share / rshare,
            "rule_alignment": np.where(wsum[:, None] > 0, align, np.nan),
        }

    def ecosystem(self, model: RuleMakingModel, dep: np.ndarray, years: np.ndarray) -> pd.DataFrame:
        """Mean technical-layer (model) shares of each supplier among each region's states."""
        w = model.world
        frames = []
        for r, region in enumerate(w.region_names):
            buyers = np.flatnonzero(w.region == r)
            if not region or buyers.size == 0:
                continue
            share = dep[:, 1, buyers, :].mean(axis=1)  # [T, supplier]
            st_, su = np.nonzero(share >= 0.01)
            frames.append(
                pd.DataFrame(
                    {
                        "step": st_.astype(np.int64),
                        "year": years[st_],
                        "region": region,
                        "supplier": np.array(w.names, dtype=object)[su],
                        "share": share[st_, su],
                    }
                )
            )
        cols = ["step", "year", "region", "supplier", "share"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def alignment(self, model: RuleMakingModel) -> np.ndarray:
        """[T, L] alignment of each linked forum pair (NaN while either is inactive)."""
        w, t = model.world, self.n
        a, b = w.link_a, w.link_b
        diff = self.text[:t, a, :] - self.text[:t, b, :]
        align = 1.0 - np.sqrt(np.square(diff).mean(axis=2))
        return np.where(self.active[:t, a] & self.active[:t, b], align, np.nan)

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
        for key, series in self.derived(model).items():
            states[key] = series.ravel()
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
        align = self.alignment(model)
        with np.errstate(all="ignore"):
            valid = ~np.isnan(align)
            n_valid = valid.sum(axis=1)
            overall = np.where(n_valid > 0, np.nansum(align, axis=1) / np.maximum(n_valid, 1), np.nan)
        model_cols["alignment_index"] = overall
        for j, name in enumerate(w.link_names):
            model_cols[f"alignment[{name}]"] = align[:, j]
        model_cols["influence_hhi"] = np.square(self.derived(model)["influence_share"]).sum(axis=1)

        tables = {}
        if self.dependence is not None:
            dep = self.dependence[:t]
            st_, la, bu, su = np.nonzero(dep >= 1e-3)
            tables["dependence"] = pd.DataFrame(
                {
                    "step": st_.astype(np.int64),
                    "year": years[st_],
                    "layer": np.array(["base", "technical", "application"], dtype=object)[la],
                    "state": np.array(w.names, dtype=object)[bu],
                    "supplier": np.array(w.names, dtype=object)[su],
                    "share": dep[st_, la, bu, su],
                }
            )
            tables["ecosystem"] = self.ecosystem(model, dep, years)
        # who emulates whom at the end: each follower, the sharer that moved it most, and how much
        top = w.received.argmax(axis=1)
        pull = w.received[np.arange(w.N), top]
        keep = pull > model.scenario.influence.follow_threshold
        tables["emulation"] = pd.DataFrame(
            {
                "follower": np.array(w.names, dtype=object)[keep],
                "leader": np.array(w.names, dtype=object)[top[keep]],
                "received": pull[keep],
            }
        )
        events = pd.DataFrame(
            model.log.rows, columns=["step", "year", "event", "state", "forum", "detail"]
        ).astype({"step": "int64", "year": "float64"})
        return {
            "states": pd.DataFrame(states),
            "forums": pd.DataFrame(forum_cols),
            "model": pd.DataFrame(model_cols),
            "events": events,
            **tables,
        }
