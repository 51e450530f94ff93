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
from typing import Any, cast

import numpy as np
import pandas as pd

from sim.engine.types import Array, IntArray

TARGET_KINDS = ("", "forum", "link", "state")
_KEEP_WHOLE = 1 << 16  # a credited matrix larger than this is stored as its non-zero entries at once


class Ledger:
    def __init__(self, n_states: int, n_actions: int, sources: Sequence[str]) -> None:
        self.gains = np.zeros((n_states, n_actions))
        self.sources = list(sources)
        self._source = {s: k for k, s in enumerate(self.sources)}
        self.step = 0
        # entries, in the order they were credited: (step, states, source, target kind, targets,
        # amounts); a matrix is kept whole, as (step, None, source, kind, its columns' states or
        # None for all, [target, column] amounts), until the entries are read
        self._parts: list[tuple[int, IntArray | None, int, int, IntArray | None, Array]] = []

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
        cols = None if sources is None else np.asarray(sources, dtype=np.int64)
        if col is not None:
            total = amounts.sum(axis=0)
            self.gains[np.arange(amounts.shape[1]) if cols is None else cols, col] += total
        part = (self.step, None, self._source[source], TARGET_KINDS.index(target_kind), cols, amounts)
        # small matrices are kept whole until the entries are read (a sweep may never read them);
        # large ones (a big world's state-to-state credit) become entries now, which keeps only
        # their non-zero amounts, with 32-bit indices
        self._parts.append(self._entries_of(part) if amounts.size > _KEEP_WHOLE else part)

    @staticmethod
    def _entries_of(
        part: tuple[int, IntArray | None, int, int, IntArray | None, Array],
    ) -> tuple[int, IntArray | None, int, int, IntArray | None, Array]:
        step, states, source, kind, cols, amounts = part
        if states is not None:
            return part
        t, s = np.nonzero(amounts)
        src = s if cols is None else cols[s]
        # indices of states, forums and links (far below 2**31): 32 bits, widened when read
        return (step, src.astype(np.int32), source, kind, t.astype(np.int32), amounts[t, s])

    def _flush(self) -> None:
        """Turn the kept matrices into entries, in place."""
        for k, part in enumerate(self._parts):
            self._parts[k] = self._entries_of(part)

    def entries(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, Array]:
        """All entries so far: steps, states, source codes, target kinds, targets, amounts."""
        self._flush()
        if not self._parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, np.zeros(0)
        parts = [
            (p[0], p[1], p[2], p[3], p[4], p[5]) for p in self._parts if p[1] is not None and p[4] is not None
        ]
        steps = np.concatenate([np.full(p[1].size, p[0], dtype=np.int64) for p in parts])
        states = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
        src = np.concatenate([np.full(p[1].size, p[2], dtype=np.int64) for p in parts])
        kind = np.concatenate([np.full(p[1].size, p[3], dtype=np.int64) for p in parts])
        tgt = np.concatenate([p[4] for p in parts]).astype(np.int64, copy=False)
        amt = np.concatenate([p[5] for p in parts])
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
        # targets as one list of labels: "", forums, links, states (categorical columns are
        # compact and fast for the millions of rows a large world produces)
        labels = ["", *forum_names, *link_names, *names]
        offset = np.array([0, 1, 1 + len(forum_names), 1 + len(forum_names) + len(link_names)])
        target = np.where(kind == 0, 0, offset[kind] + np.maximum(tgt, 0))
        uniq = list(dict.fromkeys(labels))  # a name may be both a forum's and a state's
        code = np.array([uniq.index(x) for x in labels], dtype=np.int64)

        def cat(codes: IntArray, categories: list[str]) -> Any:
            return cast(Any, pd.Categorical).from_codes(codes, categories=categories)

        return pd.DataFrame(
            {
                "step": steps,
                "year": years[steps] if steps.size else np.zeros(0),
                "state": cat(states, list(names)),
                "source": cat(src, self.sources),
                "target_type": cat(kind, list(TARGET_KINDS)),
                "target": cat(code[target], uniq),
                "gain": amt,
            }
        )
