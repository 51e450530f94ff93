"""The log of everything that happened in a run: scheduled events, and what mechanisms
caused (a state joining a forum, an alliance or a framework; a lever starting).

Each row is (step, year, event, state, forum, detail); the year is when the step began.
"""

from __future__ import annotations

import pandas as pd

from sim.engine.calendar import Calendar

COLUMNS = ["step", "year", "event", "state", "forum", "detail"]


class EventLog:
    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.rows: list[tuple[int, float, str, str, str, str]] = []

    def add(self, step: int, kind: str, state: str = "", forum: str = "", detail: str = "") -> None:
        self.rows.append((step, self.calendar.year_at(max(step - 1, 0)), kind, state, forum, detail))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS).astype({"step": "int64", "year": "float64"})
