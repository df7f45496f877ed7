"""The rolling family against slow twins (long double, exact fractions, sorted windows), pandas
and bottleneck."""

import math
from decimal import Decimal
from fractions import Fraction

import hotloop
import numpy as np
import pytest
from hotloop._rolling import MOMENTS_TILE
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from twins import rolling_twin, sliding_std_longdouble

TOL = 2.0**-36  # documented relative error bound of the rolling variance
U = 2.0**-53
BLOCK = 16384  # rolling_block_size(window) for window <= 512
TILE = MOMENTS_TILE  # vectorised tile length


def assert_rolling_close(got, x, window, stat, *, ddof=0, min_periods=None):
    """Compare with the twin: same NaN/inf positions, finite values within the documented bound."""
    ref, spread = rolling_twin(x, window, stat=stat, ddof=ddof, min_periods=min_periods)
    assert got.dtype == np.asarray(x).dtype
    assert got.shape == np.shape(x)
    assert_close_to_twin(got, ref, spread, stat)


def assert_close_to_twin(got, ref, spread, stat):
    """got against the twin's ref and spread (rolling_twin's outputs, same shape)."""
    got64 = np.asarray(got, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(got64), np.isnan(ref), err_msg="NaN positions differ")
    np.testing.assert_array_equal(got64[np.isinf(ref)], ref[np.isinf(ref)])
    fin = np.isfinite(ref)
    g, r, s = got64[fin], ref[fin], spread[fin]
    if got.dtype == np.float32:
        rel = 2.0**-23  # one rounding to float32 dominates
    else:
        rel = (TOL / 2 if stat == "std" else TOL) + 8 * U
    if stat == "mean":
        bound = rel * (np.abs(r) + s) + 4 * U * np.abs(r)
    else:
        bound = rel * np.abs(r)
    err = np.abs(g - r)
    worst = np.argmax(err - bound) if err.size else 0
    assert np.all(err <= bound), f"err {err[worst]} > bound {bound[worst]} at {worst}"


def with_specials(rng, n, frac_nan=0.1, frac_inf=0.02, offset=0.0):
    x = offset + rng.standard_normal(n)
    x[rng.random(n) < frac_nan] = np.nan
    x[rng.random(n) < frac_inf / 2] = np.inf
    x[rng.random(n) < frac_inf / 2] = -np.inf
    return x


@pytest.mark.parametrize("n", [0, 1, 2, 3, 49, 50, 51, TILE - 1, TILE, TILE + 1, 300])
@pytest.mark.parametrize("window", [1, 2, 3, 50, 129])
def test_matches_twin_clean(rolling_kernel, n, window, rng):
    stat, fn = rolling_kernel
    x = 1e3 + rng.standard_normal(n)
    assert_rolling_close(fn(x, window), x, window, stat)
    assert_rolling_close(fn(x, window, min_periods=1), x, window, stat, min_periods=1)


POLICY_CASES = [
    (window, ddof, minp)
    for window in (1, 4, 20)
    for ddof in (0, 1)
    for minp in (None, 0, 1, 3)
    if ddof < window and (minp is None or minp <= window)
]


@pytest.mark.parametrize(("window", "ddof", "min_periods"), POLICY_CASES)
def test_nan_and_inf_policy(rolling_kernel, window, ddof, min_periods, rng):
    stat, fn = rolling_kernel
    x = with_specials(rng, 400)
    if stat == "mean":  # takes no ddof: its windows do not depend on it
        got = fn(x, window, min_periods=min_periods)
        assert_rolling_close(got, x, window, stat, min_periods=min_periods)
    else:
        got = fn(x, window, ddof=ddof, min_periods=min_periods)
        assert_rolling_close(got, x, window, stat, ddof=ddof, min_periods=min_periods)


def test_against_pandas_and_bottleneck(rng):
    pd = pytest.importorskip("pandas")
    bn = pytest.importorskip("bottleneck")
    x = with_specials(rng, 5000, frac_inf=0.0)
    for window, minp in [(10, 10), (10, 3), (50, 1)]:
        roll = pd.Series(x).rolling(window, min_periods=minp)
        np.testing.assert_allclose(
            hotloop.rolling_mean(x, window, min_periods=minp), roll.mean().to_numpy(), atol=1e-13
        )
        np.testing.assert_allclose(
            hotloop.rolling_var(x, window, ddof=1, min_periods=minp),
            roll.var(ddof=1).to_numpy(),
            rtol=1e-8,
        )
        np.testing.assert_allclose(
            hotloop.rolling_std(x, window, min_periods=minp),
            bn.move_std(x, window, min_count=minp),
            rtol=1e-8,
        )


@pytest.mark.parametrize("n", [BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 5])
def test_block_boundaries(n, rng):
    window = 50
    x = 1e6 + rng.standard_normal(n)
    got = hotloop.rolling_std(x, window, n_threads=2)
    ref = sliding_std_longdouble(x, window)
    rel = np.abs(got[window - 1 :] - ref) / ref
    assert float(rel.max()) <= TOL / 2
    assert np.isnan(got[: window - 1]).all()
    np.testing.assert_array_equal(got, hotloop.rolling_std(x, window, n_threads=1))


def test_accuracy_at_large_offset():
    """The issue's case: 1e9 + N(0, 1), n = 1e6, window 50, rel. error <= 1e-11."""
    n, window = 1_000_000, 50
    x = 1e9 + np.random.default_rng(7).standard_normal(n)
    got = hotloop.rolling_std(x, window)
    ref = sliding_std_longdouble(x, window)
    rel = np.abs((got[window - 1 :] - ref) / ref)
    assert float(rel.max()) <= 1e-11
    var = hotloop.rolling_var(x, window)
    rel_var = np.abs((var[window - 1 :] - ref**2) / ref**2)
    assert float(rel_var.max()) <= 1e-11


def test_equal_values_give_exactly_zero(rng):
    window = 20
    for value in (0.1, 1e9 + 0.1, -7.25e-300, 3.0):
        x = np.concatenate(
            [rng.standard_normal(300) * 1e3, np.full(500, value), rng.standard_normal(100)]
        )
        for fn in (hotloop.rolling_var, hotloop.rolling_std):
            out = fn(x, window)
            inside = out[300 + window - 1 : 800]
            assert (inside == 0.0).all(), inside[inside != 0.0][:5]
            assert not np.signbit(inside).any()
        mean = hotloop.rolling_mean(x, window)
        assert (mean[300 + window - 1 : 800] == value).all()


def test_huge_value_passing_through(rng):
    window = 50
    x = rng.standard_normal(20_000)
    x[5000] = 1e15
    got = hotloop.rolling_std(x, window)
    ref = sliding_std_longdouble(x, window)
    rel = np.abs((got[window - 1 :] - ref) / ref)
    assert float(rel.max()) <= TOL / 2
    after = got[5000 + window :]
    assert np.all(after < 10)  # back to the noise's scale at once


def test_drifting_series_stays_accurate(rng):
    window = 100
    x = np.linspace(0.0, 1e12, 50_000) + rng.standard_normal(50_000)
    got = hotloop.rolling_var(x, window)
    ref = sliding_std_longdouble(x, window) ** 2
    rel = np.abs((got[window - 1 :] - ref) / ref)
    assert float(rel.max()) <= TOL


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_strided_readonly_2d_and_out(rolling_kernel, dtype, rng):
    stat, fn = rolling_kernel
    base = (10 + rng.standard_normal((6, 900))).astype(dtype)
    base[rng.random(base.shape) < 0.05] = np.nan
    base.flags.writeable = False
    views = {
        "rows": base,
        "strided": base[:, ::3],
        "reversed": base[::-1, ::-2],
        "transposed": np.asfortranarray(base).T.T,  # F-ordered: stride along rows
        "1d": base[2],
    }
    for name, x in views.items():
        got = fn(x, 7, min_periods=2)
        assert got.dtype == dtype, name
        assert_rolling_close(got, x, 7, stat, min_periods=2)
        out = np.full((*x.shape, 2), -1.0, dtype=dtype)[..., 0]  # strided output
        res = fn(x, 7, min_periods=2, out=out)
        assert res is out
        np.testing.assert_array_equal(out, got)


def test_out_may_be_the_input(rolling_kernel, rng):
    _, fn = rolling_kernel
    x = rng.standard_normal(1000)
    expected = fn(x, 10)
    y = x.copy()
    assert fn(y, 10, out=y) is y
    np.testing.assert_array_equal(y, expected)
    z = x.copy()
    fn(z[:-1], 10, out=z[1:])  # overlapping, shifted
    np.testing.assert_array_equal(z[1:], fn(x[:-1], 10))


def test_thread_counts_give_identical_output(rolling_kernel, rng):
    _, fn = rolling_kernel
    x = with_specials(rng, 3 * BLOCK + 77, offset=1e8)
    x[1000] = 1e15
    x[20_000:21_000] = 5.0
    ref = fn(x, 64, min_periods=10, n_threads=1)
    for nt in (2, 3, -1, None):
        np.testing.assert_array_equal(fn(x, 64, min_periods=10, n_threads=nt), ref)
    x2 = np.stack([x, x[::-1], x * 2])
    ref2 = fn(x2, 33, n_threads=1)
    np.testing.assert_array_equal(fn(x2, 33, n_threads=2), ref2)
    for r in range(3):
        np.testing.assert_array_equal(ref2[r], fn(x2[r], 33, n_threads=1))


def test_window_longer_than_series(rolling_kernel):
    stat, fn = rolling_kernel
    x = np.array([1.0, 2.0, 4.0])
    assert np.isnan(fn(x, 10)).all()
    assert_rolling_close(fn(x, 10, min_periods=1), x, 10, stat, min_periods=1)


def test_lists_are_accepted(rolling_kernel):
    stat, fn = rolling_kernel
    got = fn([1, 2, 3, 5.5], 2)
    assert got.dtype == np.float64
    assert_rolling_close(got, np.array([1, 2, 3, 5.5]), 2, stat)


@given(
    x=hnp.arrays(
        np.float64,
        st.integers(0, 200),
        elements=st.one_of(
            # Squares of deviations below ~1e-154 underflow in double (documented limit).
            st.floats(-1e12, 1e12).filter(lambda v: v == 0.0 or abs(v) > 1e-100),
            st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e12, 1e-12]),
        ),
    ),
    window=st.integers(1, 40),
    data=st.data(),
)
def test_property_against_twin(rolling_kernel, x, window, data):
    stat, fn = rolling_kernel
    min_periods = data.draw(st.one_of(st.none(), st.integers(0, window)))
    if stat == "mean":
        got = fn(x, window, min_periods=min_periods)
        assert_rolling_close(got, x, window, stat, min_periods=min_periods)
    else:
        ddof = data.draw(st.integers(0, window - 1))
        got = fn(x, window, ddof=ddof, min_periods=min_periods)
        assert_rolling_close(got, x, window, stat, ddof=ddof, min_periods=min_periods)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((np.arange(10).astype(complex), 3), {}, TypeError, "float64 or float32"),
        ((np.ones((2, 2, 2)), 3), {"axis": 3}, ValueError, r"axis=3 is out of range for a 3-D"),
        ((np.ones((2, 2, 2)), 3), {"axis": 1.0}, TypeError, r"axis must be an int, got float"),
        ((np.float64(1.0), 3), {}, ValueError, "1-D to 64-D"),
        ((np.ones(5), 0), {}, ValueError, "window must be >= 1, got 0"),
        ((np.ones(5), -2), {}, ValueError, "window must be >= 1"),
        ((np.ones(5), 2.5), {}, TypeError, "window must be an int, got float"),
        ((np.ones(5), None), {}, TypeError, "window must be an int"),
        ((np.ones(5), 3), {"min_periods": 4}, ValueError, "min_periods=4 must be <= window=3"),
        ((np.ones(5), 3), {"min_periods": -1}, ValueError, "min_periods must be >= 0"),
        ((np.ones(5), 3), {"out": np.ones(4)}, ValueError, r"out must have shape \(5,\)"),
        ((np.ones(5), 3), {"out": np.ones(5, np.float32)}, TypeError, "out must have dtype"),
        ((np.ones(5), 3), {"out": [0.0] * 5}, TypeError, "out must be a NumPy array"),
        ((np.ones(5), 3), {"n_threads": 0}, ValueError, "n_threads=0"),
        ((np.ones(5), 3), {"n_threads": "2"}, TypeError, "n_threads must be None or an int"),
        ((["a", "b"], 1), {}, TypeError, "x must hold real numbers"),
    ],
)
def test_bad_input(rolling_kernel, args, kwargs, exc, match):
    _, fn = rolling_kernel
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_bad_ddof_and_readonly_out():
    ro = np.zeros(5)
    ro.flags.writeable = False
    for fn in (hotloop.rolling_var, hotloop.rolling_std):
        with pytest.raises(ValueError, match="ddof=3 must be less than window=3"):
            fn(np.ones(5), 3, ddof=3)
        with pytest.raises(ValueError, match="ddof must be >= 0"):
            fn(np.ones(5), 3, ddof=-1)
        with pytest.raises(ValueError, match="read-only"):
            fn(np.ones(5), 3, out=ro)
    with pytest.raises(TypeError, match="ddof"):
        hotloop.rolling_mean(np.ones(5), 3, ddof=1)


# ---------------------------------------------------------------------------------------------
# The whole range of doubles: exact references (fractions) on windows near 1e308 and below 1e-155

MAX = float(np.finfo(np.float64).max)
TINY = 2.0**-1074  # the smallest subnormal: absolute slack for outputs that are subnormal


def exact_moments(w):
    """(mean, var with ddof=0, std) of the finite values w, rounded once from exact rationals
    (inf where the exact value exceeds the largest double)."""
    fr = [Fraction(v) for v in w]
    n = len(fr)
    mean = sum(fr) / n
    var = sum((v - mean) ** 2 for v in fr) / n
    return to_float(mean), to_float(var), sqrt_fraction(var)


def to_float(f: Fraction) -> float:
    try:
        return float(f)
    except OverflowError:
        return math.inf if f > 0 else -math.inf


def sqrt_fraction(f: Fraction) -> float:
    if f == 0:
        return 0.0
    k = (f.numerator.bit_length() - f.denominator.bit_length()) // 2
    scaled = f / Fraction(2) ** (2 * k)  # in [2**-2, 2**2]: float() exact enough
    return math.ldexp(math.sqrt(float(scaled)), k)


def check_exact(x, window, minp=1):
    got = {s: getattr(hotloop, f"rolling_{s}")(x, window, min_periods=minp) for s in STATS}
    for i in range(len(x)):
        w = x[max(0, i - window + 1) : i + 1]
        w = w[~np.isnan(w)]
        if len(w) < max(minp, 1):
            continue
        mean, var, std = exact_moments(w)
        total = to_float(sum(Fraction(v) for v in w))
        assert_close(got["mean"][i], mean, (TOL + 8 * U) * (abs(mean) + std) + 4 * U * abs(mean))
        assert_close(
            got["sum"][i], total, len(w) * ((TOL + 8 * U) * (abs(mean) + std)) + 4 * U * abs(total)
        )
        assert_close(got["var"][i], var, (TOL + 8 * U) * var)
        assert_close(got["std"][i], std, (TOL / 2 + 8 * U) * std)


def assert_close(got, ref, bound):
    if math.isinf(ref):
        assert got == ref, (got, ref)
        return
    if math.isinf(got):  # allowed only where the error bound reaches past the largest double
        assert got == math.copysign(math.inf, ref) and abs(ref) + bound > MAX, (got, ref, bound)
        return
    assert abs(got - ref) <= bound + 2 * TINY, (got, ref, bound)


STATS = ("sum", "mean", "var", "std")


def check_sum_and_mean(x, window, n_threads=None, got=None):
    """rolling_sum and rolling_mean of full windows against long-double sums, within the
    documented bound: TOL * sqrt(c * sum x^2) for the sum (the mean's sqrt(mean^2 + var), times
    c), plus the final roundings. The squares are formed on each window scaled by its largest
    |x|, so that windows of tiny or huge values keep their bound."""
    from numpy.lib.stride_tricks import sliding_window_view

    if got is None:
        got = (
            hotloop.rolling_sum(x, window, n_threads=n_threads),
            hotloop.rolling_mean(x, window, n_threads=n_threads),
        )
    got_sum, got_mean = (g[window - 1 :] for g in got)
    view = sliding_window_view(x, window)
    for s in range(0, len(view), 4096):
        blk = view[s : s + 4096].astype(np.longdouble)
        total = blk.sum(axis=1)
        big = np.abs(blk).max(axis=1)
        big[big == 0] = 1
        scale = np.sqrt(window * ((blk / big[:, None]) ** 2).sum(axis=1)) * big
        # The long-double sums are within window * 2**-63 * sum |x| <= that times scale.
        slack = (TOL + 8 * U + window * 2.0**-63) * scale
        ref = total.astype(np.float64)
        for got, r, b in (
            (got_sum[s : s + 4096], ref, slack + 4 * U * np.abs(ref)),
            (got_mean[s : s + 4096], ref / window, (slack + 4 * U * np.abs(ref)) / window),
        ):
            err = np.abs(got - r).astype(np.float64)
            worst = int(np.argmax(err - b))
            assert np.all(err <= b), (s + worst, got[worst], r[worst], b[worst])
    return got_sum, got_mean


@pytest.mark.parametrize("scale", [1.0, 1e-150, 1e150])
@pytest.mark.parametrize("window", [2, 10, 1000])
def test_sum_and_mean_of_centred_data(scale, window):
    """N(0, 1) times scale, over several blocks: window sums cross zero all the time, so the
    vectorised tiles must bound the error by c * sum x^2 rather than by the sum itself, and
    reset their growing error bound; below 2**-450 the squares are not trusted and the tiles
    fall back to the sums of |x|. One thread and two give the same bits."""
    rng = np.random.default_rng(window)
    x = scale * rng.standard_normal(2 * max(BLOCK, 32 * window) + 777)
    got = check_sum_and_mean(x, window, n_threads=1)
    np.testing.assert_array_equal(hotloop.rolling_sum(x, window, n_threads=2)[window - 1 :], got[0])
    np.testing.assert_array_equal(
        hotloop.rolling_mean(x, window, n_threads=2)[window - 1 :], got[1]
    )


@pytest.mark.parametrize("value", [np.nan, np.inf, 1e300, -3e305])
def test_sum_and_mean_where_a_block_starts(value):
    """A block of the sum and the mean starts from one pass over the window of its first
    output; a non-finite or huge value in that window sends it to the full recomputation.
    Checked on the outputs around the block's start, against references computed from the
    values they read."""
    rng = np.random.default_rng(11)
    lo, hi = BLOCK - 64, BLOCK + 600
    for offset in (-9, -1, 0, 1, 9):
        x = rng.standard_normal(2 * BLOCK + 40)
        x[BLOCK + offset] = value
        part = x[lo - 9 : hi]
        for minp in (None, 1):
            mean = hotloop.rolling_mean(x, 10, min_periods=minp)[lo:hi]
            total = hotloop.rolling_sum(x, 10, min_periods=minp)[lo:hi]
            ref, spread = rolling_twin(part, 10, stat="mean", min_periods=minp)
            assert_close_to_twin(mean, ref[9:], spread[9:], "mean")
            np.testing.assert_array_equal(np.isnan(total), np.isnan(mean))
            np.testing.assert_array_equal(total[np.isinf(mean)], mean[np.isinf(mean)])
        if np.isfinite(value):
            full = (
                hotloop.rolling_sum(x, 10)[lo - 9 : hi],
                hotloop.rolling_mean(x, 10)[lo - 9 : hi],
            )
            check_sum_and_mean(part, 10, got=full)


def test_sum_and_mean_after_larger_values():
    """Windows of values near 1e-300 after windows of values near 1e-150: the error carried
    from the large values is far above what the tiny windows allow, and their squares
    underflow, so no tile may pass its test on them; each such window is recomputed."""
    rng = np.random.default_rng(3)
    parts = [s * rng.standard_normal(3000) for s in (1e-150, 1e-300, 1.0, 1e-300, 1e-150)]
    x = np.concatenate(parts)
    for window in (2, 10, 300):
        check_sum_and_mean(x, window)


def test_issue_examples_at_the_ends_of_the_range():
    assert hotloop.rolling_mean([1e308, 1e308], 2)[1] == 1e308
    assert hotloop.rolling_mean([1e308, -1e308, 1e308], 3)[2] == pytest.approx(1e308 / 3, rel=1e-15)
    np.testing.assert_array_equal(hotloop.rolling_mean([1e-160, 1e-180], 1), [1e-160, 1e-180])
    assert hotloop.rolling_var([1e308, -1e308], 2)[1] == np.inf
    assert hotloop.rolling_std([1e308, -1e308], 2)[1] == 1e308
    assert hotloop.rolling_sum([1e308, 1e308], 2)[1] == np.inf


HUGE = [1.7976931348623157e308, 1e308, -1e308, 3e307, -8.9e307, 1e300, 5e250]
SMALL = [1e-160, -3e-170, 2.5e-200, 1e-300, 5e-324, -7e-320, 2.2250738585072014e-308]


@pytest.mark.parametrize("kind", ["huge", "tiny", "subnormal", "mixed"])
@pytest.mark.parametrize("window", [1, 2, 3, 7])
def test_overflow_and_underflow_ranges_exact(kind, window, rng):
    n = 80
    if kind == "huge":
        x = rng.choice(HUGE, n) * rng.uniform(0.5, 1.0, n)
    elif kind == "tiny":
        x = rng.choice(SMALL[:4], n) * rng.uniform(-1.0, 1.0, n)
    elif kind == "subnormal":
        x = rng.integers(-1000, 1000, n) * 5e-324
    else:  # huge, normal and tiny values passing through the same windows
        x = np.concatenate(
            [
                rng.choice(HUGE, n // 4),
                rng.standard_normal(n // 4),
                rng.choice(SMALL, n // 4),
                np.full(n // 4, 1e-200),
            ]
        )
        rng.shuffle(x[: n // 2])
        x[rng.random(n) < 0.1] = np.nan
    check_exact(x, window)


@given(
    x=hnp.arrays(
        np.float64,
        st.integers(1, 40),
        elements=st.one_of(
            st.sampled_from(HUGE + SMALL + [0.0, 1.0, -2.5, np.nan]),
            st.floats(-1e-150, 1e-150, allow_subnormal=True),
            st.floats(-1e308, 1e308),
        ),
    ),
    window=st.integers(1, 6),
)
def test_property_whole_range_exact(x, window):
    check_exact(x, window)


def test_whole_range_constant_windows_are_exact():
    for v in (1e308, -1.7976931348623157e308, 1e-170, 5e-324):
        x = np.concatenate([np.array([3.0, -1e300, 1e-200, 7.0]), np.full(12, v)])
        for fn in (hotloop.rolling_var, hotloop.rolling_std):
            assert (fn(x, 4)[7:] == 0.0).all()
        assert (hotloop.rolling_mean(x, 4)[7:] == v).all()


def short_window_data(kind, rng, n, with_inf=False):
    if kind == "normal":
        return rng.standard_normal(n)
    if kind == "offset":
        return 1e9 + rng.standard_normal(n)
    if kind == "repeats":  # small integers: many equal neighbours and constant windows
        return rng.integers(-2, 3, n).astype(np.float64)
    if kind == "close":  # neighbours a few ulps apart: variances far below the values' scale
        return 1.0 + rng.integers(-3, 4, n) * 2.0**-52
    # huge, tiny, NaN and inf among ordinary values
    x = rng.standard_normal(n)
    pick = rng.random(n)
    x[pick < 0.03] = np.nan
    x[(pick >= 0.03) & (pick < 0.05)] = np.inf if with_inf else -1e-300
    x[(pick >= 0.05) & (pick < 0.08)] = rng.choice(
        HUGE, int(((pick >= 0.05) & (pick < 0.08)).sum())
    )
    x[(pick >= 0.08) & (pick < 0.12)] = rng.choice(
        SMALL, int(((pick >= 0.08) & (pick < 0.12)).sum())
    )
    return x


@pytest.mark.parametrize("kind", ["normal", "offset", "repeats", "close", "specials"])
@pytest.mark.parametrize("window", [1, 2, 3, 4, 5, 7, 8])
def test_short_windows_exact(kind, window, rng):
    """Windows of a few values are computed each from its own values (sums; pairwise squared
    differences for the variance), eight outputs at a time, with a value-by-value path for what
    those formulas refuse: against exact rationals over several groups of 64 outputs."""
    x = short_window_data(kind, rng, 700)
    check_exact(x, window, minp=window if kind != "specials" else 1)


@pytest.mark.parametrize("kind", ["normal", "offset", "repeats", "close", "specials", "tiny"])
@pytest.mark.parametrize("window", [9, 40, 300])
def test_first_outputs_of_long_windows_exact(kind, window, rng):
    """The outputs before a series' first full window (one running sum of the first values for
    the sum and the mean, handing over to the running sums at the first value it refuses), and
    the outputs after them, against exact rationals; windows of equal values exactly."""
    if kind == "tiny":  # sums too small for the mean's test: the hand-over at the first output
        x = rng.standard_normal(400) * 1e-300
    else:
        x = short_window_data(kind, rng, 400)
    check_exact(x, window, minp=1)
    const = np.r_[np.full(window + 5, 0.1), rng.standard_normal(20)]
    count = np.minimum(np.arange(1, len(const) + 1), window)
    lead = slice(0, window + 5)
    assert (hotloop.rolling_mean(const, window, min_periods=1)[lead] == 0.1).all()
    np.testing.assert_array_equal(
        hotloop.rolling_sum(const, window, min_periods=1)[lead], (count * 0.1)[lead]
    )
    assert (hotloop.rolling_var(const, window, min_periods=1)[lead] == 0.0).all()


@pytest.mark.parametrize("name", STATS)
def test_short_windows_depend_on_their_window_only(name, rng):
    """Up to the direct formulas' longest window, every full window's output is the same bits
    wherever the series starts, strided or not, with one thread or two."""
    from hotloop._rolling import DIRECT_WINDOW_MAX

    x = short_window_data("specials", rng, 5000, with_inf=True)
    x[1000:1100] = 3.25  # a constant stretch
    fn = getattr(hotloop, f"rolling_{name}")
    assert DIRECT_WINDOW_MAX[name] >= 4
    for window in range(1, DIRECT_WINDOW_MAX[name] + 1):
        whole = fn(x, window, n_threads=1)
        np.testing.assert_array_equal(fn(x, window, n_threads=2), whole)
        wide = np.zeros((len(x), 3))
        wide[:, 1] = x
        np.testing.assert_array_equal(fn(wide, window, axis=0)[:, 1], whole)
        for start in (1, 63, 64, 65, 999, 1003):
            part = fn(x[start:], window, n_threads=1)
            np.testing.assert_array_equal(part[window - 1 :], whole[start + window - 1 :])


@pytest.mark.parametrize("window", range(1, 9))
def test_short_windows_first_outputs(rolling_kernel, window, rng):
    """The first window - 1 outputs, whose windows are not full, for every ddof and min_periods
    (a count at or below ddof, or below min_periods, gives NaN), with and without a NaN."""
    pd = pytest.importorskip("pandas")
    stat, fn = rolling_kernel
    for x in (1e3 + rng.standard_normal(12), np.r_[2.5, np.nan, 2.5, rng.standard_normal(9)]):
        for minp in range(window + 1):
            if stat == "mean":
                got = fn(x, window, min_periods=minp)
                assert_rolling_close(got, x, window, stat, min_periods=minp)
                # The sum, which the twin lacks, against pandas (same NaN and min_periods rules).
                ref = pd.Series(x).rolling(window, min_periods=minp).sum().to_numpy()
                got = hotloop.rolling_sum(x, window, min_periods=minp)
                np.testing.assert_allclose(got, ref, rtol=1e-13, atol=0)
                continue
            for ddof in range(window):
                got = fn(x, window, ddof=ddof, min_periods=minp)
                assert_rolling_close(got, x, window, stat, ddof=ddof, min_periods=minp)


# ---------------------------------------------------------------------------------------------
# Order statistics and counts: bitwise against a sorted-window twin, bottleneck and pandas

ORDER = ("count", "min", "max", "argmin", "argmax", "median", "rank")


def order_twin(x, window, kind, min_periods=None, q=0.5, interpolation="linear"):
    """Obviously-correct per-window computation (a sort of each window), 1-D. The rank's
    arithmetic is done in x's float type, as bottleneck does."""
    ft = np.float32 if np.asarray(x).dtype == np.float32 else np.float64
    x = np.asarray(x, dtype=np.float64)
    minp = window if min_periods is None else min_periods
    out = np.full(x.shape, np.nan)
    for i in range(len(x)):
        w = x[max(0, i - window + 1) : i + 1]
        v = np.sort(w[~np.isnan(w)])
        m = len(v)
        if kind == "count":
            out[i] = m if len(w) >= minp else np.nan
            continue
        if m < max(minp, 1):
            continue
        if kind in ("min", "max"):
            out[i] = v[0] if kind == "min" else v[-1]
        elif kind in ("argmin", "argmax"):
            target = v[0] if kind == "argmin" else v[-1]
            last = np.flatnonzero(w == target)[-1]
            out[i] = len(w) - 1 - last
        elif kind == "median":
            if m % 2:
                out[i] = v[m // 2]
            else:
                a, b = v[m // 2 - 1], v[m // 2]
                with np.errstate(over="ignore"):
                    mid = (a + b) / 2
                out[i] = a / 2 + b / 2 if np.isinf(mid) and np.isfinite([a, b]).all() else mid
        elif kind == "quantile":
            out[i] = quantile_twin(v, q, interpolation)
        elif kind == "rank":
            xi = x[i]
            if np.isnan(xi):
                continue
            if m == 1:
                out[i] = 0.0
                continue
            less, equal = int(np.sum(v < xi)), int(np.sum(v == xi))
            r = ft(0.5) * ft(2 * less + equal - 1)
            r = r / ft(m - 1)
            out[i] = ft(2) * (r - ft(0.5))
    return out


def quantile_twin(v, q, interpolation):
    m = len(v)
    if m == 1:
        return v[0]
    t = q * (m - 1)
    k = int(t)
    if k == t:
        return v[k]
    if interpolation == "linear":
        return v[k] + (v[k + 1] - v[k]) * (t - k)
    if interpolation == "lower":
        return v[k]
    if interpolation == "higher":
        return v[k + 1]
    if interpolation == "nearest":
        if t - k == 0.5:
            return v[k] if k % 2 == 0 else v[k + 1]
        return v[k] if t - k < 0.5 else v[k + 1]
    return (v[k] + v[k + 1]) / 2


def order_fn(kind):
    return getattr(hotloop, f"rolling_{kind}")


def assert_same(got, ref):
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    bad = np.flatnonzero(got[ok] != ref[ok])
    assert bad.size == 0, (got[ok][bad[:5]], ref[ok][bad[:5]])


def tie_heavy(rng, n):
    x = rng.integers(0, 5, n).astype(np.float64)
    x[rng.random(n) < 0.15] = np.nan
    x[rng.random(n) < 0.03] = np.inf
    x[rng.random(n) < 0.03] = -np.inf
    return x


@pytest.mark.parametrize("kind", ORDER)
@pytest.mark.parametrize("window", [1, 2, 3, 10, 64, 250])
@pytest.mark.parametrize("minp", [None, 0, 1, 2])
def test_order_against_sorted_twin(kind, window, minp, rng):
    if minp is not None and minp > window:
        return
    for x in (tie_heavy(rng, 300), with_specials(rng, 300)):
        assert_same(order_fn(kind)(x, window, min_periods=minp), order_twin(x, window, kind, minp))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
def test_quantile_against_twin_and_pandas(interpolation, q, rng):
    pd = pytest.importorskip("pandas")
    x = with_specials(rng, 400, frac_inf=0.0)
    x[50:60] = 3.0
    for window, minp in [(1, 1), (5, 5), (8, 3), (30, 1), (200, 50)]:
        got = hotloop.rolling_quantile(x, window, q, interpolation=interpolation, min_periods=minp)
        assert_same(got, order_twin(x, window, "quantile", minp, q, interpolation))
        ref = (
            pd.Series(x).rolling(window, min_periods=minp).quantile(q, interpolation=interpolation)
        )
        assert_same(got, ref.to_numpy())


def test_median_against_pandas(rng):
    pd = pytest.importorskip("pandas")
    x = with_specials(rng, 2000, frac_inf=0.0)
    for window, minp in [(4, 1), (5, 5), (50, 10), (300, 20)]:
        ref = pd.Series(x).rolling(window, min_periods=minp).median().to_numpy()
        assert_same(hotloop.rolling_median(x, window, min_periods=minp), ref)
        ref = pd.Series(x).rolling(window, min_periods=minp).count().to_numpy()
        assert_same(hotloop.rolling_count(x, window, min_periods=minp), ref)
        for kind in ("min", "max"):
            ref = getattr(pd.Series(x).rolling(window, min_periods=minp), kind)().to_numpy()
            assert_same(order_fn(kind)(x, window, min_periods=minp), ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.bool_])
@pytest.mark.parametrize(
    "stat", ["sum", "mean", "std", "var", "min", "max", "argmin", "argmax", "median", "rank"]
)
def test_move_functions_match_bottleneck(stat, dtype, rng):
    """hotloop.move_* are bottleneck's move_*: bitwise for the order statistics, within the
    rolling accuracy (bottleneck's own error) for the moments."""
    bn = pytest.importorskip("bottleneck")
    if dtype in (np.float64, np.float32):
        x = with_specials(rng, 500, frac_inf=0.0).astype(dtype)
        x[100:140] = 2.0
    else:
        x = rng.integers(-3, 4, 500).astype(dtype)
    for window, min_count in [(1, None), (3, None), (3, 1), (20, 7), (500, 2)]:
        got = getattr(hotloop, f"move_{stat}")(x, window, min_count=min_count)
        ref = getattr(bn, f"move_{stat}")(x, window, min_count=min_count)
        assert got.dtype == ref.dtype
        if stat in ("sum", "mean", "std", "var"):
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            # bottleneck's own rounding (float32 accumulated in float32; std = sqrt of the
            # rounding error where the exact variance is 0) sets the tolerance.
            rtol = 1e-4 if dtype == np.float32 else 1e-9
            atol = (3e-3 if dtype == np.float32 else 1e-6) if stat == "std" else rtol * 10
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)
        else:
            assert_same(got, ref)


def test_move_ddof_axis_and_errors(rng):
    bn = pytest.importorskip("bottleneck")
    x = rng.standard_normal((4, 30, 5))
    for axis in (0, 1, 2, -1, -2):
        for stat in ("min", "argmax", "median", "rank"):
            assert_same(
                getattr(hotloop, f"move_{stat}")(x, 4, axis=axis),
                getattr(bn, f"move_{stat}")(x, 4, axis=axis),
            )
        np.testing.assert_allclose(
            hotloop.move_std(x, 3, axis=axis, ddof=1),
            bn.move_std(x, 3, axis=axis, ddof=1),
            rtol=1e-9,
        )
    assert np.isnan(hotloop.move_var(x, 3, ddof=3)).all()
    with pytest.raises(ValueError, match=r"window=31 must be between 1 and 30 .*axis 1"):
        hotloop.move_mean(x, 31, axis=1)
    with pytest.raises(ValueError, match=r"window must be >= 1, got 0"):
        hotloop.move_mean(x, 0)
    with pytest.raises(ValueError, match=r"min_count must be >= 1, got 0"):
        hotloop.move_median(x, 3, min_count=0)
    with pytest.raises(ValueError, match=r"min_count=4 must be <= window=3"):
        hotloop.move_rank(x, 3, min_count=4)
    with pytest.raises(ValueError, match=r"axis=3 is out of range for a 3-D a; accepted: -3"):
        hotloop.move_max(x, 3, axis=3)


@pytest.mark.parametrize("kind", [*ORDER, "sum", "mean", "std", "quantile"])
def test_axis_on_3d_and_threads(kind, rng):
    x = rng.standard_normal((3, 7, 2100))
    x[rng.random(x.shape) < 0.05] = np.nan
    kw = {"q": 0.3} if kind == "quantile" else {}
    fn = order_fn(kind)
    for axis in (0, 1, 2, -1):
        got = fn(x, 5, min_periods=2, axis=axis, n_threads=1, **kw)
        moved = np.moveaxis(x, axis, -1)
        ref = np.stack(
            [fn(row, 5, min_periods=2, **kw) for row in moved.reshape(-1, moved.shape[-1])]
        )
        assert_same(np.moveaxis(got, axis, -1).reshape(ref.shape), ref)
        assert_same(fn(x, 5, min_periods=2, axis=axis, n_threads=2, **kw), got)
    long = with_specials(rng, 70_000)
    for window in (3, 700):
        assert_same(fn(long, window, n_threads=2, **kw), fn(long, window, n_threads=1, **kw))


@pytest.mark.parametrize("kind", ["min", "max"])
def test_short_window_extremes(kind, rng):
    """Windows of up to 16 values take each output's extreme from its own window: bitwise
    against the sorted-window twin for every window up to 17 (the block method's first), on
    NaN, infinities, ties and signed zeros, for every min_periods, strided or not, float32 too."""
    fn = order_fn(kind)
    x = np.round(with_specials(rng, 300), 0)  # small integers: many ties
    x[rng.random(300) < 0.1] = -0.0
    wide = np.zeros((300, 3))
    wide[:, 1] = x
    for window in range(1, 18):
        for minp in sorted({0, 1, window // 2, window}):
            ref = order_twin(x, window, kind, minp)
            got = fn(x, window, min_periods=minp)
            assert_same(got, ref)
            # A tie of -0.0 and 0.0 goes to the later one (bottleneck's convention).
            for i in np.flatnonzero(ref == 0):
                w = x[max(0, i - window + 1) : i + 1]
                assert np.signbit(got[i]) == np.signbit(w[w == 0][-1]), (window, minp, i)
            assert_same(fn(wide, window, min_periods=minp, axis=0)[:, 1], ref)
        x32 = x.astype(np.float32)
        assert_same(fn(x32, window, min_periods=1), order_twin(x32, window, kind, 1))


@pytest.mark.parametrize("kind", ORDER)
def test_order_window_edges_and_dtypes(kind, rng):
    x = with_specials(rng, 50)
    fn = order_fn(kind)
    for window in (1, 50, 80):
        assert_same(fn(x, window, min_periods=1), order_twin(x, window, kind, 1))
    x32 = x.astype(np.float32)
    got = fn(x32, 6, min_periods=2)
    assert got.dtype == np.float32
    assert_same(got, order_twin(x32, 6, kind, 2).astype(np.float32))
    ints = rng.integers(-5, 5, 40)
    if kind == "rank":  # bottleneck's other rounding for integers (checked against it above)
        np.testing.assert_allclose(fn(ints, 4), order_twin(ints.astype(float), 4, kind), 1e-15)
    else:
        assert_same(fn(ints, 4), order_twin(ints.astype(float), 4, kind))
    assert_same(fn(list(ints), 4), fn(ints, 4))
    assert_same(fn(ints > 0, 4), order_twin((ints > 0).astype(float), 4, kind))
    assert fn(np.empty((3, 0)), 2).shape == (3, 0)
    allnan = np.full(10, np.nan)
    assert np.isnan(fn(allnan, 3, min_periods=1)).all() or kind == "count"


@given(
    x=hnp.arrays(
        np.float64,
        st.integers(0, 60),
        elements=st.one_of(
            st.integers(-3, 3).map(float), st.sampled_from([np.nan, np.inf, -np.inf, 0.5, 1e308])
        ),
    ),
    window=st.integers(1, 12),
    data=st.data(),
)
def test_property_order_against_twin(x, window, data):
    kind = data.draw(st.sampled_from([*ORDER, "quantile"]))
    minp = data.draw(st.one_of(st.none(), st.integers(0, window)))
    if kind == "quantile":
        q = data.draw(st.floats(0.0, 1.0))
        interp = data.draw(st.sampled_from(["linear", "lower", "higher", "nearest", "midpoint"]))
        with np.errstate(invalid="ignore", over="ignore"):
            ref = order_twin(x, window, kind, minp, q, interp)
        got = hotloop.rolling_quantile(x, window, q, interpolation=interp, min_periods=minp)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            ref = order_twin(x, window, kind, minp)
        got = order_fn(kind)(x, window, min_periods=minp)
    assert_same(got, ref)


def test_sum_against_pandas_and_integers(rng):
    pd = pytest.importorskip("pandas")
    x = with_specials(rng, 3000, frac_inf=0.0)
    for window, minp in [(10, 10), (10, 0), (50, 1)]:
        ref = pd.Series(x).rolling(window, min_periods=minp).sum().to_numpy()
        np.testing.assert_allclose(
            hotloop.rolling_sum(x, window, min_periods=minp), ref, rtol=1e-10, atol=1e-12
        )
    ints = np.arange(10)
    np.testing.assert_array_equal(hotloop.rolling_sum(ints, 3)[2:], 3 * np.arange(1, 9))
    np.testing.assert_array_equal(hotloop.rolling_std(ints, 3)[2:], np.full(8, np.sqrt(2 / 3)))
    assert hotloop.rolling_sum([np.nan, np.nan], 2, min_periods=0)[1] == 0.0
    assert hotloop.rolling_sum([1.0, np.inf, 1.0, 1.0], 2).tolist()[1:] == [np.inf, np.inf, 2.0]


def test_quantile_bad_arguments():
    for q in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"q=.* is outside \[0, 1\]; accepted: 0 <= q <= 1"):
            hotloop.rolling_quantile(np.ones(5), 3, q)
    with pytest.raises(ValueError, match=r"q must be finite"):
        hotloop.rolling_quantile(np.ones(5), 3, np.nan)
    with pytest.raises(
        ValueError, match=r"interpolation='cubic' is not supported; accepted: 'linear'"
    ):
        hotloop.rolling_quantile(np.ones(5), 3, 0.5, interpolation="cubic")


# ---------------------------------------------------------------------------------------------
# Exponentially weighted statistics: exact rational and long-double twins, pandas, numbagg.

EWM = ("mean", "var", "std", "cov", "corr")


def ewm_fn(stat):
    return getattr(hotloop, f"ewm_{stat}")


def ewm_fraction(
    x, y=None, *, alpha, stat, adjust=True, ignore_na=False, min_periods=0, bias=False
):
    """pandas' ewm statistic from exact rational weights: the value k steps back weighs
    f**k times its own weight (1 for the first observation, else 1 or alpha), f the double
    1 - alpha; with adjust=False the weights are renormalised to sum 1 after each observation
    (pandas' recurrence: after a gap of k steps y = (f**k y' + alpha x) / (f**k + alpha)).
    Returns float64 (NaN where pandas gives NaN)."""
    f = Fraction(1.0 - alpha)
    nw = Fraction(1) if adjust else Fraction(alpha)
    y = x if y is None else y
    weights, xs, ys, out = [], [], [], []
    for xi, yi in zip(x, y, strict=True):
        obs = math.isfinite(xi) and math.isfinite(yi)
        if weights and (obs or not ignore_na):
            weights = [w * f for w in weights]
        if not obs and out and sum(weights) > 0:
            out.append(out[-1])  # a uniform decay changes no normalised statistic
            continue
        if obs:
            weights.append(nw if weights else Fraction(1))
            xs.append(Fraction(xi))
            ys.append(Fraction(yi))
            if not adjust:  # y = (f**k y' + alpha x) / (f**k + alpha): renormalised
                total = sum(weights)
                weights = [w / total for w in weights]
        if len(xs) < max(min_periods, 1):
            out.append(np.nan)
            continue
        W = sum(weights)
        if W == 0:  # every weight decayed to 0 (alpha = 1 and a NaN): pandas keeps the last
            out.append(out[-1])
            continue
        mx = sum(w * v for w, v in zip(weights, xs, strict=True)) / W
        if stat == "mean":
            out.append(float(mx))
            continue
        my = sum(w * v for w, v in zip(weights, ys, strict=True)) / W
        cxx = sum(w * (v - mx) ** 2 for w, v in zip(weights, xs, strict=True)) / W
        cyy = sum(w * (v - my) ** 2 for w, v in zip(weights, ys, strict=True)) / W
        cxy = sum(w * (a - mx) * (b - my) for w, a, b in zip(weights, xs, ys, strict=True)) / W
        if stat == "corr":  # sign(cxy) sqrt(cxy**2 / (cxx cyy)), rounded once
            r2 = cxy * cxy / (cxx * cyy) if cxx * cyy > 0 else None
            out.append(np.nan if r2 is None else math.copysign(math.sqrt(r2), cxy))
            continue
        c = cxy if stat == "cov" else cxx
        if not bias:
            u = 1 - sum(w * w for w in weights) / W**2
            c = c / u if u > 0 else None
        out.append(np.nan if c is None else math.sqrt(c) if stat == "std" else float(c))
    return np.array(out, dtype=np.float64)


def ld_sums(values, weights, f):
    """s[n] = sum_k f**(n-k) weights[k] values[k] in long double, by blocks: within a block
    s[b+j] = f**j (f s[b-1] + cumsum(f**-i weights values)), f**-i kept far from overflow."""
    f = np.longdouble(f)
    terms = np.asarray(weights, np.longdouble) * np.asarray(values, np.longdouble)
    if f == 0:
        return terms
    block = int(min(4096, max(1, 8000 / -np.log2(float(f))))) if f < 1 else 4096
    out = np.empty(len(terms), np.longdouble)
    prev = np.longdouble(0)
    for b in range(0, len(terms), block):
        seg = terms[b : b + block]
        j = np.arange(len(seg), dtype=np.longdouble)
        out[b : b + block] = f**j * (f * prev + np.cumsum(seg * f**-j))
        prev = out[b + len(seg) - 1]
    return out


def ewm_longdouble(x, *, alpha, stat, adjust=True, bias=False):
    """pandas' ewm mean/var/std from weighted power sums in long double (eps 5.4e-20), the
    values shifted by their mean so that nothing cancels. NaNs (weight 0, still decaying the
    others: ignore_na=False) only with adjust=True; the first value must be a number."""
    obs = ~np.isnan(np.asarray(x, np.float64))
    assert obs[0] and (adjust or obs.all())
    x = np.where(obs, x, 0.0).astype(np.longdouble)
    f = 1.0 - alpha
    c = np.where(obs, np.longdouble(1.0 if adjust else alpha), np.longdouble(0))
    c[0] = 1
    m0 = x[obs].mean()
    d = np.where(obs, x - m0, 0)
    W = ld_sums(np.ones(len(x)), c, f)
    m = ld_sums(d, c, f) / W
    if stat == "mean":
        return (m0 + m).astype(np.float64)
    var = ld_sums(d * d, c, f) / W - m * m
    if not bias:
        u = 1 - ld_sums(np.ones(len(x)), c * c, f * f) / (W * W)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(u > 0, var / u, np.nan)
    return np.sqrt(var) if stat == "std" else var


def ewm_var_west_longdouble(x, *, alpha):
    """ewm(alpha).var() (adjust=True) of a NaN-free series by West's weighted update in long
    double, for data that drift (where power sums about one centre lose digits)."""
    f = np.longdouble(1.0 - alpha)
    one = np.longdouble(1)
    k = np.longdouble(x[0])
    w, w2, m, c = one, one, np.longdouble(0), np.longdouble(0)
    out = [np.nan]
    for v in np.asarray(x[1:], np.longdouble):
        w, w2 = f * w + 1, f * f * w2 + 1
        q = (v - k) - m
        m += q / w
        c = (1 - one / w) * (c + q * q / w)
        out.append(c / (1 - w2 / (w * w)))
    return np.array(out, np.longdouble)


def ewm_call(stat, x, y, **kw):
    return ewm_fn(stat)(x, y, **kw) if stat in ("cov", "corr") else ewm_fn(stat)(x, **kw)


def ewm_twin(stat, x, y, **kw):
    """The rational twin, the nan-patterns of pandas included."""
    if stat not in ("cov", "corr"):
        y = None
    kw.pop("n_threads", None)
    return ewm_fraction(x, y, stat=stat, **kw)


def assert_ewm_close(got, ref, x, stat, rtol):
    """Same NaN positions; finite values within rtol (means: rtol times the largest |x|
    seen so far, their natural scale; cov: times the largest |cov|, as a covariance near 0
    is the difference of larger terms; corr: absolute)."""
    got = np.asarray(got, np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg="NaN positions differ")
    keep = ~np.isnan(ref)
    if stat == "mean":
        scale = np.fmax.accumulate(np.where(np.isfinite(x), np.abs(x), 0.0))[keep]
    elif stat == "corr":
        scale = np.ones(keep.sum())
    elif stat == "cov":
        scale = np.full(keep.sum(), np.max(np.abs(ref[keep]), initial=0.0))
    else:
        scale = np.abs(ref[keep])
    err = np.abs(got[keep] - ref[keep])
    assert np.all(err <= rtol * scale), f"max error {np.max(err / np.fmax(scale, 1e-300))}"


def nan_patterns(rng, n):
    x = 5.0 + rng.standard_normal(n)
    x[[1, 2, 3, 10, 11]] = np.nan
    x[rng.random(n) < 0.15] = np.nan
    x[-4:] = np.nan
    x[0] = np.nan
    return x


@pytest.mark.parametrize("stat", ["mean", "var", "cov", "corr"])  # std: sqrt(var), below
@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("ignore_na", [False, True])
def test_ewm_nan_patterns_exact_twin_and_pandas(stat, adjust, ignore_na, rng):
    pd = pytest.importorskip("pandas")
    x, y = nan_patterns(rng, 40), nan_patterns(rng, 40)
    y[5] = np.inf  # pandas drops infinities like NaNs
    # Dyadic alphas keep the rational twin's numbers small (f = 1 - alpha is then exact).
    for alpha, minp in [(0.3, 0), (2**-5, 3), (1.0, 0), (0.875, 1), (0.25, 0)]:
        kw = {"alpha": alpha, "adjust": adjust, "ignore_na": ignore_na, "min_periods": minp}
        got = ewm_call(stat, x, y, **kw)
        if alpha != 0.3:
            assert_ewm_close(got, ewm_twin(stat, x, y, **kw), x, stat, 1e-13)
        e = pd.Series(x).ewm(**kw)
        ref = (
            e.cov(pd.Series(y))
            if stat == "cov"
            else e.corr(pd.Series(y))
            if stat == "corr"
            else getattr(e, stat)()
        ).to_numpy()
        assert_ewm_close(got, ref, x, stat, 1e-12)


@pytest.mark.parametrize("stat", ["var", "std", "cov"])
def test_ewm_bias_and_parameters_against_pandas(stat, rng):
    pd = pytest.importorskip("pandas")
    x = 100.0 + rng.standard_normal(3000)
    x[rng.random(3000) < 0.02] = np.nan
    y = x * 0.5 + rng.standard_normal(3000)
    for params in ({"com": 9.5}, {"span": 20}, {"halflife": 7.0}, {"alpha": 0.01}):
        for bias in (False, True):
            got = ewm_call(stat, x, y, bias=bias, **params)
            e = pd.Series(x).ewm(**params)
            if stat == "cov":
                ref = e.cov(pd.Series(y), bias=bias)
            else:
                ref = getattr(e, stat)(bias=bias)
            assert_ewm_close(got, ref.to_numpy(), x, stat, 1e-12)
    np.testing.assert_array_equal(hotloop.ewm_mean(x, span=20), hotloop.ewm_mean(x, alpha=2 / 21))


@pytest.mark.parametrize("alpha", [0.5, 0.1, 0.01, 1e-3])
@pytest.mark.parametrize("adjust", [True, False])
def test_ewm_accuracy_at_large_offset(alpha, adjust):
    """1e9 + N(0, 1): relative error <= 1e-12 against the long-double sums; numbagg's power
    sums lose everything there (its error is printed beside ours)."""
    n = 6000
    x = 1e9 + np.random.default_rng(3).standard_normal(n)
    if adjust:  # NaNs too (ignore_na=False: they decay the weights)
        x[np.random.default_rng(4).random(n) < 0.1] = np.nan
        x[0] = 1e9
    for stat in ("mean", "var", "std"):
        got = ewm_fn(stat)(x, alpha=alpha, adjust=adjust)
        ref = ewm_longdouble(x, alpha=alpha, stat=stat, adjust=adjust)
        rel = np.abs(got[1:] - ref[1:]) / np.abs(ref[1:])
        assert float(np.nanmax(rel)) <= 1e-12, (stat, float(np.nanmax(rel)))
        np.testing.assert_array_equal(np.isnan(got[1:]), np.isnan(ref[1:]))


def test_ewm_numbagg_loses_digits_where_we_do_not():
    numbagg = pytest.importorskip("numbagg")
    x = 1e9 + np.random.default_rng(5).standard_normal(5000)
    ref = ewm_longdouble(x, alpha=0.1, stat="std")
    ours = hotloop.move_exp_nanstd(x, alpha=0.1)
    with np.errstate(invalid="ignore"):
        theirs = numbagg.move_exp_nanstd(x, alpha=0.1)
    ours_err = np.nanmax(np.abs(ours[1:] - ref[1:]) / ref[1:])
    with np.errstate(invalid="ignore"):
        their_err = np.abs(theirs[1:] - ref[1:]) / ref[1:]
    their_err = np.where(np.isnan(their_err), np.inf, their_err)
    print(
        f"move_exp_nanstd on 1e9 + N(0,1): hotloop {ours_err:.1e}, numbagg "
        f"median {np.median(their_err):.1e}, NaN in {np.isinf(their_err).mean():.0%}"
    )
    assert ours_err <= 1e-12
    assert np.median(their_err) > 1e-3


def test_ewm_constant_series_exact_and_edges():
    for value in (3.0, 1e9 + 0.1, -7.25e-300):
        x = np.full(300, value)
        assert (hotloop.ewm_mean(x, alpha=0.1) == value).all()
        assert (hotloop.ewm_var(x, alpha=0.1, bias=True) == 0.0).all()
        assert np.isnan(hotloop.ewm_var(x, alpha=0.1)[0])
        assert (hotloop.ewm_var(x, alpha=0.1)[1:] == 0.0).all()
    # alpha = 1: the last value; the unbiased variance is NaN (its denominator is 0), as pandas
    x = np.array([1.0, np.nan, 4.0, 2.0])
    np.testing.assert_array_equal(hotloop.ewm_mean(x, alpha=1), [1.0, 1.0, 4.0, 2.0])
    assert np.isnan(hotloop.ewm_var(x, alpha=1)).all()
    np.testing.assert_array_equal(hotloop.ewm_var(x, alpha=1, bias=True), [0.0, 0.0, 0.0, 0.0])
    for stat in EWM:
        assert ewm_call(stat, np.empty(0), np.empty(0), alpha=0.5).shape == (0,)
        assert ewm_call(stat, np.empty((2, 0)), np.empty((2, 0)), alpha=0.5).shape == (2, 0)
        assert np.isnan(ewm_call(stat, np.full(5, np.nan), np.ones(5), alpha=0.5)).all()
        one = ewm_call(stat, [2.0], [3.0], alpha=0.5)
        assert one[0] == 2.0 if stat == "mean" else np.isnan(one[0])
    # infinities are dropped like NaNs (pandas)
    np.testing.assert_array_equal(
        hotloop.ewm_mean([1.0, np.inf, -np.inf, 1.0], alpha=0.5), [1.0, 1.0, 1.0, 1.0]
    )


def test_ewm_long_nan_gap_and_drift(rng):
    """Long gaps: the old weights decayed by 2**-500 (kept exactly), or by 2**-1100 (below the
    smallest double: gone, so the series restarts and the unbiased variance of its first value
    is NaN, as pandas gives; during that gap pandas' own variance turns NaN when its sum of
    squared weights underflows, ours stays); a series drifting far from its first value (the
    shift is re-centred)."""
    for gap in (500, 1100):
        x = np.concatenate([rng.standard_normal(20), np.full(gap, np.nan), rng.standard_normal(6)])
        for stat in ("mean", "var"):
            got = ewm_fn(stat)(x, alpha=0.5)
            ref = ewm_fraction(x, alpha=0.5, stat=stat)
            if gap == 1100:  # the restart
                ref[20 + gap :] = ewm_fraction(x[20 + gap :], alpha=0.5, stat=stat)
            assert_ewm_close(got, ref, x, stat, 1e-13)
    walk = 1e6 * np.arange(3000.0) + rng.standard_normal(3000)
    ref = ewm_var_west_longdouble(walk, alpha=0.05)
    for stat in ("var", "std"):
        got = ewm_fn(stat)(walk, alpha=0.05)
        want = ref if stat == "var" else np.sqrt(ref)
        assert np.nanmax(np.abs(got - want) / want) <= 1e-13


@pytest.mark.parametrize("stat", EWM)
def test_ewm_axis_dtypes_out_and_threads(stat, rng):
    x = rng.standard_normal((3, 5, 400))
    x[rng.random(x.shape) < 0.1] = np.nan
    y = x + rng.standard_normal(x.shape)
    for axis in (0, 1, 2, -1):
        got = ewm_call(stat, x, y, alpha=0.2, axis=axis, n_threads=1)
        mx, my = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
        rows = [
            ewm_call(stat, a, b, alpha=0.2)
            for a, b in zip(mx.reshape(-1, mx.shape[-1]), my.reshape(-1, my.shape[-1]), strict=True)
        ]
        assert_same(np.moveaxis(got, axis, -1).reshape(len(rows), -1), np.stack(rows))
        assert_same(ewm_call(stat, x, y, alpha=0.2, axis=axis, n_threads=2), got)
    x32 = x[0, 0].astype(np.float32)
    got32 = ewm_call(stat, x32, x32 * 2, alpha=0.2)
    assert got32.dtype == np.float32
    ref = ewm_call(stat, x32.astype(np.float64), x32.astype(np.float64) * 2, alpha=0.2)
    np.testing.assert_allclose(got32, ref.astype(np.float32), rtol=2**-23, atol=1e-30)
    if stat in ("cov", "corr"):
        assert ewm_call(stat, x32, x[0, 0], alpha=0.2).dtype == np.float64
    ints = rng.integers(-5, 5, 50)
    assert_same(
        ewm_call(stat, ints, ints[::-1], alpha=0.3),
        ewm_call(stat, ints.astype(float), ints[::-1].astype(float), alpha=0.3),
    )
    assert_same(
        ewm_call(stat, list(ints), list(ints[::-1]), alpha=0.3),
        ewm_call(stat, ints, ints[::-1], alpha=0.3),
    )
    out = np.full(x.shape, 7.0)
    res = ewm_call(stat, x, y, alpha=0.2, out=out)
    assert res is out
    assert_same(out, ewm_call(stat, x, y, alpha=0.2))
    strided = x[:, ::2, ::-3]
    assert_same(
        ewm_call(stat, strided, strided, alpha=0.2),
        ewm_call(stat, strided.copy(), strided.copy(), alpha=0.2),
    )
    inplace = x.copy()
    ewm_call(stat, inplace, y, alpha=0.2, out=inplace)
    assert_same(inplace, ewm_call(stat, x, y, alpha=0.2))


@settings(max_examples=40)
@given(
    x=hnp.arrays(
        np.float64,
        st.integers(0, 24),
        # No values below 1e-100 but 0: squared deviations below 1e-308 underflow (documented)
        elements=st.one_of(
            st.floats(-1e3, 1e3).filter(lambda v: abs(v) > 1e-100),
            st.sampled_from([np.nan, np.inf, -np.inf, 1e9, 0.0]),
        ),
    ),
    data=st.data(),
)
def test_property_ewm_against_exact_twin(x, data):
    stat = data.draw(st.sampled_from(EWM))
    y = data.draw(
        hnp.arrays(
            np.float64,
            len(x),
            elements=st.floats(-10, 10).filter(lambda v: v == 0 or abs(v) > 1e-100),
        )
    )
    kw = {
        "alpha": data.draw(st.sampled_from([1.0, 0.5, 0.3, 2**-4, 2**-10])),
        "adjust": data.draw(st.booleans()),
        "ignore_na": data.draw(st.booleans()),
        "min_periods": data.draw(st.integers(0, 5)),
    }
    if stat in ("var", "std", "cov"):
        kw["bias"] = data.draw(st.booleans())
    got = ewm_call(stat, x, y, **kw)
    ref = ewm_twin(stat, x, y, **kw)
    # A variance that is a rounding error of the twin's exact 0 (equal values): absolute.
    tol = 1e-12 if stat == "mean" else 1e-9
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    keep = ~np.isnan(ref)
    scale = np.max(np.abs(x[np.isfinite(x)]), initial=1.0) ** (1 if stat == "mean" else 2)
    if stat == "std":
        scale = math.sqrt(scale)
    if stat == "corr":
        scale = 1.0
    err = np.abs(got[keep] - ref[keep])
    assert np.all(err <= tol * np.fmax(np.abs(ref[keep]), 1e-3 * scale)), (got, ref)


# numbagg's move_exp_nan* signatures


MOVE_EXP = ("nanmean", "nansum", "nanvar", "nanstd", "nancount", "nancov", "nancorr")


def move_exp(name, a, b, **kw):
    fn = getattr(hotloop, f"move_exp_{name}")
    return fn(a, b, **kw) if name in ("nancov", "nancorr") else fn(a, **kw)


@pytest.mark.parametrize("name", MOVE_EXP)
def test_move_exp_match_numbagg(name, rng):
    numbagg = pytest.importorskip("numbagg")
    theirs = getattr(numbagg, f"move_exp_{name}")
    a = rng.standard_normal((3, 300))
    a[rng.random(a.shape) < 0.1] = np.nan
    b = a * 0.3 + rng.standard_normal(a.shape)
    a[0, :5] = np.nan
    per_position = rng.uniform(0.01, 0.9, 300)
    cases = [
        {"alpha": 0.1},
        {"alpha": 0.5, "min_weight": 0.7},
        {"alpha": 1.0},
        {"alpha": 0.0},
        {"alpha": per_position},
        {"alpha": np.broadcast_to(per_position, a.shape).copy(), "min_weight": 0.3},
        {"alpha": 0.2, "axis": 0},
        {"alpha": 0.2, "axis": (1,)},
    ]
    for kw in cases:
        if kw.get("axis") == 0:
            kw = {**kw, "alpha": 0.2}
        got = move_exp(name, a, b, **kw)
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = theirs(a, b, **kw) if name in ("nancov", "nancorr") else theirs(a, **kw)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=str(kw))
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, err_msg=str(kw))
    row = a[0]
    if name in ("nancov", "nancorr"):
        with pytest.raises(ValueError, match=r"axis=\(\) .* is refused with two arrays"):
            move_exp(name, row, b[0], alpha=0.2, axis=())
    else:
        assert move_exp(name, row, None, alpha=0.2, axis=()) is row


def test_move_exp_infinities_and_dtypes_as_numbagg(rng):
    numbagg = pytest.importorskip("numbagg")
    a = rng.standard_normal(60)
    a[[10, 30]] = np.inf
    a[40] = -np.inf
    a[[5, 6, 50]] = np.nan
    for name in ("nanmean", "nansum", "nanvar", "nanstd", "nancount"):
        for alpha in (0.3, 1.0):
            with np.errstate(invalid="ignore"):
                ref = getattr(numbagg, f"move_exp_{name}")(a, alpha=alpha)
            got = move_exp(name, a, None, alpha=alpha)
            np.testing.assert_allclose(got, ref, rtol=1e-12, err_msg=f"{name} {alpha}")
    for dtype, alpha in [
        (np.float32, 0.3),
        (np.float32, np.full(60, 0.3, np.float32)),
        (np.int64, 0.3),
        (np.bool_, 0.3),
    ]:
        x = (
            (rng.standard_normal(60) > 0).astype(dtype)
            if dtype != np.float32
            else a[:60].astype(dtype)
        )
        with np.errstate(invalid="ignore"):
            ref = numbagg.move_exp_nanmean(x, alpha=alpha)
        got = hotloop.move_exp_nanmean(x, alpha=alpha)
        assert got.dtype == ref.dtype, (dtype, alpha)
        np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_move_count_is_rolling_count():
    """numbagg 0.9 exports no move_count (its code is commented out); hotloop.rolling_count is
    the windowed count of non-NaN values, and move_exp_nancount numbagg's weighted one."""
    numbagg = pytest.importorskip("numbagg")
    assert not hasattr(numbagg, "move_count")
    x = np.array([1.0, np.nan, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(hotloop.rolling_count(x, 2, min_periods=1), [1, 1, 1, 2, 1])


# ---------------------------------------------------------------------------------------------
# Shape statistics (skew, kurt, sem) and pair statistics (cov, corr): exact rational twins,
# pandas on ordinary data, bitwise thread invariance

from twins import pair_twin, shape_twin, sliding_shape_longdouble  # noqa: E402

TOL_SHAPE = 2.0**-38  # kRollingShapeTolerance
SHAPES = ("skew", "kurt", "sem")
PAIRS = ("cov", "corr")


def shape_bound(ref, count, stat, dtype=np.float64):
    """The documented error bound (rolling.hpp), plus a few ulps times sqrt(count)."""
    ulps = 64 * U * (np.sqrt(count) + 4)
    a = np.abs(ref)
    if stat == "sem":
        bound = (TOL_SHAPE / 2 + 16 * U) * a
    elif stat == "skew":
        bound = TOL_SHAPE * (2.5 * a + 2.5) + ulps * (a + 1)
    else:
        bound = 3 * TOL_SHAPE * (a + 14) + ulps * (a + 14)
    if dtype == np.float32:
        bound = bound + 2.0**-24 * (a + (0 if stat == "sem" else 1))
    return bound


def assert_within(got, ref, bound, what=""):
    got = np.asarray(got, dtype=np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{what}: NaN positions")
    # Beyond the largest double (cov of huge values): an infinity is owed where the error bound
    # is finite. Where the bound itself is beyond the largest double (values near 1e300 whose
    # products cancel to a cov of, say, -2.5e308), the documented accuracy allows any number.
    inf = np.isinf(ref) & np.isfinite(bound)
    np.testing.assert_array_equal(got[inf], ref[inf], err_msg=f"{what}: infinities")
    fin = np.isfinite(ref)
    err = np.abs(got[fin] - ref[fin])
    ok = err <= bound[fin] + 2 * 5e-324
    if not ok.all():
        k = int(np.argmax(~ok))
        pytest.fail(f"{what}: |{got[fin][k]!r} - {ref[fin][k]!r}| > {bound[fin][k]!r}")


def check_shape(x, window, stat, *, ddof=1, min_periods=None):
    kw = {"ddof": ddof} if stat == "sem" else {}
    got = getattr(hotloop, f"rolling_{stat}")(x, window, min_periods=min_periods, **kw)
    ref, count = shape_twin(x, window, stat, ddof=ddof, min_periods=min_periods)
    assert_within(got, ref, shape_bound(ref, count, stat, np.asarray(x).dtype), stat)


def check_pair(x, y, window, stat, *, ddof=1, min_periods=None):
    fn = getattr(hotloop, f"rolling_{stat}")
    got = fn(x, y, window, ddof=ddof, min_periods=min_periods)
    ref, scale, count = pair_twin(x, y, window, stat, ddof=ddof, min_periods=min_periods)
    tol = (TOL_SHAPE if stat == "cov" else 2 * TOL_SHAPE) + 16 * U * (np.sqrt(count) + 4)
    assert_within(got, ref, tol * scale, stat)
    for i in np.flatnonzero(np.isinf(ref) & np.isinf(scale)):
        check_cov_beyond_doubles(x, y, window, ddof, i, got[i], tol[i])


def check_cov_beyond_doubles(x, y, window, ddof, i, got, tol):
    """Output i, whose exact cov and error bound tol sqrt(Mxx Myy) / (n - ddof) are both beyond
    the largest double, checked in exact arithmetic: a finite result within the bound of the
    exact value, or an infinity that some value within the bound rounds to."""
    from decimal import localcontext

    lo = max(0, i - window + 1)
    wx, wy = np.asarray(x[lo : i + 1], float), np.asarray(y[lo : i + 1], float)
    keep = ~(np.isnan(wx) | np.isnan(wy))
    fx, fy = [Fraction(v) for v in wx[keep]], [Fraction(v) for v in wy[keep]]
    n = len(fx)
    mx, my = sum(fx) / n, sum(fy) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(fx, fy, strict=True)) / (n - ddof)
    mxx = sum((a - mx) ** 2 for a in fx)
    myy = sum((b - my) ** 2 for b in fy)
    with localcontext() as ctx:
        ctx.prec = 80
        cov_d = Decimal(cov.numerator) / Decimal(cov.denominator)
        prod = mxx * myy
        bound = (
            Decimal(float(tol))
            * (Decimal(prod.numerator) / Decimal(prod.denominator)).sqrt()
            / (n - ddof)
        )
        if math.isinf(got):  # a value within the bound rounds to it
            reach = cov_d + bound if got > 0 else -(cov_d - bound)
            assert reach > Decimal(np.finfo(np.float64).max), (i, got, cov_d, bound)
        else:
            assert abs(Decimal(float(got)) - cov_d) <= bound, (i, got, cov_d, bound)


def test_pair_cov_beyond_the_largest_double():
    # Products of deviations near 1e300 cancel to a cov of -8.3e307 (ddof 0) and beyond; the
    # error bound, relative to sqrt(var_x var_y) ~ 1e600, is beyond the largest double too.
    x = np.array([0.0, 0.0, 0.0, 1e300, 1e300, 1e300])
    y = np.array([1e9, 1e300, 1e300, 0.0, 1e300, 1e300])
    for ddof in range(6):
        check_pair(x, y, 6, "cov", ddof=ddof)
    # Perfectly correlated huge values: a variance far beyond the largest double, +inf.
    h = np.array([1e300, -1e300, 1e300, -1e300])
    got = hotloop.rolling_cov(h, h, 4)
    assert got[-1] == np.inf
    check_pair(h, h, 4, "cov")


def adversarial(rng, n):
    """Offsets, runs of equal values (also one ulp apart), an outlier, NaN and inf."""
    x = 1e9 + rng.standard_normal(n)
    x[n // 5 : n // 5 + 15] = 1e9 + 0.1
    x[n // 5 + 7] = np.nextafter(1e9 + 0.1, 2e9)
    x[n // 2] = 1e15
    x[n // 2 + 20 : n // 2 + 34] = -2.5
    x[rng.random(n) < 0.05] = np.nan
    x[3 * n // 4] = np.inf
    return x


@pytest.mark.parametrize("stat", SHAPES)
@pytest.mark.parametrize("window", [1, 3, 4, 9])
def test_shape_exact_small(stat, window, rng):
    x = adversarial(rng, 100)
    for minp in (None, 0, 3):
        if minp is None or minp <= window:
            check_shape(x, window, stat, ddof=1 if window > 1 else 0, min_periods=minp)
    scaled = rng.standard_normal(60) * 2.0**-1000  # tiny values: 4th powers would underflow
    check_shape(scaled, window, stat, ddof=0, min_periods=1)
    check_shape(np.ldexp(scaled, 1990), window, stat, ddof=0, min_periods=1)  # near 1e298


@pytest.mark.parametrize("stat", PAIRS)
@pytest.mark.parametrize("window", [1, 2, 3, 6])
def test_pair_exact_small(stat, window, rng):
    x = adversarial(rng, 100)
    y = -3e-3 * (x - 1e9) + rng.standard_normal(100) * 1e-3
    y[40:55] = 4.0  # constant y
    y[rng.random(100) < 0.05] = np.nan  # pairs incomplete on the other side
    y[90] = -np.inf
    for minp, ddof in [(None, 1), (0, 0), (2, 1)]:
        if ddof < window and (minp is None or minp <= window):
            check_pair(x, y, window, stat, ddof=ddof, min_periods=minp)


finite_or_special = st.one_of(
    st.floats(-1e6, 1e6),
    st.sampled_from([np.nan, np.inf, 0.0, 1.0, 1e9, 1e9 + 1, -1e-300, 1e300]),
)


@settings(max_examples=60)
@given(
    x=hnp.arrays(np.float64, st.integers(0, 30), elements=finite_or_special),
    window=st.integers(1, 7),
    stat=st.sampled_from(SHAPES),
    data=st.data(),
)
def test_property_shape_exact(x, window, stat, data):
    minp = data.draw(st.one_of(st.none(), st.integers(0, window)))
    ddof = data.draw(st.integers(0, window - 1))
    check_shape(x, window, stat, ddof=ddof, min_periods=minp)


@settings(max_examples=60)
@given(
    xy=hnp.arrays(
        np.float64, st.tuples(st.just(2), st.integers(0, 30)), elements=finite_or_special
    ),
    window=st.integers(1, 7),
    stat=st.sampled_from(PAIRS),
    data=st.data(),
)
def test_property_pair_exact(xy, window, stat, data):
    minp = data.draw(st.one_of(st.none(), st.integers(0, window)))
    ddof = data.draw(st.integers(0, window - 1))
    check_pair(xy[0], xy[1], window, stat, ddof=ddof, min_periods=minp)


def test_shape_and_pair_against_pandas(rng):
    pd = pytest.importorskip("pandas")
    x = rng.standard_normal(3000) ** 3 + 5.0  # skewed, heavy-tailed
    y = 0.5 * x + rng.standard_normal(3000)
    x[rng.random(3000) < 0.05] = np.nan
    y[rng.random(3000) < 0.05] = np.nan
    for window, minp in [(10, None), (10, 4), (50, 1), (300, 20)]:
        roll = pd.Series(x).rolling(window, min_periods=minp)
        for stat in SHAPES:
            got = getattr(hotloop, f"rolling_{stat}")(x, window, min_periods=minp)
            ref = getattr(roll, stat)().to_numpy()
            np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8, err_msg=stat)
        for stat in PAIRS:
            got = getattr(hotloop, f"rolling_{stat}")(x, y, window, min_periods=minp)
            ref = getattr(roll, stat)(pd.Series(y)).to_numpy()
            np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10, err_msg=stat)
        got = hotloop.rolling_sem(x, window, ddof=0, min_periods=minp)
        np.testing.assert_allclose(got, roll.sem(ddof=0).to_numpy(), rtol=1e-10)
        got = hotloop.rolling_cov(x, y, window, ddof=0, min_periods=minp)
        ref = roll.cov(pd.Series(y), ddof=0).to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)


def assert_close_nan(got, ref, rtol=1e-12):
    """Same NaN positions (NaN where pandas has NaN, and only there), close values."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol)


def test_shape_degenerate_windows_as_pandas():
    """Equal values: skew, kurt, corr NaN and sem, cov exactly 0 (pandas 3); too few values NaN.
    A window holding an infinity is NaN (pandas instead drops infinities as if they were NaN)."""
    pd = pytest.importorskip("pandas")
    x = np.array([3.0, 7, 1, 2, 0.1, 0.1, 0.1, 0.1, 0.1, np.nan, 0.1, 5, np.inf, 1, 2, 3, 4, 4.5])
    y = np.linspace(0.0, 1.0, x.size)
    roll = pd.Series(x).rolling(4, min_periods=1)
    clean = np.r_[0:12, 16:18]  # windows without the infinity
    for stat in SHAPES:
        got = getattr(hotloop, f"rolling_{stat}")(x, 4, min_periods=1)
        assert_close_nan(got[clean], getattr(roll, stat)().to_numpy()[clean])
        assert np.isnan(got[12:16]).all()
    assert (hotloop.rolling_sem(x, 4)[7:9] == 0.0).all()
    assert (hotloop.rolling_cov(x, y, 4)[7:9] == 0.0).all()
    assert np.isnan(hotloop.rolling_corr(x, y, 4)[7:9]).all()
    assert hotloop.rolling_corr(y, y, 4)[3:].tolist() == [1.0] * (x.size - 3)
    assert hotloop.rolling_corr(y, -2 * y, 4)[3:].tolist() == [-1.0] * (x.size - 3)
    got = hotloop.rolling_corr(x, y, 4, min_periods=1)
    assert_close_nan(got[clean], roll.corr(pd.Series(y)).to_numpy()[clean])
    assert np.isnan(got[12:16]).all()


@pytest.mark.parametrize("stat", [*SHAPES, *PAIRS])
def test_shape_edges(stat):
    """Empty, all-NaN, window 1, window longer than the series, 2-D with an empty axis."""
    pair = stat in PAIRS
    fn = getattr(hotloop, f"rolling_{stat}")

    def call(x, window, **kw):
        return fn(x, x[::-1].copy(), window, **kw) if pair else fn(x, window, **kw)

    assert call(np.empty(0), 3).shape == (0,)
    assert call(np.empty((2, 0)), 3).shape == (2, 0)
    assert np.isnan(call(np.full(6, np.nan), 3, min_periods=0)).all()
    x = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    one = call(x, 1, **({"ddof": 0} if stat in ("sem", "cov", "corr") else {}))
    if stat in ("sem", "cov"):
        assert (one == 0.0).all()
    else:
        assert np.isnan(one).all()
    assert np.isnan(call(x, 9)).all()
    longer = call(x, 9, min_periods=0)
    assert_same(longer, call(x, 5, min_periods=0))


@pytest.mark.parametrize("stat", [*SHAPES, *PAIRS])
def test_shape_threads_axis_dtypes_out(stat, rng):
    pair = stat in PAIRS
    fn = getattr(hotloop, f"rolling_{stat}")
    x = with_specials(rng, 2 * BLOCK + 333, offset=1e6)
    x[5000] = 1e14
    y = x[::-1] * 0.5 + rng.standard_normal(x.size)

    def call(a, *args, **kw):
        return (
            fn(a, y[: a.shape[-1]] if a.ndim == 1 else b, *args, **kw)
            if pair
            else fn(a, *args, **kw)
        )

    ref = call(x, 64, min_periods=10, n_threads=1)
    for nt in (2, None):
        assert_same(call(x, 64, min_periods=10, n_threads=nt), ref)
        assert call(x, 64, min_periods=10, n_threads=nt).tobytes() == ref.tobytes()
    # 3-D along every axis, strided and read-only; y of other strides
    a = rng.standard_normal((3, 40, 5))
    a[rng.random(a.shape) < 0.05] = np.nan
    a.flags.writeable = False
    b = np.asfortranarray(rng.standard_normal((3, 40, 5)))
    for axis in (0, 1, 2, -1):
        got = fn(a, b, 4, min_periods=3, axis=axis) if pair else fn(a, 4, min_periods=3, axis=axis)
        ma = np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])
        mb = np.moveaxis(b, axis, -1).reshape(-1, a.shape[axis])
        rows = [
            fn(ra, rb, 4, min_periods=3) if pair else fn(ra, 4, min_periods=3)
            for ra, rb in zip(ma, mb, strict=True)
        ]
        assert_same(np.moveaxis(got, axis, -1).reshape(ma.shape), np.stack(rows))
    # float32 stays float32 (pairs: float32 only with float32); ints, bools and lists -> float64
    f32 = a.astype(np.float32)
    got = fn(f32, f32, 4, axis=1) if pair else fn(f32, 4, axis=1)
    assert got.dtype == np.float32
    ref64 = (
        fn(f32.astype(np.float64), f32.astype(np.float64), 4, axis=1)
        if pair
        else fn(f32.astype(np.float64), 4, axis=1)
    )
    np.testing.assert_allclose(got, ref64, rtol=1e-6, atol=1e-6)
    ints = rng.integers(-5, 5, 50)
    args = (ints, ints[::-1].copy()) if pair else (ints,)
    assert_same(fn(*args, 6), fn(*(v.astype(np.float64) for v in args), 6))
    assert_same(fn(*(list(v) for v in args), 6), fn(*args, 6))
    assert fn(*(v > 0 for v in args), 6).dtype == np.float64
    if pair:
        assert fn(f32[0, :, 0], b[0, :, 0], 4).dtype == np.float64
    # out=, strided, and out overlapping the input
    src = rng.standard_normal(300)
    args = (src, src[::-1].copy()) if pair else (src,)
    expected = fn(*args, 7)
    out = np.zeros(600)[::2]
    assert fn(*args, 7, out=out) is out
    assert_same(out, expected)
    z = src.copy()
    assert fn(z, *args[1:], 7, out=z) is z
    assert_same(z, expected)


def hard_data(kind, n, rng):
    if kind == "offset":  # 1e9 + N(0, 1)
        return 1e9 + rng.standard_normal(n), 1e9 + rng.standard_normal(n)
    if kind == "walk":  # a random walk: the window's mean drifts away from any fixed shift
        return np.cumsum(rng.standard_normal(n)), np.cumsum(rng.standard_normal(n))
    return np.exp(3 * rng.standard_normal(n)), np.exp(3 * rng.standard_normal(n))  # lognormal


@pytest.mark.parametrize(
    ("stat", "kind", "window"),
    [
        ("sem", "offset", 10),
        ("skew", "walk", 50),
        ("kurt", "walk", 50),
        ("cov", "lognormal", 10),
        ("corr", "lognormal", 10),
        ("corr", "offset", 50),
    ],
)
def test_shape_accuracy_where_pandas_loses_digits(stat, kind, window):
    """Within 1e-10 of a long-double reference (relative, or in units of the statistic's scale
    where it is near 0: |skew| + 1, sqrt(var_x var_y) for cov), on data where pandas loses
    digits (its error is printed, and checked to be larger where it does)."""
    pd = pytest.importorskip("pandas")
    x, y = hard_data(kind, 8_000, np.random.default_rng(11))
    if stat in SHAPES:
        got = getattr(hotloop, f"rolling_{stat}")(x, window)
        ref = np.asarray(sliding_shape_longdouble(x, window, stat), dtype=np.float64)
        theirs = getattr(pd.Series(x).rolling(window), stat)().to_numpy()
        scale = np.abs(ref) + (0.0 if stat == "sem" else 1.0)
    else:
        got = getattr(hotloop, f"rolling_{stat}")(x, y, window)
        ref, scale = pair_longdouble(x, y, window, stat)
        theirs = getattr(pd.Series(x).rolling(window), stat)(pd.Series(y)).to_numpy()
    ours = float(np.max(np.abs(got[window - 1 :] - ref) / scale))
    pandas_err = float(np.nanmax(np.abs(theirs[window - 1 :] - ref) / scale))
    print(
        f"rolling_{stat} on {kind} data, window {window}: error hotloop {ours:.1e}, "
        f"pandas {pandas_err:.1e}"
    )
    assert ours <= 1e-10
    if kind != "offset" or stat == "sem":  # pandas 3 keeps its digits at an offset otherwise
        assert pandas_err > 100 * ours


def pair_longdouble(x, y, window, stat):
    """cov (ddof 1) or corr of every full window in long double, as float64, and the scale of
    its error bound (sqrt(var_x var_y), or 1 for corr)."""
    from numpy.lib.stride_tricks import sliding_window_view

    vx = sliding_window_view(np.asarray(x, dtype=np.longdouble), window)
    vy = sliding_window_view(np.asarray(y, dtype=np.longdouble), window)
    ex = vx - vx[:, :1]  # exact shifts, then central deviations
    ey = vy - vy[:, :1]
    ex = ex - ex.mean(axis=1, keepdims=True)
    ey = ey - ey.mean(axis=1, keepdims=True)
    n = np.longdouble(window)
    cxy = (ex * ey).sum(axis=1) - ex.sum(axis=1) * ey.sum(axis=1) / n
    mxx = (ex * ex).sum(axis=1) - ex.sum(axis=1) ** 2 / n
    myy = (ey * ey).sum(axis=1) - ey.sum(axis=1) ** 2 / n
    g = np.sqrt(mxx * myy)
    if stat == "cov":
        return np.asarray(cxy / (n - 1), np.float64), np.asarray(g / (n - 1), np.float64)
    return np.asarray(cxy / g, np.float64), 1.0


def test_shape_and_pair_bad_arguments():
    with pytest.raises(
        ValueError, match=r"x and y must have the same shape, got \(5,\) and \(4,\)"
    ):
        hotloop.rolling_cov(np.ones(5), np.ones(4), 3)
    with pytest.raises(ValueError, match=r"x and y must have the same shape, got \(2, 3\) and"):
        hotloop.rolling_corr(np.ones((2, 3)), np.ones((3, 2)), 2)
    with pytest.raises(TypeError, match=r"y must be an ndarray of dtype float64 or float32"):
        hotloop.rolling_corr(np.ones(5), np.ones(5, complex), 3)
    with pytest.raises(ValueError, match=r"ddof=1 must be less than window=1; accepted"):
        hotloop.rolling_sem(np.ones(5), 1)
    with pytest.raises(TypeError, match="ddof"):
        hotloop.rolling_skew(np.ones(5), 3, ddof=1)
    with pytest.raises(ValueError, match=r"min_periods=4 must be <= window=3"):
        hotloop.rolling_kurt(np.ones(5), 3, min_periods=4)
    with pytest.raises(ValueError, match=r"axis=2 is out of range for a 2-D x; accepted: -2"):
        hotloop.rolling_cov(np.ones((2, 3)), np.ones((2, 3)), 2, axis=2)


# Outputs of 32 MiB and more come from kept pages (pages.hpp): the memory of a freed output is
# reused. A live output must never be handed out again, and what a reused page held before must
# not show through.
def test_big_outputs_reuse_freed_memory_only(rng):
    import pickle

    n = 4_500_000  # 36 MB of float64
    xs = [rng.standard_normal(n) + k for k in range(3)]
    r0 = hotloop.rolling_mean(xs[0], 7)
    assert r0.flags.c_contiguous and r0.flags.writeable and r0.dtype == np.float64
    r1 = hotloop.rolling_std(xs[1], 50)
    assert not np.shares_memory(r0, r1)
    np.testing.assert_array_equal(r0, hotloop.rolling_mean(xs[0], 7, out=np.empty(n)))
    del r0
    r2 = hotloop.rolling_sum(xs[2], 3)  # may take r0's memory: every value is written anew
    assert not np.shares_memory(r1, r2)
    np.testing.assert_array_equal(r2, hotloop.rolling_sum(xs[2], 3, out=np.empty(n)))
    np.testing.assert_array_equal(r1, hotloop.rolling_std(xs[1], 50, out=np.empty(n)))
    # 2-D float32 along axis 0, and a view that outlives its array.
    x2 = np.tile(xs[0], 2).astype(np.float32).reshape(9000, 1000)  # 36 MB
    r3 = hotloop.rolling_max(x2, 5, axis=0)
    view = r3[10:20]
    del r3
    r4 = hotloop.rolling_min(x2, 5, axis=0)
    assert not np.shares_memory(view, r4)
    np.testing.assert_array_equal(
        view, hotloop.rolling_max(x2, 5, axis=0, out=np.empty_like(x2))[10:20]
    )
    np.testing.assert_array_equal(r4, hotloop.rolling_min(x2, 5, axis=0, out=np.empty_like(x2)))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(r2)), r2)


def _rolling_in_child(x, queue):
    queue.put(np.nansum(hotloop.rolling_mean(x, 9)))


def test_big_outputs_after_fork(rng):
    import multiprocessing as mp

    x = rng.standard_normal(4_500_000)
    kept = hotloop.rolling_mean(x, 9)
    want = np.nansum(kept)
    del kept  # leaves its pages kept for the child to inherit
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_rolling_in_child, args=(x, queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0 and got == want
