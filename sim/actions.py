"""The registry of actions a state's policy can choose among.

The three paths are always registered first, in the order of `PATHS`; the technology
powers (a later module) add themselves here, so that a scenario's `actions:` list and a
policy's `mix` may name them without any change to the model loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


@dataclass(frozen=True)
class Action:
    name: str
    apply: Callable[[RuleMakingModel, np.ndarray], None]  # (model, actor indices)
    potential: Callable[[RuleMakingModel, np.ndarray], np.ndarray]  # expected gain of each of idx
    doc: str = ""


ACTIONS: dict[str, Action] = {}


def register(action: Action) -> None:
    ACTIONS[action.name] = action


def _register_paths() -> None:
    from sim.paths import discourse, institutional, practice

    for mod in (institutional, discourse, practice):
        register(Action(mod.NAME, mod.apply, mod.potential, (mod.__doc__ or "").strip()))


_register_paths()
import sim.powers  # noqa: E402, F401  (registers the technology powers after the paths)
