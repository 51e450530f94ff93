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
    """Normalised Euclidean distance in the norm space, row by row: 0 (same) .. 1 (opposite
    corners). `a` and `b` have the same shape [..., D]."""
    diff = a - b
    return np.sqrt(np.einsum("...d,...d->...", diff, diff) / a.shape[-1])


def cross_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[n, m] normalised distances between every row of `a` [n, D] and of `b` [m, D].

    Uses |x - y|^2 = |x|^2 + |y|^2 - 2 x.y (one matrix product instead of an n*m*D array)."""
    sq = np.einsum("nd,nd->n", a, a)[:, None] + np.einsum("md,md->m", b, b)[None, :] - 2.0 * (a @ b.T)
    np.maximum(sq, 0.0, out=sq)
    sq /= a.shape[-1]
    return np.sqrt(sq, out=sq)


class Pulls:
    """Per-step accumulator of pull coefficients, by credit channel.

    Forum-text pulls are [F, N] matrices per channel (small). Position pulls are blocks
    (channel, sources, coef[N targets, S sources]) so that a step costs O(N * actors), not
    O(N^2)."""

    def __init__(
        self, world: World, text_channels: dict[str, str | None], pos_channels: dict[str, str | None]
    ):
        n, f = world.N, world.F
        self.world = world
        # channel name -> the gain channel (action) its movement is credited to (None: nobody)
        self.text_credit = text_channels
        self.pos_credit = pos_channels
        self.text = {c: np.zeros((f, n)) for c in text_channels}
        self.blocks: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.link = np.zeros(len(world.link_a))
        self.link_brokers = np.zeros((len(world.link_a), n))
        self.anchor = np.zeros(n)
        self.targets: list[tuple[np.ndarray, np.ndarray, int | None, str | None]] = []
        self.used_text: set[str] = set()

    def reset(self) -> None:
        for c in self.used_text:
            self.text[c].fill(0.0)
        self.used_text.clear()
        self.blocks.clear()
        self.link.fill(0.0)
        self.link_brokers.fill(0.0)
        self.anchor.fill(0.0)
        self.targets.clear()

    def add_text(self, channel: str, forums: np.ndarray, states: np.ndarray, coef: np.ndarray) -> None:
        """Add coef[k] at (forums[k], states[k]); the pairs must be distinct."""
        self.text[channel][forums, states] += coef
        self.used_text.add(channel)

    def text_matrix(self, channel: str) -> np.ndarray:
        """Writable [forum, source state] coefficient matrix of a text channel."""
        self.used_text.add(channel)
        return self.text[channel]

    def add_pos(self, channel: str, sources: np.ndarray, coef: np.ndarray) -> None:
        """Pull every state j toward the positions of `sources` with coef[j, s]."""
        if channel not in self.pos_credit:
            raise KeyError(f"unknown position channel {channel!r}")
        self.blocks.append((channel, sources, coef))

    def add_target(
        self, coef: np.ndarray, target: np.ndarray, source: int | None = None, channel: str | None = None
    ) -> None:
        """Pull every state j's position toward target[j] (a point, not another state) with
        coef[j]; the movement is credited to state `source` under gain `channel`."""
        self.targets.append((coef, np.clip(target, 0.0, 1.0), source, channel))

    # ------------------------------------------------------------------ resolution
    def resolve(
        self,
        gains: np.ndarray,
        gain_col: dict[str, int],
        size: np.ndarray,
        text_value: np.ndarray,
        dist_tp: np.ndarray,
        broker_credit: float = 1.0,
    ) -> None:
        """Move texts and positions; credit each source with the movement it caused.

        `size[j]`: value of moving state j's position; `text_value[f]`: value of moving
        forum f's text (its weight times the total size of the members it binds);
        `dist_tp[f, i]`: distance between forum f's text and state i's position now."""
        w = self.world
        text, pos = w.text, w.pos
        # ---- forum texts
        new_text = text
        if self.used_text or self.link.any():
            ct = sum(self.text[c] for c in self.used_text) if self.used_text else np.zeros((w.F, w.N))
            t_total = ct.sum(axis=1)
            target = ct @ pos
            has_link = bool(self.link.any())
            if has_link:
                lc = np.zeros((w.F, w.F))
                lc[w.link_a, w.link_b] = self.link
                lc[w.link_b, w.link_a] = self.link
                t_total = t_total + lc.sum(axis=1)
                target += lc @ text
            g = _g(t_total)
            new_text = text + g[:, None] * (target - t_total[:, None] * text)
            moved = (g * text_value)[:, None] * dist_tp
            for c in self.used_text:
                if self.text_credit[c] is not None:
                    gains[:, gain_col[self.text_credit[c]]] += np.einsum("fn,fn->n", moved, self.text[c])
            if has_link:
                d_link = distance(text[w.link_a], text[w.link_b])
                mov = (
                    self.link
                    * d_link
                    * (g[w.link_a] * text_value[w.link_a] + g[w.link_b] * text_value[w.link_b])
                )
                share = self.link_brokers / np.maximum(self.link_brokers.sum(axis=1, keepdims=True), 1e-12)
                gains[:, gain_col["institutional"]] += broker_credit * (mov @ share)
        # ---- state positions
        p_total = self.anchor.copy()
        target = self.anchor[:, None] * w.home
        for coef, tgt, _, _ in self.targets:
            p_total += coef
            target += coef[:, None] * tgt
        for _, src, coef in self.blocks:
            p_total = p_total + coef.sum(axis=1)
            target += coef @ pos[src]
        new_pos = pos
        if p_total.any():
            g = _g(p_total)
            new_pos = pos + g[:, None] * (target - p_total[:, None] * pos)
            for channel, src, coef in self.blocks:
                part = coef * cross_distance(pos, pos[src]) * g[:, None]
                if self.pos_credit[channel] is not None:
                    gains[src, gain_col[self.pos_credit[channel]]] += size @ part
                if channel == "practice":
                    w.received[:, src] += part
            for coef, tgt, source, channel in self.targets:
                if source is not None and channel is not None:
                    moved = g * coef * distance(pos, tgt)
                    gains[source, gain_col[channel]] += size @ moved
        w.text = np.clip(new_text, 0.0, 1.0)
        w.pos = np.clip(new_pos, 0.0, 1.0)
        w.version += 1
