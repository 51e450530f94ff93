"""Convex pulls: how forum texts and state positions move within a step, and who moved them.

Every mechanism adds *pull coefficients* toward a target (a state's position, a linked
forum's text, a state's home position) on a named *channel*. At the end of the step each
text or position moves by a saturating convex combination

    x' = x + g(T) * (sum_k c_k * target_k - T * x),   T = sum_k c_k,   g(T) = (1 - e^-T) / T,

so values stay in [0, 1] whatever the number of pulls, and the movement caused by source
k is exactly g(T) * c_k * |target_k - x| (toward target_k). That movement, weighted by the
target state's size, or for a forum text by the forum's weight times the total size of the
members the text binds, is credited to k in the gain column its channel names (MODEL.md
s.6). The engine knows no mechanism: channels and their credit columns are declared by the
mechanisms that use them and handed over by the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.engine.geometry import cross_distance, distance
from sim.engine.ledger import Ledger
from sim.engine.types import Array, IntArray
from sim.engine.world import World


@dataclass(frozen=True)
class Channel:
    """A named kind of pull. Its movement is credited to gain column `credit` (None: to
    nobody) and entered in the ledger as coming from `source` (default: the channel's name);
    `tracked` position channels also accumulate, per target and source, the pull taken
    (`World.received`, from which followers are read)."""

    name: str
    credit: int | None
    tracked: bool = False
    source: str = ""

    @property
    def ledger_source(self) -> str:
        return self.source or self.name


def _g(total: Array) -> Array:
    out = np.zeros_like(total)
    nz = total > 1e-12
    out[nz] = -np.expm1(-total[nz]) / total[nz]
    return out


class Pulls:
    """Per-step accumulator of pull coefficients, by channel.

    Forum-text pulls are [F, N] matrices per channel (small). Position pulls are blocks
    (channel, sources, coef[N targets, S sources]) so that a step costs O(N * actors), not
    O(N^2). Link pulls draw linked forums' texts together (brokerage) and are credited to
    the brokers, in column `link.credit`, scaled by `link_scale`: in the ledger as brokerage,
    and as hosting for the part a broker's presidency added (`add_link`'s `host`)."""

    def __init__(
        self,
        world: World,
        text_channels: Sequence[Channel],
        pos_channels: Sequence[Channel],
        link: Channel,
        link_scale: float = 1.0,
    ) -> None:
        n, f = world.N, world.F
        self.world = world
        self.text_channels = {c.name: c for c in text_channels}
        self.pos_channels = {c.name: c for c in pos_channels}
        self.link_channel = link
        self.link_scale = link_scale
        self.text = {c: np.zeros((f, n)) for c in self.text_channels}
        self.blocks: list[tuple[Channel, IntArray, Array]] = []
        self.link = np.zeros(len(world.link_a))
        self.link_brokers = np.zeros((len(world.link_a), n))
        self.link_host = np.zeros((len(world.link_a), n))  # the hosting part of each broker's contribution
        self.anchor = np.zeros(n)
        self.domestic = np.zeros(n)  # home's pull as a multiple of the outside pulls
        self.targets: list[tuple[Array, Array, int | None, int | None, str]] = []
        self.target_moved: list[Array] = []  # after `resolve`: each target pull's movement of every state
        self.used_text: list[str] = []

    def reset(self) -> None:
        for c in self.used_text:
            self.text[c].fill(0.0)
        self.used_text.clear()
        self.blocks.clear()
        self.link.fill(0.0)
        self.link_brokers.fill(0.0)
        self.link_host.fill(0.0)
        self.anchor.fill(0.0)
        self.domestic.fill(0.0)
        self.targets.clear()
        self.target_moved.clear()

    def _use(self, channel: str) -> None:
        if channel not in self.used_text:
            self.used_text.append(channel)

    def add_text(self, channel: str, forums: IntArray, states: IntArray, coef: Array) -> None:
        """Add coef[k] at (forums[k], states[k]); the pairs must be distinct."""
        self.text[channel][forums, states] += coef
        self._use(channel)

    def text_matrix(self, channel: str) -> Array:
        """Writable [forum, source state] coefficient matrix of a text channel."""
        self._use(channel)
        return self.text[channel]

    def add_pos(self, channel: str, sources: IntArray, coef: Array) -> None:
        """Pull every state j toward the positions of `sources` with coef[j, s]."""
        if channel not in self.pos_channels:
            raise KeyError(f"unknown position channel {channel!r}")
        self.blocks.append((self.pos_channels[channel], sources, coef))

    def add_link(self, coef: Array, brokers: IntArray, contrib: Array, host: Array | None = None) -> None:
        """Pull each linked forum pair together with coef[link]; contrib[link, broker] is each
        broker's part in it (the credit is shared in proportion), of which `host` is what its
        presidency added."""
        self.link += coef
        self.link_brokers[:, brokers] += contrib
        if host is not None:
            self.link_host[:, brokers] += host

    def add_anchor(self, rate: float, domestic: Array | None = None) -> None:
        """Pull every state's position back toward its home position: at `rate`, plus
        `domestic[j]` times the sum of the other pulls on state j's position."""
        self.anchor += rate
        if domestic is not None:
            self.domestic[:] = domestic

    def add_target(
        self,
        coef: Array,
        target: Array,
        source: int | None = None,
        credit: int | None = None,
        kind: str = "",
    ) -> int:
        """Pull every state j's position toward target[j] (a point, not another state) with
        coef[j]; the movement is credited to state `source` in gain column `credit`, entered in
        the ledger as coming from `kind`. Returns the pull's handle: after `resolve`,
        `target_moved[handle]` is how far it moved each state."""
        self.targets.append((coef, np.clip(target, 0.0, 1.0), source, credit, kind))
        return len(self.targets) - 1

    # ------------------------------------------------------------------ resolution
    def resolve(self, ledger: Ledger, size: Array, text_value: Array, dist_tp: Array) -> None:
        """Move texts and positions; credit each source with the movement it caused (in the
        ledger's gains and entries).

        `size[j]`: value of moving state j's position; `text_value[f]`: value of moving
        forum f's text (its weight times the total size of the members it binds);
        `dist_tp[f, i]`: distance between forum f's text and state i's position now."""
        w = self.world
        text, pos = w.text, w.pos
        # ---- forum texts
        new_text = text
        if self.used_text or self.link.any():
            ct: Array = np.zeros((w.F, w.N))
            if self.used_text:
                ct = sum((self.text[c] for c in self.used_text[1:]), start=self.text[self.used_text[0]])
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
                ch = self.text_channels[c]
                if ch.credit is not None:
                    ledger.add_matrix(ch.credit, ch.ledger_source, moved * self.text[c], "forum")
            if has_link and self.link_channel.credit is not None:
                d_link = distance(text[w.link_a], text[w.link_b])
                mov = (
                    self.link
                    * d_link
                    * (g[w.link_a] * text_value[w.link_a] + g[w.link_b] * text_value[w.link_b])
                )
                total = np.maximum(self.link_brokers.sum(axis=1, keepdims=True), 1e-12)
                earned = self.link_scale * mov[:, None] / total  # per unit of contribution
                ledger.add_matrix(
                    self.link_channel.credit,
                    "brokerage",
                    earned * (self.link_brokers - self.link_host),
                    "link",
                )
                ledger.add_matrix(self.link_channel.credit, "hosting", earned * self.link_host, "link")
        # ---- state positions
        p_total = np.zeros(w.N)
        target = np.zeros((w.N, w.D))
        for coef, tgt, *_ in self.targets:
            p_total += coef
            target += coef[:, None] * tgt
        for _, src, coef in self.blocks:
            p_total = p_total + coef.sum(axis=1)
            target += coef @ pos[src]
        home = self.anchor + self.domestic * p_total  # the domestic anchor
        p_total = p_total + home
        target += home[:, None] * w.home
        new_pos = pos
        if p_total.any():
            g = _g(p_total)
            new_pos = pos + g[:, None] * (target - p_total[:, None] * pos)
            for channel, src, coef in self.blocks:
                part = coef * cross_distance(pos, pos[src]) * g[:, None]
                if channel.credit is not None:
                    ledger.add_matrix(
                        channel.credit, channel.ledger_source, size[:, None] * part, "state", src
                    )
                if channel.tracked:
                    w.received[:, src] += part
            everyone = np.arange(w.N)
            for coef, tgt, source, credit, kind in self.targets:
                moved_to = g * coef * distance(pos, tgt)
                self.target_moved.append(moved_to)
                if source is not None and credit is not None:
                    ledger.add(credit, kind, np.full(w.N, source), size * moved_to, "state", everyone)
        else:
            self.target_moved.extend(np.zeros(w.N) for _ in self.targets)
        np.clip(new_text, 0.0, 1.0, out=w.text)
        np.clip(new_pos, 0.0, 1.0, out=w.pos)
        w.version += 1
