"""hotloop's C ABI without NumPy and without the extension modules: bytes, lists and scalars.

:mod:`hotloop.ffi` serves NumPy arrays and checks its arguments with hotloop's compiled
validators, so it needs NumPy and a CPython build of hotloop. This module needs neither: it is
self-contained (the standard library, and cffi when it is installed), so that any Python that
can load a C library gets hotloop's kernels from the one ``libhotloop_c.so`` of the package --
including PyPy, where C extension modules do not run usefully but cffi calls are compiled by the
JIT. It imports nothing from ``hotloop``; outside CPython, load it by its path::

    import importlib.util
    spec = importlib.util.spec_from_file_location("hotloop_cabi", "<site-packages>/hotloop/cabi.py")
    cabi = importlib.util.module_from_spec(spec); spec.loader.exec_module(cabi)
    cabi.fib(20), cabi.ws_mask(b"hello", b"abcd"), cabi.mean([1.0, 2.0, 3.0])

Functions: :func:`fib`, :func:`fib_fast`, :func:`ws_mask` (bytes-like in, ``bytes`` out),
:func:`mean`, :func:`var`, :func:`std` (sequences of numbers: lists, tuples, ``array('d')``).
Results are bit-identical to ``hotloop.fib``/``ws_mask``/``mean``/... on the same input (the
same C++ kernels run; a list is converted to doubles as NumPy does). Arguments are checked
here in pure Python, with the exception types of hotloop's functions.

:data:`backend` is ``"cffi"`` or ``"ctypes"``: cffi when it imports (PyPy ships it), else ctypes.
"""

from __future__ import annotations

import ctypes
import math
import operator
import os
import sys

__all__ = ["backend", "fib", "fib_fast", "library_path", "mean", "std", "var", "ws_mask"]

ABI_VERSION = 1  # HOTLOOP_C_ABI_VERSION this module was written for
FIB_MAX_N = 93  # HOTLOOP_FIB_MAX_N
_FIB_ERROR = 2**64 - 1

# The declarations this module calls (a subset of hotloop_c.h, which may not be installed next
# to a copied library; the ABI version check below guards against a mismatch).
_CDEF = """
int hotloop_abi_version(void);
uint64_t hotloop_fib(int n);
uint64_t hotloop_fib_fast(int n);
int hotloop_ws_mask(const uint8_t* data, uint8_t* out, size_t n, const uint8_t* key,
                    size_t offset);
double hotloop_mean(const double* x, ptrdiff_t n, ptrdiff_t stride);
double hotloop_var(const double* x, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t ddof);
double hotloop_std(const double* x, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t ddof);
"""


def library_path() -> str:
    """``libhotloop_c`` next to this file (HOTLOOP_C_LIBRARY overrides it)."""
    override = os.environ.get("HOTLOOP_C_LIBRARY")
    if override:
        return override
    suffix = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libhotloop_c" + suffix)
    if not os.path.exists(path):
        raise ImportError(
            f"hotloop.cabi: {path} is missing: install hotloop (pip install hotloop) or build "
            "it (python setup.py build_ext --inplace), or set HOTLOOP_C_LIBRARY"
        )
    return path


def _load_cffi():
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    return ffi, ffi.dlopen(library_path())


def _load_ctypes():
    lib = ctypes.CDLL(library_path())
    ssize, p = ctypes.c_ssize_t, ctypes.c_void_p
    for name, restype, argtypes in (
        ("hotloop_abi_version", ctypes.c_int, []),
        ("hotloop_fib", ctypes.c_uint64, [ctypes.c_int]),
        ("hotloop_fib_fast", ctypes.c_uint64, [ctypes.c_int]),
        ("hotloop_ws_mask", ctypes.c_int, [p, p, ctypes.c_size_t, p, ctypes.c_size_t]),
        ("hotloop_mean", ctypes.c_double, [p, ssize, ssize]),
        ("hotloop_var", ctypes.c_double, [p, ssize, ssize, ssize]),
        ("hotloop_std", ctypes.c_double, [p, ssize, ssize, ssize]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return None, lib


try:
    _ffi, _lib = _load_cffi()
    backend = "cffi"
except ImportError:
    _ffi, _lib = _load_ctypes()
    backend = "ctypes"

if _lib.hotloop_abi_version() != ABI_VERSION:
    raise ImportError(
        f"hotloop.cabi: {library_path()} has C ABI version {_lib.hotloop_abi_version()}, "
        f"this module expects {ABI_VERSION}"
    )


def _index(value, name: str, low: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got bool")
    try:
        k = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if k < low:
        raise ValueError(f"{name} must be >= {low}, got {k}")
    return k


def _fib_arg(n) -> int:
    k = _index(n, "n", 0)
    if k > FIB_MAX_N:
        raise OverflowError(
            f"fib({k}) does not fit in 64 bits: n must be between 0 and {FIB_MAX_N} here"
        )
    return k


def fib(n) -> int:
    """fib(n) by the naive recursion in C++, 0 <= n <= 93 (``hotloop.fib``)."""
    return int(_lib.hotloop_fib(_fib_arg(n)))


def fib_fast(n) -> int:
    """fib(n) by fast doubling in C++, 0 <= n <= 93."""
    return int(_lib.hotloop_fib_fast(_fib_arg(n)))


def _bytes_of(obj, name: str) -> bytes:
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        raise TypeError(f"{name} must be a bytes-like object, got str (encode it first)")
    try:
        with memoryview(obj) as view:
            return view.tobytes()
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, got {type(obj).__name__}") from None


def ws_mask(data, key, *, offset=0) -> bytes:
    """WebSocket masking (RFC 6455): ``data[i] ^ key[(offset + i) % 4]``, as new bytes.

    ``data``: bytes, bytearray, memoryview or any bytes-like object; ``key``: 4 bytes.
    """
    src = _bytes_of(data, "data")
    k = _bytes_of(key, "key")
    if len(k) != 4:
        raise ValueError(f"key must be exactly 4 bytes, got {len(k)}")
    off = _index(offset, "offset", 0) % 4
    n = len(src)
    if n == 0:
        return b""
    if _ffi is not None:
        out = _ffi.new("uint8_t[]", n)
        rc = _lib.hotloop_ws_mask(_ffi.from_buffer(src), out, n, _ffi.from_buffer(k), off)
        result = _ffi.buffer(out, n)[:]
    else:
        out = ctypes.create_string_buffer(n)
        rc = _lib.hotloop_ws_mask(src, out, n, k, off)
        result = out.raw
    if rc != 0:
        raise RuntimeError(f"hotloop_ws_mask returned {rc} for checked arguments (a bug)")
    return result


def _abbreviate(value) -> str:
    """hotloop._validate.abbreviate, repeated here (this module imports nothing of hotloop)."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            text = str(value)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            return f"an int of {value.bit_length()} bits"
        if len(text) <= 24:
            return text
        sign, digits = ("-", text[1:]) if text[0] == "-" else ("", text)
        return f"{sign}{digits[:10]}...{digits[-4:]} ({len(digits)} digits)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _too_large(x) -> OverflowError:
    """The OverflowError of hotloop.mean for the first item of x beyond the float64 range."""
    for i, v in enumerate(x):
        try:
            float(v)
        except OverflowError:
            return OverflowError(
                f"x[{i}] is too large for a float64: got {_abbreviate(v)}; accepted: finite "
                "float64 values, magnitudes up to 1.7976931348623157e308"
            )
    return OverflowError("x holds a number too large for a float64")


def _doubles(x):
    """(C array, n) of a sequence of real numbers, converted to double."""
    try:
        n = len(x)
    except TypeError:
        raise TypeError(
            f"x must be a sequence of real numbers (list, tuple, array), got {type(x).__name__}"
        ) from None
    try:
        if _ffi is not None:
            return _ffi.new("double[]", x if isinstance(x, (list, tuple)) else list(x)), n
        return (ctypes.c_double * n)(*x), n
    except TypeError:
        bad = next((v for v in x if not isinstance(v, (int, float))), None)
        raise TypeError(
            f"x must hold real numbers (int or float), got an item of type {type(bad).__name__}"
        ) from None
    except OverflowError:
        raise _too_large(x) from None


def _ddof(ddof, n: int) -> int:
    dd = _index(ddof, "ddof", 0)
    if n and dd >= n:
        raise ValueError(f"ddof must be smaller than the number of values ({n}), got {dd}")
    return dd


def mean(x) -> float:
    """The mean of a sequence of numbers (NaN for an empty one), accurate to a few ulps."""
    buf, n = _doubles(x)
    return _lib.hotloop_mean(buf, n, 1) if n else math.nan


def var(x, *, ddof=0) -> float:
    """The variance (divided by n - ddof) of a sequence of numbers."""
    buf, n = _doubles(x)
    dd = _ddof(ddof, n)
    return _lib.hotloop_var(buf, n, 1, dd) if n else math.nan


def std(x, *, ddof=0) -> float:
    """The standard deviation (divided by n - ddof) of a sequence of numbers."""
    buf, n = _doubles(x)
    dd = _ddof(ddof, n)
    return _lib.hotloop_std(buf, n, 1, dd) if n else math.nan
