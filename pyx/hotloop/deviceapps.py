"""DeviceApps record streams: a gzip'ed stream of length-prefixed protobuf messages.

Write an iterable of dicts such as::

    {"device": {"type": "idfa", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7c"},
     "lat": 67.7835424444, "lon": -22.8044005471, "apps": [1, 2, 3, 4]}

as a gzip file of records, and read it back lazily, in compiled code (C++ under Cython)::

    from hotloop import deviceapps
    n_bytes = deviceapps.write(records, "apps.pb.gz")      # any iterable, streamed
    for record in deviceapps.read("apps.pb.gz"):           # a lazy iterator of dicts
        ...

Format. The message is proto2 (the file :data:`PROTO_PATH` ships with the package)::

    message DeviceApps {
      message Device { optional bytes id = 1; optional bytes type = 2; }
      optional Device device = 1; repeated uint32 apps = 2;
      optional double lat = 3; optional double lon = 4;
    }

A file is a gzip stream (one or more members) whose uncompressed bytes are records: an 8-byte
little-endian header (uint32 :data:`MAGIC` ``0xFFFFFFFF``, uint16 type, uint16 length) followed
by ``length`` bytes of a serialized message. Type :data:`DEVICE_APPS_TYPE` (1) is DeviceApps;
readers skip other types. The message bytes are exactly those of the official protobuf
serializers (``apps`` unpacked, as proto2 writes by default).

The writer compresses blocks of records (``block_size`` uncompressed bytes) as independent gzip
members on ``n_threads`` threads with libdeflate; ``gzip -d`` and Python's :mod:`gzip` read the
result. Each member carries a gzip "extra" subfield (ids ``HL``: its total and uncompressed
sizes) that other readers ignore and that lets this reader inflate it in one call. The reader
takes any gzip file (another writer's members are inflated by zlib), and delivers no record of a
gzip member before it has checked that member's CRC-32 and length (up to ``max_member_size``):
a flipped bit gives an error, never a wrong record.

A file from :func:`write` can be read in pieces by separate readers (processes, dask tasks):
each gzip member holds whole records, so :func:`member_ranges` cuts the file at member
boundaries, found from the members' headers without inflating, and ``read(path,
byte_range=...)`` reads one piece with every check of the whole-file reader.

Errors (all subclasses of :class:`hotloop.HotloopError`)::

    DeviceAppsError
    ├── RecordError              a record that cannot be written (.index, .key)
    │   ├── RecordTypeError      (also a TypeError) a record or field of the wrong type
    │   └── RecordValueError     (also a ValueError) app id outside uint32, unknown key,
    │                            text that is not Unicode, message longer than 65535 bytes
    └── DamagedFileError         a damaged file (.record_index, .offset, .file_offset, .path)
        ├── GzipStreamError      not gzip, truncated or corrupt gzip, bad CRC/length, junk
        ├── FramingError         bad magic, record header or message cut short
        └── MessageDecodeError   malformed protobuf, a field of the wrong wire type, an id or
                                 type that is not UTF-8 (when reading text)

The teaching material's names are aliases: :func:`deviceapps_xwrite_pb` and
:func:`deviceapps_xread_pb`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hotloop import _deviceapps
from hotloop._deviceapps import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_MEMBER_LIMIT,
    DEVICE_APPS_TYPE,
    MAGIC,
    MAX_BLOCK_SIZE,
    MAX_LEVEL,
    MAX_MEMBER_LIMIT,
    MAX_MESSAGE_SIZE,
    DeviceAppsReader,
)
from hotloop._deviceapps_errors import (
    DamagedFileError,
    DeviceAppsError,
    FramingError,
    GzipStreamError,
    MessageDecodeError,
    RecordError,
    RecordTypeError,
    RecordValueError,
)

#: The .proto file of the message, shipped inside the package.
PROTO_PATH = Path(__file__).with_name("deviceapps.proto")

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "DEFAULT_MEMBER_LIMIT",
    "DEVICE_APPS_TYPE",
    "MAGIC",
    "MAX_BLOCK_SIZE",
    "MAX_LEVEL",
    "MAX_MEMBER_LIMIT",
    "MAX_MESSAGE_SIZE",
    "PROTO_PATH",
    "DamagedFileError",
    "DeviceAppsError",
    "DeviceAppsReader",
    "FramingError",
    "GzipStreamError",
    "MessageDecodeError",
    "RecordError",
    "RecordTypeError",
    "RecordValueError",
    "decode_message",
    "deviceapps_xread_pb",
    "deviceapps_xwrite_pb",
    "encode_message",
    "member_ranges",
    "read",
    "read_raw",
    "write",
    "write_raw",
]

PathLike = str | bytes | os.PathLike


def write(
    records: Iterable[Mapping[str, Any]],
    path: PathLike,
    *,
    level: int = 6,
    n_threads: int | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> int:
    """Write records as a gzip'ed stream of length-prefixed DeviceApps messages.

    Parameters
    ----------
    records : iterable of dict
        Any iterable, consumed once and streamed: memory stays constant whatever its length
        (about ``2 * n_threads`` blocks of ``block_size`` bytes). Each record is a dict (or
        other mapping) with the optional keys ``"device"`` (a dict with the optional keys
        ``"id"`` and ``"type"``: str, written as UTF-8, or bytes), ``"lat"`` and ``"lon"``
        (float, or anything ``float()`` takes but bool and str) and ``"apps"`` (a list, tuple or
        other iterable of ints in ``[0, 2**32)``). A missing key, or the value None, is an
        absent field; an empty ``"device"`` dict is a present, empty device.
    path : str, bytes or os.PathLike
        The file to create or replace. A new path or a regular file is written under a
        temporary name in the same folder (``.NAME.PID.N.tmp``, mode 0666 less the umask) and
        renamed over ``path`` only when every record was written: a failed write leaves
        ``path`` as it was and no temporary file behind. A symbolic link is followed, as
        ``open()`` does: the link stays, and the file it names is replaced in the same way, in
        that file's folder (a dangling link raises FileNotFoundError). A character or block
        device, a FIFO or a socket is never replaced: it is opened and written in place, as
        ``open(path, "wb")`` would (``/dev/null`` stays ``/dev/null``, even for root); there a
        failed write leaves what was already written, and opening a FIFO waits for a reader
        (Ctrl-C stops the wait).
    level : int, default 6
        Compression level, 0 (stored) to 9 on zlib's scale (libdeflate's levels give the same
        ratios as zlib's, faster), or 10 to 12 for libdeflate's stronger, slower levels.
    n_threads : int or None
        Compression threads (see :func:`hotloop.effective_n_threads`; None: all usable
        CPUs). The calling thread encodes records while the others compress blocks. The file
        is the same for any count.
    block_size : int, default 262144
        Uncompressed bytes per gzip member (1 to :data:`MAX_BLOCK_SIZE`); a member ends after
        the record that reaches it.

    Returns
    -------
    int
        The number of bytes written to the file: its size, compressed.

    Raises
    ------
    RecordTypeError
        (a TypeError) A record that is not a dict, or a field of the wrong type; the message
        and ``.index``/``.key`` name the record's position in ``records`` and the key.
    RecordValueError
        (a ValueError) An app id outside uint32, an unknown key, a message longer than 65535
        bytes (:data:`MAX_MESSAGE_SIZE`), text that cannot be encoded as UTF-8.
    TypeError, ValueError
        For bad arguments (``records`` not iterable, ``level`` out of range, ...).
    OSError
        When the file cannot be created or written (FileNotFoundError for a missing folder,
        IsADirectoryError, PermissionError, ...).

    Notes
    -----
    Floats are stored bit for bit (NaN, infinities and -0.0 included). Any exception,
    including one raised by the ``records`` iterable itself or a KeyboardInterrupt, stops the
    write and removes the temporary file.
    """
    return _deviceapps.write(records, path, level=level, n_threads=n_threads, block_size=block_size)


def read(
    path: PathLike,
    *,
    as_bytes: bool = False,
    max_member_size: int = DEFAULT_MEMBER_LIMIT,
    byte_range: tuple[int, ...] | None = None,
) -> DeviceAppsReader:
    """Read the DeviceApps records of a file, lazily.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        A gzip file of records, from :func:`write` or any other writer of the format (one or
        many gzip members; zero padding between them is skipped, as Python's gzip does).
    as_bytes : bool, default False
        Give ``device.id`` and ``device.type`` as bytes, exactly as stored, instead of str
        (decoded as UTF-8).
    max_member_size : int, default 67108864 (64 MiB, :data:`DEFAULT_MEMBER_LIMIT`)
        The largest gzip member, uncompressed, that the reader holds in memory whole so as to
        check its CRC-32 and length before it yields any of its records (1 to
        :data:`MAX_MEMBER_LIMIT`, 1 GiB). :func:`write` makes members of ``block_size`` bytes
        (at most :data:`MAX_BLOCK_SIZE` plus one record), always below the default. A bigger
        member (another writer's file in one member, e.g. from ``gzip.open``) is not refused:
        once past the limit it is streamed, its records yielded as they are inflated and its
        check done at its end, so damage in it can yield wrong records before the error.
    byte_range : tuple, optional
        Read only one piece of the file: a ``(begin, end, uncompressed_begin)`` tuple from
        :func:`member_ranges` (or ``(begin, end)``, file byte offsets of a member start and a
        member end). The range's end is taken as the end of the stream, except that a range
        ending before the file's end need not end with the writer's last member; every other
        check is made. Errors name the range; their ``file_offset`` is a file offset,
        ``offset`` an uncompressed offset in the whole file (counted from
        ``uncompressed_begin``), ``record_index`` counts from the range's start. None (the
        default) reads the whole file.

    Returns
    -------
    DeviceAppsReader
        An iterator of dicts shaped as :func:`write` takes them: ``{"device": {"type": ...,
        "id": ...}, "lat": ..., "lon": ..., "apps": [...]}`` with only the fields present in
        the message, except ``"apps"``, which is always there (a repeated field has no
        presence: an absent list and an empty one are the same message). Records of types
        other than :data:`DEVICE_APPS_TYPE` are skipped. The file is opened now and closed at
        the end, on an error, by ``close()`` or by leaving a ``with`` block. It holds about one
        gzip member's worth of memory (at most about ``max_member_size``), whatever the file's
        length, and releases the GIL while it reads and inflates. One thread at a time: a call
        to ``next()`` or ``close()`` while another thread is inside ``next()`` raises
        RuntimeError (and changes nothing); separate readers share nothing.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError, OSError
        When the file cannot be opened (now) or read (while iterating); with ``byte_range``,
        ESPIPE for a file that cannot be read from an offset (a pipe).
    TypeError, ValueError
        For a ``byte_range`` that is not a tuple of 2 or 3 non-negative ints with begin <= end.
    GzipStreamError, FramingError, MessageDecodeError
        While iterating, at the first damaged record: a truncated or corrupt gzip stream, a bad
        magic, a truncated header or message, malformed protobuf or a field of the wrong wire
        type. The records before it have been yielded, none from a gzip member that fails its
        check (within ``max_member_size``); the message and the attributes
        ``record_index``, ``offset`` (uncompressed byte offset of the record) and
        ``file_offset`` (the gzip member's file offset) say where. The iterator then stops.

    Notes
    -----
    A file cut exactly between two gzip members is still a valid gzip stream; the reader
    reports it as truncated when those members come from :func:`write`, whose last member is
    marked (a gzip "extra" subfield ``HE``), and cannot tell for other writers' files. Doubles
    are returned bit for bit as stored (NaN payloads, infinities, -0.0).

    A pipe or FIFO whose writer stalls is polled: ``next()`` waits, and Ctrl-C (any signal
    whose handler raises) stops it within about 0.1 s; the reader can be used again after.
    """
    return _deviceapps.read(
        path, as_bytes=as_bytes, max_member_size=max_member_size, byte_range=byte_range
    )


def member_ranges(path: PathLike, target_bytes: int) -> list[tuple[int, int, int]]:
    """Cut a file into pieces that separate readers can read, at gzip member boundaries.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        A regular file.
    target_bytes : int
        About how many compressed bytes each piece holds (>= 1): a piece is the fewest whole
        members that reach it.

    Returns
    -------
    list of (begin, end, uncompressed_begin)
        File byte ranges, in file order, that cover the file exactly (an empty file: one empty
        range); pass each to :func:`read` as ``byte_range``. Read in order, the ranges give the
        file's records, record for record, for a file from :func:`write`: its every gzip member
        holds whole records and announces its size in its ``HL`` subfield, so the file is cut
        by reading only the member headers, never inflating. The cutting stops at the first
        member without that subfield (another writer's, e.g. Python's :mod:`gzip`), at
        anything that does not parse as such a header, and after the writer's last member:
        the rest of the file is the last range, read as :func:`read` reads it (so another
        writer's file is one range, and damage there is reported by reading that range).

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError, OSError
        When the file cannot be opened or read; ESPIPE when it is not a regular file.
    ValueError, TypeError
        For a ``target_bytes`` that is not an int >= 1.
    """
    return _deviceapps.member_ranges(path, target_bytes)


def write_raw(
    items: Iterable[tuple[int, bytes]],
    path: PathLike,
    *,
    level: int = 6,
    n_threads: int | None = None,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> int:
    """Write ``(type, payload)`` records as they are (any type 0..65535, payloads of at most
    65535 bytes), with the framing and compression of :func:`write`. Returns the file size."""
    return _deviceapps.write_raw(
        items, path, level=level, n_threads=n_threads, block_size=block_size
    )


def read_raw(path: PathLike, *, max_member_size: int = DEFAULT_MEMBER_LIMIT) -> DeviceAppsReader:
    """Iterate over every record of a file as ``(type, payload_bytes)``, without decoding;
    damage is reported, and gzip members are checked before their records are yielded, as by
    :func:`read`."""
    return _deviceapps.read_raw(path, max_member_size=max_member_size)


def encode_message(record: Mapping[str, Any]) -> bytes:
    """The serialized DeviceApps message of one record (as :func:`write` stores it)."""
    return _deviceapps.encode_message(record)


def decode_message(data: bytes, *, as_bytes: bool = False) -> dict:
    """One serialized DeviceApps message (bytes or any bytes-like object) as a dict (as
    :func:`read` yields it). Raises MessageDecodeError (with ``offset``, the byte position in
    ``data``) for bytes that are not a valid message, TypeError for anything not bytes-like
    (None included)."""
    return _deviceapps.decode_message(data, as_bytes=as_bytes)


def deviceapps_xwrite_pb(records: Iterable[Mapping[str, Any]], path: PathLike) -> int:
    """The teaching material's name for :func:`write` with the default options."""
    return _deviceapps.write(records, path)


def deviceapps_xread_pb(path: PathLike) -> Iterator[dict]:
    """The teaching material's name for :func:`read`."""
    return _deviceapps.read(path)
