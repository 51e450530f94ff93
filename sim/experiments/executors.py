"""Evaluators that run chunks of tasks: serially, on local worker processes, or on Dask.

All yield (chunk results) as chunks finish, in any order; the results themselves do not
depend on the executor or the number of workers (each run carries its own seed).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sim.runner import RunTask, run_chunk

Chunk = list[RunTask]
# What a worker does with a chunk: `run_chunk` (a row of metrics per run), or another picklable
# top-level function of a chunk, such as `sim.runner.run_tables_chunk` (every run's tables).
ChunkFn = Callable[[Chunk], list]


def init_worker() -> None:
    """One BLAS and OpenMP thread per worker, for good: the workers are the parallelism. A
    forked worker has its parent's numpy, whose OpenBLAS read OPENBLAS_NUM_THREADS when it
    loaded, so the limit is set through threadpoolctl (`sim.runner.hold_one_blas_thread`)."""
    from sim.io import release_inherited
    from sim.runner import hold_one_blas_thread

    release_inherited()
    _die_with_parent()
    hold_one_blas_thread()


def _die_with_parent() -> None:
    """A worker ends when its driver does, even by kill -9 (otherwise it waits on the task
    queue for good, holding ~120 MB): the kernel's parent-death signal on Linux, else a
    watcher thread that polls the parent's pid."""
    import os
    import signal
    import sys
    import threading
    import time

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before the signal was set
                os._exit(1)
            return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="sim-parent-watch").start()


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Long-lived worker processes: fork where the platform has it (no re-import per task),
    one numeric thread each."""
    method = "fork" if "fork" in mp.get_all_start_methods() and sys.platform != "darwin" else "spawn"
    ctx = mp.get_context(method)
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker)


def serial(chunks: list[Chunk], workers: int = 1, fn: ChunkFn = run_chunk) -> Iterator[list]:
    for chunk in chunks:
        yield fn(chunk)


def local(chunks: list[Chunk], workers: int = 2, fn: ChunkFn = run_chunk) -> Iterator[list]:
    """Long-lived worker processes (fork where the platform has it: no re-import per run),
    at most 2 chunks in flight per worker so the driver's memory stays flat."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = iter(chunks)
    with process_pool(workers) as pool:
        inflight = set()
        for chunk in pending:
            inflight.add(pool.submit(fn, chunk))
            if len(inflight) >= 2 * workers:
                break
        try:
            while inflight:
                done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()  # BrokenProcessPool if a worker was killed
                    nxt = next(pending, None)
                    if nxt is not None:
                        inflight.add(pool.submit(fn, nxt))
        except BaseException:
            for fut in inflight:
                fut.cancel()
            raise


def dask(
    chunks: list[Chunk], workers: int = 2, scheduler: str | None = None, fn: ChunkFn = run_chunk
) -> Iterator[list]:
    """The same task function on a dask.distributed scheduler (or a LocalCluster)."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    # distributed logs a lost scheduler with tracebacks of its own; the sweep reports it
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.startswith("distributed"):  # its config gives some children levels of their own
            logging.getLogger(name).setLevel(logging.CRITICAL)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        pending = iter(chunks)
        futures = [client.submit(fn, c, pure=False) for c in _take(pending, _window(client, workers))]
        inflight = len(futures)
        ac = as_completed(futures)
        for fut in ac:
            inflight -= 1
            yield fut.result()
            for c in _take(pending, _window(client, workers) - inflight):
                ac.add(client.submit(fn, c, pure=False))
                inflight += 1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _window(client: Any, workers: int) -> int:
    """How many chunks a Dask sweep keeps in flight: two per worker thread of the cluster as it
    is now (a batch system starts workers job by job, and they may join after the sweep has
    started), at least two per `--workers`, and at least 4. The cluster's size is the one the
    client refreshes every 2 s on its own (asking the scheduler here would block for 30 s when
    it is lost, before the sweep could report it)."""
    info = getattr(client, "_scheduler_identity", None) or {}
    threads = info.get("total_threads")
    if not isinstance(threads, int):
        threads = sum(int(w.get("nthreads", 0)) for w in (info.get("workers") or {}).values())
    return max(2 * max(workers, threads), 4)


def _take(it: Iterator, n: int) -> list:
    out: list = []
    for _ in range(n):
        x = next(it, None)
        if x is None:
            break
        out.append(x)
    return out


EXECUTORS: dict[str, Callable[..., Iterator[list]]] = {"serial": serial, "local": local, "dask": dask}
