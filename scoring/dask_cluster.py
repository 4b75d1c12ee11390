"""The Dask cluster ``scoring.dask_engine`` computes on: a client to a remote scheduler, or a new LocalCluster
of single-threaded worker processes with a memory cap each."""

from __future__ import annotations

import os

from layers.errors import LayerError

_MAX_WORKER_MEMORY = 4 * 2**30  # default per-worker cap on a LocalCluster, bytes
_CONNECT_TIMEOUT_S = 20.0  # how long to wait for a remote scheduler


def _default_memory_limit(n_workers: int) -> int:
    import psutil

    total = psutil.virtual_memory().total
    return int(min(_MAX_WORKER_MEMORY, 0.75 * total / max(n_workers, 1)))


def start_cluster(
    scheduler: str | None = None, n_workers: int | None = None, memory_limit: int | str | None = None
) -> tuple[object, object | None]:
    """A ``distributed.Client``: to ``scheduler`` (tcp://host:port) or to a new LocalCluster.

    The LocalCluster has ``n_workers`` (default: the CPU count) single-threaded worker
    processes, each capped at ``memory_limit`` (default: min(4 GiB, 75 % of RAM / workers)).
    Returns (client, cluster or None); close both.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if n_workers is not None:
            raise ValueError("give either a scheduler address or a number of local workers, not both")
        try:
            return Client(scheduler, timeout=_CONNECT_TIMEOUT_S), None
        except OSError as exc:
            raise LayerError(
                None,
                f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                "start it (dask scheduler) or check the address, e.g. --scheduler tcp://10.0.0.5:8786",
            ) from exc
    n = n_workers if n_workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--workers must be at least 1, got {n}")
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit if memory_limit is not None else _default_memory_limit(n),
        dashboard_address=":0",
        env={"NUMBA_NUM_THREADS": "1"},  # one thread per worker: numba's parallel kernels must not oversubscribe
    )
    try:
        client = Client(cluster)
    except Exception:
        cluster.close()
        raise
    return client, cluster
