"""hotloop's C ABI (libhotloop_c) through ctypes, and through cffi when it is installed.

The package ships a plain shared library, ``libhotloop_c.so``, built from the same C++ kernels
as the extension modules, with ``extern "C"`` functions declared in one header,
``hotloop_c.h`` (both next to this file). This module is the Python side of that ABI:

* :data:`lib` -- the library loaded with :mod:`ctypes`, every function with its ``argtypes``
  and ``restype`` declared. Array arguments are declared with
  :func:`numpy.ctypeslib.ndpointer` (dtype, contiguity, writability), so a raw call with a wrong
  array is refused by ctypes before it reaches C.
* :func:`fib`, :func:`fib_fast`, :func:`ws_mask`, :func:`mean`, :func:`var`, :func:`std`,
  :func:`rolling_mean`, :func:`rolling_var`, :func:`rolling_std`, :func:`evolve` (one
  diffusion step) and :func:`julia` -- wrappers with the signatures of their ``hotloop``
  counterparts (serial: no ``n_threads``). They check their arguments with the very functions
  the Cython wrappers use (:mod:`hotloop._validate` and each family's argument checks), so they
  refuse exactly what ``hotloop.X`` refuses, with the same exception type (and the same
  message, except for bad items of lists, which the Cython reductions name by index), and
  pass NumPy buffers by address. Results are bit-identical to the Cython functions: the same
  kernels run. Where the C ABI has no counterpart (it takes float64 only), float32 input is
  converted to float64 and the result rounded back, as the Cython kernels do internally;
  :func:`evolve` alone refuses float32 grids (hotloop.evolve computes them in float32). A C
  function that still returns an error code raises (see :data:`C_ERRORS`).
* :func:`open_cffi` -- the same library opened by cffi in ABI mode (``ffi.dlopen``), with the
  header's declarations (:func:`cdef`).

What the layers cost per call is measured in benchmarks/suites/ffi.py (the showcase's "ffi"
rows): a Cython call is several times cheaper than a ctypes call, which matters for tiny calls
and disappears in a large one.

Examples
--------
>>> import numpy as np
>>> from hotloop import ffi
>>> ffi.fib(20)
6765
>>> ffi.std(np.array([1.0, 2.0, 3.0, 4.0]))
1.118033988749895
>>> ffi.lib.hotloop_fib(20)  # the raw ctypes function
6765
"""

from __future__ import annotations

import ctypes
import math
import re
import sys
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

from hotloop._diffusion import evolve_args
from hotloop._errors import HotloopError
from hotloop._fib import fib64_arg
from hotloop._julia import julia_args
from hotloop._moments import check_ddof
from hotloop._rolling import rolling_params
from hotloop._validate import (
    as_bytes_of,
    as_float_array,
    as_int,
    as_pyint,
    byte_array,
    check_out,
)

__all__ = [
    "cdef",
    "evolve",
    "fib",
    "fib_fast",
    "header_path",
    "julia",
    "lib",
    "library_path",
    "mean",
    "open_cffi",
    "rolling_mean",
    "rolling_std",
    "rolling_var",
    "std",
    "var",
    "ws_mask",
]

HERE = Path(__file__).resolve().parent
ABI_VERSION = 1  # HOTLOOP_C_ABI_VERSION this module was written for
FIB_MAX_N = 93  # HOTLOOP_FIB_MAX_N
_FIB_ERROR = 2**64 - 1  # hotloop_fib's error value
HOTLOOP_OK = 0
HOTLOOP_EINVAL = 1  # returned negated

#: The C functions' error codes and the exception each becomes in the wrappers below. The
#: wrappers check every argument first, so a code coming back means the C side disagrees with
#: the Python checks: the message says so, and which function and code it was.
C_ERRORS = {-HOTLOOP_EINVAL: (ValueError, "HOTLOOP_EINVAL, an invalid argument")}


def library_path() -> Path:
    """Path of the shared library inside the installed package."""
    suffix = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
    path = HERE / f"libhotloop_c{suffix}"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: build hotloop with `python setup.py build_ext --inplace` "
            "or install it with pip (the C ABI library is built with the extensions)"
        )
    return path


def header_path() -> Path:
    """Path of ``hotloop_c.h``, the C header of the library (copied next to it by the build)."""
    path = HERE / "hotloop_c.h"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: rebuild hotloop")
    return path


def cdef() -> str:
    """The header's declarations as plain C for ``cffi.FFI().cdef()``.

    The part of hotloop_c.h between its ``hotloop-cdef-begin`` and ``hotloop-cdef-end``
    markers, without comments.
    """
    text = header_path().read_text(encoding="utf-8")
    match = re.search(r"hotloop-cdef-begin ---- \*/(.*?)/\* ---- hotloop-cdef-end", text, re.S)
    if match is None:
        raise RuntimeError(f"{header_path()} has no hotloop-cdef markers")
    return re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.S)


def open_cffi():
    """Open the library with cffi in ABI mode: returns ``(ffi, lib)``.

    ``lib`` has every function of hotloop_c.h; pass NumPy arrays with
    ``ffi.from_buffer("double[]", x)`` (or ``ffi.cast("double *", x.ctypes.data)``).

    Raises
    ------
    ImportError
        When cffi is not installed (it is optional: hotloop itself needs only NumPy).
    """
    try:
        import cffi
    except ImportError as exc:
        raise ImportError("hotloop.ffi.open_cffi() needs cffi: pip install cffi") from exc
    ffi = cffi.FFI()
    ffi.cdef(cdef())
    return ffi, ffi.dlopen(str(library_path()))


# --------------------------------------------------------------------------------------------
# The ctypes declarations

_c_ssize = ctypes.c_ssize_t
_f64_in = ndpointer(np.float64, flags="C_CONTIGUOUS")
_f64_out = ndpointer(np.float64, flags="C_CONTIGUOUS,WRITEABLE")
_u8_in = ndpointer(np.uint8, flags="C_CONTIGUOUS")
_u8_out = ndpointer(np.uint8, flags="C_CONTIGUOUS,WRITEABLE")
_i32_out = ndpointer(np.int32, flags="C_CONTIGUOUS,WRITEABLE")
_c128_in = ndpointer(np.complex128, flags="C_CONTIGUOUS")

# name: (restype, argtypes). Arrays use ndpointer types: ctypes then checks dtype, contiguity
# and writability of every array passed to lib.<name> (ctypes.ArgumentError otherwise).
_SIGNATURES = {
    "hotloop_abi_version": (ctypes.c_int, []),
    "hotloop_simd_level": (ctypes.c_char_p, []),
    "hotloop_fib": (ctypes.c_uint64, [ctypes.c_int]),
    "hotloop_fib_fast": (ctypes.c_uint64, [ctypes.c_int]),
    "hotloop_ws_mask": (
        ctypes.c_int,
        [_u8_in, _u8_out, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t],
    ),
    "hotloop_mean": (ctypes.c_double, [_f64_in, _c_ssize, _c_ssize]),
    "hotloop_var": (ctypes.c_double, [_f64_in, _c_ssize, _c_ssize, _c_ssize]),
    "hotloop_std": (ctypes.c_double, [_f64_in, _c_ssize, _c_ssize, _c_ssize]),
    "hotloop_rolling_mean": (
        ctypes.c_int,
        [_f64_in, _c_ssize, _c_ssize, _c_ssize, _c_ssize, _f64_out, _c_ssize],
    ),
    "hotloop_rolling_var": (
        ctypes.c_int,
        [_f64_in, _c_ssize, _c_ssize, _c_ssize, _c_ssize, _c_ssize, _f64_out, _c_ssize],
    ),
    "hotloop_rolling_std": (
        ctypes.c_int,
        [_f64_in, _c_ssize, _c_ssize, _c_ssize, _c_ssize, _c_ssize, _f64_out, _c_ssize],
    ),
    "hotloop_diffusion_step": (
        ctypes.c_int,
        [_f64_in, _f64_out, _c_ssize, _c_ssize, ctypes.c_double, ctypes.c_double],
    ),
    "hotloop_julia": (
        ctypes.c_int,
        [_c128_in, _c128_in, _c_ssize, _i32_out, _c_ssize, ctypes.c_int32],
    ),
}


def _declare(library: ctypes.CDLL, raw_pointers: bool) -> ctypes.CDLL:
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(library, name)
        fn.restype = restype
        if raw_pointers:
            # The wrappers below check arrays themselves and pass addresses: an ndpointer
            # check costs more than the call on tiny inputs.
            argtypes = [
                ctypes.c_void_p if isinstance(t, type) and t.__name__.startswith("ndpointer") else t
                for t in argtypes
            ]
        fn.argtypes = argtypes
    return library


#: The library loaded with ctypes; every function has argtypes and restype declared.
lib = _declare(ctypes.CDLL(str(library_path())), raw_pointers=False)
# A second handle on the same library (dlopen shares it) whose array arguments are plain
# addresses, for the wrappers, which validate arrays before calling.
_raw = _declare(ctypes.CDLL(str(library_path())), raw_pointers=True)

if lib.hotloop_abi_version() != ABI_VERSION:
    raise ImportError(
        f"{library_path()} has C ABI version {lib.hotloop_abi_version()}, hotloop.ffi expects "
        f"{ABI_VERSION}: rebuild hotloop"
    )


# --------------------------------------------------------------------------------------------
# Calling the C functions


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _check(rc: int, function: str) -> None:
    """Raise the exception C_ERRORS maps rc to (HotloopError for an unknown code)."""
    if rc == HOTLOOP_OK:
        return
    exc, what = C_ERRORS.get(rc, (HotloopError, "an unknown error code"))
    raise exc(
        f"{function} returned {rc} ({what}) for arguments that hotloop.ffi had accepted; "
        "this is a bug in hotloop, please report it"
    )


def _as_float64(a: np.ndarray) -> np.ndarray:
    """A float64 array of a validated float64/float32 array (the C ABI's only type)."""
    return a if a.dtype == np.float64 else a.astype(np.float64)


def _stride(a: np.ndarray, axis: int = -1) -> int:
    return a.strides[axis] // a.itemsize


# --------------------------------------------------------------------------------------------
# Fibonacci


def fib(n) -> int:
    """``hotloop.fib`` through the C ABI: fib(n) by the naive recursion, 0 <= n <= 93.

    Raises TypeError (not an integer), ValueError (n < 0) or OverflowError (n > 93), as
    :func:`hotloop.fib` does.
    """
    k = fib64_arg(n)
    r = _raw.hotloop_fib(k)
    if r == _FIB_ERROR:
        _check(-HOTLOOP_EINVAL, "hotloop_fib")
    return r


def fib_fast(n) -> int:
    """fib(n) by fast doubling through the C ABI: 0 <= n <= 93 (64-bit results only).

    OverflowError beyond 93, where :func:`hotloop.fib_fast` continues with Python integers.
    """
    k = fib64_arg(n)
    r = _raw.hotloop_fib_fast(k)
    if r == _FIB_ERROR:
        _check(-HOTLOOP_EINVAL, "hotloop_fib_fast")
    return r


# --------------------------------------------------------------------------------------------
# WebSocket masking


def ws_mask(data, key, *, offset=0, out=None):
    """``hotloop.ws_mask`` through the C ABI (serial): XOR with the 4-byte key, repeated.

    Same arguments, results and errors as :func:`hotloop.ws_mask` (without ``n_threads``):
    returns new ``bytes`` (a new array for NumPy input) or writes into ``out``, which may be
    ``data`` itself.
    """
    k = as_bytes_of(key, "key", 4)
    off = as_pyint(offset, "offset", 0)
    src = byte_array(data, "data")
    n = src.shape[0]
    if out is None:
        result = dst = np.empty(n, dtype=np.uint8)
    else:
        dst = byte_array(out, "out", True, n)
        result = out
        if n and _address(dst) != _address(src) and np.may_share_memory(src, dst):
            src = src.copy()  # overlapping, not in place: the C function refuses it
    if n:
        _check(_raw.hotloop_ws_mask(_address(src), _address(dst), n, k, off % 4), "hotloop_ws_mask")
    if out is not None:
        return result
    if isinstance(data, np.ndarray):
        return result.reshape(data.shape).view(data.dtype)
    return result.tobytes()


# --------------------------------------------------------------------------------------------
# Statistics


def _reduction(x, ddof, what: str) -> float:
    dd = 0 if what == "mean" else as_int(ddof, "ddof", 0)
    a = _as_float64(as_float_array(x, "x", 1, 1))
    n = a.shape[0]
    if n == 0:
        return math.nan
    xp, stride = _address(a), _stride(a)
    if what == "mean":
        return _raw.hotloop_mean(xp, n, stride)
    check_ddof(dd, n)
    fn = _raw.hotloop_var if what == "var" else _raw.hotloop_std
    return fn(xp, n, stride, dd)


def mean(x) -> float:
    """``hotloop.mean`` of a 1-D float64/float32 array, list or tuple, through the C ABI."""
    return _reduction(x, 0, "mean")


def var(x, *, ddof=0) -> float:
    """``hotloop.var`` of a 1-D float64/float32 array, list or tuple, through the C ABI."""
    return _reduction(x, ddof, "var")


def std(x, *, ddof=0) -> float:
    """``hotloop.std`` of a 1-D float64/float32 array, list or tuple, through the C ABI.

    Same result, bit for bit, as :func:`hotloop.std`; empty input gives NaN (without the
    warning), ``ddof >= len(x)`` raises ValueError.
    """
    return _reduction(x, ddof, "std")


def _rolling(x, window, ddof, min_periods, out, what: str) -> np.ndarray:
    arr = as_float_array(x, "x", 1, 2)
    w, dd, minp = rolling_params(window, ddof, min_periods, what != "mean")
    if out is None:
        out = np.empty(arr.shape, dtype=arr.dtype)
    else:
        arr = check_out(out, arr, "x")
    a = _as_float64(arr)
    # float32: computed in double into a float64 buffer, rounded once into out.
    res = out if out.dtype == np.float64 else np.empty(out.shape, dtype=np.float64)
    a2 = a if a.ndim == 2 else a[None, :]
    r2 = res if res.ndim == 2 else res[None, :]
    n = a2.shape[1]
    for row in range(a2.shape[0] if n else 0):
        xp, op = _address(a2[row]), _address(r2[row])
        xs, os_ = _stride(a2), _stride(r2)
        if what == "mean":
            rc = _raw.hotloop_rolling_mean(xp, n, xs, w, minp, op, os_)
        else:
            fn = _raw.hotloop_rolling_var if what == "var" else _raw.hotloop_rolling_std
            rc = fn(xp, n, xs, w, minp, dd, op, os_)
        _check(rc, f"hotloop_rolling_{what}")
    if res is not out:
        out[...] = res
    return out


def rolling_mean(x, window, *, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_mean`` of a 1-D or 2-D float64/float32 series through the C ABI
    (serial)."""
    return _rolling(x, window, 0, min_periods, out, "mean")


def rolling_var(x, window, *, ddof=0, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_var`` of a 1-D or 2-D float64/float32 series through the C ABI
    (serial)."""
    return _rolling(x, window, ddof, min_periods, out, "var")


def rolling_std(x, window, *, ddof=0, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_std`` of a 1-D or 2-D float64/float32 series through the C ABI
    (serial).

    Bit-identical to :func:`hotloop.rolling_std` with any ``n_threads``.
    """
    return _rolling(x, window, ddof, min_periods, out, "std")


# --------------------------------------------------------------------------------------------
# Diffusion step and Julia counts


def evolve(grid, out, D=1.0, dt=0.1) -> np.ndarray:
    """One explicit diffusion step through the C ABI: ``hotloop.evolve`` on float64 grids.

    ``out[i, j] = grid[i, j] + D * dt * laplacian`` on the interior cells; the edge cells of
    ``out`` are not touched. Arguments are checked as :func:`hotloop.evolve` checks them
    (``out``: same shape and dtype, writable, not sharing memory with ``grid``; any strides).
    float32 grids are refused: the C function computes in double, hotloop.evolve in float32.
    Bit-identical to :func:`hotloop.evolve`.
    """
    src, d, t = evolve_args(grid, out, D, dt)
    if src.dtype != np.float64:
        raise TypeError(
            f"grid must have dtype float64 for the C ABI (hotloop_diffusion_step computes in "
            f"double), got {src.dtype}; hotloop.evolve takes float32 grids"
        )
    src = np.ascontiguousarray(src)
    dst = out if out.flags.c_contiguous else np.array(out, order="C")
    _check(
        _raw.hotloop_diffusion_step(_address(src), _address(dst), src.shape[0], src.shape[1], d, t),
        "hotloop_diffusion_step",
    )
    if dst is not out:
        out[1:-1, 1:-1] = dst[1:-1, 1:-1]
    return out


def julia(zs, cs, maxiter) -> np.ndarray:
    """``hotloop.julia`` through the C ABI (serial): escape-time counts of ``z -> z*z + c``.

    ``zs``: complex128 array of any shape; ``cs``: a complex scalar or an array of the shape of
    ``zs``; ``0 <= maxiter <= 2**31 - 1``. Returns int32 counts of the shape of ``zs``,
    identical to :func:`hotloop.julia`; arguments are checked as it checks them.
    """
    z, c, step, m = julia_args(zs, cs, maxiter)
    out = np.empty(z.shape, dtype=np.int32)
    if z.size:
        _check(
            _raw.hotloop_julia(_address(z), _address(c), step, _address(out), z.size, m),
            "hotloop_julia",
        )
    return out
