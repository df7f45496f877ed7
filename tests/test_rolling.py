"""hotloop.rolling_mean/var/std against a per-window long-double twin, pandas and bottleneck."""

import hotloop
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from twins import rolling_twin, sliding_std_longdouble

TOL = 2.0**-36  # documented relative error bound of the rolling variance
U = 2.0**-53
BLOCK = 16384  # rolling_block_size(window) for window <= 1024
TILE = 128  # vectorised tile length


def assert_rolling_close(got, x, window, stat, *, ddof=0, min_periods=None):
    """Compare with the twin: same NaN/inf positions, finite values within the documented bound."""
    ref, spread = rolling_twin(x, window, stat=stat, ddof=ddof, min_periods=min_periods)
    got64 = np.asarray(got, dtype=np.float64)
    assert got.dtype == np.asarray(x).dtype
    assert got.shape == np.shape(x)
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
        ((np.arange(10), 3), {}, TypeError, "float64 or float32"),
        ((np.ones((2, 2, 2)), 3), {}, ValueError, "1-D to 2-D"),
        ((np.float64(1.0), 3), {}, ValueError, "1-D to 2-D"),
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
