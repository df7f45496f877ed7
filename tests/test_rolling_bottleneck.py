"""hotloop.move_* against bottleneck's move_* on the kinds of arrays bottleneck's own tests feed
its moving-window functions: NaN/inf patterns, all-NaN and tied windows, integers (with values
that overflow a 32-bit sum), byte-swapped input, empty and 1- to 4-D shapes with every axis,
transposes and non-contiguous views, every window and every min_count.

The order statistics must match bitwise. For the moments bottleneck's add/remove arithmetic
sets the tolerance (it is the less accurate of the two): the comparison allows a few of its
roundings per window, scaled by the magnitude of the values involved. As in bottleneck's tests,
infinities are replaced by a finite value for the moments, whose results differ by design once
an infinity has left a window (bottleneck returns NaN there, hotloop the statistic).
"""

from __future__ import annotations

import hotloop
import numpy as np
import pytest

bn = pytest.importorskip("bottleneck")

ORDER = ("min", "max", "argmin", "argmax", "median", "rank")
MOMENTS = ("sum", "mean", "std", "var")
FLOATS = (np.float64, np.float32)
INTS = (np.int64, np.int32)
DTYPES = FLOATS + INTS


def special_arrays(inf: float):
    """Short arrays of NaN, +-inf and ties, the cases where conventions differ."""
    nan = np.nan
    for dt in FLOATS:
        for values in (
            [inf, nan],
            [inf, -inf],
            [nan, 2, 3],
            [-inf, 2, 3],
            [nan, inf],
            [1, nan, nan, 2],
            [nan, nan, nan],
            [nan, 1, nan, nan, 4, nan],
            [0.0, -0.0, 0.0, -0.0],
        ):
            yield np.array(values, dtype=dt)
    yield np.array([1, 2, 3], dtype=">f8")  # byte-swapped
    yield np.array([3, 1, 2], dtype=">f4")
    yield np.array([2**31], dtype=np.int64)
    yield np.array([2**31, 2**31, -(2**31), 7], dtype=np.int64)  # sums beyond 32 bits
    for dt in DTYPES:
        yield np.array([1, 2, 3], dtype=dt) + dt(10**9)  # an offset: add/remove sums lose digits
        yield np.zeros(3, dtype=dt)
        yield np.ones(4, dtype=dt)
        yield np.array([[1, 2], [3, 4]], dtype=dt)[..., np.newaxis]
        yield np.array([[5, 2], [3, 5]], dtype=dt)[:, [1]]  # fancy-indexed column


SHAPES = {
    0: [(0,), (0, 0), (2, 0), (2, 0, 1)],
    8: [(8,)],
    12: [(2, 6), (3, 4)],
    16: [(2, 2, 4)],
    24: [(1, 2, 3, 4)],
}


def random_arrays(inf: float):
    """Shuffled 0..size-1 with about a fifth of the floats inf, a fifth NaN and a fifth negated,
    reshaped to 1- to 4-D shapes."""
    for seed in (11,):
        rng = np.random.default_rng(seed)
        for size, shapes in SHAPES.items():
            for dt in DTYPES:
                a = np.arange(size, dtype=dt)
                if a.dtype.kind == "f":
                    a[rng.random(size) < 0.2] = inf
                    a[rng.random(size) < 0.2] = np.nan
                    a[rng.random(size) < 0.2] *= -1
                rng.shuffle(a)
                for shape in shapes:
                    yield a.reshape(shape)


def strided_arrays():
    """Views with strides other than the item size, along every axis."""
    for dt in (np.float64, np.int64):
        a = np.arange(12, dtype=dt)[::-1] % 5  # ties, and windows that are not sorted
        for start in range(3):
            for step in (1, 2, -1):
                yield a[start::step]
        b = np.arange(12, dtype=dt).reshape(4, 3) * dt(3) % 7
        yield b[::2]
        yield b[:, ::2]
        yield b[::2][:, ::2]
        c = np.arange(24, dtype=dt).reshape(2, 3, 4) * dt(5) % 11
        for start in range(2):
            yield c[start::]
            yield c[:, start::]
            yield c[:, :, start::2]
            yield c[start:][::2]
            yield c[start:][::2][:, ::2]


def arrays(moments: bool):
    inf = 8.0 if moments else np.inf
    for a in (*special_arrays(inf), *random_arrays(inf), *strided_arrays()):
        yield a
        if a.ndim > 1:
            yield a.T


def tolerance(a, window, stat, dtype):
    """Allowed difference: 64 roundings of bottleneck's precision on the largest magnitude that
    its add/remove sums carry (window * max|a| for the sum, its square for the variance)."""
    eps = float(np.finfo(np.float32 if dtype == np.float32 else np.float64).eps)
    finite = np.abs(a[np.isfinite(a)].astype(np.float64)) if a.size else np.zeros(0)
    big = float(finite.max()) if finite.size else 0.0
    scale = {"sum": window * big, "mean": big, "var": window * big * big}.get(stat)
    if stat == "std":  # sqrt of the variance's absolute error
        return 8.0 * np.sqrt(64 * eps * window * big * big)
    return 64 * eps * scale


def all_infinite_or_nan(a, axis, window, i, sign):
    """Whether the window of output i (an index tuple along the moved axis) holds NaNs and,
    besides them, only sign * inf."""
    moved = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    row = moved[tuple(i[:-1])]
    w = row[max(0, i[-1] - window + 1) : i[-1] + 1]
    return bool(np.isnan(w).any()) and bool((w[~np.isnan(w)] == sign * np.inf).all())


def compare(stat, a, axis, window, min_count):
    got = getattr(hotloop, f"move_{stat}")(a, window, min_count, axis=axis)
    ref = getattr(bn, f"move_{stat}")(a, window, min_count, axis=axis)
    where = f"move_{stat} window={window} min_count={min_count} axis={axis} a={a!r}"
    # bottleneck keeps a byte-swapped dtype; hotloop returns native order (documented).
    assert got.dtype == ref.dtype.newbyteorder("=") and got.shape == ref.shape, where
    if stat in ORDER:
        if np.array_equal(got, ref, equal_nan=True):
            return
        # The one documented difference: where a window's values are NaN and +inf only (argmin;
        # -inf for argmax), bottleneck points at the latest NaN, hotloop at the latest inf.
        assert stat in ("argmin", "argmax"), (where, got, ref)
        sign = 1 if stat == "argmin" else -1
        moved_got, moved_ref = np.moveaxis(got, axis, -1), np.moveaxis(ref, axis, -1)
        for i in np.argwhere(~((moved_got == moved_ref) | np.isnan(moved_ref))):
            assert all_infinite_or_nan(a, axis, window, i, sign), (where, got, ref)
        return
    nan = np.isnan(ref)
    assert np.array_equal(np.isnan(got), nan), where
    diff = np.abs(got[~nan].astype(np.float64) - ref[~nan])
    assert (diff <= tolerance(a, window, stat, ref.dtype)).all(), (where, got, ref)


def windows_and_counts(length):
    """The shortest window, a middle one and the whole axis; min_count at its ends and None."""
    for window in sorted({w for w in (1, length // 2 + 1, length) if 1 <= w <= length}):
        for min_count in sorted({1, window}):
            yield window, min_count
        yield window, None


@pytest.mark.parametrize("stat", ORDER + MOMENTS)
def test_move_functions_on_bottlenecks_arrays(stat):
    calls = 0
    for a in arrays(stat in MOMENTS):
        for axis in range(-1, a.ndim):
            for window, min_count in windows_and_counts(a.shape[axis]):
                compare(stat, a, axis, window, min_count)
                calls += 1
    assert calls > 1000  # the generator did not go empty
