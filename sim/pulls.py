"""Convex pulls: how forum texts and state positions move within a step, and who moved them.

Every mechanism adds *pull coefficients* toward a target (a state's position, a linked
forum's text, a state's home position). At the end of the step each text or position
moves by a saturating convex combination

    x' = x + g(T) * (sum_k c_k * target_k - T * x),   T = sum_k c_k,   g(T) = (1 - e^-T) / T,

so values stay in [0, 1] whatever the number of pulls, and the movement caused by source
k is exactly g(T) * c_k * |target_k - x| (toward target_k). That movement, weighted by the
target state's size, or for a forum text by the forum's weight times the total size of the
members the text binds, is the influence credited to k (MODEL.md s.6).
"""

from __future__ import annotations

import numpy as np

from sim.world import World


def _g(total: np.ndarray) -> np.ndarray:
    out = np.zeros_like(total)
    nz = total > 1e-12
    out[nz] = -np.expm1(-total[nz]) / total[nz]
    return out


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Normalised Euclidean distance in the norm space: 0 (same) .. 1 (opposite corners)."""
    diff = a - b
    return np.sqrt(np.einsum("...d,...d->...", diff, diff) / a.shape[-1])


class Pulls:
    """Per-step accumulator of pull coefficients, by credit channel."""

    def __init__(self, world: World, text_channels: dict[str, str], pos_channels: dict[str, str]):
        n, f = world.N, world.F
        self.world = world
        # channel name -> the gain channel (action) its movement is credited to
        self.text_credit = text_channels
        self.pos_credit = pos_channels
        self.text = {c: np.zeros((f, n)) for c in text_channels}
        self.pos = {c: np.zeros((n, n)) for c in pos_channels}
        self.link = np.zeros(len(world.link_a))
        self.link_brokers = np.zeros((len(world.link_a), n))
        self.anchor = np.zeros(n)
        self.extra_w = np.zeros(n)
        self.extra_sum = np.zeros((n, world.D))
        self.used_text: set[str] = set()
        self.used_pos: set[str] = set()

    def reset(self) -> None:
        for c in self.used_text:
            self.text[c].fill(0.0)
        for c in self.used_pos:
            self.pos[c].fill(0.0)
        self.used_text.clear()
        self.used_pos.clear()
        self.link.fill(0.0)
        self.link_brokers.fill(0.0)
        self.anchor.fill(0.0)
        self.extra_w.fill(0.0)
        self.extra_sum.fill(0.0)

    def add_text(self, channel: str, forums: np.ndarray, states: np.ndarray, coef: np.ndarray) -> None:
        np.add.at(self.text[channel], (forums, states), coef)
        self.used_text.add(channel)

    def text_matrix(self, channel: str) -> np.ndarray:
        self.used_text.add(channel)
        return self.text[channel]

    def pos_matrix(self, channel: str) -> np.ndarray:
        """Writable [target, source] coefficient matrix of a position channel."""
        self.used_pos.add(channel)
        return self.pos[channel]

    def add_target(self, coef: np.ndarray, target: np.ndarray) -> None:
        """Pull every state's position toward a per-state target (not another state)."""
        self.extra_w += coef
        self.extra_sum += coef[:, None] * target

    # ------------------------------------------------------------------ resolution
    def resolve(
        self,
        gains: np.ndarray,
        gain_col: dict[str, int],
        size: np.ndarray,
        text_value: np.ndarray,
        broker_credit: float = 1.0,
    ) -> None:
        """Move texts and positions; credit each source with the movement it caused.

        `size[j]`: value of moving state j's position; `text_value[f]`: value of moving
        forum f's text (its weight times the total size of the members it binds)."""
        w = self.world
        text, pos = w.text, w.pos
        # ---- forum texts
        ct = sum((self.text[c] for c in self.used_text), np.zeros((w.F, w.N)))
        lc = np.zeros((w.F, w.F))
        if self.link.any():
            lc[w.link_a, w.link_b] = self.link
            lc[w.link_b, w.link_a] = self.link
        t_total = ct.sum(axis=1) + lc.sum(axis=1)
        new_text = text
        if t_total.any():
            g = _g(t_total)
            new_text = text + g[:, None] * (ct @ pos + lc @ text - t_total[:, None] * text)
            dist_fs = distance(text[:, None, :], pos[None, :, :])  # [F, N]
            moved = (g * text_value)[:, None] * dist_fs
            for c in self.used_text:
                gains[:, gain_col[self.text_credit[c]]] += (moved * self.text[c]).sum(axis=0)
            if self.link.any():
                d_link = distance(text[w.link_a], text[w.link_b])
                mov = (
                    self.link
                    * d_link
                    * (g[w.link_a] * text_value[w.link_a] + g[w.link_b] * text_value[w.link_b])
                )
                share = self.link_brokers / np.maximum(self.link_brokers.sum(axis=1, keepdims=True), 1e-12)
                gains[:, gain_col["institutional"]] += broker_credit * (mov @ share)
        # ---- state positions
        cp = sum((self.pos[c] for c in self.used_pos), np.zeros((w.N, w.N)))
        p_total = cp.sum(axis=1) + self.anchor + self.extra_w
        new_pos = pos
        if p_total.any():
            g = _g(p_total)
            new_pos = pos + g[:, None] * (
                cp @ pos + self.anchor[:, None] * w.home + self.extra_sum - p_total[:, None] * pos
            )
            sources = np.flatnonzero(cp.any(axis=0))
            if sources.size:
                d = distance(pos[:, None, :], pos[None, sources, :])  # [N, S]
                moved = g[:, None] * d
                for c in self.used_pos:
                    part = self.pos[c][:, sources] * moved
                    gains[sources, gain_col[self.pos_credit[c]]] += size @ part
                    if c == "practice":
                        w.received[:, sources] += part
        w.text = np.clip(new_text, 0.0, 1.0)
        w.pos = np.clip(new_pos, 0.0, 1.0)
