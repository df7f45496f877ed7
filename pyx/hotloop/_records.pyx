"""Counter records and key files: wrappers of cxx/include/hotloop/records.hpp.

Arguments are checked with the GIL held; files are then decoded, counted and written by C++ with
the GIL released, in steps of about STEP_BYTES decompressed bytes between which the GIL is taken
back for a moment so that Ctrl-C gets through. The public module is hotloop.records.
"""
import json
import os
from enum import IntEnum

import numpy as np

from hotloop._errors import HotloopError

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from libc.errno cimport EINVAL, ENOMEM
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libcpp.memory cimport unique_ptr

from hotloop._cxx.records cimport (
    ByteStream as CppByteStream,
    Compression as CppCompression,
    CountJob as CppCountJob,
    Counters as CppCounters,
    CountsWriter as CppCountsWriter,
    detect_compression,
    FaultKind,
    NegativeJob as CppNegativeJob,
    RecordsFault,
    kBlockSize,
    kFrequencyCap,
    kFrequencyCount,
    kRecordSize32,
    kRecordSize64,
)
from hotloop._threads cimport effective_n_threads
from hotloop._cxx.threads cimport share_pool
from hotloop._validate cimport as_path

cnp.import_array()
share_pool()

FREQUENCY_COUNT = kFrequencyCount
RECORD_SIZE_64 = kRecordSize64
RECORD_SIZE_32 = kRecordSize32
BLOCK_SIZE = kBlockSize

# The names are Python's, the values C++'s (one definition of each number).
Compression = IntEnum(
    "Compression",
    [("none", <int>CppCompression.none), ("gzip", <int>CppCompression.gzip),
     ("lz4", <int>CppCompression.lz4)],
    module="hotloop.records",
)
Compression.__doc__ = "How a counter or key file is compressed (detected from its first bytes)."

RECORD_DTYPE = np.dtype([("id", "<u8"), ("shows", "<u2"), ("clicks", "<u2")])
RECORD_DTYPE_32 = np.dtype([("id", "<u4"), ("shows", "<u2"), ("clicks", "<u2")])
if RECORD_DTYPE.itemsize != kRecordSize64 or RECORD_DTYPE_32.itemsize != kRecordSize32:
    raise ImportError("hotloop.records: the record dtypes disagree with the C++ record sizes")

# Decompressed bytes per step between two checks for Ctrl-C (~10-50 ms of work).
cdef uint64_t STEP = 32 << 20
STEP_BYTES = STEP


class RecordsError(HotloopError):
    """A damaged counter or key file. The message names the file, the place and the reason.

    Attributes: ``path``; ``kind`` ("gzip", "lz4", "truncated" or "key"); ``offset``, the
    uncompressed byte offset of the damaged record or line (for a damaged gzip member or lz4
    frame of a file read in parallel, counted from that block's start); ``file_offset``, the
    file offset of the gzip member or lz4 frame concerned (0 for uncompressed files); ``line``,
    the 1-based line of a key file (None for counter files)."""

    __module__ = "hotloop.records"

    def __init__(self, message, *, path=None, kind=None, offset=None, file_offset=None,
                 line=None):
        super().__init__(message)
        self.path = path
        self.kind = kind
        self.offset = offset
        self.file_offset = file_offset
        self.line = line


# --------------------------------------------------------------------------------------------
# Argument checks of this family only (the shared ones are in hotloop._validate)


cdef list as_paths(object paths, str name):
    """One path or an iterable of paths (at least one) as a list of bytes."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [as_path(paths, name)]
    try:
        items = list(paths)
    except TypeError:
        raise TypeError(
            f"{name} must be a path or an iterable of paths, got {type(paths).__name__}"
        ) from None
    if not items:
        raise ValueError(f"{name} must name at least one file, got an empty {type(paths).__name__}")
    return [as_path(p, f"{name}[{i}]") for i, p in enumerate(items)]


cdef size_t as_key_size(object key_size) except 0:
    if isinstance(key_size, bool) or not hasattr(key_size, "__index__"):
        raise TypeError(f"key_size must be 4 or 8, got {type(key_size).__name__}")
    if key_size.__index__() not in (4, 8):
        raise ValueError(f"key_size must be 4 or 8, got {key_size!r}")
    return key_size.__index__()


cdef bint as_flag(object value, str name) except -1:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r:.40}")
    return bool(value)


cdef object as_entity(object value, str name):
    """entity_type/entity_id: a str or an int (not a bool), as given."""
    if isinstance(value, bool) or not isinstance(value, (str, int, np.integer)):
        raise TypeError(f"{name} must be a str or an int, got {type(value).__name__}")
    return int(value) if isinstance(value, np.integer) else value


cdef object as_uint_array(object x, str name, object max_value, object dtype):
    """x as a contiguous 1-D array of `dtype` whose values are all in [0, max_value]."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype == object:
        try:
            arr = np.array(x, dtype=np.uint64)
        except (OverflowError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must hold integers in [0, {max_value}]: {exc}"
            ) from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=dtype)
    if arr.dtype.kind not in "ui":
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    if arr.dtype.kind == "i":
        lo = arr.min()
        if lo < 0:
            i = int(np.argmax(arr < 0))
            raise ValueError(f"{name}[{i}] = {arr[i]} is negative; accepted: 0 to {max_value}")
    hi = arr.max()
    if int(hi) > max_value:
        i = int(np.argmax(arr > max_value)) if arr.dtype.itemsize < 8 or arr.dtype.kind == "u" \
            else int(np.argmax(arr.astype(object) > max_value))
        raise ValueError(f"{name}[{i}] = {arr[i]} is too large; accepted: 0 to {max_value}")
    return np.ascontiguousarray(arr, dtype=dtype)


cdef CppCompression as_compression(object compression) except *:
    if compression is None:
        return CppCompression.none
    if isinstance(compression, Compression):
        return <CppCompression><int>compression
    if isinstance(compression, str) and compression in ("gzip", "lz4", "none"):
        return <CppCompression><int>Compression[compression]
    raise ValueError(f"compression must be 'gzip', 'lz4' or None, got {compression!r:.40}")


cdef int as_level(object level) except -2:
    if level is None:
        return -1
    if isinstance(level, bool) or not hasattr(level, "__index__"):
        raise TypeError(f"level must be an int from 0 to 12 or None, got {type(level).__name__}")
    v = level.__index__()
    if not 0 <= v <= 12:
        raise ValueError(f"level must be from 0 to 12 or None, got {v}")
    return v


cdef Py_ssize_t as_batch_size(object batch_size) except -2:
    if batch_size is None:
        return -1
    if isinstance(batch_size, bool) or not hasattr(batch_size, "__index__"):
        raise TypeError(
            f"batch_size must be a positive int or None, got {type(batch_size).__name__}"
        )
    v = batch_size.__index__()
    if not 1 <= v <= (1 << 40):
        raise ValueError(f"batch_size must be a positive int (at most 2**40) or None, got {v}")
    return v


# --------------------------------------------------------------------------------------------
# Errors


cdef object os_error(int err, object path):
    if err == ENOMEM:
        return MemoryError(os.strerror(err))
    if err == EINVAL:
        return ValueError(
            f"{os.fsdecode(path)!r} is not a regular file: the output must be a regular file or "
            "a new name (it is written to a temporary file and renamed over the target)"
        )
    return OSError(err, os.strerror(err), os.fsdecode(path))


_KIND_NAMES = {
    <int>FaultKind.gzip: "gzip", <int>FaultKind.lz4: "lz4",
    <int>FaultKind.truncated: "truncated", <int>FaultKind.key: "key",
}


cdef object fault_error(const RecordsFault& f, object path):
    if f.kind == FaultKind.os:
        return os_error(f.sys_errno, path)
    name = os.fsdecode(path)
    return RecordsError(
        f"{name}: {f.reason.decode('utf-8', 'replace')}",
        path=name, kind=_KIND_NAMES.get(<int>f.kind, "unknown"), offset=f.offset,
        file_offset=f.file_offset, line=f.line if f.kind == FaultKind.key else None,
    )


# --------------------------------------------------------------------------------------------
# Counting


cdef class Counters:
    """Per-id click and show totals of counter records; see hotloop.records.count_records."""

    cdef unique_ptr[CppCounters] c
    cdef bint busy

    def __cinit__(self, key_size=8):
        self.c.reset(new CppCounters(as_key_size(key_size)))

    cdef CppCounters* get(self) except NULL:
        if self.busy:
            raise RuntimeError("this Counters is being used by another thread")
        return self.c.get()

    @property
    def key_size(self):
        """4 or 8: the id size of the records counted (only equal sizes merge)."""
        return self.get().key_size()

    @property
    def records(self):
        """Records counted."""
        return self.get().records()

    @property
    def shows_all(self):
        """Sum of shows over all records."""
        return self.get().shows_all()

    @property
    def clicks_all(self):
        """Sum of clicks over all records."""
        return self.get().clicks_all()

    def __len__(self):
        """Distinct ids."""
        return self.get().distinct()

    def frequencies(self):
        """(shows_freq, clicks_freq): lists of FREQUENCY_COUNT counts; entry k counts the
        distinct ids whose total is k, the last entry those whose total is 32 or more."""
        cdef uint64_t sf[64]
        cdef uint64_t cf[64]
        self.get().frequencies(sf, cf)
        return [sf[i] for i in range(kFrequencyCount)], [cf[i] for i in range(kFrequencyCount)]

    def result(self, entity_type, entity_id, *, as_json=False):
        """The get_counters dict (or its JSON text) for this entity; see get_counters."""
        entity_type = as_entity(entity_type, "entity_type")
        entity_id = as_entity(entity_id, "entity_id")
        want_json = as_flag(as_json, "as_json")
        sf, cf = self.frequencies()
        d = {
            "type": entity_type,
            "id": entity_id,
            "shows_all": self.shows_all,
            "clicks_all": self.clicks_all,
            "shows_uniq": len(self) - sf[0],
            "clicks_uniq": len(self) - cf[0],
            "shows_freq": sf,
            "clicks_freq": cf,
        }
        return json.dumps(d) if want_json else d

    def merge(self, Counters other not None):
        """Add other's counts to these, in place (exact: see the module docstring); returns self.

        Both must have the same key_size."""
        cdef CppCounters* a = self.get()
        cdef CppCounters* b = other.get()
        if a.key_size() != b.key_size():
            raise ValueError(
                f"cannot merge Counters of key_size {b.key_size()} into key_size {a.key_size()}"
            )
        cdef bint ok
        self.busy = True
        other.busy = True
        try:
            with nogil:
                ok = a.try_merge(b[0])
        finally:
            self.busy = False
            other.busy = False
        if not ok:
            raise MemoryError("out of memory while merging Counters; this Counters is now partial")
        return self

    def state(self):
        """(ids uint64, shows uint8, clicks uint8): each distinct id and its totals saturated
        at 32, in no particular order. With shows_all, clicks_all and records this is all a
        Counters holds (what pickling stores)."""
        cdef CppCounters* c = self.get()
        cdef Py_ssize_t n = c.distinct()
        ids = np.empty(n, dtype=np.uint64)
        s = np.empty(n, dtype=np.uint8)
        k = np.empty(n, dtype=np.uint8)
        cdef uint64_t[::1] vi = ids
        cdef uint8_t[::1] vs = s
        cdef uint8_t[::1] vk = k
        if n:
            c.export_state(&vi[0], &vs[0], &vk[0])
        return ids, s, k

    @staticmethod
    def from_state(key_size, ids, shows, clicks, shows_all, clicks_all, records):
        """The inverse of state() (plus the exact totals): for pickling and for shipping partial
        results between machines."""
        cdef Counters out = Counters(key_size)
        max_id = (1 << 64) - 1 if out.key_size == 8 else (1 << 32) - 1
        a = as_uint_array(ids, "ids", max_id, np.uint64)
        s = as_uint_array(shows, "shows", kFrequencyCap, np.uint8)
        k = as_uint_array(clicks, "clicks", kFrequencyCap, np.uint8)
        if not a.shape[0] == s.shape[0] == k.shape[0]:
            raise ValueError(
                f"ids, shows and clicks must have one length, got {a.shape[0]}, {s.shape[0]}, "
                f"{k.shape[0]}"
            )
        totals = []
        for name, v in (("shows_all", shows_all), ("clicks_all", clicks_all),
                        ("records", records)):
            if isinstance(v, bool) or not hasattr(v, "__index__") or not 0 <= v < 2**64:
                raise ValueError(f"{name} must be an int in [0, 2**64), got {v!r:.40}")
            totals.append(v.__index__())
        cdef uint64_t[::1] vi = a
        cdef uint8_t[::1] vs = s
        cdef uint8_t[::1] vk = k
        cdef Py_ssize_t i, n = a.shape[0]
        cdef CppCounters* c = out.c.get()
        # With the GIL: add_capped may raise (out of memory), and this is the unpickling path.
        for i in range(n):
            c.add_capped(vi[i], vs[i], vk[i])
        if <uint64_t>c.distinct() != <uint64_t>n:
            raise ValueError("ids must not repeat")
        c.add_totals(totals[0], totals[1], totals[2])
        return out

    def __reduce__(self):
        return (Counters.from_state,
                (self.key_size, *self.state(), self.shows_all, self.clicks_all, self.records))

    def __repr__(self):
        return (f"<hotloop.records.Counters key_size={self.key_size}, {self.records} records, "
                f"{len(self)} ids>")


def count_records(paths, *, key_size=8, n_threads=None):
    cdef size_t ks = as_key_size(key_size)
    cdef list bpaths = as_paths(paths, "paths")
    cdef int nt = effective_n_threads(n_threads)
    cdef unique_ptr[CppCountJob] job
    job.reset(new CppCountJob(ks, nt))
    cdef CppCountJob* j = job.get()
    cdef int err
    cdef const char* cp
    for p in bpaths:
        cp = <bytes>p
        with nogil:
            err = j.add_file(cp)
        if err:
            raise os_error(err, p)
    cdef bint done = False
    while not done:
        with nogil:
            done = j.run(STEP)
        PyErr_CheckSignals()
    if j.failed():
        raise fault_error(j.error(), bpaths[j.error_file()])
    cdef Counters out = Counters(ks)
    with nogil:
        err = j.finish(out.c.get())
    if err:
        raise MemoryError(os.strerror(err))
    return out


def get_counters(paths, entity_type, entity_id, *, key_size=8, as_json=False, n_threads=None):
    entity_type = as_entity(entity_type, "entity_type")
    entity_id = as_entity(entity_id, "entity_id")
    want_json = as_flag(as_json, "as_json")
    c = count_records(paths, key_size=key_size, n_threads=n_threads)
    return c.result(entity_type, entity_id, as_json=want_json)


# --------------------------------------------------------------------------------------------
# Key files


def targets_negative(all_path, in_path, out_path, *, has_header=True, key64=False,
                     n_threads=None):
    cdef bytes a = as_path(all_path, "all_path")
    cdef bytes b = as_path(in_path, "in_path")
    cdef bytes o = as_path(out_path, "out_path")
    cdef bint header = as_flag(has_header, "has_header")
    cdef bint wide = as_flag(key64, "key64")
    cdef int nt = effective_n_threads(n_threads)
    # Write through symbolic links: the temporary file goes beside the link's target.
    o = os.fsencode(os.path.realpath(o))
    cdef unique_ptr[CppNegativeJob] job
    job.reset(new CppNegativeJob(header, wide, nt))
    cdef CppNegativeJob* j = job.get()
    cdef int which = 0, err
    cdef const char* ca = a
    cdef const char* cb = b
    cdef const char* co = o
    names = (all_path, in_path, out_path)
    with nogil:
        err = j.open(ca, cb, co, &which)
    if err:
        raise os_error(err, names[which])
    cdef bint done = False
    try:
        while not done:
            with nogil:
                done = j.run(STEP)
            PyErr_CheckSignals()
        if j.failed():
            e = j.error()
            if e.kind == FaultKind.os:
                raise os_error(e.sys_errno, names[j.error_file()])
            raise fault_error(e, names[j.error_file()])
        with nogil:
            err = j.commit()
        if err:
            raise os_error(err, out_path)
        return j.written()
    finally:
        j.abort()


# --------------------------------------------------------------------------------------------
# Reading and writing records


cdef object record_dtype(size_t key_size):
    return RECORD_DTYPE if key_size == 8 else RECORD_DTYPE_32


cdef class CountsIterator:
    """Iterator over the records of one counter file; see hotloop.records.iter_counts."""

    cdef unique_ptr[CppByteStream] stream
    cdef readonly object path
    cdef readonly size_t key_size
    cdef Py_ssize_t batch  # -1: tuples
    cdef object buf        # tuples: the current chunk of records
    cdef Py_ssize_t pos, n
    cdef bint done, busy

    def __cinit__(self, path, *, key_size=8, batch_size=None):
        cdef bytes bpath = as_path(path, "path")
        cdef const char* cpath = bpath
        cdef int err
        self.key_size = as_key_size(key_size)
        self.batch = as_batch_size(batch_size)
        self.path = path
        self.stream.reset(new CppByteStream(self.key_size + 4))
        with nogil:
            err = self.stream.get().open_file(cpath)
        if err:
            self.done = True
            raise os_error(err, path)

    def __iter__(self):
        return self

    cdef Py_ssize_t fill(self, object arr, Py_ssize_t cap) except -1:
        """Reads up to cap records into arr (a record array); returns the count."""
        cdef uint8_t* dst = <uint8_t*>cnp.PyArray_DATA(arr)
        cdef size_t rec = self.key_size + 4
        cdef size_t want = <size_t>cap * rec, got = 0
        cdef ptrdiff_t r = 1
        cdef CppByteStream* s = self.stream.get()
        with nogil:
            while got < want:
                r = s.read(dst + got, want - got)
                if r <= 0:
                    break
                got += <size_t>r
        if r < 0 and got < rec:
            self.done = True
            raise fault_error(s.error(), self.path)
        # An error after some records: those go out first, the next call raises it (the
        # stream keeps returning its error).
        if r == 0:
            self.done = True
        return got // rec

    def __next__(self):
        if self.busy:
            raise RuntimeError("this CountsIterator is being read by another thread")
        self.busy = True
        try:
            return self._next()
        finally:
            self.busy = False

    cdef object _next(self):
        cdef Py_ssize_t got
        if self.batch > 0:
            if self.done:
                raise StopIteration
            arr = np.empty(self.batch, dtype=record_dtype(self.key_size))
            got = self.fill(arr, self.batch)
            if got == 0:
                raise StopIteration
            return arr if got == self.batch else arr[:got].copy()
        if self.pos >= self.n:
            if self.done:
                raise StopIteration
            if self.buf is None:
                self.buf = np.empty(kBlockSize // (self.key_size + 4),
                                    dtype=record_dtype(self.key_size))
            self.n = self.fill(self.buf, len(self.buf))
            self.pos = 0
            if self.n == 0:
                raise StopIteration
        cdef const uint8_t* p = <const uint8_t*>cnp.PyArray_DATA(self.buf)
        cdef size_t rec = self.key_size + 4
        p += <size_t>self.pos * rec
        self.pos += 1
        cdef uint64_t key
        cdef uint32_t key32
        cdef uint16_t s, c
        if self.key_size == 8:
            key = (<const uint64_t*>p)[0]
        else:
            key32 = (<const uint32_t*>p)[0]
            key = key32
        s = (<const uint16_t*>(p + self.key_size))[0]
        c = (<const uint16_t*>(p + self.key_size + 2))[0]
        return (key, s, c)

    def __repr__(self):
        return f"<hotloop.records.CountsIterator {self.path!r}, key_size={self.key_size}>"


def iter_counts(path, *, key_size=8, batch_size=None):
    return CountsIterator(path, key_size=key_size, batch_size=batch_size)


def read_counts(path, *, key_size=8):
    cdef CountsIterator it = CountsIterator(path, key_size=key_size, batch_size=1)
    cdef size_t ks = it.key_size
    cdef Py_ssize_t cap, n = 0, got
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    cap = max(1024, min(size, 1 << 30) // (ks + 4) + 1)
    arr = np.empty(cap, dtype=record_dtype(ks))
    while True:
        got = it.fill(arr[n:], cap - n)
        n += got
        if it.done:
            break
        if n == cap:
            cap *= 2
            arr.resize(cap, refcheck=False)
    arr.resize(n, refcheck=False)  # shrinks in place (realloc)
    return arr


def write_counts(path, ids, shows, clicks, *, key_size=8, compression="gzip", level=None):
    cdef size_t ks = as_key_size(key_size)
    cdef bytes bpath = as_path(path, "path")
    cdef CppCompression comp = as_compression(compression)
    cdef int lv = as_level(level)
    a = as_uint_array(ids, "ids", 2**64 - 1 if ks == 8 else 2**32 - 1, np.uint64)
    s = as_uint_array(shows, "shows", 65535, np.uint16)
    c = as_uint_array(clicks, "clicks", 65535, np.uint16)
    if not a.shape[0] == s.shape[0] == c.shape[0]:
        raise ValueError(
            f"ids, shows and clicks must have one length, got {a.shape[0]}, {s.shape[0]}, "
            f"{c.shape[0]}"
        )
    bpath = os.fsencode(os.path.realpath(bpath))
    cdef const uint64_t[::1] vi = a
    cdef const uint16_t[::1] vs = s
    cdef const uint16_t[::1] vc = c
    cdef size_t n = a.shape[0], done = 0, step
    cdef unique_ptr[CppCountsWriter] w
    w.reset(new CppCountsWriter(ks, comp, lv))
    cdef CppCountsWriter* wp = w.get()
    cdef const char* cpath = bpath
    cdef int err
    with nogil:
        err = wp.open(cpath)
    if err:
        raise os_error(err, path)
    try:
        while done < n:
            step = min(n - done, <size_t>(1 << 22))
            with nogil:
                err = wp.write(&vi[done], &vs[done], &vc[done], step)
            if err:
                raise os_error(err, path)
            done += step
            PyErr_CheckSignals()
        with nogil:
            err = wp.commit()
        if err:
            raise os_error(err, path)
        return wp.bytes_written()
    finally:
        wp.abort()


def compression_of(path):
    cdef bytes bpath = as_path(path, "path")
    with open(bpath, "rb") as f:
        head = f.read(4)
    cdef const char* h = head
    return Compression(<int>detect_compression(<const uint8_t*>h, len(head)))
