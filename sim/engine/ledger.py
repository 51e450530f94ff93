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
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from sim.engine.types import AnyArray, Array, IntArray

TARGET_KINDS = ("", "forum", "link", "state")
_KEEP_WHOLE = 1 << 16  # a credited matrix larger than this keeps only its non-zero cells at once


class _Entries(NamedTuple):
    """Credited gains, one per state: amounts[k] to states[k] on targets[k]."""

    step: int
    source: int
    kind: int
    states: IntArray
    targets: IntArray
    amounts: Array


class _Matrix(NamedTuple):
    """A [target, column] matrix of gains kept whole (small: a sweep may never read it);
    `cols` maps its columns to states (None: column j is state j)."""

    step: int
    source: int
    kind: int
    cols: IntArray | None
    amounts: Array


class _Cells(NamedTuple):
    """A large matrix's non-zero cells: row-major positions `flat` (32-bit when they fit)
    in a matrix of `ncols` columns, and their amounts, in row-major order."""

    step: int
    source: int
    kind: int
    cols: IntArray | None
    ncols: int
    flat: AnyArray  # int32, or int64 for a matrix of 2**31 cells or more
    amounts: Array


def _cells(m: _Matrix) -> _Cells:
    a = m.amounts
    nz = a != 0.0
    flat = np.flatnonzero(nz)
    small = flat.astype(np.int32) if a.size < 2**31 else flat
    return _Cells(m.step, m.source, m.kind, m.cols, a.shape[1], small, a.ravel()[nz.ravel()])


def _size(part: _Entries | _Matrix | _Cells) -> int:
    """How many entries a part holds."""
    if isinstance(part, _Entries):
        return int(part.states.size)
    if isinstance(part, _Cells):
        return int(part.flat.size)
    return int(np.count_nonzero(part.amounts))


def _code_type(n_categories: int) -> type[np.signedinteger[Any]]:
    """The integer type pandas gives the codes of a categorical of this many categories."""
    return np.int8 if n_categories < 127 else np.int16 if n_categories < 32767 else np.int32


def _as_entries(part: _Entries | _Matrix | _Cells) -> _Entries:
    if isinstance(part, _Entries):
        return part
    c = _cells(part) if isinstance(part, _Matrix) else part
    flat = c.flat.astype(np.int64)
    targets, col = np.divmod(flat, c.ncols)
    states = col if c.cols is None else c.cols[col]
    return _Entries(c.step, c.source, c.kind, states, targets, c.amounts)


class Ledger:
    def __init__(self, n_states: int, n_actions: int, sources: Sequence[str], keep: bool = True) -> None:
        """`keep=False`: only this step's gains are kept, not the entries (a sweep's or a
        calibration's run, which never reads them: a big world's state-to-state credit is most
        of its memory)."""
        self.keep = keep
        self.gains = np.zeros((n_states, n_actions))
        self.sources = list(sources)
        self._source = {s: k for k, s in enumerate(self.sources)}
        self.step = 0
        # what was credited, in order: entries, small matrices kept whole, large matrices'
        # non-zero cells (12 bytes each); all read as entries by `entries`
        self._parts: list[_Entries | _Matrix | _Cells] = []

    def reset(self, step: int) -> None:
        """A new step: this step's gains start at 0 (the ledger keeps every step)."""
        self.step = step
        self.gains.fill(0.0)

    def _codes(self, source: str, target_kind: str) -> tuple[int, int]:
        """The codes of a credit's source and target kind, checked whether or not the entries
        are kept (a misspelt source fails in a sweep as it does in `sim run`)."""
        if source not in self._source:
            raise KeyError(f"unknown ledger source {source!r} (known: {', '.join(self.sources)})")
        if target_kind not in TARGET_KINDS:
            raise KeyError(f"unknown ledger target kind {target_kind!r} (known: {list(TARGET_KINDS)})")
        return self._source[source], TARGET_KINDS.index(target_kind)

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
        src, kind = self._codes(source, target_kind)
        states = np.asarray(states, dtype=np.int64)
        amounts = np.asarray(amounts, dtype=float)
        if col is not None:
            np.add.at(self.gains[:, col], states, amounts)
        if not self.keep:
            return
        keep = amounts != 0.0
        if not keep.any():
            return
        tgt = (
            np.full(states.shape, -1, dtype=np.int64)
            if targets is None
            else np.asarray(targets, dtype=np.int64)
        )
        self._parts.append(_Entries(self.step, src, kind, states[keep], tgt[keep], amounts[keep]))

    def add_matrix(
        self, col: int | None, source: str, amounts: Array, target_kind: str, sources: IntArray | None = None
    ) -> None:
        """Credit a [target, source state] matrix of amounts (a forum text or a state position
        moved by each source); `sources` maps its columns to states (default: all states)."""
        src, kind = self._codes(source, target_kind)
        cols = None if sources is None else np.asarray(sources, dtype=np.int64)
        if col is not None:
            total = amounts.sum(axis=0)
            self.gains[np.arange(amounts.shape[1]) if cols is None else cols, col] += total
        if not self.keep:
            return
        part = _Matrix(self.step, src, kind, cols, amounts)
        # a big world's state-to-state credit keeps only its non-zero cells, now
        self._parts.append(_cells(part) if amounts.size > _KEEP_WHOLE else part)

    def _compact(self) -> None:
        """Before reading: refuse a ledger without entries; small matrices become cells (once)."""
        if not self.keep:
            raise RuntimeError(
                "this run kept no ledger entries (its model was built with ledger_entries=False)"
            )
        self._parts = [_cells(p) if isinstance(p, _Matrix) else p for p in self._parts]

    def entries(self) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, Array]:
        """All entries so far: steps, states, source codes, target kinds, targets, amounts."""
        self._compact()
        parts = [_as_entries(p) for p in self._parts]
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, np.zeros(0)
        n = [p.states.size for p in parts]
        steps = np.repeat(np.array([p.step for p in parts], dtype=np.int64), n)
        states = np.concatenate([p.states for p in parts]).astype(np.int64, copy=False)
        src = np.repeat(np.array([p.source for p in parts], dtype=np.int64), n)
        kind = np.repeat(np.array([p.kind for p in parts], dtype=np.int64), n)
        tgt = np.concatenate([p.targets for p in parts]).astype(np.int64, copy=False)
        amt = np.concatenate([p.amounts for p in parts])
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
        self._compact()
        # targets as one list of labels: "", forums, links, states (categorical columns are
        # compact and fast for the millions of rows a large world produces)
        labels = ["", *forum_names, *link_names, *names]
        offset = [0, 1, 1 + len(forum_names), 1 + len(forum_names) + len(link_names)]
        uniq = list(dict.fromkeys(labels))  # a name may be both a forum's and a state's
        relabel = np.array([uniq.index(x) for x in labels]) if len(uniq) < len(labels) else None
        # the columns are filled part by part, each part's entries made and dropped in turn, in
        # the codes' final integer types: the peak is the table, not the table plus int64
        # copies of every entry (a part has one step, source and target kind)
        total = sum(_size(p) for p in self._parts)
        steps = np.empty(total, dtype=np.int64)
        states = np.empty(total, dtype=_code_type(len(names)))
        src = np.empty(total, dtype=_code_type(len(self.sources)))
        kind = np.empty(total, dtype=_code_type(len(TARGET_KINDS)))
        target = np.empty(total, dtype=_code_type(len(uniq)))
        amt = np.empty(total)
        at = 0
        for part in self._parts:
            e = _as_entries(part)
            k = slice(at, at + e.states.size)
            steps[k], states[k], src[k], kind[k], amt[k] = e.step, e.states, e.source, e.kind, e.amounts
            if not e.kind:
                target[k] = 0
            elif relabel is None:
                np.add(np.maximum(e.targets, 0), offset[e.kind], out=target[k], casting="unsafe")
            else:
                target[k] = relabel[np.maximum(e.targets, 0) + offset[e.kind]]
            at = k.stop

        def cat(codes: IntArray, categories: list[str]) -> Any:
            return cast(Any, pd.Categorical).from_codes(codes, categories=categories)

        return pd.DataFrame(
            {
                "step": steps,
                "year": years[steps] if total else np.zeros(0),
                "state": cat(states, list(names)),
                "source": cat(src, self.sources),
                "target_type": cat(kind, list(TARGET_KINDS)),
                "target": cat(target, uniq),
                "gain": amt,
            },
            copy=False,  # every array is new: no copy, and no consolidation of millions of rows
        )
