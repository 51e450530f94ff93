"""The credit ledger: every gain of influence, by whom, from what and on whom.

Each step's credited gains are kept two ways:
- `gains[i, a]`: state i's gain on action a's channel, what the policies learn from;
- the ledger: one entry per (state, source, target) with its amount, where the source names
  the mechanism (a path, a power, brokerage, hosting, frameworks, reputation) and the target is
  a forum, a linked pair of forums, a state, or nothing (reputation). Summed over sources and
  targets, a state's entries in a step equal its total gain that step (tested), so the
  influence stock can be told apart by where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.engine.types import Array, IntArray

TARGET_KINDS = ("", "forum", "link", "state")


class Ledger:
    def __init__(self, n_states: int, n_actions: int, sources: Sequence[str]) -> None:
        self.gains = np.zeros((n_states, n_actions))
        self.sources = list(sources)
        self._source = {s: k for k, s in enumerate(self.sources)}
        self.step = 0
        self._parts: list[tuple[int, IntArray, int, int, IntArray, Array]] = []

    def reset(self, step: int) -> None:
        """A new step: this step's gains start at 0 (the ledger keeps every step)."""
        self.step = step
        self.gains.fill(0.0)

    def add(
        self,
        col: int | None,
        source: str,
        states: IntArray,
        amounts: Array,
        target_kind: str = "",
        targets: IntArray | None = None,
    ) -> None:
        """Credit `amounts[k]` to `states[k]` (on gain column `col`, None: the ledger only),
        from `source`, on `targets[k]` of `target_kind`. Zero amounts are not kept."""
        states = np.asarray(states, dtype=np.int64)
        amounts = np.asarray(amounts, dtype=float)
        if col is not None:
            np.add.at(self.gains[:, col], states, amounts)
        keep = amounts != 0.0
        if not keep.any():
            return
        tgt = (
            np.full(states.shape, -1, dtype=np.int64)
            if targets is None
            else np.asarray(targets, dtype=np.int64)
        )
        self._parts.append(
            (
                self.step,
                states[keep],
                self._source[source],
                TARGET_KINDS.index(target_kind),
                tgt[keep],
                amounts[keep],
            )
        )

    def add_matrix(
        self, col: int | None, source: str, amounts: Array, target_kind: str, sources: IntArray | None = None
    ) -> None:
        """Credit a [target, source state] matrix of amounts (a forum text or a state position
        moved by each source); `sources` maps its columns to states (default: all states)."""
        t, s = np.nonzero(amounts)
        src = s if sources is None else np.asarray(sources, dtype=np.int64)[s]
        if col is not None:
            total = amounts.sum(axis=0)
            cols = np.arange(amounts.shape[1]) if sources is None else np.asarray(sources, dtype=np.int64)
            self.gains[cols, col] += total
        if t.size:
            self._parts.append(
                (self.step, src, self._source[source], TARGET_KINDS.index(target_kind), t, amounts[t, s])
            )

    def entries(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, Array]:
        """All entries so far: steps, states, source codes, target kinds, targets, amounts."""
        if not self._parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, np.zeros(0)
        steps = np.concatenate([np.full(p[1].size, p[0], dtype=np.int64) for p in self._parts])
        states = np.concatenate([p[1] for p in self._parts])
        src = np.concatenate([np.full(p[1].size, p[2], dtype=np.int64) for p in self._parts])
        kind = np.concatenate([np.full(p[1].size, p[3], dtype=np.int64) for p in self._parts])
        tgt = np.concatenate([p[4] for p in self._parts])
        amt = np.concatenate([p[5] for p in self._parts])
        return steps, states, src, kind, tgt, amt

    def totals(self, n_steps: int, n_states: int) -> Array:
        """[T, N, sources] gains by step, state and source."""
        steps, states, src, _, _, amt = self.entries()
        out = np.zeros((n_steps, n_states, len(self.sources)))
        np.add.at(out, (steps, states, src), amt)
        return out

    def table(
        self, years: Array, names: list[str], forum_names: list[str], link_names: list[str]
    ) -> pd.DataFrame:
        """One row per credited gain: step, year, state, source, target_type, target, gain."""
        steps, states, src, kind, tgt, amt = self.entries()
        labels = {
            0: np.array([""], dtype=object),
            1: np.array(forum_names or [""], dtype=object),
            2: np.array(link_names or [""], dtype=object),
            3: np.array(names, dtype=object),
        }
        target = np.empty(steps.size, dtype=object)
        for k, lab in labels.items():
            sel = kind == k
            target[sel] = lab[np.maximum(tgt[sel], 0)] if k else ""
        return pd.DataFrame(
            {
                "step": steps,
                "year": years[steps] if steps.size else np.zeros(0),
                "state": np.array(names, dtype=object)[states],
                "source": np.array(self.sources, dtype=object)[src],
                "target_type": np.array(TARGET_KINDS, dtype=object)[kind],
                "target": target,
                "gain": amt,
            }
        )
