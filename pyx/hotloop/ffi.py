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
  counterparts (serial: no ``n_threads``), which check every argument in Python (clear
  ``TypeError``/``ValueError``) and pass NumPy buffers by address. Results are bit-identical to
  the Cython functions: the same kernels run.
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
import operator
import re
import sys
from pathlib import Path

import numpy as np
from numpy.ctypeslib import ndpointer

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
_EINVAL = -1  # -HOTLOOP_EINVAL


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
# Argument checks (the same messages as the Cython functions)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _index(value, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return operator.index(value)


def _count(value, name: str, lowest: int) -> int:
    v = _index(value, name)
    if v < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {v}")
    return v


def _float64_1d(x, name: str = "x") -> np.ndarray:
    """x as a 1-D float64 array (lists and tuples converted), or TypeError/ValueError.

    The C ABI takes float64 only; other float dtypes are refused rather than converted so
    that results stay bit-identical to the Cython path on the same input.
    """
    if isinstance(x, (list, tuple)):
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers only: {exc}") from None
    elif not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, list or tuple, got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(
            f"{name} must have dtype float64 (the C ABI's type), got {x.dtype} "
            f"(convert with {name}.astype(np.float64))"
        )
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got {x.ndim}-D with shape {x.shape}")
    return x


def _contiguous(x: np.ndarray) -> np.ndarray:
    """x, or a C-contiguous native-endian copy of it."""
    if x.flags.c_contiguous and x.dtype.isnative:
        return x
    return np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("="))


# --------------------------------------------------------------------------------------------
# Fibonacci


def fib(n) -> int:
    """``hotloop.fib`` through the C ABI: fib(n) by the naive recursion, 0 <= n <= 93.

    Raises TypeError (not an integer), ValueError (n < 0) or OverflowError (n > 93), as
    :func:`hotloop.fib` does.
    """
    if type(n) is not int:
        n = _index(n, "n")
    if n < 0:
        raise ValueError(f"fib(n) needs n >= 0, got {n}")
    if n > FIB_MAX_N:
        raise OverflowError(f"fib({n}) does not fit in 64 bits (the largest is fib(93))")
    return _raw.hotloop_fib(n)


def fib_fast(n) -> int:
    """fib(n) by fast doubling through the C ABI: 0 <= n <= 93 (64-bit results only)."""
    if type(n) is not int:
        n = _index(n, "n")
    if n < 0:
        raise ValueError(f"fib_fast(n) needs n >= 0, got {n}")
    if n > FIB_MAX_N:
        raise OverflowError(
            f"fib_fast({n}) does not fit in 64 bits; hotloop.fib_fast gives exact big results"
        )
    return _raw.hotloop_fib_fast(n)


# --------------------------------------------------------------------------------------------
# WebSocket masking


def _byte_array(obj, name: str) -> np.ndarray:
    """A flat uint8 view of a C-contiguous bytes-like object, or TypeError/ValueError."""
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            f"{name} must be bytes, bytearray, memoryview or a uint8 NumPy array, "
            f"got {type(obj).__name__}"
        ) from None
    if view.itemsize != 1 or view.format.lstrip("@=<>!") not in ("B", "b", "c"):
        raise TypeError(
            f"{name} must hold bytes (format 'B', 'b' or 'c'), got format {view.format!r} "
            f"with itemsize {view.itemsize}"
        )
    if not view.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return np.frombuffer(view.cast("B") if view.ndim != 1 else view, dtype=np.uint8)


def ws_mask(data, key, *, offset=0, out=None):
    """``hotloop.ws_mask`` through the C ABI (serial): XOR with the 4-byte key, repeated.

    Same arguments, results and errors as :func:`hotloop.ws_mask` (without ``n_threads``):
    returns new ``bytes`` (a new array for NumPy input) or writes into ``out``, which may be
    ``data`` itself.
    """
    src = _byte_array(data, "data")
    try:
        k = bytes(memoryview(key))
    except TypeError:
        raise TypeError(
            f"key must be 4 bytes (bytes, bytearray, memoryview), got {type(key).__name__}"
        ) from None
    if len(k) != 4:
        raise ValueError(f"key must be exactly 4 bytes, got {len(k)}")
    off = _index(offset, "offset")
    if off < 0:
        raise ValueError(f"offset must be >= 0 (the payload position of data[0]), got {off}")
    n = src.shape[0]
    if out is None:
        result = dst = np.empty(n, dtype=np.uint8)
    else:
        dst = _byte_array(out, "out")
        if not dst.flags.writeable:
            raise ValueError(f"out is read-only ({type(out).__name__})")
        if dst.shape[0] != n:
            raise ValueError(f"out must have {n} bytes like data, got {dst.shape[0]}")
        result = out
        if n and _address(dst) != _address(src) and np.may_share_memory(src, dst):
            src = src.copy()  # overlapping, not in place: the C function refuses it
    if n:
        rc = _raw.hotloop_ws_mask(_address(src), _address(dst), n, k, off % 4)
        if rc != 0:  # unreachable after the checks above
            raise ValueError(f"hotloop_ws_mask refused its arguments (code {rc})")
    if out is not None:
        return result
    if isinstance(data, np.ndarray):
        return result.reshape(data.shape).view(data.dtype)
    return result.tobytes()


# --------------------------------------------------------------------------------------------
# Statistics


def _reduction(x, ddof, what: str) -> float:
    a = _contiguous(_float64_1d(x))
    n = a.shape[0]
    if what == "mean":
        if n == 0:
            return math.nan
        return _raw.hotloop_mean(_address(a), n, 1)
    dd = _count(ddof, "ddof", 0)
    if n == 0:
        return math.nan
    if dd >= n:
        raise ValueError(f"ddof={dd} must be less than the number of values ({n})")
    fn = _raw.hotloop_var if what == "var" else _raw.hotloop_std
    return fn(_address(a), n, 1, dd)


def mean(x) -> float:
    """``hotloop.mean`` of a 1-D float64 array, list or tuple, through the C ABI."""
    return _reduction(x, 0, "mean")


def var(x, *, ddof=0) -> float:
    """``hotloop.var`` of a 1-D float64 array, list or tuple, through the C ABI."""
    return _reduction(x, ddof, "var")


def std(x, *, ddof=0) -> float:
    """``hotloop.std`` of a 1-D float64 array, list or tuple, through the C ABI.

    Same result, bit for bit, as :func:`hotloop.std`; empty input gives NaN (without the
    warning), ``ddof >= len(x)`` raises ValueError.
    """
    return _reduction(x, ddof, "std")


def _rolling(x, window, ddof, min_periods, out, what: str) -> np.ndarray:
    a = _contiguous(_float64_1d(x))
    w = _count(window, "window", 1)
    dd = 0
    if what != "mean":
        dd = _count(ddof, "ddof", 0)
        if dd >= w:
            raise ValueError(f"ddof={dd} must be less than window={w}")
    minp = w if min_periods is None else _count(min_periods, "min_periods", 0)
    if minp > w:
        raise ValueError(f"min_periods={minp} must be <= window={w}")
    n = a.shape[0]
    if out is None:
        out = np.empty(n, dtype=np.float64)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a NumPy array, got {type(out).__name__}")
        if out.dtype != np.float64:
            raise TypeError(f"out must have dtype float64 like x, got {out.dtype}")
        if out.shape != (n,):
            raise ValueError(f"out must have shape {(n,)} like x, got {out.shape}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        if not out.flags.c_contiguous or not out.dtype.isnative:
            raise ValueError("out must be C-contiguous and native-endian for the C ABI")
        if np.may_share_memory(a, out):
            a = a.copy()
    if n:
        xp, op = _address(a), _address(out)
        if what == "mean":
            rc = _raw.hotloop_rolling_mean(xp, n, 1, w, minp, op, 1)
        else:
            fn = _raw.hotloop_rolling_var if what == "var" else _raw.hotloop_rolling_std
            rc = fn(xp, n, 1, w, minp, dd, op, 1)
        if rc != 0:  # unreachable after the checks above
            raise ValueError(f"hotloop_rolling_{what} refused its arguments (code {rc})")
    return out


def rolling_mean(x, window, *, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_mean`` of a 1-D float64 series through the C ABI (serial)."""
    return _rolling(x, window, 0, min_periods, out, "mean")


def rolling_var(x, window, *, ddof=0, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_var`` of a 1-D float64 series through the C ABI (serial)."""
    return _rolling(x, window, ddof, min_periods, out, "var")


def rolling_std(x, window, *, ddof=0, min_periods=None, out=None) -> np.ndarray:
    """``hotloop.rolling_std`` of a 1-D float64 series through the C ABI (serial).

    Bit-identical to :func:`hotloop.rolling_std` with any ``n_threads``.
    """
    return _rolling(x, window, ddof, min_periods, out, "std")


# --------------------------------------------------------------------------------------------
# Diffusion step and Julia counts (issue 3's kernels)


def _real(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def evolve(grid, out, D=1.0, dt=0.1) -> np.ndarray:
    """One explicit diffusion step through the C ABI: ``hotloop.evolve`` on float64 grids.

    ``out[i, j] = grid[i, j] + D * dt * laplacian`` on the interior cells; the edge cells of
    ``out`` are not touched. ``grid`` and ``out``: float64, shape (ny, nx) with ny, nx >= 3,
    ``out`` writable, C-contiguous and not sharing memory with ``grid``. Bit-identical to
    :func:`hotloop.evolve`.
    """
    if not isinstance(grid, np.ndarray):
        raise TypeError(f"grid must be a NumPy array, got {type(grid).__name__}")
    if grid.dtype != np.float64:
        raise TypeError(f"grid must have dtype float64 (the C ABI's type), got {grid.dtype}")
    if grid.ndim != 2 or grid.shape[0] < 3 or grid.shape[1] < 3:
        raise ValueError(f"grid must be 2-D and at least 3 x 3, got shape {grid.shape}")
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise TypeError(f"out must have dtype float64 like grid, got {out.dtype}")
    if out.shape != grid.shape:
        raise ValueError(f"out must have shape {grid.shape} like grid, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if not out.flags.c_contiguous or not out.dtype.isnative:
        raise ValueError("out must be C-contiguous and native-endian for the C ABI")
    if np.may_share_memory(grid, out):
        raise ValueError("out must not share memory with grid")
    d, t = _real(D, "D"), _real(dt, "dt")
    src = _contiguous(grid)
    rc = _raw.hotloop_diffusion_step(
        _address(src), _address(out), grid.shape[0], grid.shape[1], d, t
    )
    if rc != 0:  # unreachable after the checks above
        raise ValueError(f"hotloop_diffusion_step refused its arguments (code {rc})")
    return out


def julia(zs, cs, maxiter) -> np.ndarray:
    """``hotloop.julia`` through the C ABI (serial): escape-time counts of ``z -> z*z + c``.

    ``zs``: complex128 array of any shape; ``cs``: a complex scalar or an array of the shape of
    ``zs``; ``0 <= maxiter <= 2**31 - 1``. Returns int32 counts of the shape of ``zs``,
    identical to :func:`hotloop.julia`.
    """
    if isinstance(zs, (list, tuple)):
        zs = np.asarray(zs, dtype=np.complex128)
    if not isinstance(zs, np.ndarray):
        raise TypeError(f"zs must be a NumPy array, list or tuple, got {type(zs).__name__}")
    if zs.dtype != np.complex128:
        raise TypeError(f"zs must have dtype complex128, got {zs.dtype}")
    m = _index(maxiter, "maxiter")
    if not 0 <= m <= 2**31 - 1:
        raise ValueError(f"maxiter must be in [0, 2**31 - 1], got {m}")
    z = _contiguous(zs)
    if isinstance(cs, (np.ndarray, list, tuple)) and np.ndim(cs) > 0:
        c = np.asarray(cs)
        if c.dtype != np.complex128:
            raise TypeError(f"cs must have dtype complex128, got {c.dtype}")
        if c.shape != z.shape:
            raise ValueError(
                f"cs must be a scalar or have the shape of zs {z.shape}, got shape {c.shape}"
            )
        c, step = _contiguous(c), 1
    else:
        try:
            cval = complex(cs)
        except (TypeError, ValueError):
            raise TypeError(f"cs must be a complex number, got {type(cs).__name__}") from None
        if not (math.isfinite(cval.real) and math.isfinite(cval.imag)):
            raise ValueError(f"cs must be finite, got {cval}")
        c, step = np.array([cval], dtype=np.complex128), 0
    out = np.empty(z.shape, dtype=np.int32)
    if z.size:
        rc = _raw.hotloop_julia(_address(z), _address(c), step, _address(out), z.size, m)
        if rc != 0:  # unreachable after the checks above
            raise ValueError(f"hotloop_julia refused its arguments (code {rc})")
    return out
