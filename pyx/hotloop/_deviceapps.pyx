"""DeviceApps record streams: dicts to gzip'ed length-prefixed protobuf messages, and back.

Wrappers only: records are checked and taken apart with the GIL held (no copies: pointers into
the str/bytes objects), then cxx/include/hotloop/deviceapps.hpp encodes, frames and compresses
them (with the GIL released while blocks are handed to the compressors) and reads them back
(with the GIL released while it reads and inflates). The public module is hotloop.deviceapps.
"""
import os
from collections.abc import Mapping

from hotloop._deviceapps_errors import (
    FramingError,
    GzipStreamError,
    MessageDecodeError,
    RecordTypeError,
    RecordValueError,
)

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Size
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_FromDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from cpython.long cimport PyLong_FromUnsignedLong
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.errno cimport EINTR, ENOMEM
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy
from libcpp.memory cimport unique_ptr
from libcpp.vector cimport vector

from hotloop._cxx.deviceapps cimport (
    AddStatus,
    DecodeError,
    DeviceAppsMessage,
    DeviceAppsReader as CppReader,
    DeviceAppsWriter as CppWriter,
    MemberRange,
    ReadError,
    ReadErrorKind,
    ReadStatus,
    RecordView,
    decode,
    encode,
    encoded_size,
    kDefaultBlockSize,
    kDefaultMemberLimit,
    kDeviceAppsMagic,
    kDeviceAppsType,
    kMaxBlockSize,
    kMaxMemberLimit,
    kMaxMessageSize,
    scan_member_ranges,
)
from hotloop._threads cimport effective_n_threads
from hotloop._validate cimport as_int, as_path, get_byte_buffer

cdef extern from "Python.h":
    PyObject* new_uint "PyLong_FromUnsignedLong" (unsigned long v) except NULL
    void list_set_item "PyList_SET_ITEM" (object lst, Py_ssize_t i, PyObject* o)
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    PyObject** PySequence_Fast_ITEMS(object o)
    bint PyLong_CheckExact(PyObject* o)
    long long PyLong_AsLongLongAndOverflow(PyObject* o, int* overflow) except? -1

MAGIC = kDeviceAppsMagic
DEVICE_APPS_TYPE = kDeviceAppsType
MAX_MESSAGE_SIZE = kMaxMessageSize
DEFAULT_BLOCK_SIZE = kDefaultBlockSize
MAX_BLOCK_SIZE = kMaxBlockSize
DEFAULT_MEMBER_LIMIT = kDefaultMemberLimit
MAX_MEMBER_LIMIT = kMaxMemberLimit
MAX_LEVEL = 12

# An app id takes at least 2 bytes of the message (tag and value): more apps cannot fit.
cdef Py_ssize_t MAX_APPS = kMaxMessageSize // 2


cdef object os_error(int err, object path):
    if err == EINTR:
        # A signal stopped a blocking open() or write() (a FIFO without a reader): let its
        # handler raise (KeyboardInterrupt) rather than report an OSError.
        PyErr_CheckSignals()
    if err == ENOMEM:
        return MemoryError(os.strerror(err))
    return OSError(err, os.strerror(err), path)


# --------------------------------------------------------------------------------------------
# Records to messages


cdef int take_text(object v, const uint8_t** data, size_t* size, Py_ssize_t index,
                   str key) except -1:
    """Points *data at the bytes of a str (as UTF-8), bytes or bytearray."""
    cdef Py_ssize_t n
    if isinstance(v, str):
        try:
            data[0] = <const uint8_t*>PyUnicode_AsUTF8AndSize(v, &n)
        except UnicodeEncodeError as exc:
            raise RecordValueError(
                f"record {index}: {key} cannot be encoded as UTF-8: {exc}", index=index, key=key
            ) from None
        size[0] = n
    elif isinstance(v, bytes):
        data[0] = <const uint8_t*>PyBytes_AS_STRING(v)
        size[0] = PyBytes_GET_SIZE(v)
    elif isinstance(v, bytearray):
        data[0] = <const uint8_t*>PyByteArray_AS_STRING(v)
        size[0] = PyByteArray_GET_SIZE(v)
    else:
        raise RecordTypeError(
            f"record {index}: {key} must be str or bytes, got {type(v).__name__}: {v!r:.60}",
            index=index, key=key,
        )
    return 0


cdef double take_double(object v, Py_ssize_t index, str key) except? -1.0:
    if type(v) is float:
        return PyFloat_AS_DOUBLE(v)
    if isinstance(v, (bool, str, bytes, bytearray)):
        raise RecordTypeError(
            f"record {index}: {key} must be a real number, got {type(v).__name__}: {v!r:.60}",
            index=index, key=key,
        )
    try:
        return v  # ints, NumPy scalars, anything with __float__ or __index__
    except TypeError:
        raise RecordTypeError(
            f"record {index}: {key} must be a real number, got {type(v).__name__}: {v!r:.60}",
            index=index, key=key,
        ) from None
    except OverflowError:
        raise RecordValueError(
            f"record {index}: {key} is too large for a double: {v!r:.60}", index=index, key=key
        ) from None


cdef uint32_t app_value(PyObject* item, Py_ssize_t index, Py_ssize_t i) except? 0xFFFFFFFF:
    """One app id as uint32, by hotloop._validate's integer rule (ints and objects with
    __index__, not bools, in [0, 2**32)); its errors become record errors."""
    try:
        return <uint32_t>as_int(<object>item, f"record {index}: apps[{i}]", 0, 0xFFFFFFFF)
    except TypeError as exc:
        raise RecordTypeError(str(exc), index=index, key="apps") from None
    except (ValueError, OverflowError) as exc:
        raise RecordValueError(str(exc), index=index, key="apps") from None


cdef object take_apps(object v, vector[uint32_t]& buf, Py_ssize_t index):
    """Fills buf with the app ids of a list, tuple or other iterable; returns the sequence read
    (kept alive by the caller)."""
    cdef object seq
    cdef Py_ssize_t i, n
    cdef PyObject** items
    cdef uint32_t* out
    cdef long long x
    cdef int overflow
    if type(v) is list or type(v) is tuple:
        seq = v
    elif isinstance(v, (str, bytes, bytearray, dict)):
        raise RecordTypeError(
            f"record {index}: apps must be a list of ints, got {type(v).__name__}: {v!r:.60}",
            index=index, key="apps",
        )
    else:
        try:
            seq = list(v)
        except TypeError:
            raise RecordTypeError(
                f"record {index}: apps must be a list of ints, got {type(v).__name__}: "
                f"{v!r:.60}",
                index=index, key="apps",
            ) from None
    n = len(seq)
    if n > MAX_APPS:
        raise RecordValueError(
            f"record {index}: apps has {n} values; a message holds at most {MAX_APPS} "
            f"(each takes 2 or more of its at most {kMaxMessageSize} bytes)",
            index=index, key="apps",
        )
    buf.resize(n)
    out = buf.data()
    i = 0
    while i < n:
        items = PySequence_Fast_ITEMS(seq)
        # The common case inline: an int in range. Everything else goes to app_value, which
        # raises the right error or calls __index__.
        while i < n and PyLong_CheckExact(items[i]):
            x = PyLong_AsLongLongAndOverflow(items[i], &overflow)
            if overflow or x < 0 or x > 0xFFFFFFFF:
                break
            out[i] = <uint32_t>x
            i += 1
        if i == n:
            break
        if PyLong_CheckExact(items[i]):
            app_value(items[i], index, i)  # raises
        else:  # __index__ is Python code that could resize a list under us
            out[i] = app_value(items[i], index, i)
            if len(seq) != n:
                raise RecordValueError(
                    f"record {index}: apps changed size while it was being read",
                    index=index, key="apps",
                )
        i += 1
    return seq


cdef int unknown_keys(dict d, tuple known, Py_ssize_t index, str where) except -1:
    for k in d:
        if k not in known:
            raise RecordValueError(
                f"record {index}: unknown key {k!r:.60} in {where}; "
                f"the keys are {', '.join(map(repr, known))}",
                index=index, key=k if isinstance(k, str) else repr(k),
            )
    return 0


cdef class _Message:
    """One record taken apart: the C++ view and the Python objects it points into."""

    cdef DeviceAppsMessage m
    cdef vector[uint32_t] apps
    cdef object id_obj, type_obj, apps_obj

    cdef int take(self, object rec, Py_ssize_t index) except -1:
        cdef PyObject* p
        cdef Py_ssize_t found = 0, dev_found = 0
        cdef object device
        cdef dict d
        if type(rec) is not dict and not isinstance(rec, dict):
            if not isinstance(rec, Mapping):
                raise RecordTypeError(
                    f"record {index} must be a dict, got {type(rec).__name__}: {rec!r:.60}",
                    index=index,
                )
            rec = dict(rec)
        d = <dict>rec
        self.m.has_device = self.m.has_id = self.m.has_type = False
        self.m.has_lat = self.m.has_lon = False
        self.m.n_apps = 0
        self.id_obj = self.type_obj = self.apps_obj = None

        p = PyDict_GetItemWithError(d, "apps")
        if p != NULL:
            found += 1
            if <object>p is not None:
                self.apps_obj = take_apps(<object>p, self.apps, index)
                self.m.apps = self.apps.data()
                self.m.n_apps = self.apps.size()
        p = PyDict_GetItemWithError(d, "lat")
        if p != NULL:
            found += 1
            if <object>p is not None:
                self.m.lat = take_double(<object>p, index, "lat")
                self.m.has_lat = True
        p = PyDict_GetItemWithError(d, "lon")
        if p != NULL:
            found += 1
            if <object>p is not None:
                self.m.lon = take_double(<object>p, index, "lon")
                self.m.has_lon = True
        p = PyDict_GetItemWithError(d, "device")
        if p != NULL:
            found += 1
            device = <object>p
            if device is not None:
                if not isinstance(device, dict) and isinstance(device, Mapping):
                    device = dict(device)
                if not isinstance(device, dict):
                    raise RecordTypeError(
                        f"record {index}: device must be a dict, got {type(device).__name__}: "
                        f"{device!r:.60}",
                        index=index, key="device",
                    )
                self.m.has_device = True
                p = PyDict_GetItemWithError(device, "id")
                if p != NULL:
                    dev_found += 1
                    if <object>p is not None:
                        self.id_obj = <object>p
                        take_text(self.id_obj, &self.m.id, &self.m.id_size, index, "device.id")
                        self.m.has_id = True
                p = PyDict_GetItemWithError(device, "type")
                if p != NULL:
                    dev_found += 1
                    if <object>p is not None:
                        self.type_obj = <object>p
                        take_text(self.type_obj, &self.m.type, &self.m.type_size, index,
                                  "device.type")
                        self.m.has_type = True
                if PyDict_Size(device) != dev_found:
                    unknown_keys(device, ("id", "type"), index, "device")
        if PyDict_Size(d) != found:
            unknown_keys(d, ("device", "apps", "lat", "lon"), index, "the record")
        return 0

    cdef object too_long(self, Py_ssize_t index):
        return RecordValueError(
            f"record {index}: its message would be {encoded_size(self.m)} bytes; a record holds "
            f"at most {kMaxMessageSize}",
            index=index,
        )


def write(records, path, *, level=6, n_threads=None, block_size=DEFAULT_BLOCK_SIZE):
    cdef int lv = as_int(level, "level", 0, MAX_LEVEL)
    cdef size_t bs = as_int(block_size, "block_size", 1, kMaxBlockSize)
    cdef int nt = effective_n_threads(n_threads)
    cdef bytes bpath = as_path(path, "path")
    try:
        it = iter(records)
    except TypeError:
        raise TypeError(
            f"records must be an iterable of dicts, got {type(records).__name__}"
        ) from None
    cdef unique_ptr[CppWriter] owner
    owner.reset(new CppWriter(lv, nt, bs))
    cdef CppWriter* w = owner.get()
    cdef const char* cpath = bpath
    cdef int err
    with nogil:
        err = w.open(cpath)
    if err:
        raise os_error(err, path)
    cdef _Message msg = _Message()
    cdef Py_ssize_t index = 0
    cdef AddStatus st
    try:
        for rec in it:
            msg.take(rec, index)
            st = w.add(msg.m)
            if st == AddStatus.block_full:
                with nogil:
                    err = w.flush_block()
                if err:
                    raise os_error(err, path)
                PyErr_CheckSignals()
            elif st == AddStatus.too_long:
                raise msg.too_long(index)
            elif st != AddStatus.ok:
                raise RuntimeError(f"record {index}: the writer is in a bad state ({<int>st})")
            index += 1
        msg = None
        with nogil:
            err = w.commit()
        if err:
            raise os_error(err, path)
        return w.bytes_written()
    finally:
        w.abort()  # removes the temporary file unless commit() succeeded


def write_raw(items, path, *, level=6, n_threads=None, block_size=DEFAULT_BLOCK_SIZE):
    cdef int lv = as_int(level, "level", 0, MAX_LEVEL)
    cdef size_t bs = as_int(block_size, "block_size", 1, kMaxBlockSize)
    cdef int nt = effective_n_threads(n_threads)
    cdef bytes bpath = as_path(path, "path")
    cdef unique_ptr[CppWriter] owner
    owner.reset(new CppWriter(lv, nt, bs))
    cdef CppWriter* w = owner.get()
    cdef const char* cpath = bpath
    cdef int err
    with nogil:
        err = w.open(cpath)
    if err:
        raise os_error(err, path)
    cdef Py_ssize_t index = 0
    cdef AddStatus st
    cdef const unsigned char[::1] view
    cdef uint16_t rtype
    cdef const uint8_t* data
    try:
        for item in items:
            try:
                t, payload = item
            except (TypeError, ValueError):
                raise RecordTypeError(
                    f"item {index} must be a (type, payload) pair, got {item!r:.60}", index=index
                ) from None
            rtype = as_int(t, f"item {index}: type", 0, 0xFFFF)
            view = payload
            data = &view[0] if view.shape[0] else NULL
            st = w.add_raw(rtype, data, view.shape[0])
            if st == AddStatus.block_full:
                with nogil:
                    err = w.flush_block()
                if err:
                    raise os_error(err, path)
            elif st == AddStatus.too_long:
                raise RecordValueError(
                    f"item {index}: the payload has {view.shape[0]} bytes; a record holds at most "
                    f"{kMaxMessageSize}",
                    index=index,
                )
            index += 1
        with nogil:
            err = w.commit()
        if err:
            raise os_error(err, path)
        return w.bytes_written()
    finally:
        w.abort()


def encode_message(record):
    cdef _Message msg = _Message()
    msg.take(record, 0)
    cdef size_t n = encoded_size(msg.m)
    if n > kMaxMessageSize:
        raise msg.too_long(0)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    encode(msg.m, <uint8_t*>PyBytes_AS_STRING(out))
    return out


# --------------------------------------------------------------------------------------------
# Messages to dicts

# The few distinct device types recur in every record: their str objects are reused.
cdef enum:
    TYPE_CACHE = 8
    TYPE_CACHE_LEN = 16


cdef class _TextCache:
    cdef PyObject* objs[TYPE_CACHE]
    cdef char keys[TYPE_CACHE][TYPE_CACHE_LEN]
    cdef size_t sizes[TYPE_CACHE]
    cdef int n, victim

    def __dealloc__(self):
        cdef int i
        for i in range(self.n):
            Py_DECREF(<object>self.objs[i])

    cdef object get(self, const uint8_t* p, size_t n):
        cdef int i
        cdef object s
        if n > TYPE_CACHE_LEN:
            return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
        for i in range(self.n):
            if self.sizes[i] == n and memcmp(self.keys[i], p, n) == 0:
                return <object>self.objs[i]
        s = PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
        if self.n < TYPE_CACHE:
            i = self.n
            self.n += 1
        else:
            i = self.victim
            self.victim = (self.victim + 1) % TYPE_CACHE
            Py_DECREF(<object>self.objs[i])
        Py_INCREF(s)
        self.objs[i] = <PyObject*>s
        memcpy(self.keys[i], p, n)
        self.sizes[i] = n
        return s


cdef enum:
    # App ids below this share their int objects within one reader (as CPython shares 0..256).
    INT_CACHE = 1 << 16


cdef class _IntCache:
    cdef PyObject** objs  # calloc'ed: pages are touched only as far as the ids reach
    cdef uint32_t hi      # objs[hi:] are all NULL

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.objs != NULL:
            for i in range(self.hi):
                if self.objs[i] != NULL:
                    Py_DECREF(<object>self.objs[i])
            PyMem_Free(self.objs)

    cdef int fill(self, object lst, const uint32_t* apps, size_t n) except -1:
        """lst[i] = apps[i] for i < n; lst is a new list of n items."""
        cdef size_t i
        cdef uint32_t a
        cdef PyObject* o
        if self.objs == NULL:
            self.objs = <PyObject**>PyMem_Calloc(INT_CACHE, sizeof(PyObject*))
            if self.objs == NULL:
                raise MemoryError()
        for i in range(n):
            a = apps[i]
            if a < INT_CACHE:
                o = self.objs[a]
                if o == NULL:
                    o = new_uint(a)
                    self.objs[a] = o
                    if a >= self.hi:
                        self.hi = a + 1
                Py_INCREF(<object>o)
            else:
                o = new_uint(a)
            list_set_item(lst, i, o)  # steals the reference
        return 0


cdef inline object text(const uint8_t* p, size_t n, bint as_bytes):
    if as_bytes:
        return PyBytes_FromStringAndSize(<const char*>p, n)
    return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)


cdef object to_dict(const DeviceAppsMessage* m, bint as_bytes, _TextCache types,
                    _IntCache ints):
    """The record as a dict: keys only for present fields, "apps" always (a repeated field has
    no presence)."""
    cdef dict d = {}
    cdef dict dev
    cdef size_t i
    cdef object lst, v
    if m.has_device:
        dev = {}
        if m.has_type:
            if as_bytes or types is None:
                dev["type"] = text(m.type, m.type_size, as_bytes)
            else:
                dev["type"] = types.get(m.type, m.type_size)
        if m.has_id:
            dev["id"] = text(m.id, m.id_size, as_bytes)
        d["device"] = dev
    if m.has_lat:
        d["lat"] = PyFloat_FromDouble(m.lat)
    if m.has_lon:
        d["lon"] = PyFloat_FromDouble(m.lon)
    lst = PyList_New(m.n_apps)
    if ints is not None:
        ints.fill(lst, m.apps, m.n_apps)
        d["apps"] = lst
        return d
    for i in range(m.n_apps):
        v = PyLong_FromUnsignedLong(m.apps[i])
        Py_INCREF(v)  # PyList_SET_ITEM steals a reference
        PyList_SET_ITEM(lst, i, v)
    d["apps"] = lst
    return d


def decode_message(data, *, as_bytes=False):
    cdef Py_buffer view
    cdef vector[uint32_t] apps
    cdef DeviceAppsMessage m
    cdef DecodeError e
    get_byte_buffer(data, &view, "data", False, -1)
    cdef size_t n = view.len
    try:
        apps.resize(n + 1)
        if not decode(<const uint8_t*>view.buf if n else NULL, n, &m, apps.data(), &e):
            raise MessageDecodeError(
                f"malformed DeviceApps message: {e.what.decode()} (at byte {e.position} of the "
                f"{n}-byte message)",
                offset=e.position,
            )
        # m points into the buffer: the dict is built before it is released.
        try:
            return to_dict(&m, as_bytes, None, None)
        except UnicodeDecodeError as exc:
            raise MessageDecodeError(
                f"the device id or type is not valid UTF-8 ({exc}); read with as_bytes=True",
                offset=0,
            ) from None
    finally:
        PyBuffer_Release(&view)


cdef class DeviceAppsReader:
    """Iterator over the records of a DeviceApps file (see hotloop.deviceapps.read).

    One thread at a time: while a thread is inside ``next()`` (which releases the GIL to read
    and inflate), ``next()`` or ``close()`` from another thread raises RuntimeError and leaves
    the reader as it was. Different readers may be used by different threads at once.
    """

    cdef unique_ptr[CppReader] reader
    cdef readonly object path
    cdef readonly object byte_range
    cdef readonly bint as_bytes
    cdef bint raw, busy, done
    cdef _TextCache types
    cdef _IntCache ints

    def __cinit__(self, path, *, as_bytes=False, raw=False,
                  max_member_size=DEFAULT_MEMBER_LIMIT, byte_range=None):
        cdef size_t limit = as_int(max_member_size, "max_member_size", 1, kMaxMemberLimit)
        cdef bytes bpath = as_path(path, "path")
        cdef const char* cpath = bpath
        cdef int err
        cdef uint64_t begin = 0, end = 0, ubegin = 0
        cdef bint whole = byte_range is None
        if not whole:
            begin, end, ubegin = as_byte_range(byte_range)
        self.path = path
        self.byte_range = byte_range if byte_range is None else (begin, end, ubegin)
        self.as_bytes = bool(as_bytes)
        self.raw = bool(raw)
        self.types = _TextCache()
        self.ints = _IntCache()
        self.reader.reset(new CppReader())
        self.reader.get().set_member_limit(limit)
        # Opening a FIFO waits for its writer: without the GIL, and a signal ends the wait
        # (os_error lets its handler raise).
        with nogil:
            if whole:
                err = self.reader.get().open(cpath)
            else:
                err = self.reader.get().open_range(cpath, begin, end, ubegin)
        if err:
            self.done = True
            raise os_error(err, path)

    def __iter__(self):
        return self

    def __next__(self):
        if self.done:
            raise StopIteration
        # Held for the whole call, not only while the GIL is released: building a dict can run
        # a finalizer, and so let another thread in, while it still points into our buffers.
        if self.busy:
            raise RuntimeError("this DeviceAppsReader is being read by another thread")
        self.busy = True
        try:
            return self._next()
        finally:
            self.busy = False

    cdef object _next(self):
        cdef RecordView rec
        cdef DeviceAppsMessage m
        cdef ReadStatus st
        cdef CppReader* r = self.reader.get()
        while True:
            st = r.next(&rec, False)
            if st == ReadStatus.need_input:
                with nogil:
                    st = r.next(&rec, True)
                # A stalled pipe or FIFO: the reader comes back every ~100 ms so that Ctrl-C
                # (or any signal handler that raises) stops the iteration. It resumes after.
                while st == ReadStatus.waiting:
                    PyErr_CheckSignals()
                    with nogil:
                        st = r.next(&rec, True)
            if st == ReadStatus.record:
                if self.raw:
                    return rec.type, PyBytes_FromStringAndSize(<const char*>rec.data, rec.size)
                if rec.type != kDeviceAppsType:
                    continue
                if not r.decode(rec, &m):
                    raise self._fail()
                try:
                    return to_dict(&m, self.as_bytes, self.types, self.ints)
                except UnicodeDecodeError as exc:
                    self._release()
                    raise MessageDecodeError(
                        f"record {rec.index} (uncompressed byte offset {rec.offset}): the device "
                        f"id or type is not valid UTF-8 ({exc}); read with as_bytes=True to get "
                        "bytes",
                        record_index=rec.index, offset=rec.offset, path=self.path,
                    ) from None
            if st == ReadStatus.end:
                self._release()
                raise StopIteration
            raise self._fail()

    cdef object _fail(self):
        cdef ReadError e = self.reader.get().error()
        cdef object exc
        if e.kind == ReadErrorKind.os:
            exc = os_error(e.sys_errno, self.path)
        else:
            if e.kind == ReadErrorKind.gzip:
                cls = GzipStreamError
            elif e.kind == ReadErrorKind.framing:
                cls = FramingError
            else:
                cls = MessageDecodeError
            where = f"{self.path}: record {e.record_index}"
            if self.byte_range is not None:
                where = (f"{self.path} (file bytes [{self.byte_range[0]}, "
                         f"{self.byte_range[1]})): record {e.record_index} of that range")
            exc = cls(
                f"{where} (uncompressed byte offset {e.offset}, in "
                f"the gzip member at file byte {e.file_offset}): "
                f"{e.message.decode('utf-8', 'replace')}; the records before it were read",
                record_index=e.record_index, offset=e.offset, file_offset=e.file_offset,
                path=self.path,
            )
        self._release()
        return exc

    cdef void _release(self) noexcept:
        self.done = True
        if self.reader.get() != NULL:
            self.reader.get().close()

    def close(self):
        """Close the file and free the buffers; the iterator then stops. Idempotent."""
        if self.busy:
            raise RuntimeError("this DeviceAppsReader is being read by another thread")
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    @property
    def records_read(self):
        """Records of every type read so far (DeviceApps and skipped ones)."""
        return self.reader.get().records_read()

    @property
    def closed(self):
        return self.done

    def __repr__(self):
        state = "closed" if self.done else "open"
        return (f"<hotloop.deviceapps.DeviceAppsReader {self.path!r}, {state}, "
                f"{self.records_read} records read>")


def read(path, *, as_bytes=False, max_member_size=DEFAULT_MEMBER_LIMIT, byte_range=None):
    return DeviceAppsReader(path, as_bytes=as_bytes, max_member_size=max_member_size,
                            byte_range=byte_range)


cdef tuple as_byte_range(object byte_range):
    # (begin, end) or (begin, end, uncompressed_begin), as member_ranges() returns them.
    if not isinstance(byte_range, tuple) or len(byte_range) not in (2, 3):
        raise TypeError(
            "byte_range must be a tuple (begin, end) or (begin, end, uncompressed_begin) as "
            f"member_ranges() returns them, got {byte_range!r}")
    begin = as_int(byte_range[0], "byte_range[0] (begin)", 0)
    end = as_int(byte_range[1], "byte_range[1] (end)", 0)
    ubegin = as_int(byte_range[2], "byte_range[2] (uncompressed_begin)", 0) \
        if len(byte_range) == 3 else 0
    if begin > end:
        raise ValueError(f"byte_range {byte_range!r}: begin ({begin}) must be at most end "
                         f"({end})")
    return begin, end, ubegin


def member_ranges(path, target_bytes):
    cdef Py_ssize_t target = as_int(target_bytes, "target_bytes", 1)
    cdef bytes bpath = as_path(path, "path")
    cdef const char* cpath = bpath
    cdef vector[MemberRange] ranges
    cdef size_t i
    cdef int err
    with nogil:
        err = scan_member_ranges(cpath, <uint64_t>target, &ranges)
    if err:
        raise os_error(err, path)
    out = []
    for i in range(ranges.size()):
        out.append((ranges[i].begin, ranges[i].end, ranges[i].uncompressed_begin))
    return out


def read_raw(path, *, max_member_size=DEFAULT_MEMBER_LIMIT):
    return DeviceAppsReader(path, raw=True, max_member_size=max_member_size)
