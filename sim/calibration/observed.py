"""The record, as the model sees it: each target's data file turned into a state x year matrix
of 0/1 (the event had happened by the end of that year) with NaN where the record is silent.

A data file (`data/*.csv`) has one row per country and event, with `iso3`, and the event's
date as `date` (YYYY, YYYY-MM or YYYY-MM-DD) or as a range `date_min`..`date_max` when the
record is vague. A target's `rows` filter picks the rows that are the event (say `status:
member`). Every country that appears in the file is covered: its event is its earliest
matching row; if no row matches, it had no such event as of the latest date its rows give
(a `status: no` row dated 2024-12 says "not a member as of December 2024"; undated rows say it
for every year), and the years after that are unknown. A country absent from the file is
unknown (NaN) and is not scored. Where a date range straddles the end of a year, that year is
unknown for that country.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.spec import Target
from sim.errors import Problem, ScenarioError


@dataclass
class Observed:
    """[n_states, n_years] matrices of the record, one per target (NaN: unknown)."""

    states: list[str]
    years: list[int]
    values: dict[str, np.ndarray]
    sources: dict[str, str]  # target -> data file


def _bounds(text: str) -> tuple[float, float]:
    """A date as the span of fractional years it may mean: '2020' -> [2020, 2021),
    '2020-06' -> June, '2020-06-15' -> that day."""
    parts = [int(p) for p in str(text).strip().split("-")]
    y = parts[0]
    if len(parts) == 1:
        return float(y), float(y + 1) - 1e-9
    days = 366 if calendar.isleap(y) else 365
    if len(parts) == 2:
        first = dt.date(y, parts[1], 1).timetuple().tm_yday - 1
        last = first + calendar.monthrange(y, parts[1])[1]
        return y + first / days, y + last / days - 1e-9
    d = dt.date(y, parts[1], parts[2]).timetuple().tm_yday - 1
    return y + d / days, y + (d + 1) / days - 1e-9


def _given(row: pd.Series, col: str) -> bool:
    return isinstance(row.get(col), str) and bool(row[col].strip())


def event_span(row: pd.Series, where: str) -> tuple[float, float]:
    """The span in which the event happened: the range `date_min`..`date_max` when the record
    gives one (the conservative reading: a year the range straddles is unknown), else `date`."""
    line = (
        f"line {int(row.name) + 2} ({row.get('iso3', '?')})"
        if isinstance(row.name, (int, np.integer))
        else "a row"
    )
    try:
        if _given(row, "date_min") and _given(row, "date_max"):
            lo, hi = _bounds(row["date_min"])[0], _bounds(row["date_max"])[1]
            if _given(row, "date"):
                d = _bounds(row["date"])
                if d[1] < lo - 1e-6 or d[0] > hi + 1e-6:  # the date and the range must overlap
                    raise ScenarioError(
                        [
                            Problem(
                                where,
                                line,
                                f"date {row['date']} does not meet the range "
                                f"{row['date_min']}..{row['date_max']}",
                            )
                        ]
                    )
        else:
            lo, hi = _bounds(row["date"])
    except (KeyError, ValueError, TypeError, AttributeError):
        raise ScenarioError(
            [Problem(where, line, "expected a date (YYYY, YYYY-MM or YYYY-MM-DD) or date_min and date_max")]
        ) from None
    if hi < lo:
        raise ScenarioError([Problem(where, line, "date_max is before date_min")])
    return lo, hi


def _has_date(row: pd.Series) -> bool:
    return any(isinstance(row.get(c), str) and row[c].strip() for c in ("date", "date_max"))


def read_data(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise ScenarioError([Problem(str(path), "", f"cannot read the data file ({exc})")]) from None
    if "iso3" not in df.columns:
        raise ScenarioError([Problem(str(path), "columns", "expected an iso3 column")])
    return df


def matches(df: pd.DataFrame, rows: dict[str, str | list[str]], where: str) -> pd.Series:
    keep = pd.Series(True, index=df.index)
    for col, want in rows.items():
        if col not in df.columns:
            raise ScenarioError(
                [Problem(where, f"rows.{col}", f"no such column (have {', '.join(df.columns)})")]
            )
        allowed = [want] if isinstance(want, str) else list(want)
        keep &= df[col].isin(allowed)
    return keep


def observe(target: Target, data_path: Path, iso3: list[str | None], years: list[int]) -> np.ndarray:
    """The record of one target, [n_states, n_years]."""
    df = read_data(data_path)
    hit = matches(df, target.rows, str(data_path))
    out = np.full((len(iso3), len(years)), np.nan)
    for i, code in enumerate(iso3):
        if code is None:
            continue
        mine = df[df.iso3 == code]
        if mine.empty:
            continue  # not covered: unknown
        events = mine[hit[mine.index]]
        if events.empty:  # covered, no such event as of its latest dated row
            dated = [event_span(r, str(data_path))[1] for _, r in mine.iterrows() if _has_date(r)]
            as_of = max(dated) if dated else np.inf
            out[i] = [0.0 if y + 1.0 <= as_of + 1e-6 else np.nan for y in years]
            continue
        spans = [event_span(r, str(data_path)) for _, r in events.iterrows()]
        lo = min(s[0] for s in spans)
        hi = min(s[1] for s in spans)  # the earliest event: it happened by hi at the latest
        for k, y in enumerate(years):
            end = y + 1.0
            out[i, k] = 1.0 if hi < end else 0.0 if lo >= end else np.nan
    return out


def observed(
    spec_targets: list[Target], base: Path, names: list[str], iso3: list[str | None], years: list[int]
) -> Observed:
    from sim.calibration.spec import resolve

    values, sources = {}, {}
    for t in spec_targets:
        path = resolve(base, t.data)
        v = observe(t, path, iso3, years)
        for s in t.exclude:
            v[names.index(s)] = np.nan
        values[t.name] = v
        sources[t.name] = str(path)
    return Observed(list(names), list(years), values, sources)
