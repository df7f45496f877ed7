"""Rolling family: rolling std, sum, min, max and median against bottleneck, pandas and NumPy,
and the std's accuracy; skew, kurt, sem, cov and corr against pandas and polars, and their
accuracy where pandas or polars lose digits.

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
PD = f"pandas {pd.__version__}"
STATS = ("sum", "mean", "std", "var", "min", "max", "argmin", "argmax", "median", "rank")
# polars' Series.rolling_* counterparts (ddof=0 to match); polars is optional.
POLARS = {
    "sum": {},
    "mean": {},
    "std": {"ddof": 0},
    "var": {"ddof": 0},
    "min": {},
    "max": {},
    "median": {},
}


def pandas_rolling(stat: str):
    def run(x: np.ndarray, window: int) -> pd.Series:
        roll = pd.Series(x).rolling(window)
        if stat in ("std", "var"):
            return getattr(roll, stat)(ddof=0)
        if stat == "quantile":
            return roll.quantile(0.25)
        return getattr(roll, stat)()

    run.__name__ = f"pandas_rolling_{stat}"
    return run


def polars_rolling(pl, stat: str):
    kwargs = POLARS.get(stat, {})

    def run(x: np.ndarray, window: int):
        series = pl.Series(x)
        if stat == "quantile":
            return series.rolling_quantile(
                0.25, interpolation="linear", window_size=window
            ).to_numpy()
        return getattr(series, f"rolling_{stat}")(window, **kwargs).to_numpy()

    run.__name__ = f"polars_rolling_{stat}"
    return run


def stat_case(stat: str, n: int, window: int, peers: str = "all", centred: bool = False) -> Case:
    """hotloop.rolling_<stat> (one and two threads) against the peers that have the statistic:
    bottleneck's move_<stat>, polars' rolling_<stat> (when installed) and pandas. peers="fast"
    leaves pandas out where a faster peer has the statistic, and bottleneck's O(n * window)
    move_rank out for long windows (big runs). The data are 1e9 + N(0, 1), or N(0, 1) when
    centred: windows whose sums cross zero take another path in the sum and mean kernels.
    rolling_sum and rolling_mean must be 1.2 times as fast as bottleneck on one thread."""
    fn = getattr(hotloop, f"rolling_{stat}")
    kwargs = {"q": 0.25} if stat == "quantile" else {}
    anchors = []
    if hasattr(bn, f"move_{stat}") and (peers == "all" or stat != "rank" or window <= 50):
        require = {"1 thread": at_least(1.2)} if stat in ("sum", "mean") else None
        anchors.append(Contender(f"{BN} move_{stat}", getattr(bn, f"move_{stat}"), require=require))
    try:
        import polars as pl
    except ImportError:
        pl = None
    if pl is not None and (stat in POLARS or stat == "quantile"):
        anchors.append(
            Contender(f"polars {pl.__version__} rolling_{stat}", polars_rolling(pl, stat))
        )
    has_faster = stat in POLARS or hasattr(bn, f"move_{stat}")
    if stat not in ("argmin", "argmax", "rank") and (peers == "all" or not has_faster):
        label = f"{PD} rolling(w).{stat}({'0.25' if stat == 'quantile' else ''})"
        anchors.append(Contender(label, pandas_rolling(stat)))
    return Case(
        f"rolling_{stat} n={size(n)} w={window}{' N(0,1)' if centred else ''}",
        (lambda: (normal(n), window)) if centred else (lambda: (offset_normal(n), window)),
        [
            Contender(
                f"hotloop.rolling_{stat}, 1 thread", fn, {"n_threads": 1, **kwargs}, key="1 thread"
            ),
            Contender(
                f"hotloop.rolling_{stat}, 2 threads",
                fn,
                {"n_threads": 2, **kwargs},
                key="2 threads",
            ),
        ],
        anchors,
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


# --------------------------------------------------------------------------------------------
# Shape statistics (skew, kurt, sem) and pair statistics (cov, corr) against pandas and polars
# (polars has rolling_skew, rolling_kurtosis, rolling_cov and rolling_corr; no sem). polars'
# Series are built from the NumPy arrays outside the timed call, as a polars user has them.

SHAPES = ("skew", "kurt", "sem")
PAIRS = ("cov", "corr")


def _polars():
    try:
        import polars as pl
    except ImportError:
        return None
    return pl


def polars_shape(pl, stat: str):
    """polars' rolling skew/kurtosis with pandas' definitions (bias=False), on a polars Series."""
    if stat == "skew":
        return lambda s, window: s.rolling_skew(window, bias=False)
    if stat == "kurt" and hasattr(pl.Series, "rolling_kurtosis"):
        return lambda s, window: s.rolling_kurtosis(window, bias=False)
    return None


def polars_pair(pl, stat: str):
    fn = getattr(pl, f"rolling_{stat}", None)
    if fn is None:
        return None
    return lambda df, window: df.select(fn("x", "y", window_size=window)).to_series()


def pandas_pair(stat: str):
    def run(x: np.ndarray, y: np.ndarray, window: int) -> pd.Series:
        return getattr(pd.Series(x).rolling(window), stat)(pd.Series(y))

    run.__name__ = f"pandas_rolling_{stat}"
    return run


def second_series(n: int) -> np.ndarray:
    """Another 1e9 + N(0, 1) series, correlated with offset_normal(n) at about 0.3."""
    x = offset_normal(n)
    return 1e9 + 0.3 * (x - 1e9) + np.random.default_rng(7).standard_normal(n)


def shape_case(stat: str, n: int, window: int) -> Case:
    """hotloop.rolling_<stat> (one and two threads) against pandas and polars, same data."""
    pl = _polars()
    fn = getattr(hotloop, f"rolling_{stat}")
    pair = stat in PAIRS

    def setup():
        x = offset_normal(n)
        y = second_series(n) if pair else None
        polars_data = None
        if pl is not None:
            polars_data = pl.DataFrame({"x": x, "y": y}) if pair else pl.Series(x)
        return x, y, window, polars_data

    def ours(d):
        return (d[0], d[1], d[2]) if pair else (d[0], d[2])

    anchors = [
        Contender(
            f"pandas rolling(w).{stat}({'y' if pair else ''})",
            pandas_pair(stat) if pair else pandas_rolling(stat),
            args=ours,
        )
    ]
    peer = None if pl is None else (polars_pair(pl, stat) if pair else polars_shape(pl, stat))
    if peer is not None:
        what = f"pl.rolling_{stat}" if pair else f"Series.rolling_{stat}(bias=False)"
        anchors.append(
            Contender(f"polars {pl.__version__} {what}", peer, args=lambda d: (d[3], d[2]))
        )
    return Case(
        f"rolling_{stat} n={size(n)} w={window}",
        setup,
        [
            Contender(
                f"hotloop.rolling_{stat}, 1 thread", fn, {"n_threads": 1}, args=ours, key="1 thread"
            ),
            Contender(
                f"hotloop.rolling_{stat}, 2 threads",
                fn,
                {"n_threads": 2},
                args=ours,
                key="2 threads",
            ),
        ],
        anchors,
        agree=agree_near_zero,
    )


def agree_near_zero(a, b) -> bool:
    """close(), with an absolute tolerance too: skew, kurt and corr cross 0, where a relative
    test alone would call polars' 1e-6 errors on offset data a different computation."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-3, atol=1e-3, equal_nan=True))


def random_walk(n: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(SEED_WALK).standard_normal(n))


def lognormal(n: int, seed: int = 5) -> np.ndarray:
    return np.exp(3.0 * np.random.default_rng(seed).standard_normal(n))


SEED_WALK = 20240611


def longdouble_shape(stat: str):
    """Reference for skew/kurt/sem of every full window: deviations from the window's first
    value (exact in long double), central sums corrected for the mean's rounding."""

    def run(x: np.ndarray, window: int) -> np.ndarray:
        out = np.full(x.shape, np.nan)
        step = max(1, CHUNK_VALUES // window)
        n = np.longdouble(window)
        for start in range(0, len(x) - window + 1, step):
            v = sliding_window_view(x[start : start + step + window - 1], window)
            d = v.astype(np.longdouble) - v[:, :1]
            e = d - d.mean(axis=1, keepdims=True)
            q = e.sum(axis=1) / n
            s2, s3, s4 = (e**2).sum(axis=1), (e**3).sum(axis=1), (e**4).sum(axis=1)
            m2 = s2 - n * q * q
            m3 = s3 - 3 * q * s2 + 2 * n * q**3
            m4 = s4 - 4 * q * s3 + 6 * q * q * s2 - 3 * n * q**4
            with np.errstate(invalid="ignore", divide="ignore"):
                if stat == "sem":
                    r = np.sqrt(m2 / ((n - 1) * n))
                elif stat == "skew":
                    r = n * np.sqrt(n - 1) / (n - 2) * m3 / (m2 * np.sqrt(m2))
                else:
                    r = ((n * n - 1) * (n * m4 / (m2 * m2)) - 3 * (n - 1) ** 2) / (
                        (n - 2) * (n - 3)
                    )
            out[window - 1 + start : window - 1 + start + len(v)] = r
        return out

    return run


def longdouble_pair(stat: str):
    """Reference for cov/corr of every full window, and the scale of its error (sqrt(var_x
    var_y), 1 for corr): returned stacked, for pair_error."""

    def run(x: np.ndarray, y: np.ndarray, window: int) -> np.ndarray:
        out = np.full((2, len(x)), np.nan)
        step = max(1, CHUNK_VALUES // window)
        n = np.longdouble(window)
        for start in range(0, len(x) - window + 1, step):
            vx = sliding_window_view(x[start : start + step + window - 1], window)
            vy = sliding_window_view(y[start : start + step + window - 1], window)
            ex = vx.astype(np.longdouble) - vx[:, :1]
            ey = vy.astype(np.longdouble) - vy[:, :1]
            ex -= ex.mean(axis=1, keepdims=True)
            ey -= ey.mean(axis=1, keepdims=True)
            cxy = (ex * ey).sum(axis=1) - ex.sum(axis=1) * ey.sum(axis=1) / n
            mxx = (ex * ex).sum(axis=1) - ex.sum(axis=1) ** 2 / n
            myy = (ey * ey).sum(axis=1) - ey.sum(axis=1) ** 2 / n
            g = np.sqrt(mxx * myy)
            sl = slice(window - 1 + start, window - 1 + start + len(vx))
            out[0, sl] = cxy / (n - 1) if stat == "cov" else cxy / g
            out[1, sl] = g / (n - 1) if stat == "cov" else 1.0
        return out

    return run


def scaled_error(unit: float):
    """max |result - reference| / (|reference| + unit): relative error, or absolute error in the
    statistic's own units where it is near 0 (skew and kurt cross 0)."""

    def metric(result, reference) -> float:
        res = np.asarray(result, dtype=np.float64)
        keep = np.isfinite(reference)
        err = np.abs(res[keep] - reference[keep]) / (np.abs(reference[keep]) + unit)
        err[np.isnan(err)] = np.inf
        return float(err.max()) if err.size else float("nan")

    metric.__name__ = "scaled_error"
    return metric


def pair_error(result, reference) -> float:
    """max |result - cov| / sqrt(var_x var_y) (cov), or |result - corr| (corr)."""
    res = np.asarray(result, dtype=np.float64)
    keep = np.isfinite(reference[0])
    err = np.abs(res[keep] - reference[0][keep]) / reference[1][keep]
    err[np.isnan(err)] = np.inf
    return float(err.max()) if err.size else float("nan")


def shape_accuracy_case(stat: str, data: str, n: int, window: int) -> Accuracy:
    """hotloop, pandas and polars against a long-double reference on data where one of them
    loses digits: 1e9 + N(0, 1), a random walk (its window mean drifts), a lognormal series."""
    pl = _polars()
    pair = stat in PAIRS
    make = {"offset": offset_normal, "random walk": random_walk, "lognormal": lognormal}[data]

    def setup():
        x = make(n)
        if not pair:
            return x, None, window
        y = {
            "offset": second_series,
            "random walk": lambda m: random_walk(m)[::-1].copy(),
            "lognormal": lambda m: lognormal(m, seed=6),
        }[data](n)
        return x, y, window

    def ours(d):
        return (d[0], d[1], d[2]) if pair else (d[0], d[2])

    contenders = [
        Contender(
            f"hotloop.rolling_{stat}",
            getattr(hotloop, f"rolling_{stat}"),
            args=ours,
            require=at_most(1e-10),
        ),
        Contender(
            f"pandas rolling(w).{stat}",
            pandas_pair(stat) if pair else pandas_rolling(stat),
            args=ours,
        ),
    ]
    peer = None if pl is None else (polars_pair(pl, stat) if pair else polars_shape(pl, stat))
    if peer is not None:
        if pair:
            to_pl = lambda d: (pl.DataFrame({"x": d[0], "y": d[1]}), d[2])  # noqa: E731
        else:
            to_pl = lambda d: (pl.Series(d[0]), d[2])  # noqa: E731
        contenders.append(Contender(f"polars {pl.__version__}", peer, args=to_pl))
    if pair:
        metrics = {
            "max error (corr units)"
            if stat == "corr"
            else "max error / sqrt(var_x var_y)": pair_error
        }
        reference = Contender("np.longdouble corrected two-pass", longdouble_pair(stat), args=ours)
    else:
        unit = 0.0 if stat == "sem" else 1.0
        label = "max relative error" if stat == "sem" else f"max error / (|{stat}| + 1)"
        metrics = {label: scaled_error(unit)}
        reference = Contender("np.longdouble corrected two-pass", longdouble_shape(stat), args=ours)
    return Accuracy(
        f"rolling {stat}, x = {data}, n={size(n)}, window {window}",
        setup,
        reference,
        contenders,
        metrics=metrics,
    )


def cases(scale: str) -> list[Case | Accuracy]:
    if scale == "default":
        return [
            rolling_case(10**6, 50, with_numpy=False),
            *(stat_case(s, 10**6, 50) for s in ("sum", "min", "median")),
            stat_case("sum", 10**6, 50, centred=True),
            accuracy_case(10**5, 50),
            *(shape_case(s, 10**6, 50) for s in ("skew", "corr")),
            shape_accuracy_case("kurt", "random walk", 10**5, 50),
            shape_accuracy_case("corr", "offset", 10**5, 50),
        ]
    sizes = (10**4, 10**5) if scale == "quick" else (10**6, 10**7)
    if scale == "quick":
        stat_rows = [
            stat_case(s, 10**4, w) for s in ("sum", "min", "max", "median") for w in (10, 50, 1000)
        ]
    else:
        # Every statistic at the sizes and windows the targets name, against its fastest peers.
        stat_rows = [
            stat_case(s, n, w, peers="fast")
            for n in sizes
            for s in (*STATS, "quantile", "count")
            for w in (10, 50, 1000)
        ]
        stat_rows += [
            stat_case(s, 10**6, w, peers="fast", centred=True)
            for s in ("sum", "mean")
            for w in (10, 50, 1000)
        ]
        # Windows of two and three values, where running sums' error bounds fail most often.
        stat_rows += [
            stat_case(s, 10**6, w, peers="fast", centred=True)
            for s in ("sum", "mean", "var", "std")
            for w in (2, 3)
        ]
    return [
        *(rolling_case(n, w, with_numpy=n == sizes[0]) for n in sizes for w in (50, 100)),
        *stat_rows,
        accuracy_case(2_000 if scale == "quick" else 10**6, 50),
        *(shape_case(s, sizes[0], w) for s in (*SHAPES, *PAIRS) for w in (10, 50, 1000)),
        *shape_accuracy_cases(10_000 if scale == "quick" else 10**5),
    ]


def shape_accuracy_cases(n: int) -> list[Accuracy]:
    return [
        shape_accuracy_case("skew", "offset", n, 10),
        shape_accuracy_case("kurt", "random walk", n, 50),
        shape_accuracy_case("sem", "offset", n, 10),
        shape_accuracy_case("cov", "lognormal", n, 10),
        shape_accuracy_case("corr", "lognormal", n, 10),
        shape_accuracy_case("corr", "offset", n, 50),
    ]


# --------------------------------------------------------------------------------------------
# Exponentially weighted statistics against numbagg, pandas and polars (ewm mean/std/var exist
# in all three). Timings on N(0, 1) data: numbagg's power sums return garbage on 1e9 + noise,
# which would fail the harness's agreement check; the accuracy case shows that instead.

EWM_SPAN = 20
EWM_ALPHA = 2.0 / (EWM_SPAN + 1)


def normal(n: int) -> np.ndarray:
    return np.random.default_rng(20261203).standard_normal(n)


def ewm_peers(stat: str) -> list[Contender]:
    """numbagg, pandas and polars computing pandas' ewm(span=EWM_SPAN).<stat>()."""
    peers = []
    try:
        import numbagg

        peers.append(
            Contender(
                f"numbagg {numbagg.__version__} move_exp_nan{stat}",
                getattr(numbagg, f"move_exp_nan{stat}"),
                {"alpha": EWM_ALPHA},
                require={"1 thread": at_least(1.0)},
            )
        )
    except ImportError:
        pass

    def pandas_ewm(x: np.ndarray) -> np.ndarray:
        return getattr(pd.Series(x).ewm(span=EWM_SPAN), stat)().to_numpy()

    peers.append(
        Contender(f"pandas ewm(span).{stat}()", pandas_ewm, require={"1 thread": at_least(1.0)})
    )
    try:
        import polars as pl

        def polars_ewm(x: np.ndarray) -> np.ndarray:
            return getattr(pl.Series(x), f"ewm_{stat}")(span=EWM_SPAN).to_numpy()

        peers.append(
            Contender(
                f"polars {pl.__version__} ewm_{stat}(span)",
                polars_ewm,
                require={"1 thread": at_least(1.0)},
            )
        )
    except ImportError:
        pass
    return peers


def ewm_case(stat: str, n: int) -> Case:
    fn = getattr(hotloop, f"ewm_{stat}")
    return Case(
        f"ewm_{stat} n={size(n)} span={EWM_SPAN}",
        lambda: normal(n),
        [
            Contender(
                f"hotloop.ewm_{stat}, 1 thread",
                fn,
                {"span": EWM_SPAN, "n_threads": 1},
                key="1 thread",
            ),
        ],
        ewm_peers(stat),
    )


def ewm_longdouble_std(x: np.ndarray) -> np.ndarray:
    """Reference: ewm(alpha).std() (adjust=True, unbiased) from weighted power sums in long
    double of the values shifted by their mean, by blocks (s[b+j] = f**j (f s[b-1] +
    cumsum(f**-i v))): good to ~1e-17 on this data."""
    f = np.longdouble(1.0 - EWM_ALPHA)
    d = x.astype(np.longdouble)
    d -= d.mean()

    def sums(v, g):
        out = np.empty(len(v), np.longdouble)
        prev = np.longdouble(0)
        for b in range(0, len(v), 2048):
            seg = v[b : b + 2048]
            j = np.arange(len(seg), dtype=np.longdouble)
            out[b : b + 2048] = g**j * (g * prev + np.cumsum(seg * g**-j))
            prev = out[b + len(seg) - 1]
        return out

    ones = np.ones(len(d), np.longdouble)
    w = sums(ones, f)
    m = sums(d, f) / w
    with np.errstate(divide="ignore", invalid="ignore"):  # the first: 0 / 0, NaN as pandas
        var = (sums(d * d, f) / w - m * m) / (1 - sums(ones, f * f) / (w * w))
    return np.sqrt(var)


def ewm_accuracy_case(n: int) -> Accuracy:
    contenders = [
        Contender("hotloop.ewm_std", hotloop.ewm_std, {"alpha": EWM_ALPHA}, require=at_most(1e-12)),
        Contender(
            "pandas ewm(alpha).std()",
            lambda x: pd.Series(x).ewm(alpha=EWM_ALPHA).std().to_numpy(),
            note="West's update, no shift",
        ),
    ]
    try:
        import numbagg

        def numbagg_std(x):
            with np.errstate(invalid="ignore"):
                return numbagg.move_exp_nanstd(x, alpha=EWM_ALPHA)

        contenders.append(Contender("numbagg move_exp_nanstd", numbagg_std, note="power sums"))
    except ImportError:
        pass
    try:
        import polars as pl

        contenders.append(
            Contender(
                "polars ewm_std(alpha)",
                lambda x: pl.Series(x).ewm_std(alpha=EWM_ALPHA).to_numpy(),
            )
        )
    except ImportError:
        pass
    return Accuracy(
        f"ewm std, x = 1e9 + N(0,1), n={size(n)}, alpha 2/21",
        lambda: offset_normal(n),
        Contender("np.longdouble shifted power sums", ewm_longdouble_std),
        contenders,
    )


def ewm_cases(scale: str) -> list[Case | Accuracy]:
    if scale == "default":
        return [ewm_case("mean", 10**6), ewm_case("std", 10**6), ewm_accuracy_case(10**5)]
    sizes = (10**4, 10**5) if scale == "quick" else (10**6, 10**7)
    return [
        *(ewm_case(stat, n) for n in sizes for stat in ("mean", "var", "std")),
        ewm_accuracy_case(2_000 if scale == "quick" else 10**6),
    ]


# The family's cases: the windowed ones above, then the exponentially weighted ones.
window_cases = cases


def cases(scale: str) -> list[Case | Accuracy]:
    return window_cases(scale) + ewm_cases(scale)
