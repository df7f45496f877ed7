"""The moments family against exact rational arithmetic: hotloop.mean/var/std, their
NaN-skipping variants, and RunningStats (push, extend, merge, pickling)."""

import copy
import itertools
import math
import pickle
import sys
import threading
import warnings
from fractions import Fraction

import hotloop
import numpy as np
import pytest
from hotloop import RunningStats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from interrupts import interrupted_after
from twins import exact_moments, ulps

MAX_ULPS = 4  # the bound the docstrings state
TINY = 5e-324  # the smallest subnormal: one ulp of any result below 2.2e-308


def to_float(q):
    """The float nearest to the rational q, or +-inf beyond the double range."""
    try:
        return float(q)
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def exact_sqrt(q):
    """sqrt of the rational q >= 0 to ~2**-60 relative, then rounded once to a float.

    Formed from the exact variance (not from its float, which may be subnormal or inf).
    """
    if q == 0:
        return 0.0
    k = max(0, (130 - (q.numerator.bit_length() - q.denominator.bit_length())) // 2 + 1)
    return to_float(Fraction(math.isqrt(q.numerator * 4**k // q.denominator), 2**k))


def exact_stats(values, ddof, skipna):
    """{"mean", "var", "std"}: exact rationals rounded once, or the documented NaN/inf policy."""
    vals = [float(v) for v in values]
    if skipna:
        vals = [v for v in vals if not math.isnan(v)]
    if not vals or not all(math.isfinite(v) for v in vals):
        _, m, v = exact_moments(vals, ddof, False)
        return {"mean": m, "var": v, "std": v}
    fx = [Fraction(v) for v in vals]
    n = len(fx)
    m = sum(fx) / n
    if n <= ddof:
        return {"mean": to_float(m), "var": math.nan, "std": math.nan}
    var = sum((a - m) ** 2 for a in fx) / (n - ddof)
    return {"mean": to_float(m), "var": to_float(var), "std": exact_sqrt(var)}


def expected(stat, values, ddof, skipna):
    return exact_stats(values, ddof, skipna)[stat]


def call(fn, stat, x, ddof):
    return fn(x) if stat == "mean" else fn(x, ddof=ddof)


def assert_close_ulps(got, ref):
    if math.isnan(ref):
        assert math.isnan(got), (got, ref)
    elif math.isinf(ref) or ref == 0.0:
        assert got == ref, (got, ref)
    else:
        assert ulps(got, ref) <= MAX_ULPS, (got, ref, ulps(got, ref))


GENERATORS = {
    "normal": lambda r, n: r.standard_normal(n),
    "offset_1e9": lambda r, n: 1e9 + r.standard_normal(n),
    "mixed_scales": lambda r, n: r.standard_normal(n) * 10.0 ** r.integers(-12, 12, n),
    "cancelling": lambda r, n: np.concatenate(
        [r.standard_normal(n // 2) * 1e8, -r.standard_normal(n - n // 2) * 1e8]
    ),
    "integers": lambda r, n: r.integers(-1000, 1000, n).astype(np.float64),
    "tiny": lambda r, n: r.standard_normal(n) * 1e-300,
    # The ends of the double range: sums and squares overflow, squares underflow.
    "huge": lambda r, n: r.uniform(-1.0, 1.0, n) * 1.7e308,
    "huge_offset": lambda r, n: 1.5e308 + r.standard_normal(n) * 1e292,
    "huge_negative": lambda r, n: -1.7e308 + np.abs(r.standard_normal(n)) * 1e300,
    "spread_1e160": lambda r, n: r.standard_normal(n) * 1e160,
    "below_1e-155": lambda r, n: r.standard_normal(n) * 1e-160,
    "tiny_offset": lambda r, n: 1e-300 + r.standard_normal(n) * 1e-310,
    "subnormal": lambda r, n: r.integers(-(10**6), 10**6, n) * TINY,
    "subnormal_positive": lambda r, n: r.integers(0, 1000, n) * TINY,
    # ... and mixed with normal values.
    "mix_huge_normal": lambda r, n: np.where(
        r.random(n) < 0.5, r.standard_normal(n) * 1e300, r.standard_normal(n)
    ),
    "mix_tiny_normal": lambda r, n: np.where(
        r.random(n) < 0.5, r.standard_normal(n) * 1e-200, r.standard_normal(n)
    ),
    "mix_huge_tiny": lambda r, n: np.where(
        r.random(n) < 0.5, r.standard_normal(n) * 1e300, r.standard_normal(n) * 1e-300
    ),
    "mix_tiny_subnormal": lambda r, n: np.where(
        r.random(n) < 0.5, r.standard_normal(n) * 1e-300, r.integers(-99, 99, n) * TINY
    ),
}
# Around every lane width and unroll of the kernels (8 lanes) and the stack buffer (256).
SIZES = [1, 2, 3, 7, 8, 9, 15, 16, 17, 50, 100, 255, 256, 257, 1000]


@pytest.mark.parametrize("gen", sorted(GENERATORS))
@pytest.mark.parametrize("n", SIZES)
def test_matches_exact_arithmetic(reduction, gen, n, rng):
    stat, skipna, fn = reduction
    x = GENERATORS[gen](rng, n)
    for ddof in (0, 1):
        if ddof >= n:
            continue
        ref = expected(stat, x, ddof, skipna)
        assert_close_ulps(call(fn, stat, x, ddof), ref)
        assert_close_ulps(call(fn, stat, x.tolist(), ddof), ref)


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 120),
        elements=st.floats(-1e150, 1e150, allow_nan=False, allow_infinity=False),
    ),
    st.integers(0, 2),
)
def test_property_exact(reduction, x, ddof):
    stat, skipna, fn = reduction
    if ddof >= x.shape[0]:
        return
    assert_close_ulps(call(fn, stat, x, ddof), expected(stat, x, ddof, skipna))


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    ),
    st.integers(0, 2),
)
def test_property_exact_over_the_whole_range(reduction, x, ddof):
    """Any finite doubles, subnormals to 1.8e308, against exact rationals."""
    stat, skipna, fn = reduction
    if ddof >= x.shape[0]:
        return
    assert_close_ulps(call(fn, stat, x, ddof), expected(stat, x, ddof, skipna))


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 60),
        elements=st.one_of(
            st.floats(-1e6, 1e6),
            st.sampled_from([np.nan, np.inf, -np.inf]),
        ),
    )
)
def test_property_nonfinite_policy(reduction, x):
    stat, skipna, fn = reduction
    ref = expected(stat, x, 0, skipna)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = call(fn, stat, x, 0)
    assert_close_ulps(got, ref)


def test_float32_accumulates_in_double(reduction, rng):
    stat, skipna, fn = reduction
    x32 = (1e4 + rng.standard_normal(1001)).astype(np.float32)
    ref = expected(stat, x32.astype(np.float64), 1, skipna)
    got = call(fn, stat, x32, 1)
    assert isinstance(got, float)
    assert_close_ulps(got, ref)


@pytest.mark.parametrize("step", [2, 3, -1, -4])
def test_strided_and_readonly(reduction, rng, step):
    stat, skipna, fn = reduction
    base = rng.standard_normal(999)
    view = base[::step]
    view.flags.writeable = False
    ref = expected(stat, view, 1, skipna)
    assert_close_ulps(call(fn, stat, view, 1), ref)


def test_non_native_byte_order_and_unaligned_stride(reduction, rng):
    stat, skipna, fn = reduction
    x = rng.standard_normal(100)
    ref = expected(stat, x, 0, skipna)
    assert_close_ulps(call(fn, stat, x.astype(">f8"), 0), ref)
    rec = np.zeros(100, dtype=[("a", "u1"), ("v", "<f8")])  # packed: 9-byte stride
    rec["v"] = x
    assert rec["v"].strides == (9,)
    assert_close_ulps(call(fn, stat, rec["v"], 0), ref)


def test_equal_values_have_zero_variance():
    for v in (0.1, 1e9 + 0.1, -3.7e-200, 123456789.123):
        for n in (1, 2, 3, 9, 50, 1001):
            x = np.full(n, v)
            assert hotloop.var(x) == 0.0
            assert hotloop.std(list(x)) == 0.0
            assert hotloop.mean(x) == v
            assert hotloop.nanstd(np.append(x, np.nan)) == 0.0


def test_lists_of_ints_bools_and_numpy_scalars():
    ref = expected("std", [1, 2, 3, 4, 10], 0, False)
    assert hotloop.std([1, 2, 3, 4, 10]) == pytest.approx(ref, rel=1e-15)
    assert hotloop.std((1, 2.0, np.float32(3), np.int64(4), 10)) == pytest.approx(ref, rel=1e-7)
    assert hotloop.mean([True, False, True, True]) == 0.75
    big = 2**60 + 1  # not exactly representable: converted like float(big)
    assert hotloop.mean([big, big]) == float(big)


def test_numpy_policy_for_nan_and_inf():
    assert math.isnan(hotloop.std([1.0, math.nan, 3.0]))
    assert hotloop.mean([1.0, math.inf]) == math.inf
    assert hotloop.mean([1.0, -math.inf]) == -math.inf
    assert math.isnan(hotloop.mean([math.inf, -math.inf]))
    assert math.isnan(hotloop.var([1.0, math.inf]))
    assert hotloop.nanmean([1.0, math.nan, 3.0]) == 2.0
    assert hotloop.nanvar([1.0, math.nan, 3.0]) == 1.0
    assert hotloop.nanmean([math.nan, math.inf]) == math.inf
    # Same answers as NumPy on the same data.
    x = np.array([1.0, 2.0, math.inf, 4.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(np.var(x)) and math.isnan(hotloop.var(x))
    assert np.mean(x) == hotloop.mean(x)


def test_empty_input_warns_and_returns_nan(reduction):
    _, _, fn = reduction
    for empty in ([], (), np.array([]), np.array([], dtype=np.float32)):
        with pytest.warns(RuntimeWarning, match="empty"):
            assert math.isnan(fn(empty))


def test_all_nan_with_skipna_warns():
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        assert math.isnan(hotloop.nanstd([math.nan, math.nan]))
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        assert math.isnan(hotloop.nanvar([1.0, math.nan], ddof=1))
    with pytest.warns(RuntimeWarning):
        assert math.isnan(hotloop.nanmean([math.nan]))


def test_large_inputs_release_the_gil_and_agree(rng):
    x = 1e6 + rng.standard_normal(200_000)
    ref = float(np.std(x.astype(np.longdouble)))
    assert hotloop.std(x) == pytest.approx(ref, rel=1e-14)
    assert hotloop.std(x.tolist()) == hotloop.std(x)


@pytest.mark.parametrize(
    ("x", "kwargs", "exc", "match"),
    [
        (np.arange(5), {}, TypeError, "float64 or float32"),
        (np.arange(5.0).astype(np.complex128), {}, TypeError, "float64 or float32"),
        (np.ones((2, 3)), {}, ValueError, "1-D"),
        (np.float64(3.0), {}, ValueError, "1-D"),
        (["1.5", 2.0], {}, TypeError, r"x\[0\] must be a real number, got str"),
        ([1.0, None], {}, TypeError, r"x\[1\] must be a real number, got NoneType"),
        ([1.0, 2j], {}, TypeError, r"x\[1\]"),
        ([10**400], {}, OverflowError, r"x\[0\] is too large"),
        ("abc", {}, TypeError, "float64 or float32"),
        (None, {}, TypeError, "float64 or float32"),
        ([1.0, 2.0], {"ddof": -1}, ValueError, "ddof must be >= 0, got -1"),
        (
            [1.0, 2.0],
            {"ddof": 2},
            ValueError,
            r"ddof=2 must be less than the number of values \(2\)",
        ),
        ([1.0, 2.0], {"ddof": 1.0}, TypeError, "ddof must be an int, got float"),
        ([1.0, 2.0], {"ddof": True}, TypeError, "ddof must be an int, got bool"),
    ],
)
def test_bad_input(x, kwargs, exc, match):
    for fn in (hotloop.std, hotloop.var, hotloop.nanstd, hotloop.nanvar):
        with pytest.raises(exc, match=match):
            fn(x, **kwargs)
    if not kwargs:
        for fn in (hotloop.mean, hotloop.nanmean):
            with pytest.raises(exc, match=match):
                fn(x)


def test_sequence_mutated_while_read():
    class Shrinks:
        def __init__(self, owner):
            self.owner = owner

        def __float__(self):
            self.owner.clear()
            return 1.0

    lst = [1.0, 2.0]
    lst.insert(1, Shrinks(lst))
    with pytest.raises(ValueError, match="changed size"):
        hotloop.std(lst)


# --------------------------------------------------------------------------------------------
# RunningStats


def assert_matches(rs, values, *, rel=1e-14, skipna=False):
    n, mean, var = exact_moments(values, 0, skipna)
    assert rs.count == n
    for got, ref in ((rs.mean, mean), (rs.var(), var)):
        if math.isnan(ref):
            assert math.isnan(got)
        elif math.isinf(ref) or ref == 0.0:
            assert got == ref
        else:
            assert got == pytest.approx(ref, rel=rel, abs=0)


def test_push_one_by_one_at_large_offset(rng):
    values = (1e9 + rng.standard_normal(20_000)).tolist()
    rs = RunningStats()
    for v in values:
        rs.push(v)
    assert_matches(rs, values)


@pytest.mark.parametrize("kind", ["ndarray", "float32", "strided", "list", "tuple", "generator"])
def test_extend_inputs(kind, rng):
    base = 1e6 + rng.standard_normal(3001)
    if kind == "float32":
        data, values = base.astype(np.float32), base.astype(np.float32).astype(np.float64)
    elif kind == "strided":
        data, values = base[::-3], base[::-3]
    elif kind == "list":
        data, values = base.tolist(), base
    elif kind == "tuple":
        data, values = tuple(base.tolist()), base
    elif kind == "generator":
        data, values = (float(v) for v in base), base
    else:
        data, values = base, base
    rs = RunningStats()
    rs.extend(data)
    assert_matches(rs, values)


def test_generator_is_streamed_in_constant_memory():
    rs = RunningStats()
    rs.extend(float(i % 7) for i in range(300_000))  # chunks of 1024, nothing materialised
    assert rs.count == 300_000
    assert rs.mean == pytest.approx(sum(i % 7 for i in range(300_000)) / 300_000, rel=1e-15)


@given(
    st.lists(st.floats(-1e12, 1e12), min_size=0, max_size=200),
    st.lists(st.integers(0, 200), max_size=6),
)
def test_merge_of_any_split_equals_whole(values, cuts):
    cuts = sorted({0, len(values), *[c for c in cuts if c <= len(values)]})
    parts = []
    for a, b in itertools.pairwise(cuts):
        p = RunningStats()
        p.extend(np.array(values[a:b], dtype=np.float64))
        parts.append(p)
    total = RunningStats()
    for p in parts:
        total.merge(p)
    assert_matches(total, values, rel=1e-12)


def test_nonfinite_policy():
    rs = RunningStats()
    rs.extend([1.0, 2.0, math.nan])
    assert rs.count == 3 and math.isnan(rs.mean) and math.isnan(rs.std())
    rs = RunningStats(skipna=True)
    rs.extend([1.0, math.nan, 3.0])
    rs.push(math.nan)
    assert rs.count == 2 and rs.mean == 2.0 and rs.var() == 1.0
    rs = RunningStats()
    rs.extend(np.array([1.0, math.inf, 2.0]))
    assert rs.count == 3 and rs.mean == math.inf and math.isnan(rs.var())
    rs.push(-math.inf)
    assert math.isnan(rs.mean)


def test_empty_and_ddof():
    rs = RunningStats()
    assert rs.count == 0 and math.isnan(rs.mean) and math.isnan(rs.var())
    rs.push(5)
    assert rs.mean == 5.0 and rs.var() == 0.0 and math.isnan(rs.var(ddof=1))
    rs.push(7)
    assert rs.var(ddof=1) == 2.0 and rs.std(1) == math.sqrt(2.0)
    with pytest.raises(ValueError, match="ddof must be >= 0"):
        rs.var(-1)
    with pytest.raises(TypeError, match="ddof must be an int"):
        rs.std(0.5)


def test_running_equal_values_have_zero_variance():
    rs = RunningStats()
    for _ in range(1000):
        rs.push(0.1)
    assert rs.var() == 0.0 and rs.mean == 0.1


def test_pickle_copy_and_repr(rng):
    rs = RunningStats()
    rs.extend(1e9 + rng.standard_normal(1000))
    rs.push(math.inf)
    for clone in (pickle.loads(pickle.dumps(rs)), copy.copy(rs), copy.deepcopy(rs)):
        assert clone.count == rs.count
        assert clone.__reduce__() == rs.__reduce__()  # the whole state, bit for bit
    r = repr(rs)
    assert r.startswith("RunningStats(count=1001, mean=inf, std=nan")
    assert "skipna" in repr(RunningStats(skipna=True))


def test_bad_input_leaves_state_unchanged():
    rs = RunningStats()
    rs.extend([1.0, 2.0])
    before = rs.__reduce__()
    with pytest.raises(TypeError, match=r"values\[2\] must be a real number"):
        rs.extend(iter([3.0, 4.0, "five"]))
    with pytest.raises(TypeError, match="float64 or float32"):
        rs.extend(np.arange(3))
    with pytest.raises(ValueError, match="1-D"):
        rs.extend(np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"push: value must be a real number, got str"):
        rs.push("1.0")
    with pytest.raises(TypeError):
        rs.merge([1.0])
    with pytest.raises(ValueError, match="cannot merge skipna=True"):
        rs.merge(RunningStats(skipna=True))
    assert rs.__reduce__() == before


def test_corrupt_pickle_state_is_refused():
    rs = RunningStats()
    fn, args = rs.__reduce__()
    bad = list(args)
    bad[1] = -5
    with pytest.raises(ValueError, match="negative count"):
        fn(*bad)


# --------------------------------------------------------------------------------------------
# The ends of the double range


def test_range_regressions():
    """Cases that overflowed (mean -inf, variance NaN) or underflowed before the scaling."""
    assert hotloop.mean([1e308, -1e308, 1e308]) == to_float(Fraction(1e308) / 3)
    assert hotloop.nanmean([1e308, math.nan, -1e308, 1e308]) == to_float(Fraction(1e308) / 3)
    assert hotloop.mean([1.7e308, 1.6e308, 1.75e308]) == expected(
        "mean", [1.7e308, 1.6e308, 1.75e308], 0, False
    )
    # A variance above DBL_MAX is inf; the standard deviation is not, unless it exceeds it too.
    assert hotloop.var([1.5e308, -1.5e308]) == math.inf
    assert hotloop.std([1.5e308, -1.5e308]) == 1.5e308
    assert hotloop.std([1.5e308, -1.5e308], ddof=1) == math.inf  # sqrt(2) * 1.5e308
    assert hotloop.std([1e200, -1e200]) == 1e200
    # M2 overflows while the variance does not: 1000 deviations of 1e153.
    x = np.tile([1e153, -1e153], 500)
    assert hotloop.var(x) == pytest.approx(1e306, rel=1e-15)
    # Squares that underflow: the standard deviation keeps all its digits.
    assert hotloop.std([1e-170, -1e-170]) == 1e-170
    assert hotloop.std([TINY, -TINY]) == TINY
    assert hotloop.std([3 * TINY, -3 * TINY, 3 * TINY, -3 * TINY], ddof=0) == 3 * TINY
    # The policy holds even where the finite values overflow: +inf wins over -1e308 - 1e308.
    assert hotloop.mean([math.inf, 1e308, -1e308, -1e308]) == math.inf
    assert hotloop.mean([-math.inf, 1e308, 1e308]) == -math.inf
    assert math.isnan(hotloop.mean([math.inf, -1e308, 1e308, -math.inf]))
    assert math.isnan(hotloop.var([1e308, -1e308, math.nan]))
    assert hotloop.nanvar([1e308, -1e308, math.nan]) == math.inf
    for fn in (hotloop.var, hotloop.std, hotloop.nanvar):
        assert fn(np.full(9, -3.7e-320)) == 0.0
        assert fn(np.full(9, 1.7e308)) == 0.0
    assert hotloop.mean(np.full(9, 1.7e308)) == 1.7e308


@pytest.mark.parametrize("gen", sorted(GENERATORS))
def test_running_stats_over_the_range(gen, rng):
    """push, extend (array, list, generator in chunks) and merge at the ends of the range.

    RunningStats' bound: about 1e-15 relative (the mean relative to |mean| + std); results
    below 2.2e-308 are subnormal, where a few absolute ulps of 4.9e-324 are the limit.
    """
    x = GENERATORS[gen](rng, 2500)
    ref = exact_stats(x, 1, False)
    scale = abs(ref["mean"]) + ref["std"]
    pushed, extended, listed, merged = (
        RunningStats(),
        RunningStats(),
        RunningStats(),
        RunningStats(),
    )
    for v in x[:300]:
        pushed.push(float(v))
    pushed.extend(float(v) for v in x[300:])  # chunks of 1024 merged
    extended.extend(x)
    listed.extend(x.tolist())
    for part in np.array_split(x, 7):
        p = RunningStats()
        p.extend(part)
        merged.merge(pickle.loads(pickle.dumps(p)))
    for rs in (pushed, extended, listed, merged):
        assert rs.count == x.shape[0]
        assert abs(rs.mean - ref["mean"]) <= 1e-14 * scale + 4 * TINY, (rs.mean, ref["mean"])
        for got, want in ((rs.var(1), ref["var"]), (rs.std(1), ref["std"])):
            if math.isinf(want) or want == 0.0:
                assert got == want
            else:
                assert abs(got - want) <= 1e-14 * want + 4 * TINY, (got, want)


def test_running_stats_range_regressions():
    rs = RunningStats()
    rs.extend([1e308, -1e308, 1e308])
    assert rs.mean == to_float(Fraction(1e308) / 3) and rs.var() == math.inf
    assert rs.std() == pytest.approx(exact_sqrt(Fraction(8 * 10**616, 9)), rel=1e-15)
    rs = RunningStats()
    for v in (1.5e308, -1.5e308):
        rs.push(v)
    assert rs.mean == 0.0 and rs.std() == 1.5e308 and rs.std(1) == math.inf
    rs = RunningStats()
    for v in (TINY, -TINY, TINY, -TINY):
        rs.push(v)
    assert rs.std() == TINY and rs.var() == 0.0
    # A huge value after tiny ones, and tiny ones after a huge one.
    rs = RunningStats()
    rs.extend([1e-300, 3e-300])
    rs.push(1e300)
    rs.extend([-1e300])
    ref = exact_stats([1e-300, 3e-300, 1e300, -1e300], 0, False)
    assert abs(rs.mean - ref["mean"]) <= 1e-15 * ref["std"]  # relative to the spread
    assert rs.var() == pytest.approx(ref["var"], rel=1e-15)


def test_pickles_without_a_scale_still_load():
    rs = RunningStats()
    rs.extend([1.0, 2.0, 4.0])
    fn, args = rs.__reduce__()
    assert len(args) == 11
    old = fn(*args[:9])  # the nine-field state of earlier versions, in units of 1
    assert old.__reduce__() == rs.__reduce__()
    bad = list(args)
    bad[10] = math.inf
    with pytest.raises(ValueError, match="corrupt RunningStats state: scale"):
        fn(*bad)


# --------------------------------------------------------------------------------------------
# Threads and Ctrl-C


def test_shared_instance_counts_every_value_from_four_threads(rng):
    """push, extend (small and GIL-releasing arrays, lists, generators) and merge from 4
    threads into one instance: the same count and, to rounding, mean and var as serially."""
    small = (1e6 + rng.standard_normal(100)).tolist()
    big = 1e6 + rng.standard_normal(20_000)  # above the GIL-release threshold
    reps = 30

    def work(rs):
        for _ in range(reps):
            for v in small[:10]:
                rs.push(v)
            rs.extend(small)
            rs.extend(big)
            rs.extend(v for v in small)
            other = RunningStats()
            other.extend(big[:500])
            rs.merge(other)

    shared = RunningStats()
    threads = [threading.Thread(target=work, args=(shared,)) for _ in range(4)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    serial = RunningStats()
    for _ in range(4):
        work(serial)
    per_thread = reps * (10 + 100 + 20_000 + 100 + 500)
    assert shared.count == serial.count == 4 * per_thread
    assert shared.mean == pytest.approx(serial.mean, rel=1e-15)
    assert shared.var() == pytest.approx(serial.var(), rel=1e-12)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_extend_of_an_endless_iterator_stops_on_ctrl_c():
    took, err = interrupted_after(
        "import itertools, hotloop; hotloop.RunningStats().extend(itertools.repeat(1.0))"
    )
    assert "KeyboardInterrupt" in err
    assert took < 10.0  # about 1 ms when the machine is idle


# 2**40 values that take no memory (stride 0): hours of work unless Ctrl-C stops it.
HUGE = "import numpy as np, hotloop; x = np.broadcast_to(np.{dtype}(1.5), (2**40,))"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize(
    ("dtype", "call"),
    [
        ("float64", "hotloop.std(x)"),
        ("float32", "hotloop.nanmean(x)"),
        # extend's accumulator is private until the end: rs keeps exactly what it had.
        (
            "float64",
            "rs = hotloop.RunningStats(); rs.push(2.0)\n"
            "try:\n    rs.extend(x)\n"
            "finally:\n    print('kept', rs.count, rs.mean, file=sys.stderr)",
        ),
    ],
)
def test_huge_array_reductions_stop_on_ctrl_c(dtype, call):
    took, err = interrupted_after(call, delay=0.3, setup=HUGE.format(dtype=dtype))
    assert "KeyboardInterrupt" in err, err
    assert took < 10.0  # polled every 2**20 values: about 0.05 s when the machine is idle
    if "RunningStats" in call:
        assert "kept 1 2.0" in err, err


@pytest.mark.parametrize("n", [2**20 - 1, 2**20 + 1, 2**21 + 9])
def test_sizes_around_the_poll_block(n):
    """Inputs above 2**20 values run in blocks with a Ctrl-C poll between them (the lane sums
    carried over): no value lost or counted twice at a block's edge. Integers at an offset of
    2**30 give exact references from integer sums."""
    rng = np.random.default_rng(n)
    y = rng.integers(-1000, 1000, n)
    y[[0, 2**20 - 2, 2**20 - 3, n - 1]] = 999_999  # values at the edges of the first block
    x = 2.0**30 + y
    s1, s2 = int(y.sum()), int((y * y).sum())
    exact_var = Fraction(n * s2 - s1 * s1, n * n)
    for values, offset in ((x, 2**30), (x[::-1], 2**30), (y.astype(np.float32), 0)):
        assert ulps(hotloop.mean(values), float(Fraction(s1, n) + offset)) <= 1
        assert ulps(hotloop.var(values), float(exact_var)) <= MAX_ULPS
    # NaNs skipped in every block, the count exact
    z = x.copy()
    z[[5, 2**20 - 2, n - 2]] = np.nan
    keep = ~np.isnan(z)
    s1 = int(y[keep].sum())
    assert ulps(hotloop.nanmean(z), float(Fraction(s1, int(keep.sum())) + 2**30)) <= 1
    rs = RunningStats()
    rs.extend(x)
    assert rs.count == n
    assert ulps(rs.mean, float(Fraction(int(y.sum()), n) + 2**30)) <= 1
