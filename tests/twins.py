"""Slow, obviously-correct twins of hotloop's kernels, used only by the tests.

The reductions are computed in exact rational arithmetic (fractions.Fraction), the rolling
windows with one NumPy long-double two-pass per window. Both follow the NaN/inf policy that
hotloop documents, written out case by case.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def exact_moments(values, ddof: int = 0, skipna: bool = False):
    """(count, mean, var) of finite values as exactly rounded floats, or the policy's NaN/inf.

    Returns floats: mean and var rounded once from their exact rational values.
    """
    vals = [float(v) for v in values]
    if skipna:
        vals = [v for v in vals if not math.isnan(v)]
    n = len(vals)
    if n == 0:
        return 0, math.nan, math.nan
    if any(math.isnan(v) for v in vals):
        return n, math.nan, math.nan
    pos = any(v == math.inf for v in vals)
    neg = any(v == -math.inf for v in vals)
    if pos or neg:
        mean = math.nan if (pos and neg) else (math.inf if pos else -math.inf)
        return n, mean, math.nan
    fx = [Fraction(v) for v in vals]
    m = sum(fx) / n
    if n <= ddof:
        return n, float(m), math.nan
    var = sum((a - m) ** 2 for a in fx) / (n - ddof)
    return n, float(m), float(var)


def rolling_twin(x, window: int, *, stat: str, ddof: int = 0, min_periods: int | None = None):
    """Per-window NumPy long-double computation of rolling mean/var/std along the last axis.

    Also returns, for the mean's error bound, the window standard deviation (NaN where
    undefined).
    """
    x = np.asarray(x)
    minp = window if min_periods is None else min_periods
    flat = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x[None, :]
    out = np.full(flat.shape, np.nan, dtype=np.float64)
    spread = np.full(flat.shape, np.nan, dtype=np.float64)
    for r, row in enumerate(flat):
        for i in range(row.shape[0]):
            w = row[max(0, i - window + 1) : i + 1].astype(np.longdouble)
            w = w[~np.isnan(w)]
            nobs = w.shape[0]
            if nobs == 0 or nobs < minp:
                continue
            pos, neg = bool(np.any(w == np.inf)), bool(np.any(w == -np.inf))
            if pos or neg:
                if stat == "mean":
                    out[r, i] = np.nan if (pos and neg) else (np.inf if pos else -np.inf)
                continue
            # Shift by a value of the window first: differences of doubles are exact in long
            # double, so a large common offset (1e12 + tiny noise) costs no accuracy.
            k = w[0]
            d = w - k
            md = d.sum() / nobs
            m = k + md
            m2 = ((d - md) ** 2).sum()
            spread[r, i] = float(np.sqrt(m2 / nobs))
            if stat == "mean":
                out[r, i] = float(m)
            elif nobs > ddof:
                var = m2 / (nobs - ddof)
                out[r, i] = float(var) if stat == "var" else float(np.sqrt(var))
    return out.reshape(x.shape), spread.reshape(x.shape)


def sliding_std_longdouble(x, window: int, chunk: int = 100_000) -> np.ndarray:
    """Two-pass population std of every full window, in long double, chunked (for large n)."""
    from numpy.lib.stride_tricks import sliding_window_view

    xl = np.asarray(x, dtype=np.longdouble)
    n_out = xl.shape[0] - window + 1
    ref = np.empty(n_out, dtype=np.longdouble)
    for s in range(0, n_out, chunk):
        part = xl[s : s + chunk + window - 1]
        v = sliding_window_view(part - part[0], window)  # exact shift, see rolling_twin
        m = v.mean(axis=1, keepdims=True)
        ref[s : s + v.shape[0]] = np.sqrt(((v - m) ** 2).mean(axis=1))
    return ref


def ulps(got: float, ref: float) -> float:
    """Distance between got and ref in units of the last place of ref."""
    if got == ref:
        return 0.0
    return abs(got - ref) / math.ulp(ref)


# ---------------------------------------------------------------------------------------------
# Shape (skew, kurt, sem) and pair (cov, corr) statistics from exact rationals: the central sums
# are exact Fractions, square roots are taken in 80-digit decimal arithmetic, and the result is
# rounded once.

SHAPE_NEED = {"skew": 3, "kurt": 4, "sem": 1}


def _dec(f: Fraction):
    from decimal import Decimal

    return Decimal(f.numerator) / Decimal(f.denominator)


def exact_shape(values, stat: str, ddof: int = 1) -> float:
    """skew, kurt (pandas' unbiased definitions) or sem of finite values, exactly rounded."""
    from decimal import Decimal, localcontext

    fr = [Fraction(float(v)) for v in values]
    n = len(fr)
    mean = sum(fr) / n
    dev = [v - mean for v in fr]
    m2 = sum(d * d for d in dev)
    with localcontext() as ctx:
        ctx.prec = 80
        if stat == "sem":
            if n <= ddof:
                return math.nan
            return float(_dec(m2 / ((n - ddof) * n)).sqrt())
        if m2 == 0 or n < SHAPE_NEED[stat]:
            return math.nan
        if stat == "skew":
            m3 = sum(d**3 for d in dev)
            r2 = _dec(m2)
            return float(Decimal(n) * Decimal(n - 1).sqrt() / (n - 2) * _dec(m3) / (r2 * r2.sqrt()))
        m4 = sum(d**4 for d in dev)
        return float(((n * n - 1) * n * m4 / (m2 * m2) - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3)))


def shape_twin(x, window: int, stat: str, *, ddof: int = 1, min_periods: int | None = None):
    """Exact rolling skew/kurt/sem of a 1-D series under hotloop's policy; also the count of
    finite values per window (for the error bound)."""
    x = np.asarray(x, dtype=np.float64)
    minp = window if min_periods is None else min_periods
    out = np.full(x.shape, np.nan)
    count = np.zeros(x.shape)
    for i in range(x.shape[0]):
        w = x[max(0, i - window + 1) : i + 1]
        w = w[~np.isnan(w)]
        count[i] = w.shape[0]
        if w.shape[0] < max(minp, SHAPE_NEED[stat]) or np.isinf(w).any():
            continue
        out[i] = exact_shape(w, stat, ddof)
    return out, count


def exact_pair(xs, ys, stat: str, ddof: int = 1) -> tuple[float, float]:
    """(cov or corr, sqrt(Mxx Myy) / (n - ddof)) of finite pairs, exactly rounded."""
    from decimal import localcontext

    fx = [Fraction(float(v)) for v in xs]
    fy = [Fraction(float(v)) for v in ys]
    n = len(fx)
    mx, my = sum(fx) / n, sum(fy) / n
    dx = [v - mx for v in fx]
    dy = [v - my for v in fy]
    cxy = sum(a * b for a, b in zip(dx, dy, strict=True))
    mxx = sum(a * a for a in dx)
    myy = sum(b * b for b in dy)
    with localcontext() as ctx:
        ctx.prec = 80
        g = _dec(mxx * myy).sqrt()
        if stat == "cov":
            if n <= ddof:
                return math.nan, math.nan
            cov = cxy / (n - ddof)
            try:
                value = float(cov)
            except OverflowError:  # beyond the largest double: inf, as the kernel gives
                value = math.inf if cov > 0 else -math.inf
            return value, float(g / (n - ddof))
        if mxx == 0 or myy == 0:
            return math.nan, math.nan
        return float(_dec(cxy) / g), 1.0


def pair_twin(x, y, window: int, stat: str, *, ddof: int = 1, min_periods: int | None = None):
    """Exact rolling cov/corr of two 1-D series: pairs with a NaN skipped, a window with an
    infinity NaN. Returns (values, scale of the error bound, count of finite pairs)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    minp = window if min_periods is None else min_periods
    out = np.full(x.shape, np.nan)
    scale = np.full(x.shape, np.nan)
    count = np.zeros(x.shape)
    for i in range(x.shape[0]):
        lo = max(0, i - window + 1)
        wx, wy = x[lo : i + 1], y[lo : i + 1]
        keep = ~(np.isnan(wx) | np.isnan(wy))
        wx, wy = wx[keep], wy[keep]
        count[i] = wx.shape[0]
        if wx.shape[0] < max(minp, 1) or np.isinf(wx).any() or np.isinf(wy).any():
            continue
        out[i], scale[i] = exact_pair(wx, wy, stat, ddof)
    return out, scale, count


def sliding_shape_longdouble(x, window: int, stat: str, ddof: int = 1) -> np.ndarray:
    """skew/kurt/sem of every full window (no NaN) in long double: deviations from the window's
    first value (exact), central sums corrected for the mean's rounding; for large n."""
    from numpy.lib.stride_tricks import sliding_window_view

    v = sliding_window_view(np.asarray(x, dtype=np.longdouble), window)
    d = v - v[:, :1]
    e = d - d.mean(axis=1, keepdims=True)
    n = np.longdouble(window)
    q = e.sum(axis=1) / n
    s2, s3, s4 = (e**2).sum(axis=1), (e**3).sum(axis=1), (e**4).sum(axis=1)
    m2 = s2 - n * q * q
    m3 = s3 - 3 * q * s2 + 2 * n * q**3
    m4 = s4 - 4 * q * s3 + 6 * q * q * s2 - 3 * n * q**4
    with np.errstate(invalid="ignore", divide="ignore"):
        if stat == "sem":
            return np.sqrt(m2 / ((n - ddof) * n))
        if stat == "skew":
            return n * np.sqrt(n - 1) / (n - 2) * m3 / (m2 * np.sqrt(m2))
        return ((n * n - 1) * (n * m4 / (m2 * m2)) - 3 * (n - 1) ** 2) / ((n - 2) * (n - 3))
