"""Moments family: std and RunningStats against what a user would use instead.

Anchors: NumPy, bottleneck, the standard library and plain-Python loops, on 50 numbers (where the
cost of the call is what counts) and on streams of 1e9 + N(0, 1).
"""

from __future__ import annotations

import math
import statistics

import bottleneck as bn
import hotloop
import numpy as np

from benchmarks.harness import Case, Contender, at_least

SEED = 20240607
OFFSET = 1e9


def offset_normal(n: int, seed: int = SEED) -> np.ndarray:
    """1e9 + standard normal noise, seeded: the input on which one-pass formulas lose digits."""
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


def cases(scale: str) -> list[Case]:
    if scale == "default":
        return std_cases()
    quick = scale == "quick"
    return [
        *std_cases(),
        *running_stats_cases(10**3 if quick else 10**5, 10**4 if quick else 10**6),
    ]
