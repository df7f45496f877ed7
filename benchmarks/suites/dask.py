"""hotloop.dask on a two-process LocalCluster: rolling std against xarray and map_overlap +
bottleneck over the same dask array, the dask path's overhead against the in-memory call, Julia
tiles, and diffusion with several steps per halo exchange.

Every contender computes on the same cluster (two worker processes of one thread each, started
once for the run and closed at exit) from input chunks already held by the workers (persisted),
and returns a small reduction of its result (``nansum``), so that the figures are the
computation on the workers, not the transfer of the result to this process. The in-memory rows
call hotloop on a NumPy copy of the same data here, with 2 threads, plus the same reduction.
"""

from __future__ import annotations

import atexit
import sys
import time
from functools import cache

import numpy as np

from benchmarks.harness import Case, Contender, Unavailable, at_least
from benchmarks.suites.moments import offset_normal, size

WINDOW = 100
JULIA_C = -0.62772 - 0.42193j


@cache
def cluster_client():
    """The run's LocalCluster and its client (closed at exit)."""
    import dask
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    client = distributed.Client(cluster, set_as_default=False)

    def close():
        client.close()
        cluster.close()

    atexit.register(close)
    versions = ", ".join(
        f"{name} {module.__version__}"
        for name, module in [("dask", dask), ("distributed", distributed), *peer_modules()]
    )
    print(f"dask suite: {versions}; LocalCluster 2 processes x 1 thread", file=sys.stderr)
    return client


def peer_modules():
    out = []
    for name in ("xarray", "bottleneck"):
        try:
            out.append((name, __import__(name)))
        except ImportError:
            pass
    return out


def total(values) -> float:
    return float(np.nansum(values))


# --------------------------------------------------------------------------------------------
# Rolling std


def rolling_cases(n: int, chunk: int) -> list[Case]:
    import bottleneck as bn
    import dask.array as da
    import hotloop
    import hotloop.dask as hd
    import xarray as xr

    client = cluster_client()

    @cache
    def data():
        x = offset_normal(n)
        xd = client.persist(da.from_array(x, chunks=chunk))
        distributed_wait(xd)
        return x, xd

    def on_cluster(arr):
        return client.compute(da.nansum(arr)).result()

    def hotloop_dask(x, xd):
        return on_cluster(hd.rolling_std(xd, WINDOW))

    def hotloop_dask_threads(x, xd):
        # The same graph on this process's threaded scheduler, from the NumPy data.
        xl = da.from_array(x, chunks=chunk)
        return float(da.nansum(hd.rolling_std(xl, WINDOW)).compute(scheduler="threads"))

    def xarray_rolling(x, xd):
        # xarray >= 2025 no longer uses bottleneck by default: its default path builds a
        # sliding-window view and reduces it (measured: 187 s and 7.6 GB per worker for 3e7
        # values in 3e6-value chunks, against 2 s here). The option picks bottleneck's
        # move_std inside a map_overlap, the path a user tuning xarray would take.
        with xr.set_options(use_bottleneck=True):
            out = xr.DataArray(xd, dims="t").rolling(t=WINDOW).std().data
        return on_cluster(out)

    def overlap_bottleneck(x, xd):
        out = da.map_overlap(
            bn.move_std,
            xd,
            depth={0: (WINDOW - 1, 0)},
            boundary="none",
            window=WINDOW,
            dtype=xd.dtype,
        )
        return on_cluster(out)

    def overlap_copy(x, xd):
        # The same graph with a kernel that only copies its block: what is left when the
        # kernel costs nothing (overlap exchange, output allocation, the reduction), so the
        # bound on any rolling kernel's speed-up over bottleneck in this graph.
        out = da.map_overlap(
            np.copy, xd, depth={0: (WINDOW - 1, 0)}, boundary="none", dtype=xd.dtype
        )
        return on_cluster(out)

    def in_memory(x, xd):
        return total(hotloop.rolling_std(x, WINDOW, n_threads=2))

    title = f"rolling_std n={size(n)} in chunks of {size(chunk)}, w={WINDOW}, 2 workers"
    subjects = [
        Contender("hotloop.dask.rolling_std, LocalCluster", hotloop_dask, key="cluster"),
    ]
    return [
        Case(
            title,
            data,
            subjects,
            [
                Contender(
                    "xarray rolling(t=w).std(), use_bottleneck=True",
                    xarray_rolling,
                    require={"cluster": at_least(2)},
                ),
                Contender(
                    "map_overlap + bottleneck.move_std",
                    overlap_bottleneck,
                    require={"cluster": at_least(2)},
                ),
                Contender(
                    "map_overlap + np.copy, no kernel (yardstick: the graph's own cost)",
                    overlap_copy,
                    peer=False,
                ),
            ],
        ),
        Case(
            f"overhead of the dask path, n={size(n)} in chunks of {size(chunk)}",
            data,
            [
                Contender("hotloop.dask.rolling_std, LocalCluster", hotloop_dask, key="cluster"),
                Contender(
                    "hotloop.dask.rolling_std, threaded scheduler",
                    hotloop_dask_threads,
                    key="threads",
                ),
            ],
            [
                Contender(
                    "in-memory hotloop.rolling_std, 2 threads (yardstick)",
                    in_memory,
                    peer=False,
                )
            ],
        ),
    ]


def distributed_wait(collection) -> None:
    import distributed

    # (distributed.wait needs a default client; the run's client is not made the default)
    futures = distributed.futures_of(collection)
    while not all(f.done() for f in futures):
        time.sleep(0.01)
    for f in futures:
        if f.status != "finished":
            f.result()  # raises the task's error


# --------------------------------------------------------------------------------------------
# Julia tiles


def julia_case(side: int, tile: int) -> Case:
    import dask.array as da
    import hotloop
    import hotloop.dask as hd

    client = cluster_client()

    def tiles():
        return client.compute(da.sum(hd.julia_grid(JULIA_C, side, chunks=tile))).result()

    def whole():
        return int(hotloop.julia_grid(JULIA_C, side, n_threads=2).sum())

    return Case(
        f"julia_grid {side}x{side} in {tile}x{tile} tiles, 2 workers",
        lambda: (),
        Contender("hotloop.dask.julia_grid, LocalCluster", tiles),
        [Contender("in-memory hotloop.julia_grid, 2 threads (yardstick)", whole, peer=False)],
    )


# --------------------------------------------------------------------------------------------
# Diffusion


def diffusion_case(side: int, steps: int, tile: int, ks: tuple[int, ...]) -> Case:
    import dask.array as da
    import hotloop
    import hotloop.dask as hd

    client = cluster_client()

    @cache
    def data():
        grid = np.zeros((side, side))
        block = slice(int(side * 0.4), int(side * 0.5))
        grid[block, block] = 0.005
        # Heat everywhere, so that no tile is skipped as cold: the cost of every cell.
        grid += np.random.default_rng(0).random(grid.shape) * 1e-3
        gd = client.persist(da.from_array(grid, chunks=tile))
        distributed_wait(gd)
        return grid, gd

    def run(k):
        def on_cluster(grid, gd):
            out = hd.diffuse(gd, steps, steps_per_exchange=k)
            return client.compute(da.sum(out)).result()

        return on_cluster

    def whole(grid, gd):
        return float(hotloop.diffuse(grid, steps, n_threads=2).sum())

    return Case(
        f"diffuse {side}x{side} x {steps} steps in {tile}x{tile} tiles, 2 workers",
        data,
        [
            Contender(f"hotloop.dask.diffuse, k={k} steps per exchange", run(k), key=f"k={k}")
            for k in ks
        ],
        [Contender("in-memory hotloop.diffuse, 2 threads (yardstick)", whole, peer=False)],
    )


# --------------------------------------------------------------------------------------------


def cases(scale: str) -> list[Case]:
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
        import xarray  # noqa: F401
    except ImportError as exc:
        missing = f"{exc.name} is not installed (pip install hotloop[dask] xarray)"
        raise Unavailable(missing) from exc
    if scale == "quick":
        return [
            *rolling_cases(200_000, 50_000),
            julia_case(256, 128),
            diffusion_case(128, 20, 64, (5, 20)),
        ]
    if scale == "default":
        return [
            *rolling_cases(10**7, 10**6),
            julia_case(2048, 1024),
            diffusion_case(1024, 100, 512, (10, 100)),
        ]
    return [
        *rolling_cases(10**8, 10**7),
        julia_case(8192, 2048),
        diffusion_case(4096, 500, 2048, (25, 100, 250)),
    ]
