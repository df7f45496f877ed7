"""The moments family against exact rational arithmetic: hotloop.mean/var/std, their
NaN-skipping variants, and RunningStats (push, extend, merge, pickling)."""

import copy
import itertools
import math
import pickle
import warnings

import hotloop
import numpy as np
import pytest
from hotloop import RunningStats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from twins import exact_moments, ulps

MAX_ULPS = 4  # the bound the docstrings state


def expected(stat, values, ddof, skipna):
    _, m, v = exact_moments(values, ddof, skipna)
    return {"mean": m, "var": v, "std": math.sqrt(v) if v == v else v}[stat]


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
