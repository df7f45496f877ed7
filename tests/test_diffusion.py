"""hotloop.evolve / diffuse against NumPy twins, the textbook np.roll version and the C function.

The twins add the neighbours in the C function's order, so hotloop must match them bitwise; the
textbook's np.roll version adds them in another order and must agree within 1e-12 relative.
"""

import ctypes
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from hotloop import diffuse, evolve
from hotloop.reference import diffuse_roll
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

C_SOURCE = Path(__file__).resolve().parent.parent / "benchmarks" / "c" / "diffusion.c"


def step_twin(g, coef, periodic=False):
    """One step in NumPy, neighbours added in the C function's order ((down + up) + right) + left.

    ``coef * array`` rounds a Python float coef to the array's dtype first (NEP 50), as the
    kernel does for float32.
    """
    if periodic:
        up, down = np.roll(g, 1, 0), np.roll(g, -1, 0)
        left, right = np.roll(g, 1, 1), np.roll(g, -1, 1)
        return g + coef * ((((down + up) + right) + left) - 4 * g)
    out = g.copy()
    mid = g[1:-1, 1:-1]
    lap = (((g[2:, 1:-1] + g[:-2, 1:-1]) + g[1:-1, 2:]) + g[1:-1, :-2]) - 4 * mid
    out[1:-1, 1:-1] = mid + coef * lap
    return out


def run_twin(g, steps, coef, periodic=False):
    for _ in range(steps):
        g = step_twin(g, coef, periodic)
    return g


textbook_roll = diffuse_roll  # the teaching material's NumPy version (periodic)


def blob(n, m=None, dtype=np.float64):
    """Zeros with the block [0.4N:0.5N, 0.4N:0.5N] = 0.005, the teaching material's start."""
    m = n if m is None else m
    g = np.zeros((n, m), dtype=dtype)
    g[int(0.4 * n) : int(0.5 * n), int(0.4 * m) : int(0.5 * m)] = 0.005
    return g


@pytest.fixture(scope="module")
def c_evolve(tmp_path_factory):
    """The teaching material's C function, built with gcc -O3, through ctypes."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    lib = tmp_path_factory.mktemp("cdiff") / "libdiffusion.so"
    subprocess.run([cc, "-O3", "-shared", "-fPIC", str(C_SOURCE), "-o", str(lib)], check=True)
    fn = ctypes.CDLL(str(lib)).evolve
    fn.restype = None
    ptr = np.ctypeslib.ndpointer(dtype=np.float64, ndim=2, flags="C_CONTIGUOUS")
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ptr, ptr, ctypes.c_double, ctypes.c_double]
    return fn


@pytest.mark.parametrize("shape", [(3, 3), (3, 17), (17, 3), (64, 64), (100, 37), (37, 1030)])
def test_evolve_is_the_c_function_bitwise(c_evolve, shape, rng):
    g = rng.random(shape)
    expected = rng.random(shape)  # edges must stay as they are
    got = expected.copy()
    c_evolve(shape[0], shape[1], g, expected, 0.7, 0.3)
    assert evolve(g, got, 0.7, 0.3) is got
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 3), (4, 5), (9, 8), (9, 9), (31, 33), (65, 130)])
def test_evolve_matches_twin(dtype, shape, rng):
    g = rng.random(shape).astype(dtype)
    out = np.full(shape, -7.0, dtype=dtype)
    evolve(g, out, 1.0, 0.1)
    expected = step_twin(g, 0.1)
    np.testing.assert_array_equal(out[1:-1, 1:-1], expected[1:-1, 1:-1])
    # Edge cells of out untouched.
    assert np.all(out[0] == -7) and np.all(out[-1] == -7)
    assert np.all(out[:, 0] == -7) and np.all(out[:, -1] == -7)


def test_evolve_strided_and_readonly(rng):
    base = rng.random((40, 60))
    g = base[::2, ::3]  # non-contiguous rows and cells
    g.flags.writeable = False
    out_base = np.zeros((20, 40))
    out = out_base[:, ::2]  # non-contiguous out: written through a copy
    evolve(g, out)
    expected = step_twin(np.ascontiguousarray(g), 0.1)
    np.testing.assert_array_equal(out[1:-1, 1:-1], expected[1:-1, 1:-1])
    assert np.all(out_base[:, 1::2] == 0) and np.all(out[0] == 0)
    # A list works as grid; an F-ordered out too.
    out_f = np.asfortranarray(np.zeros((5, 5)))
    evolve(np.eye(5).tolist(), out_f)
    np.testing.assert_array_equal(out_f[1:-1, 1:-1], step_twin(np.eye(5), 0.1)[1:-1, 1:-1])


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape",
    [(3, 3), (3, 40), (40, 3), (5, 7), (64, 64), (129, 65), (50, 513), (20, 769), (11, 1600)],
)
def test_diffuse_matches_twin_bitwise(boundary, dtype, shape, rng):
    g = rng.random(shape).astype(dtype)
    periodic = boundary == "periodic"
    for steps in (0, 1, 2, 5, 23):
        got = diffuse(g, steps, boundary=boundary)
        assert got.dtype == dtype and got.shape == shape and got.flags.c_contiguous
        np.testing.assert_array_equal(got, run_twin(g, steps, 0.1, periodic))


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_diffuse_many_steps_and_threads(boundary):
    g = blob(300, 260)
    periodic = boundary == "periodic"
    expected = run_twin(g, 130, 1.5 * 0.1, periodic)  # D * dt, rounded once
    for nt in (1, 2, 3, None):
        got = diffuse(g, 130, D=1.5, dt=0.1, boundary=boundary, n_threads=nt)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
def test_diffuse_in_several_chunks(boundary):
    """More than 2**28 cell updates run in several nogil chunks (Ctrl-C is checked between
    them), each of whole blocks: the buffers must still alternate correctly."""
    g = blob(301, 173)
    steps = 2 * (1 << 28) // g.size + 7  # two chunks and a bit, an odd number of steps
    periodic = boundary == "periodic"
    expected = run_twin(g, steps, 0.1, periodic)
    for nt in (1, 2):
        np.testing.assert_array_equal(diffuse(g, steps, boundary=boundary, n_threads=nt), expected)


def same_bits(a, b):
    """Bitwise equality: -0.0 and +0.0 differ, NaNs compare by payload."""
    assert a.dtype == b.dtype and a.shape == b.shape
    return np.array_equal(a.view(f"u{a.itemsize}"), b.view(f"u{b.itemsize}"))


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diffuse_cold_grid_skips_bitwise(boundary, dtype, rng):
    """Quiescent (+0.0) tiles are skipped: a mostly cold grid with warm spots at an edge and
    across the wrap-around, a -0.0 cell (which becomes +0.0 when stepped: it must not count as
    zero) and a subnormal, compared bit for bit with the NumPy twin, for 1, 2 and 3 threads."""
    g = np.zeros((330, 700), dtype=dtype)
    g[130:170, 280:350] = rng.random((40, 70))
    g[1, 698] = 0.5
    g[329, 0] = 0.25
    g[300, 100] = -0.0
    g[40, 600] = np.finfo(dtype).smallest_subnormal
    periodic = boundary == "periodic"
    for steps in (1, 7, 60):
        expected = run_twin(g, steps, 0.1, periodic)
        for nt in (1, 2, 3):
            got = diffuse(g, steps, boundary=boundary, n_threads=nt)
            assert same_bits(got, expected), (steps, nt)
    # The -0.0 cell is +0.0 after one step in both.
    assert not np.signbit(diffuse(g, 1, boundary=boundary)[300, 100])


def test_diffuse_fixed_is_repeated_evolve(rng):
    g = rng.random((70, 90))
    a, b = g.copy(), g.copy()
    for _ in range(41):
        evolve(a, b, 0.9, 0.2)
        a, b = b, a
    np.testing.assert_array_equal(diffuse(g, 41, D=0.9, dt=0.2), a)


def test_textbook_roll_within_1e12():
    g = blob(128)
    got = diffuse(g, 500, boundary="periodic")
    ref = textbook_roll(g, 500)
    scale = np.abs(ref).max()
    assert np.max(np.abs(got - ref)) <= 1e-12 * scale
    # Fixed boundary against the textbook's slicing formula, written out in its own order.
    fixed = diffuse(g, 500)
    ref = g.copy()
    for _ in range(500):
        new = ref.copy()
        new[1:-1, 1:-1] = ref[1:-1, 1:-1] + 0.1 * (
            ref[:-2, 1:-1] + ref[2:, 1:-1] + ref[1:-1, :-2] + ref[1:-1, 2:] - 4 * ref[1:-1, 1:-1]
        )
        ref = new
    assert np.max(np.abs(fixed - ref)) <= 1e-12 * scale


def test_diffuse_leaves_input_and_handles_layouts(rng):
    base = rng.random((60, 80))
    g = base[::2, ::2]
    g.flags.writeable = False
    before = g.copy()
    got = diffuse(g, 17, boundary="periodic")
    np.testing.assert_array_equal(g, before)
    np.testing.assert_array_equal(got, run_twin(before, 17, 0.1, True))
    gb = np.ascontiguousarray(before).astype(">f8")
    np.testing.assert_array_equal(diffuse(gb, 3), run_twin(before, 3, 0.1))
    assert diffuse(before.tolist(), 2).dtype == np.float64
    np.testing.assert_array_equal(diffuse(before, 0), before)


def test_nan_and_inf_propagate():
    g = np.zeros((20, 20))
    g[10, 10] = np.nan
    g[3, 3] = np.inf
    got = diffuse(g, 2)
    with np.errstate(invalid="ignore"):  # inf - inf in the twin
        expected = run_twin(g, 2, 0.1)
    np.testing.assert_array_equal(got, expected)  # assert_array_equal treats NaN == NaN
    assert np.isnan(got[10, 8]) and not np.isnan(got[10, 7])


def test_progress(capsys):
    calls = []
    diffuse(blob(64), 100, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (100, 100)
    assert all(0 < d <= 100 for d, _ in calls)
    diffuse(blob(64), 50, progress=True)
    assert "50/50 steps (100%)" in capsys.readouterr().err


@given(
    grid=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=3, max_side=40),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    ),
    steps=st.integers(0, 40),
    coef=st.floats(0.0, 0.25),
    boundary=st.sampled_from(["fixed", "periodic"]),
    n_threads=st.sampled_from([1, 2]),
)
def test_property_bitwise(grid, steps, coef, boundary, n_threads):
    got = diffuse(grid, steps, D=coef, dt=1.0, boundary=boundary, n_threads=n_threads)
    np.testing.assert_array_equal(got, run_twin(grid, steps, coef, boundary == "periodic"))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: diffuse(np.zeros((5, 5), np.int64), 1), TypeError, "float64 or float32"),
        (lambda: diffuse(np.zeros((5, 5), complex), 1), TypeError, "float64 or float32"),
        (lambda: diffuse("grid", 1), TypeError, "got str"),
        (lambda: diffuse(np.zeros(25), 1), ValueError, "2-D"),
        (lambda: diffuse(np.zeros((2, 2, 2)), 1), ValueError, "2-D"),
        (lambda: diffuse(np.zeros((2, 9)), 1), ValueError, "3 x 3"),
        (lambda: diffuse(np.zeros((9, 2)), 1), ValueError, "3 x 3"),
        (lambda: diffuse(np.zeros((5, 5)), -1), ValueError, "steps"),
        (lambda: diffuse(np.zeros((5, 5)), 1.0), TypeError, "steps"),
        (lambda: diffuse(np.zeros((5, 5)), 1, D=np.nan), ValueError, "finite"),
        (lambda: diffuse(np.zeros((5, 5)), 1, dt=np.inf), ValueError, "finite"),
        (lambda: diffuse(np.zeros((5, 5)), 1, dt="0.1"), TypeError, "dt"),
        (lambda: diffuse(np.zeros((5, 5)), 1, dt=0.3), ValueError, "unstable"),
        (lambda: diffuse(np.zeros((5, 5)), 1, D=-1.0), ValueError, "unstable"),
        (lambda: diffuse(np.zeros((5, 5)), 1, boundary="wrap"), ValueError, "boundary"),
        (lambda: diffuse(np.zeros((5, 5)), 1, n_threads=0), ValueError, "n_threads"),
        (lambda: diffuse(np.zeros((5, 5)), 1, progress="yes"), TypeError, "progress"),
        (lambda: evolve(np.zeros((5, 5)), np.zeros((5, 5), np.float32)), TypeError, "dtype"),
        (lambda: evolve(np.zeros((5, 5)), np.zeros((5, 6))), ValueError, "shape"),
        (lambda: evolve(np.zeros((5, 5)), [[0.0] * 5] * 5), TypeError, "NumPy array"),
        (lambda: evolve(np.zeros((2, 5)), np.zeros((2, 5))), ValueError, "3 x 3"),
        (lambda: evolve(np.zeros((5, 5), np.int32), np.zeros((5, 5))), TypeError, "float64"),
        (lambda: evolve(np.zeros((5, 5)), np.zeros((5, 5)), D=np.nan), ValueError, "finite"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_evolve_refuses_aliasing_and_readonly_out():
    g = np.zeros((6, 6))
    with pytest.raises(ValueError, match="share memory"):
        evolve(g, g)
    with pytest.raises(ValueError, match="share memory"):
        evolve(g[:, :5], g[:, 1:])
    ro = np.zeros((6, 6))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        evolve(g, ro)


def test_evolve_warns_when_unstable():
    g, out = np.ones((5, 5)), np.zeros((5, 5))
    with pytest.warns(RuntimeWarning, match="unstable"):
        evolve(g, out, 1.0, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evolve(g, out, 1.0, 0.25)  # the limit itself is stable
