"""Rolling family: rolling std, sum, min, max and median against bottleneck, pandas and NumPy,
and the std's accuracy.

The data is 1e9 + N(0, 1), the input on which add/remove formulas lose digits; the accuracy
case measures how many, against a long-double two-pass reference. bottleneck's version is in
its contenders' labels.
"""

from __future__ import annotations

import bottleneck as bn
import hotloop
import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.harness import Accuracy, Case, Contender, at_least, at_most
from benchmarks.suites.moments import offset_normal, size

# Rows of windows processed at once by the NumPy sliding-window functions: ~16 MiB of float64.
CHUNK_VALUES = 1 << 21


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


BN = f"bottleneck {bn.__version__}"


def pandas_rolling(stat: str):
    def run(x: np.ndarray, window: int) -> pd.Series:
        return getattr(pd.Series(x).rolling(window), stat)()

    run.__name__ = f"pandas_rolling_{stat}"
    return run


def stat_case(stat: str, n: int, window: int) -> Case:
    """hotloop.rolling_<stat> (one and two threads) against bottleneck's move_<stat> and pandas."""
    fn = getattr(hotloop, f"rolling_{stat}")
    return Case(
        f"rolling_{stat} n={size(n)} w={window}",
        lambda: (offset_normal(n), window),
        [
            Contender(f"hotloop.rolling_{stat}, 1 thread", fn, {"n_threads": 1}, key="1 thread"),
            Contender(f"hotloop.rolling_{stat}, 2 threads", fn, {"n_threads": 2}, key="2 threads"),
        ],
        [
            Contender(f"{BN} move_{stat}", getattr(bn, f"move_{stat}")),
            Contender(f"pandas rolling(w).{stat}()", pandas_rolling(stat)),
        ],
    )


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


def cases(scale: str) -> list[Case | Accuracy]:
    if scale == "default":
        return [
            rolling_case(10**6, 50, with_numpy=False),
            *(stat_case(s, 10**6, 50) for s in ("sum", "min", "median")),
            accuracy_case(10**5, 50),
        ]
    sizes = (10**4, 10**5) if scale == "quick" else (10**6, 10**7)
    stats_n = 10**4 if scale == "quick" else 10**6
    return [
        *(rolling_case(n, w, with_numpy=n == sizes[0]) for n in sizes for w in (50, 100)),
        *(
            stat_case(s, stats_n, w)
            for s in ("sum", "min", "max", "median")
            for w in (10, 50, 1000)
        ),
        accuracy_case(2_000 if scale == "quick" else 10**6, 50),
    ]
