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
