"""Named outputs of a run for sweeps, read straight from the recorder's arrays (no tables).

A metric is `table.column[key]`, after the run's output tables:
- `states.<column>[<state>]`: influence, influence_share, resource_share, punching_ratio,
  rule_alignment, followers, compute, data, algorithms, market, reputation, openness,
  position_<dim>;
- `forums.<column>[<forum>]`: members, weight, active, or a norm dimension (the text);
- `model.<column>`: alignment_index, influence_hhi, or `model.alignment[<F~G>]`;
- `powers.<metric>[<lever>]`: any lever indicator (NaN before the lever starts);
- `ecosystem.share[<region>/<supplier>]`: mean model-layer share among a region's states;
- `closeness.mean[<region>/<state>]`: mean closeness (1 - distance) of the region's other
  states' positions to the state's (governance alignment);
- `distance.positions[<state>/<state>]`: the distance between two states' positions;
  `distance.mean`: the mean distance over all pairs of states (polarisation);
- `dependence.share[<layer>/<buyer>/<supplier>]`: the supplier's share of the buyer's supply in
  a layer (base, technical, application);
- `membership.member[<forum>/<state>,...]`: how many of the listed (forum, state) pairs are
  memberships;
- `compare.<states column>[<A>|<B>/<C>|<D>]`: the largest value among A, B minus the largest
  among C, D (say, the leading Western state's influence share minus China's).
A metric may end in `@<year>`: its value at the end of the step closest to that year, instead
of the final value; or in `@<from>..<to>`: its mean over the steps ending from one year to the
other (`@max:<from>..<to>` and `@min:<from>..<to>`: its largest or smallest value there).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

_SPEC = re.compile(
    r"^(states|forums|model|powers|ecosystem|closeness|distance|dependence|membership|compare)\."
    r"([A-Za-z_][\w]*)(?:\[(.+?)\])?"
    r"(?:@(?:(max|min|mean):)?(\d{4}(?:\.\d+)?)(?:\.\.(\d{4}(?:\.\d+)?))?)?$"
)
STATE_COLUMNS = {
    "influence", "influence_share", "resource_share", "punching_ratio", "rule_alignment", "followers",
    "compute", "data", "algorithms", "market", "reputation", "openness",
}  # fmt: skip


def parse(spec: str) -> tuple[str, str, str | None]:
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(
            "expected table.column[key] or table.column[key]@year (tables: states, forums, model, "
            f"powers, ecosystem, closeness, distance, dependence, membership, compare), got {spec!r}"
        )
    return m[1], m[2], m[3]


def at_year(spec: str) -> float | None:
    m = _SPEC.match(spec.strip())
    return float(m[5]) if m and m[5] else None


def window(spec: str) -> tuple[str, float, float] | None:
    """(aggregate, from, to) of a `@[max:|min:|mean:]from..to` metric (default: the mean over
    the steps ending in that span)."""
    m = _SPEC.match(spec.strip())
    return (m[4] or "mean", float(m[5]), float(m[6])) if m and m[5] and m[6] else None


def check_metric(spec: str) -> str | None:
    """A problem with the metric's form (names are checked when a run resolves them)."""
    try:
        table, column, key = parse(spec)
    except ValueError as exc:
        return str(exc)
    keyed = ("states", "forums", "powers", "ecosystem", "closeness", "dependence", "membership", "compare")
    if (table in keyed or (table == "distance" and column != "mean")) and key is None:
        return f"{table} metrics need a [key], as in {table}.{column}[...], got {spec!r}"
    if table in ("states", "compare") and column not in STATE_COLUMNS and not column.startswith("position_"):
        known = ", ".join(sorted(STATE_COLUMNS))
        return f"unknown states column {column!r} (expected one of {known}, position_<dim>)"
    return None


class Evaluator:
    """Evaluates metrics on a finished (or running) model; caches derived series."""

    def __init__(self, model: RuleMakingModel) -> None:
        self.m = model
        self._derived: dict[str, np.ndarray] | None = None
        self._powers: dict[tuple[str, str], dict[int, float]] | None = None

    def series(self, spec: str) -> np.ndarray:
        """[steps recorded] values of the metric (NaN where it does not exist yet)."""
        m, rec = self.m, self.m.recorder
        w, t = m.world, rec.n
        table, column, key = parse(spec)
        if table == "states":
            i = _lookup(w.index, key, "state")
            if column in ("compute", "data", "algorithms"):
                return rec.res[:t, i, ("compute", "data", "algorithms").index(column)].copy()
            if column == "market":
                return rec.market[:t, i].copy()
            if column == "followers":
                return rec.followers[:t, i].astype(float)
            if column in ("reputation", "openness"):
                return rec.s[column][:t, i].copy()
            if column.startswith("position_"):
                return rec.pos[:t, i, _lookup({d: k for k, d in enumerate(w.norms)}, column[9:], "dimension")]
            if self._derived is None:
                self._derived = rec.derived()
            return self._derived[column][:, i].copy()
        if table == "forums":
            f = _lookup(w.forum_index, key, "forum")
            if column == "members":
                return rec.members[:t, f].astype(float)
            if column == "weight":
                return rec.weight[:t, f].copy()
            if column == "active":
                return rec.active[:t, f].astype(float)
            return rec.text[:t, f, _lookup({d: k for k, d in enumerate(w.norms)}, column, "dimension")]
        if table == "model":
            align = rec.alignment()
            if column == "alignment_index":
                with np.errstate(all="ignore"):
                    return np.nanmean(align, axis=1) if align.shape[1] else np.full(t, np.nan)
            if column == "alignment":
                return align[:, _lookup({n: k for k, n in enumerate(w.link_names)}, key, "link")]
            if column == "influence_hhi":
                if self._derived is None:
                    self._derived = rec.derived()
                return np.square(self._derived["influence_share"]).sum(axis=1)
            raise KeyError(f"unknown model column {column!r}")
        if table == "powers":
            if self._powers is None:
                self._powers = {}
                for step, _, lever, _, _, metric, value in m.powers.rows:
                    self._powers.setdefault((lever, metric), {})[step] = value
            levers = {lv.label for lv in m.powers.levers}
            _lookup(dict.fromkeys(levers), key, "lever")
            out = np.full(t, np.nan)
            for step, value in self._powers.get((str(key), column), {}).items():
                out[step] = value
            return out
        if table == "distance":
            pos = rec.pos[:t]
            if column == "mean":
                n = w.N
                sq = np.square(pos[:, :, None, :] - pos[:, None, :, :]).mean(axis=3)
                return np.sqrt(sq).sum(axis=(1, 2)) / (n * (n - 1))
            a, _, b = (key or "").partition("/")
            i, j = _lookup(w.index, a, "state"), _lookup(w.index, b, "state")
            return np.asarray(np.sqrt(np.square(pos[:, i, :] - pos[:, j, :]).mean(axis=1)))
        if table == "dependence":
            if rec.dependence is None:
                raise KeyError("dependence metrics need the AI stack (a `stack:` section or levers)")
            layer, buyer, supplier = [*(key or "").split("/"), "", ""][:3]
            li = _lookup({n: k for k, n in enumerate(("base", "technical", "application"))}, layer, "layer")
            return rec.dependence[
                :t, li, _lookup(w.index, buyer, "state"), _lookup(w.index, supplier, "state")
            ]
        if table == "membership":
            count = np.zeros(t)
            for pair in (key or "").split(","):
                forum, _, state = pair.strip().partition("/")
                f, i = _lookup(w.forum_index, forum, "forum"), _lookup(w.index, state, "state")
                count += rec.membership[:t, i, f]
            return count
        if table == "compare":
            left, _, right = (key or "").partition("/")

            def best(group: str) -> np.ndarray:
                series = [self.series(f"states.{column}[{s.strip()}]") for s in group.split("|")]
                return np.max(np.vstack(series), axis=0)

            return best(left) - best(right)
        if table == "closeness":
            region, _, state = (key or "").partition("/")
            r = _lookup({n: k for k, n in enumerate(w.region_names)}, region, "region")
            j = _lookup(w.index, state, "state")
            others = np.flatnonzero((w.region == r) & (np.arange(w.N) != j))
            diff = rec.pos[:t, others, :] - rec.pos[:t, j : j + 1, :]
            return 1.0 - np.sqrt(np.square(diff).mean(axis=2)).mean(axis=1)
        # ecosystem
        if rec.dependence is None:
            raise KeyError("ecosystem metrics need the AI stack (a `stack:` section or levers)")
        region, _, supplier = (key or "").partition("/")
        r = _lookup({n: k for k, n in enumerate(w.region_names)}, region, "region")
        j = _lookup(w.index, supplier, "supplier state")
        buyers = np.flatnonzero(w.region == r)
        return rec.dependence[:t, 1, buyers, j].mean(axis=1)

    def final(self, spec: str) -> float:
        """The final value; with `@year` the value at the step ending closest to that year; with
        `@from..to` the mean over the steps ending from `from` to `to`."""
        s = self.series(spec)
        if not s.size:
            return float("nan")
        year = at_year(spec)
        if year is None:
            return float(s[-1])
        cal = self.m.world.calendar

        def step(y: float) -> int:
            return min(max(round((y - cal.start_year) * cal.steps_per_year), 0), s.size - 1)

        span = window(spec)
        if span is None:
            return float(s[step(year)])
        how, lo, hi = span[0], step(span[1]), step(span[2])
        part = s[lo : hi + 1]
        if not np.isfinite(part).any():
            return float("nan")
        if how == "max":
            return float(np.nanmax(part))
        return float(np.nanmin(part)) if how == "min" else float(np.nanmean(part))


def _lookup(index: dict, key: str | None, kind: str) -> int:
    if key not in index:
        import difflib

        close = difflib.get_close_matches(str(key), [str(k) for k in index], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown {kind} {key!r}{hint}")
    return index[key]
