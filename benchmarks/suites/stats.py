"""Statistics family: std, rolling std and RunningStats against what a user would use instead.

Anchors: NumPy, bottleneck, pandas, the standard library and a plain-Python loop. The data of the
rolling cases is 1e9 + N(0, 1), the input on which one-pass and add/remove formulas lose digits;
the accuracy case measures how many.
"""

from __future__ import annotations

import math
import statistics

import bottleneck as bn
import hotloop
import numpy as np
import pandas as pd
from harness import Accuracy, Case, Contender, at_least, at_most
from numpy.lib.stride_tricks import sliding_window_view

SEED = 20240607
OFFSET = 1e9
# Rows of windows processed at once by the NumPy sliding-window functions: ~16 MiB of float64.
CHUNK_VALUES = 1 << 21


def offset_normal(n: int, seed: int = SEED) -> np.ndarray:
    """1e9 + standard normal noise, seeded."""
    return OFFSET + np.random.default_rng(seed).standard_normal(n)


def size(n: int) -> str:
    """10**6 as '1e6', anything else with thousands separators."""
    k = round(math.log10(n)) if n > 0 else 0
    return f"1e{k}" if 10**k == n else f"{n:,}"


# --------------------------------------------------------------------------------------------
# Anchors written out


def python_std(lst: list[float]) -> float:
    """The std a user writes by hand (population, two-pass)."""
    m = sum(lst) / len(lst)
    return math.sqrt(sum((v - m) ** 2 for v in lst) / len(lst))


def pandas_rolling_std(x: np.ndarray, window: int) -> pd.Series:
    return pd.Series(x).rolling(window).std(ddof=0)


def numpy_sliding_std(x: np.ndarray, window: int) -> np.ndarray:
    """``sliding_window_view(x, window).std(axis=1)``, padded with NaN to len(x) like the others.

    Done in blocks of windows: in one go NumPy would allocate a len(x) * window temporary
    (800 MB for n = 1e6, window 100). The arithmetic is the same.
    """
    out = np.full(x.shape, np.nan)
    windows = sliding_window_view(x, window)
    step = max(1, CHUNK_VALUES // window)
    for start in range(0, len(windows), step):
        block = windows[start : start + step]
        out[window - 1 + start : window - 1 + start + len(block)] = block.std(axis=1)
    return out


def longdouble_rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Reference: two-pass std of every full window in np.longdouble, in blocks of windows.

    On x86-64 long double has a 64-bit mantissa (eps 1.1e-19), and the corrected two-pass
    formula var = (sum d**2 - (sum d)**2 / w) / w with d = x - mean removes the mean's own
    rounding error, so the reference is good to ~1e-18 relative, far below the errors measured.
    """
    out = np.full(x.shape, np.nan, dtype=np.longdouble)
    windows = sliding_window_view(x, window)
    step = max(1, CHUNK_VALUES // window)
    for start in range(0, len(windows), step):
        block = windows[start : start + step].astype(np.longdouble)
        d = block - block.sum(axis=1, keepdims=True) / window
        var = ((d * d).sum(axis=1) - d.sum(axis=1) ** 2 / window) / window
        out[window - 1 + start : window - 1 + start + len(block)] = np.sqrt(var)
    return out


def hotloop_push(values: list[float]) -> tuple[float, float]:
    rs = hotloop.RunningStats()
    for v in values:
        rs.push(v)
    return rs.mean, rs.var()


def python_welford(values: list[float]) -> tuple[float, float]:
    """Welford's one-value-at-a-time update, as a user would write it."""
    n = 0
    mean = 0.0
    m2 = 0.0
    for v in values:
        n += 1
        delta = v - mean
        mean += delta / n
        m2 += delta * (v - mean)
    return mean, m2 / n


def hotloop_extend(x: np.ndarray) -> tuple[float, float]:
    rs = hotloop.RunningStats()
    rs.extend(x)
    return rs.mean, rs.var()


def numpy_mean_var(x: np.ndarray) -> tuple[float, float]:
    return float(np.mean(x)), float(np.var(x))


# --------------------------------------------------------------------------------------------
# Cases


def std_cases() -> list[Case]:
    n = 50

    def array() -> np.ndarray:
        return np.random.default_rng(SEED).standard_normal(n)

    def floats() -> list[float]:
        return array().tolist()

    return [
        Case(
            f"std of {n} float64 (ndarray)",
            array,
            Contender("hotloop.std(x)", hotloop.std),
            [
                Contender(
                    "bottleneck.nanstd(x)", bn.nanstd, require=at_least(1.0, "≤ bottleneck's time")
                ),
                Contender("np.std(x)", np.std, require=at_least(40)),
            ],
        ),
        Case(
            f"std of a list of {n} floats",
            floats,
            Contender("hotloop.std(list)", hotloop.std),
            [
                Contender("pure Python two-pass", python_std, require=at_least(10)),
                Contender("statistics.pstdev(list)", statistics.pstdev),
            ],
        ),
    ]


def rolling_case(n: int, window: int, with_numpy: bool) -> Case:
    anchors = [
        Contender(
            "bottleneck.move_std",
            bn.move_std,
            require={"1 thread": at_least(1.5), "2 threads": at_least(2.5)},
        ),
        Contender("pandas rolling(w).std(ddof=0)", pandas_rolling_std, require=at_least(10)),
    ]
    if with_numpy:
        anchors.append(Contender("NumPy sliding_window_view std", numpy_sliding_std))
    return Case(
        f"rolling_std n={size(n)} w={window}",
        lambda: (offset_normal(n), window),
        [
            Contender(
                "hotloop.rolling_std, 1 thread",
                hotloop.rolling_std,
                {"n_threads": 1},
                key="1 thread",
            ),
            Contender(
                "hotloop.rolling_std, 2 threads",
                hotloop.rolling_std,
                {"n_threads": 2},
                key="2 threads",
            ),
        ],
        anchors,
    )


def running_stats_cases(n_push: int, n_extend: int) -> list[Case]:
    return [
        Case(
            f"RunningStats.push, {size(n_push)} floats one by one",
            lambda: offset_normal(n_push).tolist(),
            Contender("hotloop RunningStats.push loop", hotloop_push),
            [Contender("pure Python Welford loop", python_welford)],
        ),
        Case(
            f"RunningStats.extend(ndarray of {size(n_extend)})",
            lambda: offset_normal(n_extend),
            Contender("hotloop RunningStats().extend(x)", hotloop_extend),
            [Contender("np.mean(x), np.var(x)", numpy_mean_var)],
        ),
    ]


def accuracy_case(n: int, window: int) -> Accuracy:
    return Accuracy(
        f"rolling std, x = 1e9 + N(0,1), n={size(n)}, window {window}",
        lambda: (offset_normal(n), window),
        Contender("np.longdouble corrected two-pass", longdouble_rolling_std),
        [
            Contender("hotloop.rolling_std", hotloop.rolling_std, require=at_most(1e-11)),
            Contender("bottleneck.move_std", bn.move_std, note="expected ≈ 5e-5"),
            Contender("pandas rolling(w).std(ddof=0)", pandas_rolling_std, note="expected ≈ 5e-5"),
            Contender("NumPy sliding_window_view std", numpy_sliding_std, note="two-pass"),
        ],
    )


def cases(quick: bool) -> list[Case | Accuracy]:
    sizes = (10**4, 10**5) if quick else (10**6, 10**7)
    return [
        *std_cases(),
        *(rolling_case(n, w, with_numpy=n == sizes[0]) for n in sizes for w in (50, 100)),
        *running_stats_cases(10**3 if quick else 10**5, 10**4 if quick else 10**6),
        accuracy_case(2_000 if quick else 10**6, 50),
    ]
