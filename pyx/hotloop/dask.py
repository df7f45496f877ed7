"""hotloop's kernels on Dask: arrays, grids and record files larger than one process holds.

Dask is an optional dependency (``pip install hotloop[dask]``); ``import hotloop`` never imports
it, ``import hotloop.dask`` does. Every function here builds a lazy dask collection (or computes
one), and each of its tasks calls the in-memory hotloop function on one block. The results are
**bitwise equal** to the in-memory call on the same data, whatever the chunks::

    import dask.array as da
    import hotloop.dask as hd

    x = da.random.random(10**9, chunks=10**7)           # 8 GB, never in one place
    s = hd.rolling_std(x, 100)                          # lazy; s.compute(), s.to_zarr(...)
    img = hd.mandelbrot_grid(65536, chunks=4096)        # 16 GiB of counts, tile by tile
    g = hd.diffuse(grid, 500, boundary="periodic")      # halo exchange every k steps

Record files: :func:`read_bag` / :func:`write_bag` (DeviceApps streams as a ``dask.bag`` of
dicts, one partition per file or per range of gzip members) and :func:`get_counters` (counter
files counted per file and merged by a tree reduction of :class:`hotloop.records.Counters`).

Threads per task
----------------
Each task calls hotloop with ``n_threads`` resolved *on the worker, when the task runs*, by
:func:`task_n_threads`, so that worker threads times hotloop threads do not exceed the cores:

1. the function's ``n_threads`` argument, when given;
2. else the dask configuration key ``hotloop.n_threads`` (``dask.config.set({"hotloop.n_threads":
   2})``, or ``DASK_HOTLOOP__N_THREADS=2`` in the workers' environment);
3. else the CPUs hotloop may use (:func:`hotloop.effective_n_threads`, which honours
   ``OMP_NUM_THREADS``) divided by the number of tasks the process runs at once: a distributed
   worker's thread count, the threaded scheduler's pool size, 1 for the synchronous scheduler.

``distributed``'s nannies start worker processes with ``OMP_NUM_THREADS=1`` (its
``distributed.nanny.pre-spawn-environ`` setting), so on a ``LocalCluster`` rule 3 gives one
hotloop thread per task: the cluster's processes and threads already cover the cores. A worker
started with fewer threads than its machine has cores can take more with rule 1 or 2. A worker
process copies the client's dask configuration when it starts, not later: set the key before
creating the cluster, or pass ``n_threads``.

Chunks
------
The rolling functions and :func:`diffuse` need each chunk along the moving axes to be at least
their overlap depth (below); smaller chunks are merged with their neighbours first
(``dask.array.overlap.ensure_minimum_chunksize``), so the result's chunks can be larger than the
input's. :func:`julia_grid` and :func:`mandelbrot_grid` take any chunks.
"""

from __future__ import annotations

import glob as _glob
import os
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import dask
import dask.array as da
import dask.bag as db
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

import hotloop
from hotloop import deviceapps, records
from hotloop._rolling import MOMENTS_TILE, moments_block_size, rolling_params
from hotloop._validate import as_int, as_pair

__all__ = [
    "CONFIG_KEY",
    "DEFAULT_STEPS_PER_EXCHANGE",
    "ROLLING_TILE",
    "diffuse",
    "get_counters",
    "julia_grid",
    "mandelbrot_grid",
    "read_bag",
    "rolling_block_size",
    "rolling_depth",
    "rolling_mean",
    "rolling_std",
    "rolling_var",
    "task_n_threads",
    "write_bag",
]

#: The dask configuration key that sets hotloop's threads per task.
CONFIG_KEY = "hotloop.n_threads"

#: Most time steps per halo exchange in :func:`diffuse` when ``steps_per_exchange`` is not
#: given. On a 2-worker LocalCluster (2 cores), 4096 x 4096 x 500 steps in 2048 x 2048 tiles
#: took 34, 19, 14, 16 and 17 s (medians) with k = 25, 50, 100, 250, 500, against 15 s in memory
#: on 2 threads: fewer rounds save scheduling and transfers (each round is ~30 tasks), until
#: the recomputed halo, (1 + 2k / side)**2 the work, costs more than they do.
DEFAULT_STEPS_PER_EXCHANGE = 100


# --------------------------------------------------------------------------------------------
# Threads


def _task_slots() -> int:
    """How many tasks this process may be running at once, including the calling one."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        worker = None
    if worker is not None:
        state = getattr(worker, "state", worker)
        return max(1, int(getattr(state, "nthreads", 1)))
    if threading.current_thread() is threading.main_thread():
        return 1  # the synchronous scheduler runs tasks in the calling thread, one at a time
    workers = dask.config.get("num_workers", None)
    return max(1, int(workers) if workers else os.cpu_count() or 1)


def task_n_threads(n_threads: int | None = None) -> int:
    """The hotloop thread count for a task running here, now (see the module docstring).

    ``n_threads`` if given; else the dask configuration key ``hotloop.n_threads``; else the
    CPUs hotloop may use (:func:`hotloop.effective_n_threads`) divided by the number of tasks
    this process runs at once, at least 1.
    """
    if n_threads is not None:
        return hotloop.effective_n_threads(n_threads)
    configured = dask.config.get(CONFIG_KEY, None)
    if configured is not None:
        return hotloop.effective_n_threads(int(configured))
    return max(1, hotloop.effective_n_threads(None) // _task_slots())


# --------------------------------------------------------------------------------------------
# Rolling windows


#: Outputs per vectorised tile in hotloop's rolling kernels (``kRollingTile`` in rolling.hpp).
ROLLING_TILE = MOMENTS_TILE


def rolling_block_size(window: int) -> int:
    """Outputs per independent block of hotloop's rolling kernels (``rolling.hpp``).

    The in-memory functions cut a series into blocks of this many outputs, counted from the
    series' first value; each block starts from an exact two-pass summary of the ``window - 1``
    values before it, then updates its sums value by value, in tiles that end every
    :data:`ROLLING_TILE` outputs counted from the block's start (the first tile of a block is
    cut after its first output, or after the series' first full window). A tile is evaluated
    vectorised, or again in scalar code when any value in it is not finite or any of its
    outputs fails the error test, and the two paths round differently in the last bits. So an
    output depends on where its block starts and on every value of its tile, not only on its
    window: matching the in-memory result bit for bit means computing the same blocks and tiles.
    """
    return moments_block_size(int(window))


def rolling_depth(window: int) -> tuple[int, int]:
    """Values a chunk's task reads before and after its chunk: ``(2 * B - 1, ROLLING_TILE - 1)``
    with ``B = rolling_block_size(window)``.

    For a chunk ``[c0, c1)``, the in-memory block containing ``c0`` starts at ``b0 = c0 - c0 %
    B``. The task calls the in-memory function on the values from ``b0 - B`` (from 0 when
    ``b0 == 0``): that call's own second block then starts exactly at ``b0`` with the same
    ``window - 1`` values before it, and every later block and tile boundary falls where the
    whole-series call has one. It reads on to the end of the tile holding ``c1 - 1`` (at most
    ``ROLLING_TILE - 1`` values past the chunk), so that this tile sees the same values. At most
    ``2B - 1`` values before the chunk; the extra work is at most ``2B`` outputs per chunk (0.3%
    of a 10**7-value chunk for windows up to 512).
    """
    return 2 * rolling_block_size(window) - 1, ROLLING_TILE - 1


def _as_dask_array(x: Any) -> da.Array:
    return x if isinstance(x, da.Array) else da.asarray(x)


def _normalize_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis={axis} is out of range for a {ndim}-D array; accepted: {-ndim}..{ndim - 1}"
        )
    return int(axis) % ndim


def _rolling_block(
    block: np.ndarray,
    *,
    fn: Callable[..., np.ndarray],
    kwargs: dict,
    axis: int,
    starts: tuple[int, ...],
    bsize: int,
    before: int,
    n_threads: int | None,
    block_info: dict | None = None,
) -> np.ndarray:
    """One chunk's outputs, from the chunk and the values around it that the overlap added."""
    index = block_info[0]["chunk-location"][axis]
    c0, c1, n = starts[index], starts[index + 1], starts[-1]
    e0 = c0 - before if index > 0 else 0  # global index of the block's first value along axis
    e1 = e0 + block.shape[axis]
    # Read from b0 - B (or 0) to the end of the tile holding c1 - 1 (see rolling_depth).
    b0 = c0 - c0 % bsize
    s = b0 - bsize if b0 >= bsize else 0
    b1 = (c1 - 1) - (c1 - 1) % bsize
    t = b1 + -(-(c1 - b1) // ROLLING_TILE) * ROLLING_TILE
    t = min(t, b1 + bsize, n)
    if s < e0 or t > e1:  # the overlap is sized so that this cannot happen
        raise AssertionError(f"chunk [{c0}, {c1}) got [{e0}, {e1}), needs [{s}, {t})")
    # Windows along the last axis, rows independent: the in-memory functions take 1-D or 2-D.
    moved = np.moveaxis(block, axis, -1)[..., s - e0 : t - e0]
    if c1 == c0 or moved.size == 0:
        return np.empty((*block.shape[:axis], c1 - c0, *block.shape[axis + 1 :]), block.dtype)
    rows = moved.reshape(-1, moved.shape[-1])
    result = fn(rows, n_threads=task_n_threads(n_threads), **kwargs)[:, c0 - s : c1 - s]
    result = result.reshape((*moved.shape[:-1], c1 - c0))
    return np.moveaxis(result, -1, axis)


def _rolling(
    fn: Callable[..., np.ndarray],
    x: Any,
    window: Any,
    axis: Any,
    ddof: Any,
    min_periods: Any,
    n_threads: int | None,
    has_ddof: bool,
) -> da.Array:
    x = _as_dask_array(x)
    if x.dtype not in (np.float64, np.float32):
        raise TypeError(f"x has dtype {x.dtype}; accepted: float64, float32")
    if x.ndim == 0:
        raise ValueError("x is 0-D; accepted: arrays of 1 or more dimensions")
    ax = _normalize_axis(axis, x.ndim)
    w, dd, minp = rolling_params(window, ddof, min_periods, has_ddof)
    kwargs = {"window": w, "min_periods": minp}
    if has_ddof:
        kwargs["ddof"] = dd
    n = x.shape[ax]
    before, after = rolling_depth(w)
    if n <= before or len(x.chunks[ax]) == 1:
        # All of the axis in one chunk: the task is the in-memory call itself.
        x = x.rechunk({ax: -1})
        before = after = 0
    elif min(x.chunks[ax]) < before:
        x = x.rechunk({ax: ensure_minimum_chunksize(before, x.chunks[ax])})
    block_kwargs = {
        "fn": fn,
        "kwargs": kwargs,
        "axis": ax,
        "starts": tuple(int(v) for v in np.cumsum((0, *x.chunks[ax]))),
        "bsize": rolling_block_size(w),
        "before": before,
        "n_threads": n_threads,
    }
    meta = np.empty((0,) * x.ndim, dtype=x.dtype)
    if before == 0:
        return x.map_blocks(_rolling_block, dtype=x.dtype, meta=meta, **block_kwargs)
    return da.map_overlap(
        _rolling_block,
        x,
        depth={i: ((before, after) if i == ax else 0) for i in range(x.ndim)},
        boundary="none",
        trim=False,  # the task returns only its chunk's outputs
        chunks=x.chunks,
        dtype=x.dtype,
        meta=meta,
        **block_kwargs,
    )


_ROLLING_DOC = """Moving-window {what} along ``axis`` of a dask array, bitwise equal to
    :func:`hotloop.{name}` on the same data.

    Parameters
    ----------
    x : dask array (or anything ``dask.array.asarray`` takes) of float64 or float32
        Any number of dimensions, any chunks. Windows run along ``axis``; every other index
        is an independent series.
    window : int
        Window length, >= 1. Output ``i`` describes ``x[max(0, i - window + 1):i + 1]``.
    axis : int, default -1
        The axis the windows move along.{ddof}
    min_periods : int, optional
        As for :func:`hotloop.{name}` (default ``window``).
    n_threads : int, optional
        hotloop threads per task; default: :func:`task_n_threads` on the worker.

    Returns
    -------
    dask array
        Same shape and dtype as ``x``. Its chunks along ``axis`` are ``x``'s, except that
        chunks shorter than ``rolling_depth(window)[0]`` (``2 * max(16384, 32 * window) - 1``
        values) are first merged with their neighbours: each task reads that many values
        before its chunk and 127 after it (a ``map_overlap`` with depth
        :func:`rolling_depth` ``(window)``, boundary none), so that it computes the same blocks
        and tiles as the in-memory call. An axis no longer than that is one chunk.

    Notes
    -----
    NaN, infinity and accuracy as :func:`hotloop.{name}`. The task moves ``axis`` to the end
    and flattens the other axes into rows (the in-memory function takes 1-D or 2-D series
    along the last axis); the windows and arithmetic are the same, hence the same bits.
    """


def rolling_mean(x, window, *, axis=-1, min_periods=None, n_threads=None):
    return _rolling(hotloop.rolling_mean, x, window, axis, 0, min_periods, n_threads, False)


def rolling_var(x, window, *, axis=-1, ddof=0, min_periods=None, n_threads=None):
    return _rolling(hotloop.rolling_var, x, window, axis, ddof, min_periods, n_threads, True)


def rolling_std(x, window, *, axis=-1, ddof=0, min_periods=None, n_threads=None):
    return _rolling(hotloop.rolling_std, x, window, axis, ddof, min_periods, n_threads, True)


_DDOF_DOC = """
    ddof : int, default 0
        Delta degrees of freedom, ``0 <= ddof < window``."""

rolling_mean.__doc__ = _ROLLING_DOC.format(what="mean", name="rolling_mean", ddof="")
rolling_var.__doc__ = _ROLLING_DOC.format(what="variance", name="rolling_var", ddof=_DDOF_DOC)
rolling_std.__doc__ = _ROLLING_DOC.format(
    what="standard deviation", name="rolling_std", ddof=_DDOF_DOC
)


# --------------------------------------------------------------------------------------------
# Escape-time grids


def _grid_block(
    *,
    julia_c: complex | None,
    width: int,
    height: int,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    maxiter: int,
    n_threads: int | None,
    block_info: dict | None = None,
) -> np.ndarray:
    """One tile's counts: the in-memory kernel on the tile's rows and columns of the image."""
    (r0, r1), (j0, j1) = block_info[None]["array-location"]
    nt = task_n_threads(n_threads)
    whole = dict(xlim=xlim, ylim=ylim, maxiter=maxiter, n_threads=nt, rows=(r0, r1), cols=(j0, j1))
    if julia_c is None:
        return hotloop.mandelbrot_grid(width, height, **whole)
    return hotloop.julia_grid(julia_c, width, height, **whole)


def _grid(
    julia_c: complex | None,
    width: Any,
    height: Any,
    xlim: Any,
    ylim: Any,
    maxiter: Any,
    chunks: Any,
    n_threads: int | None,
) -> da.Array:
    # The in-memory function's checks on a 1 x 1 image (same messages); only the pixel step's
    # check depends on the size, and is repeated below.
    if julia_c is None:
        hotloop.mandelbrot_grid(1, 1, xlim=xlim, ylim=ylim, maxiter=maxiter)
    else:
        hotloop.julia_grid(julia_c, 1, 1, xlim=xlim, ylim=ylim, maxiter=maxiter)
        julia_c = complex(julia_c)
    w = as_int(width, "width", 1)
    h = w if height is None else as_int(height, "height", 1)
    x_lo, x_hi = as_pair(xlim, "xlim")
    y_lo, y_hi = as_pair(ylim, "ylim")
    dx = (x_hi - x_lo) / w
    dy = (y_hi - y_lo) / h
    if not (dx > 0 and dy > 0):
        raise ValueError(f"xlim {xlim!r} / ylim {ylim!r} are too narrow for the image size")
    if not (np.isfinite(dx) and np.isfinite(dy)):
        raise OverflowError(
            f"xlim {xlim!r} / ylim {ylim!r}: the pixel step overflows a double; "
            "accepted: limits whose difference is finite (below about 1.8e308)"
        )
    normalized = da.core.normalize_chunks(chunks, (h, w), dtype=np.int32)
    return da.map_blocks(
        _grid_block,
        chunks=normalized,
        dtype=np.int32,
        meta=np.empty((0, 0), dtype=np.int32),
        julia_c=julia_c,
        width=w,
        height=h,
        xlim=(x_lo, x_hi),
        ylim=(y_lo, y_hi),
        maxiter=int(maxiter),
        n_threads=n_threads,
    )


_GRID_DOC = """{summary}

    The same image as :func:`hotloop.{name}` (same parameters, same pixel centres and
    orientation), as a dask array of int32 counts whose tiles compute their own coordinates:
    nothing but the counts is ever stored, so an image larger than memory can be written tile
    by tile (``.to_zarr(...)`` when zarr is installed, or ``dask.array.store`` into any
    array-like, e.g. a ``numpy.memmap``).

    Parameters
    ----------
    {c}width, height, xlim, ylim, maxiter
        As for :func:`hotloop.{name}`.
    chunks : int, tuple or "auto", default "auto"
        The tiles, as ``dask.array`` takes them (``chunks=1024`` for 1024 x 1024 tiles).
    n_threads : int, optional
        hotloop threads per task; default: :func:`task_n_threads` on the worker.

    Returns
    -------
    dask array of int32, shape (height, width)
        Counts equal, pixel for pixel, to the in-memory call's, for any tiling.

    Notes
    -----
    A tile is the in-memory kernel called with ``rows=`` and ``cols=``: its pixels'
    coordinates are computed inside the kernel from the whole image's limits and the global
    pixel indices (not from sub-limits: ``(x_hi' - x_lo') / width'`` of a tile rounds
    differently), so the tile holds nothing but its counts (4 bytes per pixel).
    """


def julia_grid(
    c,
    width,
    height=None,
    *,
    xlim=(-1.8, 1.8),
    ylim=(-1.8, 1.8),
    maxiter=300,
    chunks="auto",
    n_threads=None,
):
    return _grid(c, width, height, xlim, ylim, maxiter, chunks, n_threads)


def mandelbrot_grid(
    width,
    height=None,
    *,
    xlim=(-2.0, 1.0),
    ylim=(-1.5, 1.5),
    maxiter=300,
    chunks="auto",
    n_threads=None,
):
    return _grid(None, width, height, xlim, ylim, maxiter, chunks, n_threads)


julia_grid.__doc__ = _GRID_DOC.format(
    summary="Julia set counts of a grid of starting points, in tiles.",
    name="julia_grid",
    c="c : complex\n        As for :func:`hotloop.julia_grid`.\n    ",
)
mandelbrot_grid.__doc__ = _GRID_DOC.format(
    summary="Mandelbrot set counts of a grid of constants, in tiles.", name="mandelbrot_grid", c=""
)


# --------------------------------------------------------------------------------------------
# Diffusion


def _diffuse_block(block: np.ndarray, *, steps: int, D: float, dt: float, n_threads) -> np.ndarray:
    # The block's own edge cells are held (fixed boundary): either they are the grid's edge,
    # which must stay, or they lie in the halo, whose errors travel one cell per step and reach
    # at most `steps` cells inwards, exactly the halo that is trimmed afterwards.
    return hotloop.diffuse(
        block, steps, D=D, dt=dt, boundary="fixed", n_threads=task_n_threads(n_threads)
    )


def diffuse(
    grid,
    steps,
    *,
    D=1.0,
    dt=0.1,
    boundary="fixed",
    steps_per_exchange=None,
    n_threads=None,
):
    """Many explicit diffusion steps of a chunked 2-D grid, bitwise equal to
    :func:`hotloop.diffuse` on the same grid.

    Parameters
    ----------
    grid : dask array (or anything ``dask.array.asarray`` takes) of float64 or float32, 2-D
        At least 3 x 3; any chunks.
    steps, D, dt, boundary
        As for :func:`hotloop.diffuse` (``boundary`` "fixed" or "periodic").
    steps_per_exchange : int, optional
        Time steps per halo exchange, ``k >= 1``. Default: :data:`DEFAULT_STEPS_PER_EXCHANGE`
        (100, the fastest measured), but at most a quarter of the smallest chunk side (so that
        the halo adds at most 2.25 times the work) and at most ``steps``. Each round is a
        ``map_overlap`` with depth ``k`` in which every tile advances ``k`` steps on itself
        plus a halo of ``k`` cells from its neighbours (recomputed by each tile that needs it,
        as the in-memory kernel's temporal blocking does), then the halo is trimmed. Larger
        ``k`` means fewer rounds (fewer tasks and transfers) but more recomputed halo cells,
        ``(1 + 2k / side)**2`` times the work for square tiles.
    n_threads : int, optional
        hotloop threads per task; default: :func:`task_n_threads` on the worker.

    Returns
    -------
    dask array
        The grid after ``steps`` steps, same shape and dtype. Chunks shorter than
        ``max(k, 2)`` along an axis are first merged with their neighbours.

    Notes
    -----
    Exactness: every cell of every step is the in-memory kernel's expression of the same
    inputs. With ``boundary="fixed"`` the overlap adds nothing past the grid's edge and each
    tile holds its own edge cells: the grid's edge cells stay as they must, and a halo's wrong
    (held) values spread at most ``k`` cells inwards in ``k`` steps, all of them trimmed. With
    ``"periodic"`` the halo wraps around (dask's periodic boundary).
    """
    grid = _as_dask_array(grid)
    if grid.ndim != 2:
        raise ValueError(f"grid must be 2-D, got {grid.ndim}-D of shape {grid.shape}")
    # The in-memory function's checks, on a 3 x 3 grid of the same dtype (same messages).
    probe = np.zeros((3, 3), dtype=grid.dtype) if grid.dtype.kind == "f" else None
    if probe is None:
        raise TypeError(f"grid has dtype {grid.dtype}; accepted: float64, float32")
    hotloop.diffuse(probe, steps, D=D, dt=dt, boundary=boundary)
    if min(grid.shape) < 3:
        raise ValueError(f"grid must be at least 3 x 3, got shape {grid.shape}")
    steps = int(steps)
    if steps_per_exchange is None:
        k = min(DEFAULT_STEPS_PER_EXCHANGE, max(1, min(min(c) for c in grid.chunks) // 4))
    else:
        k = as_int(steps_per_exchange, "steps_per_exchange", 1)
    k = max(1, min(k, steps))
    depth_min = max(k, 2)
    if min(min(c) for c in grid.chunks) < depth_min:
        grid = grid.rechunk(tuple(ensure_minimum_chunksize(depth_min, c) for c in grid.chunks))
    dask_boundary = "none" if boundary == "fixed" else "periodic"
    done = 0
    while done < steps:
        n = min(k, steps - done)
        grid = grid.map_overlap(
            _diffuse_block,
            depth=n,
            boundary=dask_boundary,
            trim=True,
            dtype=grid.dtype,
            meta=np.empty((0, 0), dtype=grid.dtype),
            steps=n,
            D=D,
            dt=dt,
            n_threads=n_threads,
        )
        done += n
    return grid


# --------------------------------------------------------------------------------------------
# Record files


def _paths(paths: Any) -> list[str]:
    """A list of paths; a str with a glob pattern is expanded (sorted)."""
    if isinstance(paths, str | bytes | os.PathLike):
        text = os.fsdecode(paths)
        if _glob.has_magic(text):
            found = sorted(_glob.glob(text))
            if not found:
                raise FileNotFoundError(f"no file matches {text!r}")
            return found
        return [text]
    out = [os.fsdecode(p) for p in paths]
    if not out:
        raise ValueError("paths is empty; accepted: one or more files")
    return out


def _count_partition(paths: Iterable[str], key_size: int, n_threads) -> records.Counters:
    return records.count_records(
        list(paths), key_size=key_size, n_threads=task_n_threads(n_threads)
    )


def _merge_counters(parts: Iterable[records.Counters], key_size: int) -> records.Counters:
    # Into a new Counters: merge() adds in place, and a task's inputs may be kept by the
    # scheduler (to retry a lost task, or shared with another consumer).
    total = records.Counters(key_size)
    for part in parts:
        total.merge(part)
    return total


def _report(counters: records.Counters, entity_type, entity_id, as_json: bool):
    return counters.result(entity_type, entity_id, as_json=as_json)


def get_counters(
    paths,
    entity_type,
    entity_id,
    *,
    key_size=8,
    as_json=False,
    files_per_task=1,
    split_every=8,
    n_threads=None,
    compute=True,
):
    """:func:`hotloop.records.get_counters` over many files, as a tree reduction on dask.

    Parameters
    ----------
    paths : path, glob pattern or iterable of paths
        Counter files (a str with ``*``, ``?`` or ``[`` is expanded, sorted).
    entity_type, entity_id, key_size, as_json
        As for :func:`hotloop.records.get_counters`.
    files_per_task : int, default 1
        Files counted together by one task (:func:`hotloop.records.count_records`).
    split_every : int, default 8
        Fan-in of the reduction tree: each merge task merges this many
        :class:`~hotloop.records.Counters` into a new one.
    n_threads : int, optional
        hotloop threads per task; default: :func:`task_n_threads` on the worker.
    compute : bool, default True
        Compute now and return the result; False returns the lazy ``dask.bag.Item``.

    Returns
    -------
    dict or str
        Exactly what :func:`hotloop.records.get_counters` returns for the same files: the
        counters merge exactly (totals saturated at 32 add up as the report needs), whatever the
        grouping and order of the merges.

    Raises
    ------
    RecordsError, FileNotFoundError, OSError
        From a damaged or missing file; with several, whichever task fails first (not
        necessarily the first file in ``paths`` order, as in memory).
    """
    files = _paths(paths)
    ks = int(key_size)
    per = as_int(files_per_task, "files_per_task", 1)
    fan_in = as_int(split_every, "split_every", 2)
    bag = db.from_sequence(files, partition_size=per)
    merged = bag.reduction(
        partial(_count_partition, key_size=ks, n_threads=n_threads),
        partial(_merge_counters, key_size=ks),
        split_every=fan_in,
    )
    result = merged.apply(
        partial(_report, entity_type=entity_type, entity_id=entity_id, as_json=as_json)
    )
    return result.compute() if compute else result


def _read_partition(
    pieces: Iterable[tuple[str, tuple[int, int, int] | None]], as_bytes: bool, max_member_size: int
) -> list[dict]:
    out: list[dict] = []
    for path, byte_range in pieces:
        with deviceapps.read(
            path, as_bytes=as_bytes, max_member_size=max_member_size, byte_range=byte_range
        ) as reader:
            out.extend(reader)
    return out


def read_bag(
    paths,
    *,
    as_bytes=False,
    max_member_size=deviceapps.DEFAULT_MEMBER_LIMIT,
    partition_bytes=None,
):
    """DeviceApps files as a ``dask.bag`` of record dicts, one partition per file or per range
    of gzip members.

    Parameters
    ----------
    paths : path, glob pattern or iterable of paths
        Files written by :func:`hotloop.deviceapps.write` or any writer of the format.
    as_bytes, max_member_size
        As for :func:`hotloop.deviceapps.read`.
    partition_bytes : int, optional
        None (the default): one partition per file, and no file is opened until the tasks
        run. An int >= 1: each file is cut into ranges of whole gzip members of about this
        many compressed bytes (:func:`hotloop.deviceapps.member_ranges`), one partition each,
        so that several workers read one big file (e.g. ``64 << 20``, 64 MiB; a partition's
        records are held in memory as dicts, several times their compressed size). The
        files' member headers are read here, on the client, when the bag is made (24 bytes
        per member, nothing is inflated): a file changed after that is read with the old
        cuts, and fails. Only files from :func:`hotloop.deviceapps.write` are cut: another
        writer's file (e.g. from Python's :mod:`gzip`) is one partition whatever its size.

    Returns
    -------
    dask.bag.Bag
        The files' partitions in file order, each file's in member order: concatenated, they
        are the records of :func:`hotloop.deviceapps.read` of each file, record for record. A
        partition is read whole when its task runs (a list of dicts); errors are those of
        :func:`hotloop.deviceapps.read`, raised by the task that reads the damaged range (the
        message names the file and its byte range). A gzip member is never split, so no
        partition yields a record of a member that fails its check.

    Raises
    ------
    FileNotFoundError, OSError
        With ``partition_bytes``, when a file cannot be opened or scanned (now); without it,
        from the task that reads the file.
    TypeError, ValueError
        For a ``partition_bytes`` that is not None or an int >= 1.
    """
    files = _paths(paths)
    if partition_bytes is None:
        pieces = [(path, None) for path in files]
    else:
        target = as_int(partition_bytes, "partition_bytes", 1)
        pieces = [
            (path, byte_range)
            for path in files
            for byte_range in deviceapps.member_ranges(path, target)
        ]
    bag = db.from_sequence(pieces, partition_size=1)
    return bag.map_partitions(_read_partition, as_bytes, max_member_size)


def _stale_temporaries(path: str) -> list[str]:
    """Temporary files that a killed writer of `path` on this machine left behind.

    hotloop.deviceapps.write writes ``.NAME.PID.N.tmp`` next to ``path`` and renames it; a
    process killed mid-write cannot remove it. Only files whose writer process no longer
    exists are returned.
    """
    folder, name = os.path.split(os.path.realpath(path))
    stale = []
    for candidate in _glob.glob(os.path.join(_glob.escape(folder), f".{_glob.escape(name)}.*.tmp")):
        parts = os.path.basename(candidate)[len(name) + 2 :].split(".")
        if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) == os.getpid():
            continue
        try:
            os.kill(int(parts[0]), 0)
        except ProcessLookupError:
            stale.append(candidate)
        except PermissionError:
            pass  # another user's live process
    return stale


def _write_partition(part: Iterable[dict], where: list[str], options: dict, n_threads) -> list:
    # One task reads (or computes) the partition and writes it: the records stream into the
    # file as they come, never held as a list.
    (path,) = where
    deviceapps.write(part, path, n_threads=task_n_threads(n_threads), **options)
    for leftover in _stale_temporaries(path):
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass
    return [path]


def write_bag(
    bag,
    path_pattern,
    *,
    name_function: Callable[[int], str] = str,
    level=6,
    block_size=deviceapps.DEFAULT_BLOCK_SIZE,
    n_threads=None,
    compute=True,
) -> list[str] | db.Bag:
    """Write a ``dask.bag`` of record dicts as DeviceApps files, one file per partition.

    Parameters
    ----------
    bag : dask.bag.Bag
        Records as :func:`hotloop.deviceapps.write` takes them.
    path_pattern : str or os.PathLike
        The files' path with one ``*``, replaced by ``name_function(i)`` for partition ``i``
        (``"out/part-*.pb.gz"``).
    name_function : callable, default str
        Partition number to the text that replaces ``*`` (e.g. ``"{:04d}".format`` so that
        names sort in partition order).
    level, block_size
        As for :func:`hotloop.deviceapps.write`.
    n_threads : int, optional
        hotloop threads per task; default: :func:`task_n_threads` on the worker.
    compute : bool, default True
        Write now and return the paths; False returns the lazy ``dask.bag.Bag`` of the paths
        (one per partition).

    Returns
    -------
    list of str
        The paths written, in partition order.

    Notes
    -----
    Each partition is computed and written by one task, its records streamed into the file as
    they come. Each file is written atomically (:func:`hotloop.deviceapps.write` writes a
    temporary file and renames it when complete), so a file at one of these paths is always whole: a
    failed partition leaves its path as it was, and a partition retried after its worker died
    rewrites it completely. A worker killed in the middle of a write leaves its temporary
    file (``.NAME.PID.N.tmp``, hidden); the successful retry on the same machine removes it.
    """
    pattern = os.fspath(path_pattern)
    if pattern.count("*") != 1:
        raise ValueError(f"path_pattern must contain exactly one '*', got {pattern!r}")
    options = {"level": level, "block_size": block_size}
    paths = [pattern.replace("*", name_function(i)) for i in range(bag.npartitions)]
    if len(set(paths)) != len(paths):
        raise ValueError(f"name_function gives the same name to two partitions: {paths!r}")
    # One task per partition that depends on that partition alone, so that the optimizer fuses
    # the partition's own tasks into it: records produced lazily (a generator) are consumed by
    # the writer in the same task, whatever the scheduler.
    name = "write_bag-" + tokenize(bag, paths, options, n_threads)
    layer = {
        (name, i): (_write_partition, (bag.name, i), [path], options, n_threads)
        for i, path in enumerate(paths)
    }
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[bag])
    written = db.Bag(graph, name, len(paths))
    if not compute:
        return written
    return list(written.compute())
