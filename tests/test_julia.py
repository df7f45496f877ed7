"""hotloop.julia / julia_grid / mandelbrot_grid against a pure-Python escape-time loop.

The twin is the classic ``calculate_z`` in plain Python complex arithmetic (IEEE doubles, the
squared-modulus test): counts must agree point for point, on the teaching material's reference
case and on random and adversarial points.
"""

import math

import numpy as np
import pytest
from hotloop import julia, julia_grid, mandelbrot_grid
from hotloop.reference import C_REF, calculate_z, teaching_case
from hypothesis import given
from hypothesis import strategies as st
from interrupts import interrupted_after


def counts_twin(zs, cs, maxiter):
    """Pure-Python counts (the teaching material's calculate_z, hotloop.reference)."""
    return calculate_z(maxiter, zs, cs)


@pytest.fixture(scope="module")
def reference_case():
    zs, cs = teaching_case()
    return zs, cs, counts_twin(zs, cs, 300)


def test_reference_case_point_for_point(reference_case):
    zs, cs, expected = reference_case
    assert len(zs) == 1000 * 1000
    expected = np.array(expected, dtype=np.int32)
    # The figure the teaching material prints for this case.
    assert int(expected.sum()) == 33219980
    z = np.array(zs)
    for got in (
        julia(z, np.array(cs), 300),
        julia(z, C_REF, 300, n_threads=1),
        julia(z, C_REF, 300, n_threads=2),
        julia(zs, cs, 300),  # lists, as the teaching material passes them
    ):
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, expected)


def rand_complex(rng, n, scale=2.0):
    return scale * (rng.uniform(-1, 1, n) + 1j * rng.uniform(-1, 1, n))


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 31, 32, 33, 100, 8191, 8192, 8193])
def test_random_points_match_twin(n, rng):
    zs = rand_complex(rng, n)
    cs = rand_complex(rng, n, 1.0)
    maxiter = 60
    got = julia(zs, cs, maxiter)
    assert got.shape == (n,)
    np.testing.assert_array_equal(got, counts_twin(zs.tolist(), cs.tolist(), maxiter))
    got_scalar = julia(zs, C_REF, maxiter)
    np.testing.assert_array_equal(got_scalar, counts_twin(zs.tolist(), [C_REF] * n, maxiter))


finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
anything = st.floats(allow_nan=True, allow_infinity=True)


@given(
    zs=st.lists(st.complex_numbers(max_magnitude=4.0, allow_nan=False), max_size=70),
    c=st.complex_numbers(max_magnitude=2.5, allow_nan=False),
    maxiter=st.integers(0, 120),
    n_threads=st.sampled_from([1, 2]),
)
def test_property_scalar_c(zs, c, maxiter, n_threads):
    got = julia(np.array(zs, dtype=np.complex128), c, maxiter, n_threads=n_threads)
    assert got.tolist() == counts_twin(zs, [c] * len(zs), maxiter)


@given(
    pts=st.lists(
        st.tuples(st.builds(complex, anything, anything), st.builds(complex, anything, anything)),
        max_size=40,
    ),
    maxiter=st.integers(0, 50),
)
def test_property_any_doubles(pts, maxiter):
    """Any doubles, NaN, infinities and huge values included: still the twin's counts."""
    zs = [p[0] for p in pts]
    cs = [p[1] for p in pts]
    got = julia(np.array(zs, dtype=np.complex128), np.array(cs, dtype=np.complex128), maxiter)
    assert got.tolist() == counts_twin(zs, cs, maxiter)


def test_adversarial_points():
    s = math.sqrt(2.0)
    zs = [
        2 + 0j,
        2j,
        -2 + 0j,
        -2j,  # |z|^2 == 4 exactly: no update
        complex(s, s),  # |z|^2 rounds near 4
        complex(1.9999999999999998, 0),  # just inside
        complex(0, 0),
        complex(-0.0, -0.0),
        complex(1e-160, 1e-160),  # squares underflow
        complex(5e-324, 0),  # subnormal
        complex(1e200, 0),
        complex(1e154, 1e154),
        complex(math.nan, 0),
        complex(0, math.inf),
        complex(0.25, 0),  # c = 0.25 + 0j: the cusp, slow escape
    ]
    cs = [
        complex(0, 0),
        complex(0.25, 0),
        complex(-2, 0),
        complex(0, 1),
        complex(math.nan, 0),
        complex(-0.75, 0.1),
        2j,
        complex(0.3, 0.5),
    ]
    for c in cs:
        got = julia(np.array(zs), np.full(len(zs), c), 500)
        assert got.tolist() == counts_twin(zs, [c] * len(zs), 500), c
    # Points that escape and come back inside the circle must keep their first exit count:
    # z = 2i -> z^2 + 4 = 0, never updated since |z|^2 = 4 fails first.
    assert julia(np.array([1.5j]), 4.0 + 0j, 10).tolist() == counts_twin([1.5j], [4 + 0j], 10)


def test_maxiter_edges(rng):
    zs = rand_complex(rng, 500, 0.3)  # mostly never escape
    for m in (0, 1, 2, 7, 8, 9, 300):
        got = julia(zs, -0.1 + 0.1j, m)
        np.testing.assert_array_equal(got, counts_twin(zs.tolist(), [-0.1 + 0.1j] * 500, m))
    assert julia(zs, 0j, 0).sum() == 0
    assert julia(np.zeros(3, complex), 0j, 5).tolist() == [5, 5, 5]
    # The largest maxiter, on points that escape quickly.
    fast = [3 + 0j, 1.5 + 0j, 0.5 + 0.5j]
    got = julia(np.array(fast), 1 + 1j, 2**31 - 1)
    assert got.tolist() == counts_twin(fast, [1 + 1j] * 3, 2**31 - 1)


def test_shapes_strides_and_threads(rng):
    z = rand_complex(rng, 6 * 7 * 5).reshape(6, 7, 5)
    c = rand_complex(rng, z.size, 0.8).reshape(z.shape)
    expected = np.array(counts_twin(z.ravel().tolist(), c.ravel().tolist(), 80)).reshape(z.shape)
    np.testing.assert_array_equal(julia(z, c, 80), expected)
    # Non-contiguous and read-only views.
    zt, ct = z.transpose(2, 0, 1), c.transpose(2, 0, 1)
    zt.flags.writeable = False
    np.testing.assert_array_equal(julia(zt, ct, 80), expected.transpose(2, 0, 1))
    np.testing.assert_array_equal(julia(z[:, ::2], c[:, ::2], 80), expected[:, ::2])
    # 0-d and empty.
    assert julia(np.array(0.1 + 0.1j), 0j, 10).shape == ()
    assert julia(np.empty((0, 3), complex), 0j, 10).shape == (0, 3)
    # Byte-swapped complex128 and NumPy/0-d scalars for c.
    zb = z.astype(z.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(julia(zb, np.complex128(C_REF), 40), julia(z, C_REF, 40))
    np.testing.assert_array_equal(julia(z, np.array(C_REF), 40), julia(z, C_REF, 40))
    # Thread counts never change a count.
    big = rand_complex(rng, 100_000)
    one = julia(big, C_REF, 200, n_threads=1)
    for nt in (2, 3, -1, None):
        np.testing.assert_array_equal(julia(big, C_REF, 200, n_threads=nt), one)


def grid_coordinates(width, height, xlim, ylim):
    dx = (xlim[1] - xlim[0]) / width
    dy = (ylim[1] - ylim[0]) / height
    x = xlim[0] + (np.arange(width) + 0.5) * dx
    y = ylim[1] - (np.arange(height) + 0.5) * dy
    return x[None, :] + 1j * y[:, None]


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 2), (37, 23), (200, 150)])
def test_julia_grid_is_julia_of_documented_coordinates(width, height):
    xlim, ylim = (-1.6, 1.3), (-1.1, 1.4)
    zs = grid_coordinates(width, height, xlim, ylim)
    got = julia_grid(C_REF, width, height, xlim=xlim, ylim=ylim, maxiter=120)
    assert got.shape == (height, width) and got.dtype == np.int32
    np.testing.assert_array_equal(got, julia(zs, C_REF, 120))
    twin = counts_twin(zs.ravel().tolist(), [C_REF] * zs.size, 120)
    np.testing.assert_array_equal(got.ravel(), twin)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (5, 4), (64, 48), (300, 200)])
def test_mandelbrot_grid_is_julia_from_zero(width, height):
    cs = grid_coordinates(width, height, (-2.0, 1.0), (-1.5, 1.5))
    got = mandelbrot_grid(width, height, maxiter=100)
    np.testing.assert_array_equal(got, julia(np.zeros(cs.shape, complex), cs, 100))
    twin = counts_twin([0j] * cs.size, cs.ravel().tolist(), 100)
    np.testing.assert_array_equal(got.ravel(), twin)


def test_grid_orientation_and_defaults():
    # Row 0 is the top (largest imaginary part), column 0 the left (smallest real part).
    img = mandelbrot_grid(9, 9, xlim=(-2.0, 1.0), ylim=(0.0, 3.0), maxiter=50)
    assert img[-1, 5] == 50  # bottom row, near c = -0.33 + 0.17i: inside the set
    assert img[0, 5] < 5  # top row, c = -0.33 + 2.8i: escapes at once
    assert julia_grid(C_REF, 40).shape == (40, 40)
    np.testing.assert_array_equal(julia_grid(C_REF, 40), julia_grid(C_REF, 40, 40, maxiter=300))
    big = mandelbrot_grid(700, 300, n_threads=1)
    np.testing.assert_array_equal(mandelbrot_grid(700, 300, n_threads=2), big)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: julia(np.zeros(3), 0j, 10), TypeError, "complex128"),
        (lambda: julia(np.zeros(3, np.complex64), 0j, 10), TypeError, "complex128"),
        (lambda: julia(np.zeros(3, object), 0j, 10), TypeError, "complex128"),
        (lambda: julia("abc", 0j, 10), TypeError, "got str"),
        (lambda: julia(["a"], 0j, 10), TypeError, "complex"),
        (lambda: julia(np.zeros(3, complex), np.zeros(4, complex), 10), ValueError, "shape"),
        (lambda: julia(np.zeros(3, complex), np.zeros(3), 10), TypeError, "complex128"),
        (lambda: julia(np.zeros(3, complex), "c", 10), TypeError, "complex number"),
        (lambda: julia(np.zeros(3, complex), complex("nan"), 10), ValueError, "finite"),
        (lambda: julia(np.zeros(3, complex), complex(0, math.inf), 10), ValueError, "finite"),
        (lambda: julia(np.zeros(3, complex), 0j, -1), ValueError, "maxiter"),
        (lambda: julia(np.zeros(3, complex), 0j, 2**31), ValueError, "maxiter"),
        (lambda: julia(np.zeros(3, complex), 0j, 1.5), TypeError, "maxiter"),
        (lambda: julia(np.zeros(3, complex), 0j, True), TypeError, "maxiter"),
        (lambda: julia(np.zeros(3, complex), 0j, 5, n_threads=0), ValueError, "n_threads"),
        (lambda: julia_grid(C_REF, 0), ValueError, "width"),
        (lambda: julia_grid(C_REF, 10, -1), ValueError, "height"),
        (lambda: julia_grid(C_REF, 10.0), TypeError, "width"),
        (lambda: julia_grid(complex("nan"), 10), ValueError, "finite"),
        (lambda: julia_grid(C_REF, 10, xlim=(1, -1)), ValueError, "lo < hi"),
        (lambda: julia_grid(C_REF, 10, ylim=(0, math.inf)), ValueError, "finite"),
        (lambda: julia_grid(C_REF, 10, xlim=3), TypeError, "pair"),
        (lambda: julia_grid(C_REF, 10, xlim=(0, 1, 2)), TypeError, "pair"),
        (lambda: mandelbrot_grid(10, maxiter=-5), ValueError, "maxiter"),
        (lambda: mandelbrot_grid(10, xlim=(0.0, 0.0)), ValueError, "lo < hi"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# Every point is inside the set: without interruption each call would run for hours.
_ENDLESS = {
    "julia": "hotloop.julia(np.zeros(64, complex), 0j, 2**31 - 1, n_threads={nt})",
    "julia_grid": "hotloop.julia_grid(0j, 300, xlim=(-0.1, 0.1), ylim=(-0.1, 0.1), "
    "maxiter=2**31 - 1, n_threads={nt})",
    "mandelbrot_grid": "hotloop.mandelbrot_grid(300, xlim=(-0.1, 0.1), ylim=(-0.1, 0.1), "
    "maxiter=2**31 - 1, n_threads={nt})",
}


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("call", sorted(_ENDLESS))
def test_ctrl_c_stops_a_huge_maxiter(call, n_threads):
    code = _ENDLESS[call].format(nt=n_threads)
    took, err = interrupted_after(f"import hotloop, numpy as np; {code}")
    assert "KeyboardInterrupt" in err, err
    assert took < 2.0, took


def test_grid_limits_whose_step_overflows_are_refused():
    with pytest.raises(OverflowError, match="xlim"):
        julia_grid(0j, 10, xlim=(-1e308, 1e308))
    with pytest.raises(OverflowError, match="ylim"):
        mandelbrot_grid(10, ylim=(-1.7e308, 1.7e308))


@pytest.mark.parametrize("grid", ["julia", "mandelbrot"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_rows_and_cols_give_that_part_of_the_whole_image(grid, n_threads):
    def image(**kw):
        if grid == "julia":
            return julia_grid(C_REF, 37, 23, maxiter=60, n_threads=n_threads, **kw)
        return mandelbrot_grid(37, 23, maxiter=60, n_threads=n_threads, **kw)

    whole = image()
    rng = np.random.default_rng(7)
    spans = [((0, 23), (0, 37)), ((5, 6), (0, 37)), ((0, 23), (36, 37)), ((3, 3), (2, 9))]
    for _ in range(20):
        r0, r1 = sorted(rng.integers(0, 24, 2))
        j0, j1 = sorted(rng.integers(0, 38, 2))
        spans.append(((int(r0), int(r1)), (int(j0), int(j1))))
    for (r0, r1), (j0, j1) in spans:
        part = image(rows=(r0, r1), cols=(j0, j1))
        assert part.shape == (r1 - r0, j1 - j0)
        np.testing.assert_array_equal(part, whole[r0:r1, j0:j1])
    np.testing.assert_array_equal(image(rows=None, cols=(4, 9)), whole[:, 4:9])


def test_rows_and_cols_larger_than_a_chunk_of_work():
    # Tiles spanning several of the kernel's work chunks, cut across rows.
    whole = mandelbrot_grid(700, 300, maxiter=20)
    part = mandelbrot_grid(700, 300, maxiter=20, rows=(13, 290), cols=(101, 650), n_threads=2)
    np.testing.assert_array_equal(part, whole[13:290, 101:650])


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"rows": (0, 11)}, ValueError, r"rows\[1\]"),
        ({"rows": (5, 4)}, ValueError, r"rows\[1\]"),
        ({"cols": (-1, 3)}, ValueError, r"cols\[0\]"),
        ({"cols": (0,)}, TypeError, "pair"),
        ({"cols": "ab"}, TypeError, "pair"),
        ({"rows": (0.5, 3)}, TypeError, r"rows\[0\]"),
    ],
)
def test_bad_rows_and_cols(kw, exc, match):
    with pytest.raises(exc, match=match):
        julia_grid(C_REF, 10, **kw)
