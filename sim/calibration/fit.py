"""ABC-SMC with pyabc: priors from the declaration, a distance on the training years only,
a sampler on one core or on Dask (a LocalCluster of `workers`, or a scheduler's address so a
cluster can run it), and a progress line per generation.

Distance: sum over targets of weight x the mean squared difference between simulated and
recorded 0/1 states over the known cells of the training years. Held-out years never enter
it (tested). Epsilon: the `epsilon_quantile` of the last generation's accepted distances, moved past ties
(`tie_breaking_epsilon`). ABC stops after `generations`, below `min_acceptance`, when epsilon
no longer falls, or after `max_minutes`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.sampler import OrderedSampler
from sim.calibration.spec import ABCSettings
from sim.scenario.uncertain import Prior


@dataclass
class TrainDistance:
    """Picklable distance over the training columns of each target."""

    train_cols: list[int]
    weights: dict[str, float]

    def __call__(self, x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
        total = 0.0
        for name, w in self.weights.items():
            sim = np.asarray(x[name])[:, self.train_cols]
            obs = np.asarray(x0[name])[:, self.train_cols]
            known = np.isfinite(obs)
            if known.any():
                total += w * float(np.mean((sim[known] - obs[known]) ** 2))
        return total


def tie_breaking_epsilon(alpha: float, min_acceptance: float):
    """pyabc's quantile schedule, made to move past ties.

    eps_t = the alpha-quantile of the last generation's accepted distances. With 0/1 outcomes
    many particles have exactly the same distance (all those that produce none of the rare
    events), so that quantile can equal eps_(t-1) and the schedule stalls at a value set by
    one cell, not by the data as a whole. When it would stall, eps_t is instead the
    alpha-quantile of the distances strictly below eps_(t-1), if the expected acceptance rate
    (the last rate times the weight of the particles below the new threshold) stays above
    `min_acceptance`; otherwise it stays, and ABC stops for want of progress.
    """
    import pyabc
    from pyabc.weighted_statistics import weighted_quantile as pyabc_quantile

    class TieBreakingQuantileEpsilon(pyabc.QuantileEpsilon):
        last_rate = 1.0

        def update(
            self, t: int, get_weighted_distances: Callable[[], pd.DataFrame], get_all_records: Callable,
            acceptance_rate: float, acceptor_config: dict,
        ) -> None:  # fmt: skip
            self.last_rate = float(acceptance_rate)
            super().update(t, get_weighted_distances, get_all_records, acceptance_rate, acceptor_config)

        def _update(self, t: int, weighted_distances: pd.DataFrame) -> None:
            super()._update(t, weighted_distances)
            before = self._look_up.get(t - 1)
            if before is None or self._look_up[t] < before * (1 - 1e-9):
                return
            d = weighted_distances.distance.to_numpy()
            w = weighted_distances.w.to_numpy().astype(float)
            w = w / w.sum()
            below = d < before * (1 - 1e-9)
            if not below.any():
                return
            eps = float(pyabc_quantile(points=d[below], weights=w[below] / w[below].sum(), alpha=self.alpha))
            if self.last_rate * float(w[d <= eps].sum()) >= min_acceptance:
                self._look_up[t] = eps

    return TieBreakingQuantileEpsilon(alpha=alpha)


def pyabc_prior(priors: dict[str, Prior], names: list[str]):
    import pyabc

    rvs = {}
    for n, p in zip(names, priors.values(), strict=True):
        if p.distribution == "loguniform":
            rvs[n] = pyabc.RV("loguniform", p.low, p.high)
        else:
            rvs[n] = pyabc.RV("uniform", p.low, p.high - p.low)
    return pyabc.Distribution(**rvs)


class _Progress(logging.Handler):
    """Turns pyabc's log lines into one progress line per generation."""

    def __init__(self, generations: int, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.generations = generations
        self.say = say
        self.t0 = time.perf_counter()
        self.t = -1
        self.eps = float("nan")

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if m := re.match(r"t: (\d+), eps: ([-+.\deEinf]+?)\.?$", msg):
            self.t, self.eps = int(m[1]), float(m[2])
        elif msg.startswith("Stop:"):
            self.say(f"stopped: {msg[5:].strip().rstrip('.').lower()}")
        elif msg.startswith("Stopping:"):
            self.say("stopped: the last generation was left unfinished; the one before it is kept")
        elif (m := re.match(r"Accepted: (\d+) / (\d+) = ([-+.\deE]+)", msg)) and self.t >= 0:
            done = self.t + 1
            elapsed = time.perf_counter() - self.t0
            left = elapsed / done * max(0, self.generations - done)
            self.say(
                f"generation {done}/{self.generations}: epsilon {self.eps:.4g}, acceptance "
                f"{float(m[3]):.3f} ({m[1]}/{m[2]}), {elapsed:.0f} s so far, about {left:.0f} s left"
            )


def run_abc(
    simulator: Any,
    priors: dict[str, Prior],
    names: list[str],
    observed: dict[str, np.ndarray],
    distance: TrainDistance,
    settings: ABCSettings,
    db: Path,
    seed: int,
    workers: int = 1,
    scheduler: str | None = None,
    say: Callable[[str], None] = print,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, int]:
    """Run ABC-SMC; returns the last population (parameters by pyabc name), its weights, the
    per-generation table (t, epsilon, samples, acceptance) and the number of simulations."""
    import pyabc

    np.random.seed(seed % 2**32)  # pyabc draws from numpy's global generator
    client = cluster = None
    if workers > 1 or scheduler:
        from dask.distributed import Client, LocalCluster

        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
    deadline = time.monotonic() + 60 * settings.max_minutes if settings.max_minutes else None
    sampler = OrderedSampler(seed, batch=4, client=client, deadline=deadline, on_stop=say, on_progress=say)
    logger = logging.getLogger("ABC")
    handler = _Progress(settings.generations, say)
    old_level, old_propagate, old_handlers = logger.level, logger.propagate, list(logger.handlers)
    for h in old_handlers:  # pyabc's own stream handler: its lines become our progress line
        logger.removeHandler(h)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    for noisy in (
        "ABC.Sampler",
        "ABC.Distance",
        "ABC.Adaptation",
        "ABC.Epsilon",
        "ABC.Population",
        "ABC.History",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        abc = pyabc.ABCSMC(
            simulator, pyabc_prior(priors, names), distance,
            population_size=settings.population, sampler=sampler,
            eps=tie_breaking_epsilon(settings.epsilon_quantile, settings.min_acceptance),
        )  # fmt: skip
        history = abc.new(f"sqlite:///{db}", observed)
        history = abc.run(
            minimum_epsilon=0.0, max_nr_populations=settings.generations,
            min_acceptance_rate=settings.min_acceptance, min_eps_diff=1e-12,
            max_walltime=dt.timedelta(minutes=settings.max_minutes) if settings.max_minutes else None,
        )  # fmt: skip
        if history.max_t < 0:
            from sim.errors import SimError

            raise SimError(
                "ABC-SMC: not even the first generation was completed (time limit or minimum acceptance "
                "reached); raise abc.max_minutes, lower abc.min_acceptance or the population"
            )
        particles, weights = history.get_distribution(m=0, t=history.max_t)
        pops = history.get_all_populations()
        pops = pops[pops.t >= 0].assign(acceptance=lambda d: d.particles / d.samples)
        # every simulation evaluated, also those of a generation left unfinished (pyabc counts
        # only the generations it kept)
        nsim = int(history.total_nr_simulations) + sampler.unfinished_
    finally:
        logger.removeHandler(handler)
        for h in old_handlers:
            logger.addHandler(h)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # pyabc leaves a batch running: its cancellation is not news
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()
        finally:
            quiet.setLevel(level)
    table = pops[["t", "epsilon", "samples", "particles", "acceptance", "wall_time"]].reset_index(drop=True)
    return particles[names].reset_index(drop=True), np.asarray(weights), table, nsim
