"""Argument checks shared by every wrapper and by hotloop.ffi: one place decides what each kind
of argument accepts, so that the same bad input raises the same exception everywhere.

Cython wrappers cimport these functions (C calls, no Python call overhead); hotloop.ffi imports
the same functions as Python callables (they are ``cpdef``).

Rules
-----
* Integers (counts, sizes, levels): ``int`` or anything with ``__index__``; ``bool`` and
  ``np.bool_`` are refused (TypeError), as are floats, even integral ones. A value outside the
  accepted range is a ValueError, except one too large to fit a C ``Py_ssize_t`` (e.g.
  ``2**64 + 3``), which is an OverflowError. Both messages name the accepted range.
* Real parameters: ``int``, ``float`` or anything with ``__float__`` (NumPy scalars), finite;
  ``bool``, ``str``, ``bytes`` and complex numbers are refused (TypeError), NaN and infinities
  are a ValueError.
* Float arrays: ndarrays of dtype float64 or float32, compared by value (a dtype unpickled
  from elsewhere is still float64); byte-swapped ones are converted to native order, so the
  result has the native dtype. Lists and tuples of real numbers become float64; strings in
  them are refused rather than parsed.
* ``out=``: an ndarray of the input's dtype and shape, writable, with strides that are whole
  elements. When it overlaps the input, the input is copied first (or the overlap refused
  where a function says so).

Every message names the argument, the value or type received and the values accepted.
"""
import os

import numpy as np

cimport numpy as cnp
from cpython.buffer cimport (
    PyBUF_RECORDS_RO,
    PyBUF_SIMPLE,
    PyBuffer_IsContiguous,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.math cimport isfinite

from hotloop._threads cimport effective_n_threads

cnp.import_array()

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    # Py_ssize_t is long long on the 64-bit platforms hotloop builds for.
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

ACCEPTED_FLOAT_DTYPES = "float64 or float32"
BYTES_ACCEPTED = (
    "bytes, bytearray, memoryview or a uint8 NumPy array (any object with the buffer "
    "protocol holding bytes)"
)


cdef str describe(object value):
    """The type and a short repr of a received value, for messages."""
    return f"{type(value).__name__}: {value!r:.40}"


cpdef str abbreviate(object value):
    """A received value for a message, in about 40 characters: a long int by its first and
    last digits and its number of digits (str() of an int beyond sys.get_int_max_str_digits()
    fails: then its number of bits)."""
    cdef str text
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            text = str(value)
        except ValueError:
            return f"an int of {value.bit_length()} bits"
        if len(text) <= 24:
            return text
        sign, digits = ("-", text[1:]) if text[0] == "-" else ("", text)
        # Not digits[-4:]: negative indices are off (wraparound=False).
        return f"{sign}{digits[:10]}...{digits[len(digits) - 4:]} ({len(digits)} digits)"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


cpdef str float_overflow_message(str where, object value, str dtype="float64"):
    """The message of the OverflowError for a number beyond the float64 range, e.g. an int
    such as 10**400 in a list: one wording for the Cython reductions, RunningStats, the array
    checks and hotloop.ffi (hotloop.cabi, which imports nothing of hotloop, repeats it)."""
    return (
        f"{where} is too large for a {dtype}: got {abbreviate(value)}; accepted: finite "
        f"{dtype} values, magnitudes up to 1.7976931348623157e308"
    )


# --------------------------------------------------------------------------------------------
# Integers


cdef str int_range(Py_ssize_t lo, Py_ssize_t hi):
    if hi == PY_SSIZE_T_MAX:
        return f">= {lo}"
    return f"between {lo} and {hi}"


cdef str show_int(object v):
    """An int for a message: huge ones by their size (str() of them can even fail)."""
    if v.bit_length() > 128:
        return f"an int of {v.bit_length()} bits"
    return str(v)


cdef object index_of(object value, str name, Py_ssize_t lo, Py_ssize_t hi):
    """value.__index__() as a Python int, or TypeError (bool, np.bool_ and floats refused)."""
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(
            f"{name} must be an int, got {describe(value)} (accepted: integers "
            f"{int_range(lo, hi)}, or any object with __index__; not bool)"
        )
    return value.__index__()


cpdef Py_ssize_t as_int(object value, str name, Py_ssize_t lo,
                        Py_ssize_t hi=PY_SSIZE_T_MAX) except? -1:
    """value as a Py_ssize_t in [lo, hi].

    TypeError when it is not an integer (bool refused), OverflowError when it does not fit a
    Py_ssize_t, ValueError when it is outside [lo, hi].
    """
    cdef int overflow = 0
    cdef long long v
    if type(value) is not int:
        value = index_of(value, name, lo, hi)
    # No try/except: its exception-state bookkeeping would cost more than the conversion.
    v = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow < 0:
        raise ValueError(f"{name} must be {int_range(lo, hi)}, got {show_int(value)}")
    if overflow > 0:
        raise OverflowError(
            f"{name} must be {int_range(lo, hi)}, got {show_int(value)} (too large for a C "
            f"Py_ssize_t)"
        )
    if v < lo or v > hi:
        raise ValueError(f"{name} must be {int_range(lo, hi)}, got {v}")
    return v


cpdef object as_pyint(object value, str name, Py_ssize_t lo):
    """value as a Python int >= lo, of any size (for arguments that are never stored in C)."""
    if type(value) is not int:
        value = index_of(value, name, lo, PY_SSIZE_T_MAX)
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {show_int(value)}")
    return value


cpdef int threads_for(object n_threads, Py_ssize_t n_tasks) except -1:
    """effective_n_threads(n_threads), capped at the number of tasks there are (at least 1)."""
    cdef int nt = effective_n_threads(n_threads)
    if n_tasks < nt:
        return <int>max(n_tasks, 1)
    return nt


# --------------------------------------------------------------------------------------------
# Real and complex parameters


cdef int refuse_non_number(object value, str name, str accepted) except -1:
    if isinstance(value, (bool, np.bool_, str, bytes, bytearray)):
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}")
    return 0


cpdef double as_real(object value, str name) except? -1.0:
    """value as a finite double: TypeError for non-numbers (bool, str refused), ValueError for
    NaN and infinities."""
    cdef double v
    if type(value) is float:
        v = value
    else:
        refuse_non_number(value, name, "a real number (int, float or NumPy real scalar)")
        if isinstance(value, (complex, np.complexfloating)):
            raise TypeError(
                f"{name} must be a real number (int, float or NumPy real scalar), "
                f"got {describe(value)}"
            )
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a real number (int, float or NumPy real scalar), "
                f"got {describe(value)}"
            ) from None
    if not isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


cpdef complex as_complex(object value, str name) except *:
    """value as a finite complex: TypeError for non-numbers (bool, str refused), ValueError for
    NaN and infinite parts."""
    cdef complex c
    refuse_non_number(value, name, "a complex number (complex, float, int or NumPy scalar)")
    try:
        c = complex(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a complex number (complex, float, int or NumPy scalar), "
            f"got {describe(value)}"
        ) from None
    if not (isfinite(c.real) and isfinite(c.imag)):
        raise ValueError(f"{name} must be finite, got {c!r}")
    return c


cpdef tuple as_pair(object lim, str name):
    """(lo, hi) as two finite floats with lo < hi, or TypeError/ValueError."""
    if isinstance(lim, (str, bytes)):
        raise TypeError(f"{name} must be a pair of real numbers (lo, hi), got {describe(lim)}")
    try:
        lo, hi = lim
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a pair of real numbers (lo, hi), got {describe(lim)}"
        ) from None
    cdef double a = as_real(lo, f"{name}[0]"), b = as_real(hi, f"{name}[1]")
    if not a < b:
        raise ValueError(f"{name} must have lo < hi, got {lim!r}")
    return a, b


# --------------------------------------------------------------------------------------------
# Arrays


cdef int float_kind(object x) noexcept:
    """FLOAT64/FLOAT32 when x is exactly an ndarray of native float64/float32 whose strides are
    whole elements (the kernels take strides in elements), else 0.

    The only place that maps a dtype to a kernel's type: by type number, so an equal dtype that
    is another object (unpickled, say) is recognised.
    """
    if not cnp.PyArray_CheckExact(x):
        return 0
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int t = cnp.PyArray_TYPE(a)
    cdef int kind
    if t == cnp.NPY_DOUBLE:
        kind = FLOAT64
    elif t == cnp.NPY_FLOAT:
        kind = FLOAT32
    else:
        return 0
    if not cnp.PyArray_ISNOTSWAPPED(a):
        return 0
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(a), s
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        s = cnp.PyArray_STRIDE(a, d)
        # Contiguous rows skip the division, which costs more than the rest of this check.
        if s != item and s % item:
            return 0
    return kind


cdef object from_sequence(object x, str name, object dtype, str accepted):
    """A list or tuple of numbers as an array of dtype; strings and other objects refused."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold {accepted} only: {exc}") from None
    cdef str kind = arr.dtype.kind
    if kind == "c" and dtype != np.complex128:
        raise TypeError(f"{name} must hold {accepted} only, got complex numbers")
    if kind == "O":
        for item in arr.flat:
            if isinstance(item, (str, bytes, bytearray)) or item is None:
                raise TypeError(f"{name} must hold {accepted} only, got {describe(item)}")
    elif kind in "US":
        raise TypeError(
            f"{name} must hold {accepted} only (strings are not parsed), got {describe(x)}"
        )
    elif kind not in "biufc":
        raise TypeError(f"{name} must hold {accepted} only, got items of dtype {arr.dtype}")
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold {accepted} only: {exc}") from None
    except OverflowError:
        raise overflowing_item(arr, name, dtype) from None


cdef object overflowing_item(object arr, str name, object dtype):
    """The OverflowError naming the first item of the object array arr (ints beyond 64 bits)
    that does not fit dtype."""
    convert = complex if dtype == np.complex128 else float
    for index, item in np.ndenumerate(arr):
        try:
            convert(item)
        except OverflowError:
            where = f"{name}[{', '.join(map(str, index))}]"
            return OverflowError(float_overflow_message(where, item, np.dtype(dtype).name))
    return OverflowError(f"{name} holds a number too large for {np.dtype(dtype).name}")


cpdef object as_float_array(object x, str name, int min_ndim, int max_ndim):
    """x as a native float64/float32 ndarray of min_ndim..max_ndim dims whose strides are whole
    elements, or TypeError (dtype, type) / ValueError (dimensions).

    Lists and tuples become float64; byte-swapped float64/float32 arrays, and views whose
    strides are not whole elements, are copied into native order.
    """
    cdef object arr, dt
    cdef int ndim
    if float_kind(x):
        arr = x
    else:
        if isinstance(x, (list, tuple)):
            arr = from_sequence(x, name, np.float64, "real numbers")
        else:
            arr = np.asarray(x)
        if not float_kind(arr):
            dt = arr.dtype
            if dt.kind != "f" or dt.itemsize not in (4, 8):
                raise TypeError(
                    f"{name} must be an ndarray of dtype {ACCEPTED_FLOAT_DTYPES}, or a list or "
                    f"tuple of real numbers, got {type(x).__name__} of dtype {dt} "
                    f"(convert with {name}.astype(np.float64))"
                )
            # Byte-swapped data, or strides that are not whole elements: a native copy.
            arr = arr.astype(dt.newbyteorder("="), order="C")
    ndim = cnp.PyArray_NDIM(<cnp.ndarray>arr)
    if not min_ndim <= ndim <= max_ndim:
        if min_ndim == max_ndim:
            accepted = f"{min_ndim}-D"
        else:
            accepted = f"{min_ndim}-D to {max_ndim}-D"
        raise ValueError(f"{name} must be {accepted}, got {ndim}-D with shape {arr.shape}")
    return arr


cpdef object as_complex_array(object x, str name):
    """x as a C-contiguous, native complex128 ndarray of any shape, or TypeError.

    Lists and tuples are converted; byte-swapped complex128 arrays are converted to native
    order; non-contiguous arrays are copied.
    """
    cdef object arr
    if isinstance(x, np.ndarray):
        arr = x
        if arr.dtype.kind != "c" or arr.dtype.itemsize != 16:
            raise TypeError(
                f"{name} must have dtype complex128, got {arr.dtype} "
                f"(convert with {name}.astype(np.complex128))"
            )
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        # Not np.ascontiguousarray: it turns a 0-d array into a 1-d one.
        return arr if arr.flags.c_contiguous else arr.copy(order="C")
    if isinstance(x, (list, tuple)):
        return from_sequence(x, name, np.complex128, "complex numbers")
    raise TypeError(
        f"{name} must be a complex128 ndarray, a list or a tuple, got {type(x).__name__}"
    )


cpdef object check_out(object out, object arr, str like, bint overlap_ok=True):
    """Check out= against the input array arr (named like) and return the input to read.

    out must be an ndarray with arr's dtype and shape, writable, with strides that are whole
    elements. When it shares memory with arr, a copy of arr is returned (the kernel's stores
    would overwrite input it has not read yet), or ValueError when overlap_ok is False.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"out must be a NumPy array of dtype {arr.dtype} and shape {arr.shape} like "
            f"{like}, got {type(out).__name__}"
        )
    if out.dtype != arr.dtype:
        raise TypeError(f"out must have dtype {arr.dtype} like {like}, got {out.dtype}")
    if out.shape != arr.shape:
        raise ValueError(f"out must have shape {arr.shape} like {like}, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only; pass a writable array (or out=None)")
    for s in out.strides:
        if s % out.itemsize:
            raise ValueError(
                f"out must have strides that are whole multiples of its itemsize "
                f"({out.itemsize}), got {out.strides}"
            )
    if np.may_share_memory(arr, out):
        if not overlap_ok:
            raise ValueError(
                f"out must not share memory with {like} (the kernel reads {like} after "
                f"writing out); pass a separate array"
            )
        return arr.copy()
    return arr


# --------------------------------------------------------------------------------------------
# Byte buffers


cdef int get_byte_buffer(object obj, Py_buffer* view, str name, bint writable,
                         Py_ssize_t length) except -1:
    """Acquire obj's buffer into view: C-contiguous, one byte per item; writable if asked, of
    `length` bytes unless length < 0. Release it when done (on error it is released here).
    """
    try:
        PyObject_GetBuffer(obj, view, PyBUF_RECORDS_RO)
    except TypeError:
        raise TypeError(f"{name} must be {BYTES_ACCEPTED}, got {type(obj).__name__}") from None
    except BufferError as exc:
        raise ValueError(f"{name} cannot be used as a buffer: {exc}") from None
    cdef const char* fmt = view.format
    cdef bint ok_format = True
    if fmt != NULL:
        if fmt[0] in b"@=<>!":
            fmt += 1
        ok_format = fmt[0] in b"Bbc" and fmt[1] == 0
    if view.itemsize != 1 or not ok_format:
        shown = (<bytes>view.format).decode("ascii", "replace") if view.format != NULL else "B"
        itemsize = view.itemsize
        PyBuffer_Release(view)
        raise TypeError(
            f"{name} must hold bytes (format 'B', 'b' or 'c', itemsize 1), got format "
            f"{shown!r} with itemsize {itemsize}; view it as bytes first, e.g. "
            f"memoryview({name}).cast('B') or {name}.view(np.uint8)"
        )
    if not PyBuffer_IsContiguous(view, b"C"):
        PyBuffer_Release(view)
        raise ValueError(
            f"{name} must be C-contiguous (a strided view is not one run of bytes); "
            f"copy it first, e.g. np.ascontiguousarray({name})"
        )
    if writable and view.readonly:
        PyBuffer_Release(view)
        raise ValueError(
            f"{name} is read-only ({type(obj).__name__}); pass a bytearray, a writable "
            f"memoryview or a NumPy array"
        )
    if length >= 0 and view.len != length:
        n = view.len
        PyBuffer_Release(view)
        raise ValueError(f"{name} must have {length} bytes like data, got {n}")
    return 0


def byte_array(obj, str name, bint writable=False, Py_ssize_t length=-1):
    """obj's bytes as a flat uint8 ndarray sharing its memory, under get_byte_buffer's rules."""
    cdef Py_buffer view
    get_byte_buffer(obj, &view, name, writable, length)
    PyBuffer_Release(&view)
    flat = memoryview(obj)
    if flat.ndim != 1 or flat.format != "B":
        flat = flat.cast("B")
    return np.frombuffer(flat, dtype=np.uint8) if flat.nbytes else np.empty(0, np.uint8)


cpdef bytes as_bytes_of(object obj, str name, Py_ssize_t length):
    """A bytes-like object of exactly `length` bytes (any length when length < 0), as bytes."""
    cdef Py_buffer view
    if type(obj) is bytes and (length < 0 or len(<bytes>obj) == length):
        return obj
    try:
        PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE)
    except (TypeError, BufferError):
        what = f"{length} bytes" if length >= 0 else "bytes-like"
        raise TypeError(
            f"{name} must be {what} (bytes, bytearray, memoryview), got {type(obj).__name__}"
        ) from None
    try:
        if length >= 0 and view.len != length:
            raise ValueError(f"{name} must be exactly {length} bytes, got {view.len}")
        return PyBytes_FromStringAndSize(<const char*>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cpdef bytes as_path(object path, str name):
    """A file name as bytes for C++ (os.fsencode), or TypeError/ValueError naming the argument.

    Accepts str, bytes and os.PathLike; refuses empty names and names with NUL bytes (C would
    cut them short there).
    """
    try:
        fspath = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"{name} must be a str, bytes or os.PathLike, got {type(path).__name__}"
        ) from None
    cdef bytes b = os.fsencode(fspath)
    if not b:
        raise ValueError(f"{name} must not be empty")
    if b"\0" in b:
        raise ValueError(f"{name} must not contain NUL bytes, got {fspath!r}")
    return b
