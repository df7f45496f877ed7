"""Argument checks shared by every wrapper: one place decides what each argument accepts.

Every check raises TypeError or ValueError (OverflowError where a value does not fit) with a
message that names the argument, the value received and the values accepted.
"""
import numpy as np


cdef object F64 = np.dtype(np.float64)
cdef object F32 = np.dtype(np.float32)


cdef object as_float_array(object x, str name, int max_ndim):
    """x as a native-endian float64/float32 ndarray of 1..max_ndim dims, or TypeError/ValueError.

    Lists and tuples become float64. Arrays whose strides are not a whole number of elements
    (views into structured arrays) are copied, since the kernels take strides in elements.
    """
    cdef object arr, dt
    if type(x) is np.ndarray:
        arr = x
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers only: {exc}") from None
    else:
        arr = np.asarray(x)
    dt = arr.dtype
    if dt is not F64 and dt is not F32:
        if dt.kind == "f" and dt.itemsize in (4, 8) and not dt.isnative:
            arr = arr.astype(F64 if dt.itemsize == 8 else F32)
        else:
            raise TypeError(
                f"{name} must have dtype float64 or float32, got {dt} "
                f"(convert with {name}.astype(np.float64))"
            )
    if not 1 <= arr.ndim <= max_ndim:
        accepted = "1-D" if max_ndim == 1 else f"1-D to {max_ndim}-D"
        raise ValueError(f"{name} must be {accepted}, got {arr.ndim}-D with shape {arr.shape}")
    for s in arr.strides:
        if s % arr.itemsize:
            return np.ascontiguousarray(arr)
    return arr


cdef Py_ssize_t as_count(object value, str name, Py_ssize_t lowest) except -1:
    """An integer argument >= lowest, or TypeError/ValueError naming it."""
    cdef Py_ssize_t fast
    if type(value) is int:
        fast = value
        if fast < lowest:
            raise ValueError(f"{name} must be >= {lowest}, got {fast}")
        return fast
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    cdef object v = value.__index__()
    if v < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {v}")
    return v
