"""Mesa agents: the readable face of the model.

The numbers live in the world's arrays (so that mechanisms can act on every state at once);
a `StateAgent` or `ForumAgent` is a named view onto its row of those arrays.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine.world import CAPACITIES, RESOURCES, World


class _View(mesa.Agent):
    """A Mesa agent that is row `index` of the world's arrays."""

    def __init__(self, model: mesa.Model, world: World, index: int, name: str) -> None:
        super().__init__(model)
        self.world = world
        self.index = index
        self.name = name


class StateAgent(_View):
    """A country (or the EU) choosing among the paths and powers each step."""

    def __init__(self, model: mesa.Model, world: World, index: int) -> None:
        super().__init__(model, world, index, world.names[index])

    @property
    def tier(self) -> int:
        return int(self.world.tier[self.index])

    @property
    def position(self) -> dict[str, float]:
        return dict(zip(self.world.norms, self.world.pos[self.index].tolist(), strict=True))

    @property
    def influence(self) -> float:
        return float(self.world.influence[self.index])

    @property
    def reputation(self) -> float:
        return float(self.world.reputation[self.index])

    @property
    def resources(self) -> dict[str, float]:
        return dict(zip(RESOURCES, self.world.res[self.index].tolist(), strict=True))

    @property
    def capacities(self) -> dict[str, float]:
        return dict(zip(CAPACITIES, self.world.cap[self.index].tolist(), strict=True))

    @property
    def market(self) -> float:
        return float(self.world.market[self.index])

    @property
    def forums(self) -> list[str]:
        w = self.world
        return [w.forum_names[f] for f in np.flatnonzero(w.members[self.index] & w.active)]

    @property
    def last_action(self) -> str | None:
        a = int(self.world.action[self.index])
        return self.world.actions[a] if a >= 0 else None

    def __repr__(self) -> str:
        return f"StateAgent({self.name!r}, influence={self.influence:.4g})"


class ForumAgent(_View):
    """A forum (G7, G20, OECD, UN, ...) whose text is its adopted principles."""

    def __init__(self, model: mesa.Model, world: World, index: int) -> None:
        super().__init__(model, world, index, world.forum_names[index])

    @property
    def text(self) -> dict[str, float]:
        return dict(zip(self.world.norms, self.world.text[self.index].tolist(), strict=True))

    @property
    def members(self) -> list[str]:
        w = self.world
        return [w.names[i] for i in np.flatnonzero(w.members[:, self.index])]

    @property
    def weight(self) -> float:
        return float(self.world.weight[self.index])

    @property
    def active(self) -> bool:
        return bool(self.world.active[self.index])

    @property
    def president(self) -> str | None:
        holder = int(self.world.president[self.index, self.model.steps])
        return self.world.names[holder] if holder >= 0 else None

    def __repr__(self) -> str:
        return f"ForumAgent({self.name!r}, members={len(self.members)})"
