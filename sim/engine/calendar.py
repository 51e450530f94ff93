"""Model time: steps, years and the step in which a dated event fires.

Step 0 is the initial state at 1 January of `start_year`. Step k advances time from
t(k-1) to t(k) = start_year + k / steps_per_year; an event dated d fires in the step whose
interval [t(k-1), t(k)) contains d.
"""

from __future__ import annotations

import calendar
import math


def decimal_year(date: str) -> float:
    """'2019-07-15' -> 2019 + (6 + 14/31) / 12: months are twelfths, so quarters start on
    1 January, 1 April, 1 July and 1 October exactly."""
    parts = [int(p) for p in date.split("-")]
    y = parts[0]
    m = parts[1] if len(parts) > 1 else 1
    d = parts[2] if len(parts) > 2 else 1
    days = calendar.monthrange(y, m)[1]
    return y + (m - 1 + (d - 1) / days) / 12


class Calendar:
    def __init__(self, start_year: int, steps_per_year: int, n_steps: int) -> None:
        self.start_year = start_year
        self.steps_per_year = steps_per_year
        self.n_steps = n_steps

    def year_at(self, step: int) -> float:
        """Time at the end of `step` (step 0: the start)."""
        return self.start_year + step / self.steps_per_year

    def step_of(self, date: str) -> int:
        """The step in which an event on `date` fires (1-based; may lie outside the run)."""
        return math.floor((decimal_year(date) - self.start_year) * self.steps_per_year + 1e-9) + 1

    def calendar_year_of_step(self, step: int) -> int:
        """The calendar year a step (k >= 1) runs in, for presidencies."""
        return self.start_year + (step - 1) // self.steps_per_year

    @property
    def end_year(self) -> float:
        return self.year_at(self.n_steps)
