"""A pyabc sampler that is reproducible on any number of workers and keeps its limits.

pyabc proposes, simulates and accepts particles inside `simulate_one`, drawing from numpy's
global generator. This sampler runs `simulate_one` in numbered jobs of `batch` particles,
each job seeding numpy and `random` from (seed, generation, job number), and takes the results
in job order, stopping at the n-th accepted particle. So the population is the same whether
the jobs run here one after another or on a Dask cluster, where up to two jobs per worker run
ahead and are cancelled when the population is full.

It reports progress within a long generation (accepted, simulated, time left at this rate)
every `every` seconds. It also keeps the two limits within a generation, which pyabc's own
Dask sampler checks for neither: a generation stops unfinished when it has made `max_eval`
simulations (population / min_acceptance; pyabc then stops) or when the deadline has passed,
and pyabc keeps the last full generation.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from pyabc.sampler.base import Sampler


def job_seed(seed: int, t: int, job: int) -> int:
    text = f"{seed}|{t}|{job}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def run_job(payload: bytes, seed: int, batch: int) -> list:
    """`batch` calls of pyabc's simulate_one, with the job's own seed (top-level: picklable),
    with one BLAS thread (`sim.runner.one_blas_thread`: for good on a Dask worker)."""
    import cloudpickle

    from sim.runner import one_blas_thread

    simulate_one = cloudpickle.loads(payload)
    np.random.seed(seed)
    random.seed(seed)
    with one_blas_thread():
        return [simulate_one() for _ in range(batch)]


def _here(payload: bytes, seed: int, batch: int) -> list:
    """A job in this process, leaving the global generators as they were (as a worker would)."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        return run_job(payload, seed, batch)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


class OrderedSampler(Sampler):
    def __init__(
        self, seed: int, batch: int = 4, client: Any = None, deadline: float | None = None,
        on_stop: Callable[[str], None] | None = None, on_progress: Callable[[str], None] | None = None,
        every: float = 30.0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.seed = seed
        self.batch = batch
        self.client = client
        self.deadline = deadline  # time.monotonic() value
        self.on_stop = on_stop
        self.on_progress = on_progress  # a line every `every` seconds within a long generation
        self.every = every
        self.unfinished_ = 0  # simulations of a generation left unfinished (not in pyabc's history)

    def sample_until_n_accepted(
        self, n: int, simulate_one: Callable, t: int, *, max_eval: float = np.inf,
        all_accepted: bool = False, ana_vars: Any = None,
    ) -> Any:  # fmt: skip
        import cloudpickle

        payload = cloudpickle.dumps(simulate_one)
        sample = self._create_empty_sample()
        evaluations = 0
        next_job = 0
        ahead: deque = deque()
        ahead_max = 1 if self.client is None else 2 * max(1, len(self.client.scheduler_info()["workers"]))
        stop = ""
        start = last = time.monotonic()
        label = "prior sample" if t < 0 else f"generation {t + 1}"
        try:
            while sample.n_accepted < n:
                if evaluations >= max_eval:
                    stop = (
                        f"{evaluations} simulations without a full population (the minimum acceptance rate)"
                    )
                    break
                if self.deadline is not None and time.monotonic() > self.deadline:
                    stop = "the time limit (max_minutes)"
                    break
                while len(ahead) < ahead_max:
                    args = (payload, job_seed(self.seed, t, next_job), self.batch)
                    ahead.append(self.client.submit(run_job, *args, pure=False) if self.client else args)
                    next_job += 1
                job = ahead.popleft()
                results = job.result() if self.client else _here(*job)
                for particle in results:
                    sample.append(particle)
                    evaluations += 1
                    if sample.n_accepted >= n:
                        break
                now = time.monotonic()
                if self.on_progress and now - last >= self.every and sample.n_accepted < n:
                    last = now
                    k = sample.n_accepted
                    left = f", about {(now - start) / k * (n - k):.0f} s left at this rate" if k else ""
                    self.on_progress(f"  {label}: {k}/{n} accepted of {evaluations} simulated, "
                                     f"{now - start:.0f} s{left}")  # fmt: skip
        finally:
            if self.client is not None and ahead:
                self.client.cancel(list(ahead))
        self.nr_evaluations_ = evaluations
        if sample.n_accepted < n:
            sample.ok = False
            if t >= 0:  # pyabc records the prior sample's evaluations itself
                self.unfinished_ += evaluations
            if stop and self.on_stop:
                self.on_stop(f"generation {t + 1} left unfinished: {stop}")
        return sample
