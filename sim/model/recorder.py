"""Outputs recorded into preallocated arrays during a run, turned into tables at the end.

Recording costs a few array copies per step; no DataFrame is built until `tables()`. The
influence indicators (shares, punching ratio, rule alignment) and forum alignment are
computed from the recorded stocks by their home modules (`sim.influence`, `sim.forums`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import forums, influence
from sim.engine.events import EventLog
from sim.engine.ledger import Ledger
from sim.engine.types import AnyArray, Array, IntArray
from sim.engine.world import LAYERS, RESOURCES, World

STATE_SERIES = ("influence", "reputation", "openness")


class Recorder:
    def __init__(self, w: World, n_steps: int, with_stack: bool) -> None:
        t = n_steps + 1
        self.w = w
        self.n = 0
        self.s = {k: np.full((t, w.N), np.nan) for k in STATE_SERIES}
        self.res = np.full((t, w.N, 3), np.nan)
        self.market = np.full((t, w.N), np.nan)
        self.followers = np.zeros((t, w.N), dtype=np.int64)
        self.action = np.full((t, w.N), -1, dtype=np.int64)
        self.pos = np.full((t, w.N, w.D), np.nan)
        self.text = np.full((t, w.F, w.D), np.nan)
        self.members = np.zeros((t, w.F), dtype=np.int64)
        self.membership = np.zeros((t, w.N, w.F), dtype=bool)  # who belongs to which active forum
        self.weight = np.full((t, w.F), np.nan)
        self.active = np.zeros((t, w.F), dtype=bool)
        self.dependence = np.zeros((t, *w.dependence.shape)) if with_stack else None

    def record(self, k: int, followers: IntArray) -> None:
        w, s = self.w, self.s
        s["influence"][k] = w.influence
        s["reputation"][k] = w.reputation
        s["openness"][k] = w.openness
        self.res[k] = w.res
        self.market[k] = w.market
        self.followers[k] = followers
        self.action[k] = w.action
        self.pos[k] = w.pos
        self.text[k] = w.text
        self.members[k] = w.members.sum(axis=0)
        self.membership[k] = w.live_members()
        self.weight[k] = w.weight
        self.active[k] = w.active
        if self.dependence is not None:
            self.dependence[k] = w.dependence
        self.n = k + 1

    # ------------------------------------------------------------------ derived series
    def derived(self) -> dict[str, Array]:
        """[T, N] influence indicators of the recorded steps."""
        t = self.n
        return influence.indicators(
            self.s["influence"][:t],
            self.res[:t],
            self.pos[:t],
            self.text[:t],
            self.weight[:t],
            self.active[:t],
        )

    def alignment(self) -> Array:
        """[T, L] alignment of each linked forum pair (NaN while either is inactive)."""
        t = self.n
        return forums.alignment(self.text[:t], self.active[:t], self.w.link_a, self.w.link_b)

    def ecosystem(self, dep: Array, years: Array) -> pd.DataFrame:
        """Mean technical-layer (model) shares of each supplier among each region's states."""
        w = self.w
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

    # ------------------------------------------------------------------ tables
    def tables(self, log: EventLog, follow_threshold: float, ledger: Ledger) -> dict[str, pd.DataFrame]:
        w, t = self.w, self.n
        steps = np.arange(t)
        years = np.array([w.calendar.year_at(int(k)) for k in steps])
        action_names = np.array([*w.actions, "none"], dtype=object)

        def long(n: int) -> tuple[Array, Array]:
            return np.repeat(steps, n), np.repeat(years, n)

        st, yr = long(w.N)
        states: dict[str, AnyArray] = {
            "step": st,
            "year": yr,
            "state": np.tile(np.array(w.names, dtype=object), t),
            "action": action_names[self.action[:t].ravel()],
        }
        derived = self.derived()
        for key, series in derived.items():
            states[key] = series.ravel()
        states["followers"] = self.followers[:t].ravel()
        for c, name in enumerate(RESOURCES):
            states[name] = self.res[:t, :, c].ravel()
        states["market"] = self.market[:t].ravel()
        states["reputation"] = self.s["reputation"][:t].ravel()
        states["openness"] = self.s["openness"][:t].ravel()
        for d, dim in enumerate(w.norms):
            states[f"position_{dim}"] = self.pos[:t, :, d].ravel()

        ft, fy = long(w.F)
        forum_cols: dict[str, AnyArray] = {
            "step": ft,
            "year": fy,
            "forum": np.tile(np.array(w.forum_names, dtype=object), t),
            "active": self.active[:t].ravel(),
            "members": self.members[:t].ravel(),
            "weight": self.weight[:t].ravel(),
        }
        for d, dim in enumerate(w.norms):
            forum_cols[dim] = self.text[:t, :, d].ravel()

        model_cols: dict[str, AnyArray] = {"step": steps, "year": years}
        align = self.alignment()
        with np.errstate(all="ignore"):
            valid = ~np.isnan(align)
            n_valid = valid.sum(axis=1)
            overall = np.where(n_valid > 0, np.nansum(align, axis=1) / np.maximum(n_valid, 1), np.nan)
        model_cols["alignment_index"] = overall
        for j, name in enumerate(w.link_names):
            model_cols[f"alignment[{name}]"] = align[:, j]
        model_cols["influence_hhi"] = influence.herfindahl(derived["influence_share"])

        tables = {}
        if self.dependence is not None:
            dep = self.dependence[:t]
            st_, la, bu, su = np.nonzero(dep >= 1e-3)
            tables["dependence"] = pd.DataFrame(
                {
                    "step": st_.astype(np.int64),
                    "year": years[st_],
                    "layer": np.array(LAYERS, dtype=object)[la],
                    "state": np.array(w.names, dtype=object)[bu],
                    "supplier": np.array(w.names, dtype=object)[su],
                    "share": dep[st_, la, bu, su],
                }
            )
            tables["ecosystem"] = self.ecosystem(dep, years)
        # who emulates whom at the end: each follower, the sharer that moved it most, and how much
        follower, leader, pull = influence.leaders(w.received, follow_threshold)
        tables["emulation"] = pd.DataFrame(
            {
                "follower": np.array(w.names, dtype=object)[follower],
                "leader": np.array(w.names, dtype=object)[leader],
                "received": pull,
            }
        )
        tables["influence_sources"] = ledger.table(years, w.names, w.forum_names, w.link_names)
        return {
            "states": pd.DataFrame(states),
            "forums": pd.DataFrame(forum_cols),
            "model": pd.DataFrame(model_cols),
            "events": log.table(),
            **tables,
        }
