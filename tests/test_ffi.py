"""The C ABI (libhotloop_c) through ctypes (hotloop.ffi) and cffi: same results as Cython."""

import ctypes
import math
import re
import subprocess
import sys

import hotloop
import numpy as np
import pytest
from hotloop import ffi

KEY = b"\x37\xfa\x21\x3d"


def same(a, b):
    """Bitwise equality of two float results (NaN payloads included)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def cffi_lib():
    pytest.importorskip("cffi")
    return ffi.open_cffi()


def series(rng, n, offset=1e6, nan_frac=0.0):
    x = offset + rng.standard_normal(n)
    x[rng.random(n) < nan_frac] = np.nan
    return x


# --------------------------------------------------------------------------------------------
# The library


def test_library_ships_in_the_package():
    path = ffi.library_path()
    assert path.parent == ffi.header_path().parent
    assert path.parent.name == "hotloop"
    assert ffi.lib.hotloop_abi_version() == ffi.ABI_VERSION
    assert ffi.lib.hotloop_simd_level().decode() == hotloop.simd_level()


def test_library_has_no_python_inside():
    """A plain C program could load it: no Python symbol is needed or exported."""
    data = ffi.library_path().read_bytes()
    assert b"PyInit_" not in data
    assert b"libpython" not in data
    code = (
        "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
        "lib.hotloop_fib.restype = ctypes.c_uint64; print(lib.hotloop_fib(30))"
    )
    # -S -I: no site, no hotloop import; the library stands alone.
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(ffi.library_path())],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "832040"


def test_only_the_c_functions_are_exported():
    lib = ctypes.CDLL(str(ffi.library_path()))
    for name in ffi._SIGNATURES:
        assert hasattr(lib, name)
    # The C++ kernels inside are hidden (their mangled names are not exported).
    for mangled in ("_ZN7hotloop7ws_maskEPKhPhmS1_m", "_ZN7hotloop13fib_recursiveEi"):
        with pytest.raises(AttributeError):
            getattr(lib, mangled)


def test_cdef_is_the_headers_declarations():
    text = ffi.cdef()
    assert "#include" not in text and "extern" not in text
    for name in ffi._SIGNATURES:
        assert f"{name}(" in text


# --------------------------------------------------------------------------------------------
# Results identical to the Cython functions


def test_fib_matches_cython():
    for n in range(26):
        assert ffi.fib(n) == hotloop.fib(n) == ffi.lib.hotloop_fib(n)
    for n in range(94):
        assert ffi.fib_fast(n) == hotloop.fib_fast(n)


@pytest.mark.parametrize("n", [0, 1, 3, 64, 255, 256, 320, 1000, 65_537])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 10**20 + 1])
def test_ws_mask_matches_cython(n, offset):
    raw = np.random.default_rng(n).integers(0, 256, n + 1, dtype=np.uint8).tobytes()
    data = memoryview(raw)[1:]  # unaligned
    expect = hotloop.ws_mask(data, KEY, offset=offset)
    assert ffi.ws_mask(data, KEY, offset=offset) == expect
    buf = bytearray(data)
    assert ffi.ws_mask(buf, KEY, offset=offset, out=buf) is buf
    assert bytes(buf) == expect
    arr = np.frombuffer(raw, dtype=np.uint8)[1:]
    got = ffi.ws_mask(arr, KEY, offset=offset)
    assert isinstance(got, np.ndarray) and got.tobytes() == expect


def test_ws_mask_overlapping_out():
    base = bytearray(range(200))
    expect = hotloop.ws_mask(bytes(base[:100]), KEY)
    view = memoryview(base)
    ffi.ws_mask(view[:100], KEY, out=view[3:103])
    assert bytes(view[3:103]) == expect


@pytest.mark.parametrize("n", [1, 2, 4, 50, 1001, 20_000])
def test_reductions_match_cython(n):
    rng = np.random.default_rng(n)
    for x in (series(rng, n), series(rng, n, nan_frac=0.1), np.full(n, np.inf)):
        assert same(ffi.mean(x), hotloop.mean(x))
        for ddof in range(min(n, 3)):
            assert same(ffi.var(x, ddof=ddof), hotloop.var(x, ddof=ddof))
            assert same(ffi.std(x, ddof=ddof), hotloop.std(x, ddof=ddof))
    x = series(rng, 2 * n)
    assert same(ffi.std(x[::-2]), hotloop.std(x[::-2]))  # strided: copied first
    assert same(ffi.std(x[:n].tolist()), hotloop.std(x[:n].tolist()))


def test_reductions_empty():
    assert math.isnan(ffi.mean([]))
    assert math.isnan(ffi.std(np.array([])))


@pytest.mark.parametrize("stat", ["mean", "var", "std"])
@pytest.mark.parametrize(
    ("n", "window", "min_periods"), [(0, 3, None), (5, 10, 1), (40_000, 50, 7)]
)
def test_rolling_matches_cython(stat, n, window, min_periods):
    rng = np.random.default_rng(n + window)
    x = series(rng, n, nan_frac=0.05)
    kw = {} if stat == "mean" else {"ddof": 1}
    mine = getattr(ffi, f"rolling_{stat}")(x, window, min_periods=min_periods, **kw)
    ref = getattr(hotloop, f"rolling_{stat}")(x, window, min_periods=min_periods, n_threads=2, **kw)
    assert same(mine, ref)
    out = np.full(n, -1.0)
    assert getattr(ffi, f"rolling_{stat}")(x, window, min_periods=min_periods, out=out, **kw) is out
    assert same(out, ref)


def test_evolve_matches_cython():
    rng = np.random.default_rng(8)
    for shape in [(3, 3), (7, 130), (512, 512)]:
        grid = rng.random(shape)
        a, b = np.zeros(shape), np.zeros(shape)
        hotloop.evolve(grid, a, 0.9, 0.25)
        assert ffi.evolve(grid, b, 0.9, 0.25) is b
        assert same(a, b)


def test_julia_matches_cython():
    rng = np.random.default_rng(9)
    z = (rng.standard_normal((30, 40)) + 1j * rng.standard_normal((30, 40))).astype(np.complex128)
    c = -0.62772 - 0.42193j
    assert np.array_equal(ffi.julia(z, c, 300), hotloop.julia(z, c, 300))
    cs = z[::-1].copy()
    assert np.array_equal(ffi.julia(z, cs, 50), hotloop.julia(z, cs, 50))
    assert ffi.julia(z[:0], c, 5).shape == (0, 40)


# --------------------------------------------------------------------------------------------
# cffi (ABI mode) on the same library


def test_cffi_abi_mode_matches_cython(cffi_lib):
    cf, lib = cffi_lib
    assert lib.hotloop_abi_version() == lib.HOTLOOP_C_ABI_VERSION == ffi.ABI_VERSION
    assert lib.hotloop_fib(25) == hotloop.fib(25)
    assert lib.hotloop_fib(-1) == 2**64 - 1
    assert lib.hotloop_fib_fast(93) == hotloop.fib_fast(93)

    x = series(np.random.default_rng(1), 1000)
    xp = cf.from_buffer("double[]", x)
    assert same(lib.hotloop_std(xp, 1000, 1, 1), hotloop.std(x, ddof=1))
    assert same(lib.hotloop_mean(xp, 4, 1), hotloop.mean(x[:4]))

    out = np.empty_like(x)
    rc = lib.hotloop_rolling_std(xp, 1000, 1, 50, 50, 0, cf.from_buffer("double[]", out), 1)
    assert rc == lib.HOTLOOP_OK
    assert same(out, hotloop.rolling_std(x, 50))
    assert lib.hotloop_rolling_std(xp, 1000, 1, 0, 0, 0, cf.from_buffer("double[]", out), 1) < 0

    data = bytes(range(256)) * 5
    masked = bytearray(len(data))
    rc = lib.hotloop_ws_mask(data, cf.from_buffer(masked), len(data), KEY, 2)
    assert rc == lib.HOTLOOP_OK
    assert bytes(masked) == hotloop.ws_mask(data, KEY, offset=2)

    grid = np.random.default_rng(2).random((64, 80))
    new, ref = np.zeros_like(grid), np.zeros_like(grid)
    rc = lib.hotloop_diffusion_step(
        cf.from_buffer("double[]", grid), cf.from_buffer("double[]", new), 64, 80, 1.0, 0.1
    )
    assert rc == lib.HOTLOOP_OK
    assert same(new, hotloop.evolve(grid, ref, 1.0, 0.1))

    z = np.linspace(-1.5, 1.5, 500) + 0.3j
    c = np.array([-0.8 + 0.156j])
    counts = np.empty(500, dtype=np.int32)
    rc = lib.hotloop_julia(
        cf.cast("double *", z.ctypes.data),
        cf.cast("double *", c.ctypes.data),
        0,
        cf.cast("int32_t *", counts.ctypes.data),
        500,
        200,
    )
    assert rc == lib.HOTLOOP_OK
    assert np.array_equal(counts, hotloop.julia(z, c[0], 200))


# --------------------------------------------------------------------------------------------
# Wrong arrays never reach C


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ffi.lib.hotloop_std(np.arange(4), 4, 1, 0), "data type"),
        (lambda: ffi.lib.hotloop_std(np.zeros(8)[::2], 4, 1, 0), "C_CONTIGUOUS"),
        (lambda: ffi.lib.hotloop_std([1.0, 2.0], 2, 1, 0), "argument 1"),
        (lambda: ffi.lib.hotloop_std(np.zeros(4, np.float32), 4, 1, 0), "data type"),
        (
            lambda: ffi.lib.hotloop_ws_mask(np.zeros(4), np.zeros(4, np.uint8), 4, KEY, 0),
            "data type",
        ),
    ],
)
def test_raw_ctypes_refuses_wrong_arrays(call, match):
    with pytest.raises(ctypes.ArgumentError, match=match):
        call()


def test_raw_ctypes_refuses_read_only_out():
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(ctypes.ArgumentError, match="WRITEABLE"):
        ffi.lib.hotloop_rolling_std(np.zeros(4), 4, 1, 2, 2, 0, ro, 1)


def test_c_error_codes():
    lib = ffi.lib
    out = np.zeros(4)
    assert lib.hotloop_rolling_std(np.zeros(4), 4, 1, 5, 6, 0, out, 1) == -1
    assert lib.hotloop_rolling_var(np.zeros(4), 4, 1, 3, 3, 3, out, 1) == -1
    assert lib.hotloop_fib(94) == 2**64 - 1
    assert math.isnan(lib.hotloop_std(np.zeros(4), 4, 1, 4))
    assert lib.hotloop_diffusion_step(np.zeros((2, 2)), np.zeros((2, 2)), 2, 2, 1.0, 0.1) == -1


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ffi.std(np.zeros((2, 2))), ValueError, "1-D"),
        (lambda: ffi.std("1234"), TypeError, "got str"),
        (lambda: ffi.std(["a"]), TypeError, "real numbers"),
        (lambda: ffi.std([1.0, 2.0], ddof=2), ValueError, "ddof=2"),
        (lambda: ffi.std([1.0, 2.0], ddof=-1), ValueError, "ddof must be >= 0"),
        (lambda: ffi.var([1.0], ddof=1.0), TypeError, "ddof must be an int"),
        (lambda: ffi.rolling_std(np.zeros(5), 0), ValueError, "window must be >= 1"),
        (lambda: ffi.rolling_std(np.zeros(5), 3, ddof=3), ValueError, "ddof=3"),
        (lambda: ffi.rolling_std(np.zeros(5), 3, min_periods=4), ValueError, "min_periods"),
        (lambda: ffi.rolling_std(np.zeros(5), 3, out=np.zeros(4)), ValueError, "shape"),
        (lambda: ffi.rolling_std(np.zeros(5), 3, out=np.zeros(5, np.float32)), TypeError, "dtype"),
        (lambda: ffi.rolling_std(np.zeros(5), 3, out=[0.0] * 5), TypeError, "NumPy array"),
        (lambda: ffi.fib(-1), ValueError, "n must be >= 0"),
        (lambda: ffi.fib(94), OverflowError, "64 bits"),
        (lambda: ffi.fib(2.0), TypeError, "float"),
        (lambda: ffi.fib(True), TypeError, "bool"),
        (lambda: ffi.fib_fast(100), OverflowError, "64 bits"),
        (lambda: ffi.ws_mask("abc", KEY), TypeError, "data must be bytes"),
        (lambda: ffi.ws_mask(b"abc", b"k"), ValueError, "exactly 4 bytes"),
        (lambda: ffi.ws_mask(b"abc", 5), TypeError, "key must be 4 bytes"),
        (lambda: ffi.ws_mask(b"abc", KEY, offset=-1), ValueError, "offset must be >= 0"),
        (lambda: ffi.ws_mask(b"abc", KEY, out=b"xyz"), ValueError, "read-only"),
        (lambda: ffi.ws_mask(b"abc", KEY, out=bytearray(4)), ValueError, "3 bytes"),
        (lambda: ffi.ws_mask(np.zeros(3), KEY), TypeError, "must hold bytes"),
        (lambda: ffi.ws_mask(np.zeros(6, np.uint8)[::2], KEY), ValueError, "C-contiguous"),
        (lambda: ffi.evolve(np.zeros((2, 3)), np.zeros((2, 3))), ValueError, "3 x 3"),
        (lambda: ffi.evolve(np.zeros((3, 3)), np.zeros((3, 4))), ValueError, "shape"),
        (lambda: ffi.evolve(np.zeros((3, 3), np.float32), np.zeros((3, 3))), TypeError, "dtype"),
        (lambda: ffi.evolve(np.zeros((3, 3)), np.zeros((3, 3)), D=math.nan), ValueError, "D"),
        (lambda: ffi.julia(np.zeros(3), 0j, 5), TypeError, "complex128"),
        (lambda: ffi.julia(np.zeros(3, complex), np.zeros(2, complex), 5), ValueError, "shape"),
        (lambda: ffi.julia(np.zeros(3, complex), 0j, -1), ValueError, "maxiter"),
        (lambda: ffi.julia(np.zeros(3, complex), "c", 5), TypeError, "complex number"),
    ],
)
def test_wrapper_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


HUGE_ITEM = (
    r"x\[1\] is too large for a float64: got 1000000000\.\.\.0000 \(401 digits\); "
    r"accepted: finite float64 values, magnitudes up to 1\.7976931348623157e308"
)


@pytest.mark.parametrize(
    "x", [[1.0, 10**400], (1.0, -(10**400)), [2.0, 10**400, 10**500], [1.0, 10**5000]]
)
def test_int_beyond_float64_names_item_value_and_range(x):
    """An int too large for a float64 is an OverflowError that names the item, the value
    (abbreviated) and the range, the same message from hotloop.ffi as from hotloop."""
    for fn in (ffi.mean, ffi.std, hotloop.mean, hotloop.std, hotloop.nanvar):
        with pytest.raises(OverflowError) as err:
            fn(x)
        if x[1] == 10**5000:  # str() of it is refused (sys.get_int_max_str_digits())
            assert "x[1] is too large for a float64: got an int of 16610 bits" in str(err.value)
            continue
        sign = "-" if x[1] < 0 else ""
        assert re.fullmatch(HUGE_ITEM.replace("got ", "got " + sign), str(err.value)), err.value
    with pytest.raises(OverflowError) as ffi_err:
        ffi.rolling_mean(x, 1)
    with pytest.raises(OverflowError) as cython_err:
        hotloop.rolling_mean(x, 1)
    assert str(ffi_err.value) == str(cython_err.value)
    with pytest.raises(OverflowError, match=r"x\[1, 0\] is too large for a float64"):
        ffi.rolling_mean([[1.0, 2.0], [10**400, 3.0]], 1)


def test_wrappers_accept_what_cython_accepts():
    """float32 input, strided out and lists: the C ABI is float64 and contiguous, the wrappers
    convert, and the results stay bit-identical to the Cython functions."""
    rng = np.random.default_rng(3)
    x32 = series(rng, 3000).astype(np.float32)
    assert same(ffi.std(x32), hotloop.std(x32))
    assert same(ffi.mean(x32[::3]), hotloop.mean(x32[::3]))
    got = ffi.rolling_std(x32, 40, ddof=1)
    assert got.dtype == np.float32
    assert got.tobytes() == hotloop.rolling_std(x32, 40, ddof=1).tobytes()
    x = series(rng, 5)
    out = np.zeros(10)[::2]
    assert ffi.rolling_std(x, 3, out=out) is out
    assert same(out, hotloop.rolling_std(x, 3))
    rows = series(rng, 2 * 300).reshape(2, 300)
    assert same(ffi.rolling_mean(rows[:, ::2], 9), hotloop.rolling_mean(rows[:, ::2], 9))
    grid = rng.random((3, 3)).tolist()
    a, b = np.zeros((3, 3)), np.zeros((3, 3))
    assert same(ffi.evolve(grid, a), hotloop.evolve(grid, b))
    a, b = np.zeros((4, 6))[:, ::2], np.zeros((4, 6))[:, ::2]
    grid = rng.random((4, 3))
    assert same(ffi.evolve(grid, a), hotloop.evolve(grid, b))
    with pytest.raises(TypeError, match="float64 for the C ABI"):
        ffi.evolve(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32))


def test_c_error_codes_raise():
    """A code coming back from C (which the checks should make impossible) raises."""
    ffi._check(0, "hotloop_x")
    with pytest.raises(ValueError, match=r"hotloop_x returned -1 \(HOTLOOP_EINVAL"):
        ffi._check(-1, "hotloop_x")
    with pytest.raises(hotloop.HotloopError, match="unknown error code"):
        ffi._check(-99, "hotloop_x")


def test_evolve_refuses_shared_memory_and_read_only():
    g = np.zeros((5, 5))
    with pytest.raises(ValueError, match="share memory"):
        ffi.evolve(g, g)
    ro = np.zeros((5, 5))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ffi.evolve(g, ro)
