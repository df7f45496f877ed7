"""Byte kernels: WebSocket masking (RFC 6455) of bytes-like objects and uint8 arrays.

Wrappers only: buffers are acquired and checked with the GIL held, then the C++ kernel of
cxx/include/hotloop/wsmask.hpp runs, with the GIL released for large buffers.
"""
import numpy as np

cimport numpy as cnp
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t

from hotloop._cxx.threads cimport share_pool
from hotloop._cxx.wsmask cimport kWsMaskChunk, ws_mask_parallel
from hotloop._cxx.wsmask cimport ws_mask as cpp_ws_mask
from hotloop._validate cimport as_bytes_of, as_pyint, get_byte_buffer, threads_for

cnp.import_array()
share_pool()

# From this many bytes on the GIL is released around the kernel. Masking runs at ~60 GB/s in
# cache, so 16 KiB take ~0.3 us, several times the cost of releasing and taking back the GIL.
cdef Py_ssize_t NOGIL_MIN = 16384
# From this many bytes on a call may use several threads (when n_threads allows). Measured on
# 2 cores (AVX-512): 2 threads take 10 -> 5 us out of place at 512 KiB, 23 -> 13 us at 1 MiB,
# 110 -> 56 us at 4 MiB; below 512 KiB the start-up of the team eats the gain. 1 MiB leaves a
# margin: on a busy machine a thread that waits for a core costs a scheduler tick (ms).
cdef Py_ssize_t PARALLEL_MIN = 1 << 20


def ws_mask(data, key, *, offset=0, out=None, n_threads=None):
    """Mask (or unmask) a WebSocket payload: XOR with the 4-byte key, repeated (RFC 6455 5.3).

    ``result[i] = data[i] ^ key[(offset + i) % 4]``. Masking twice with the same key and
    offset gives the data back, so the same call unmasks.

    Parameters
    ----------
    data : bytes, bytearray, memoryview or ndarray of uint8
        The payload, ``n`` bytes: any object with the buffer protocol whose items are single
        bytes (format ``'B'``, ``'b'`` or ``'c'``: uint8/int8 NumPy arrays, of any shape), which
        is C-contiguous. Any length including 0, any alignment (slices of a memoryview are fine).
    key : bytes-like
        The masking key, exactly 4 bytes.
    offset : int, optional
        Position of ``data[0]`` in the payload, >= 0; only ``offset % 4`` matters. A payload
        split across frames or reads can be masked piece by piece, each piece with its own
        position as offset. Default 0.
    out : writable bytes-like or ndarray, optional
        Where to write the ``n`` masked bytes: a writable C-contiguous buffer of single bytes
        (bytearray, writable memoryview, uint8 array) of the same length. It may be ``data``
        itself: masking in place, without allocating (the fastest way). A buffer that overlaps
        ``data`` in another way is handled too (``data`` is copied first).
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`; ``None``: all usable CPUs).
        Threads are only started from 1 MiB on (below, starting them costs about what they
        save). The result does not depend on it.

    Returns
    -------
    bytes, ndarray or ``out``
        ``out`` itself when given. Otherwise a new ``bytes`` object (as websockets'
        ``apply_mask``), or a new array of ``data``'s shape and dtype when ``data`` is a NumPy
        array.

    Raises
    ------
    TypeError
        ``data``/``out`` without the buffer protocol or with items other than bytes; a key
        that is not bytes-like; a non-integer ``offset``.
    ValueError
        A key of other than 4 bytes, a negative ``offset``, a non-contiguous ``data``/``out``,
        an ``out`` of another length, or a read-only ``out`` (e.g. ``bytes``).

    Notes
    -----
    Speed: the kernel handles 64-byte vectors (AVX-512, AVX2 or SSE2, chosen at run time) with
    aligned stores and runs at the speed of ``memcpy`` of the same size, which is the limit:
    masking reads and writes every byte once, as a copy does. In place it avoids allocating
    and writing a second buffer. The GIL is released from 16 KiB on, so other Python threads
    run meanwhile. Results are byte-identical to websockets' ``apply_mask`` and to the
    byte-by-byte definition.

    There is no NaN policy: every byte value is data.

    Examples
    --------
    >>> import hotloop
    >>> masked = hotloop.ws_mask(b"Hello", b"\\x37\\xfa\\x21\\x3d")
    >>> masked
    b'\\x7f\\x9fMQX'
    >>> hotloop.ws_mask(masked, b"\\x37\\xfa\\x21\\x3d")
    b'Hello'
    >>> buf = bytearray(b"Hello")
    >>> _ = hotloop.ws_mask(buf, b"\\x37\\xfa\\x21\\x3d", out=buf)  # in place
    """
    cdef const uint8_t* k
    cdef Py_buffer dv, ov
    cdef bint have_out = False
    cdef Py_ssize_t n
    cdef size_t phase
    cdef int nt = 1
    cdef const uint8_t* src
    cdef uint8_t* dst
    cdef object result, copy = None
    cdef size_t s, d

    cdef bytes key_bytes = as_bytes_of(key, "key", 4)
    k = <const uint8_t*>PyBytes_AS_STRING(key_bytes)
    phase = <size_t>(as_pyint(offset, "offset", 0) & 3)
    get_byte_buffer(data, &dv, "data", False, -1)
    try:
        n = dv.len
        src = <const uint8_t*>dv.buf
        if n_threads is not None or n >= PARALLEL_MIN:
            nt = threads_for(n_threads, (n + <Py_ssize_t>kWsMaskChunk - 1) // kWsMaskChunk)
        if out is None:
            if isinstance(data, np.ndarray):
                result = np.empty(data.shape, dtype=data.dtype)
                dst = <uint8_t*>cnp.PyArray_DATA(<cnp.ndarray>result)
            else:
                result = PyBytes_FromStringAndSize(NULL, n)
                dst = <uint8_t*>PyBytes_AS_STRING(result)
        else:
            get_byte_buffer(out, &ov, "out", True, n)
            have_out = True
            result = out
            dst = <uint8_t*>ov.buf
            s = <size_t>src
            d = <size_t>dst
            if s != d and s < d + <size_t>n and d < s + <size_t>n:
                # Overlapping, not in place: the kernel's stores would overwrite input bytes
                # it has not read yet.
                copy = PyBytes_FromStringAndSize(<const char*>src, n)
                src = <const uint8_t*>PyBytes_AS_STRING(copy)
        if n < NOGIL_MIN:
            cpp_ws_mask(src, dst, <size_t>n, k, phase)
        else:
            with nogil:
                ws_mask_parallel(src, dst, <size_t>n, k, phase, nt if n >= PARALLEL_MIN else 1)
    finally:
        PyBuffer_Release(&dv)
        if have_out:
            PyBuffer_Release(&ov)
    return result
