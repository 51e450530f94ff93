"""Random streams: one generator per mechanism, each derived from the run's seed and the
mechanism's name (numpy `SeedSequence(seed, spawn_key=(key of the name,))`).

A mechanism draws only from its own stream, and draws the same amount every step whatever
the state of the world, so a counterfactual run that changes one lever leaves every other
mechanism's draws identical (common random numbers: paired runs differ only where the
intervention acts). Names used: `choice` (the policies), `membership` (forum joins),
`frameworks` (framework joins), and `lever:<label>` for each lever.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key of a stream's name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")


class Streams:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._gen: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._gen:
            seq = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name),))
            self._gen[name] = np.random.Generator(np.random.PCG64(seq))
        return self._gen[name]

    def states(self) -> dict[str, object]:
        """Each stream's position (its bit generator's state): equal positions of two runs with
        the same seed mean they drew exactly the same numbers."""
        return {name: g.bit_generator.state for name, g in sorted(self._gen.items())}
