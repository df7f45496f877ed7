"""hotloop.mean/var/std and their NaN-skipping variants against exact rational arithmetic."""

import math
import warnings

import hotloop
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import exact_moments, ulps

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
