"""What every lever has: its specification, whether and since when it is active, and hooks
the model calls at fixed points of the step (all no-ops unless a lever overrides them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


class LeverRuntime:
    def __init__(self, model: RuleMakingModel, spec, index: int, label: str) -> None:
        self.spec = spec
        self.index = index
        self.label = label
        cal = model.world.calendar
        self.scheduled = None if spec.date is None else cal.step_of(spec.date)
        self.start: int | None = None
        self.setup(model)

    @property
    def active(self) -> bool:
        return self.start is not None

    def start_now(self, model: RuleMakingModel) -> None:
        first = self.start is None
        self.start = model.steps
        if first:
            self.activate(model)

    # hooks --------------------------------------------------------------
    def setup(self, model: RuleMakingModel) -> None:
        """Called once when the model is built."""

    def activate(self, model: RuleMakingModel) -> None:
        """Called once, the first time the lever starts."""

    def growth(self, model: RuleMakingModel, gf: np.ndarray) -> None:
        """Modify this step's growth factors gf[N, 4] (compute, data, algorithms, market)."""

    def stack_access(self, model: RuleMakingModel, access: np.ndarray) -> None:
        """Scale suppliers' access to buyers, access[l, buyer, supplier]."""

    def effects(self, model: RuleMakingModel) -> None:
        """Add pulls and other effects for this step (after the states' own actions)."""

    def act(self, model: RuleMakingModel) -> None:
        """The lever's actor chose it as its action this step."""
        self.start_now(model)

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        return {}
