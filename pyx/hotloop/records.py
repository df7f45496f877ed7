"""Counter records and key files: per-id show/click statistics, and key set differences.

Counting (in compiled code, threads decoding and counting files with the GIL released)::

    from hotloop import records
    records.write_counts("day1.bin.gz", ids, shows, clicks)        # NumPy arrays in
    stats = records.get_counters(["day1.bin.gz", "day2.bin.lz4"], "idfa", 42)
    stats["shows_freq"][3]    # distinct ids shown exactly 3 times over both files

Key files::

    n = records.targets_negative("all.csv", "in.csv", "out.csv")   # keys of all not in in

Counter record format
---------------------
A counter file's (decompressed) bytes are packed little-endian records, with no header::

    key_size=8 (default):  uint64 id, uint16 shows, uint16 clicks   12 bytes (RECORD_SIZE_64)
    key_size=4:            uint32 id, uint16 shows, uint16 clicks    8 bytes (RECORD_SIZE_32)

:data:`RECORD_DTYPE` / :data:`RECORD_DTYPE_32` are the matching NumPy dtypes. The key size is
not stored in the file: the reader is told. A file whose size is not a whole number of records
is reported as truncated; beyond that, records carry no checksum of their own.

Compression is detected from the first bytes (:func:`compression_of`, :class:`Compression`):

- gzip (``1f 8b``): RFC 1952, one or more members, zero padding after a member allowed (as
  Python's :mod:`gzip` writes and reads). Every member's CRC-32 and length are checked.
- lz4 (``04 22 4d 18``, or a skippable-frame magic ``5X 2a 4d 18``): the lz4 frame format, one
  or more frames; header, block and content checksums are checked when the frame has them.
- anything else: uncompressed. (So a file whose magic bytes are damaged reads as an uncompressed
  one; its size is then rarely a whole number of records.)

:func:`write_counts` cuts the records into blocks of :data:`BLOCK_SIZE` bytes and compresses each
on its own: one gzip member (libdeflate) carrying an extra subfield ``HL`` with its compressed
and uncompressed sizes (``HE`` on the last member), or one lz4 frame (content size and content
checksum on, liblz4) preceded by a 20-byte skippable frame (magic ``0x184D2A5B``, payload
``'H', 'L' or 'E', 0, 0``, the frame's compressed size, its content size, uint32 little-endian).
``gzip -d``, Python's gzip, ``lz4 -d`` and ``lz4.frame.open`` of the lz4 package read these
files (``lz4.frame.decompress`` stops after the first frame, as it does for any multi-frame
file). The hints let :func:`get_counters` hand the blocks of one big file to several threads, and
tell a file cut exactly between two blocks (a valid but shorter stream) from a whole one.

Key file format
---------------
Text, one unsigned decimal key per line: ASCII digits only (leading zeros allowed: ``007`` is
key 7), lines ending in ``\\n`` or ``\\r\\n``, the last line's end optional; an optional header
line first (``has_header``). Keys are 32-bit unless ``key64=True``. Empty lines, signs, spaces
and anything else are errors. gzip or lz4 compressed key files are read transparently.

Counting, and merging
---------------------
For each distinct id the shows and clicks of all its records are added up, wherever the records
are (many files, any order). :func:`get_counters` reports ``shows_all``/``clicks_all`` (the sums
over all records), ``shows_uniq``/``clicks_uniq`` (distinct ids whose total is > 0) and
``shows_freq``/``clicks_freq`` (:data:`FREQUENCY_COUNT` = 33 entries; entry k counts the distinct
ids whose total is k, the last entry those whose total is 32 or more).

A :class:`Counters` (from :func:`count_records`) keeps, per distinct id, its totals *saturated at
32*, plus the exact sums. That is all the report needs and it merges exactly:
``min(a + b, 32) == min(min(a, 32) + min(b, 32), 32)`` for non-negative totals, so counts of
several files or machines combine with :meth:`Counters.merge` into exactly what counting all the
records at once gives, whatever ids they share. (Per-id exact totals would cost 8 more bytes per
id for nothing the report shows.) A Counters pickles, and :meth:`Counters.state` /
:meth:`Counters.from_state` move it as arrays.

Memory grows with the number of distinct ids, never with the number of records: files are
streamed in blocks. Each id takes one slot in hash tables of 64-byte buckets (6 slots, 10 with
4-byte keys) kept 35-70% full, so 15-31 bytes per distinct id (9-18 with 4-byte keys); each
of the 16 tables is rounded up to whole 2 MiB huge pages once it reaches 1 MiB. The
tables grow in steps of up to 8 times (not only doubling) while the ids seen so far, projected
to the files' sizes, say that many more are coming: when the new ids then stop, a table may
hold up to 8 times the slots its ids need. With several threads each id still lives in one
table, plus a batch of 8 MiB of decoded records and one block (768 KiB) per thread in flight.
Threads: the blocks of a file written by :func:`write_counts` (and slices of an uncompressed
file) are shared by up to ``n_threads`` threads of hotloop's pool, one per MiB of input at most
(a thread must pay for its wake-up), never waiting for one that has not started; another
writer's compressed file is decoded by one thread (its gzip members by ISA-L, hotloop's own by
libdeflate). Results never depend on the number of threads, and calls work in a child
process made by ``fork``.

Errors
------
A damaged file raises :class:`RecordsError` (also available as ``records.error``), a
:class:`hotloop.HotloopError`, whose message names the file, the place (line, or byte offset and
gzip member / lz4 frame) and the reason: a key that is not a number or does not fit in 32
(64) bits, a truncated record, a corrupt or truncated gzip or lz4 stream, a bad checksum.
Functions that return a result (:func:`get_counters`, :func:`count_records`,
:func:`read_counts`, :func:`targets_negative`) return nothing from a file with an error anywhere;
:func:`iter_counts` yields the records before the damaged place (a gzip member that is not
hotloop's is checked only at its end, after its records were yielded). A missing file raises
:class:`FileNotFoundError`, other system errors :class:`OSError`. Output files are written under
a temporary name and renamed into place only when complete. Long calls stop on Ctrl-C.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Union

import numpy as np

from hotloop import _records
from hotloop._records import (
    BLOCK_SIZE,
    FREQUENCY_COUNT,
    RECORD_DTYPE,
    RECORD_DTYPE_32,
    RECORD_SIZE_32,
    RECORD_SIZE_64,
    Compression,
    Counters,
    CountsIterator,
    RecordsError,
)

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: The name the teaching material uses for :class:`RecordsError`.
error = RecordsError

__all__ = [
    "BLOCK_SIZE",
    "FREQUENCY_COUNT",
    "RECORD_DTYPE",
    "RECORD_DTYPE_32",
    "RECORD_SIZE_32",
    "RECORD_SIZE_64",
    "Compression",
    "Counters",
    "CountsIterator",
    "RecordsError",
    "compression_of",
    "count_records",
    "error",
    "get_counters",
    "iter_counts",
    "read_counts",
    "targets_negative",
    "write_counts",
]


def count_records(
    paths: PathLike | Iterable[PathLike], *, key_size: int = 8, n_threads: int | None = None
) -> Counters:
    """Count the records of one or more counter files into a mergeable :class:`Counters`.

    Parameters
    ----------
    paths : path or iterable of paths
        Counter files (raw, gzip or lz4; see the module docstring), counted together.
    key_size : {8, 4}
        Bytes per id in the records.
    n_threads : int or None
        Threads decoding and counting (None: :func:`hotloop.effective_n_threads`). Files, and
        the blocks of files written by :func:`write_counts` and slices of uncompressed files,
        are shared between the threads; another writer's compressed file is read by one thread.
        The result does not depend on it.

    Returns
    -------
    Counters

    Raises
    ------
    RecordsError
        A damaged file (the first one in ``paths`` order).
    FileNotFoundError, OSError
        A file that cannot be opened or read.
    """
    return _records.count_records(paths, key_size=key_size, n_threads=n_threads)


def get_counters(
    paths: PathLike | Iterable[PathLike],
    entity_type: str | int,
    entity_id: str | int,
    *,
    key_size: int = 8,
    as_json: bool = False,
    n_threads: int | None = None,
) -> dict[str, Any] | str:
    """Show and click statistics of the records of one or more counter files.

    Parameters
    ----------
    paths : path or iterable of paths
        Counter files, merged: an id's records may be anywhere in any of them.
    entity_type, entity_id : str or int
        Copied into the result's ``"type"`` and ``"id"``.
    key_size : {8, 4}
        Bytes per id in the records.
    as_json : bool
        Return the same content as a JSON string.
    n_threads : int or None
        As for :func:`count_records`.

    Returns
    -------
    dict or str
        ``{"type", "id", "shows_all", "clicks_all", "shows_uniq", "clicks_uniq",
        "shows_freq", "clicks_freq"}``: sums over all records; the number of distinct ids whose
        total is > 0; lists of 33 counts, entry k the number of distinct ids whose total is k,
        the last entry 32 and more. Sums are exact Python ints (JSON numbers of any size).

    Raises
    ------
    RecordsError, FileNotFoundError, OSError
        As :func:`count_records`.
    """
    return _records.get_counters(
        paths, entity_type, entity_id, key_size=key_size, as_json=as_json, n_threads=n_threads
    )


def targets_negative(
    all_path: PathLike,
    in_path: PathLike,
    out_path: PathLike,
    *,
    has_header: bool = True,
    key64: bool = False,
    n_threads: int | None = None,
) -> int:
    """Write the keys of ``all_path`` that are not in ``in_path``.

    Keys are compared as numbers (``007`` equals ``7``). The output keeps ``all_path``'s order
    and repeats: a key that appears twice in ``all_path`` and not in ``in_path`` is written
    twice. Output format: ``all_path``'s header line when ``has_header`` (without its line end;
    a 0-byte ``all_path`` has none), then each key in plain decimal, every line ending in
    ``\\n``. The whole computation runs with the GIL released (retaken briefly between steps
    for Ctrl-C); memory holds the distinct keys of ``in_path`` (one 8-byte slot per key in a
    table sized from the file's size to be half full, grown at 70%: about 16 bytes per key,
    up to 16 per line when keys repeat) plus a batch of chunks (two of 1 MiB per thread, and
    their output). A line longer than 1 MiB is an error.

    Parameters
    ----------
    all_path, in_path : path
        Key files (see the module docstring); gzip or lz4 compressed ones too.
    out_path : path
        The output, written to a temporary file in the same folder and renamed over
        ``out_path`` only when complete: on any error nothing is left behind and an existing
        ``out_path`` is untouched. A symbolic link is followed (its target is replaced);
        an existing file keeps its permission bits. ``out_path`` may be one of the inputs.
    has_header : bool
        Both files start with a header line (skipped in ``in_path``, copied from ``all_path``).
    key64 : bool
        Keys may use 64 bits (otherwise a key above 4294967295 is an error).
    n_threads : int or None
        Threads parsing the files (None: :func:`hotloop.effective_n_threads`), one per MiB of
        input at most. Each file is read in chunks of whole lines (1 MiB) that the threads
        parse, look up and format; the output does not depend on it.

    Returns
    -------
    int
        The number of keys written.

    Raises
    ------
    RecordsError
        A line that is not a key (the message gives file, line and text), a damaged compressed
        file.
    FileNotFoundError, OSError
        An input that cannot be read, an output folder that does not exist or is not writable.
    IsADirectoryError
        ``out_path`` is a folder.
    ValueError
        ``out_path`` exists and is not a regular file (a FIFO, a device, a socket): renaming
        over it would replace the node itself, and writing into it could not be atomic.
    """
    return _records.targets_negative(
        all_path, in_path, out_path, has_header=has_header, key64=key64, n_threads=n_threads
    )


def iter_counts(
    path: PathLike, *, key_size: int = 8, batch_size: int | None = None
) -> CountsIterator:
    """Iterate over the records of a counter file, lazily, in file order.

    Parameters
    ----------
    path : path
        A counter file (raw, gzip or lz4).
    key_size : {8, 4}
        Bytes per id.
    batch_size : int or None
        None: yield ``(id, shows, clicks)`` tuples of ints. An int: yield structured arrays of
        :data:`RECORD_DTYPE` (``RECORD_DTYPE_32``) of ``batch_size`` records (the last one
        shorter).

    Returns
    -------
    CountsIterator
        Decodes with the GIL released, one block (or batch) at a time.

    Raises
    ------
    RecordsError
        While iterating, on reaching a damaged place; the records before it were yielded.
    FileNotFoundError, OSError
    """
    return CountsIterator(path, key_size=key_size, batch_size=batch_size)


def read_counts(path: PathLike, *, key_size: int = 8) -> np.ndarray:
    """All records of a counter file as one structured array (:data:`RECORD_DTYPE`, or
    :data:`RECORD_DTYPE_32` with ``key_size=4``), shape (n,).

    Raises
    ------
    RecordsError, FileNotFoundError, OSError
        As :func:`iter_counts`; nothing is returned from a damaged file.
    """
    return _records.read_counts(path, key_size=key_size)


def write_counts(
    path: PathLike,
    ids: Any,
    shows: Any,
    clicks: Any,
    *,
    key_size: int = 8,
    compression: str | Compression | None = "gzip",
    level: int | None = None,
) -> int:
    """Write counter records (see the module docstring for the format).

    Parameters
    ----------
    path : path
        Written through a temporary file renamed into place when complete (a symbolic link is
        followed; an existing file keeps its permission bits; a FIFO or device is refused with
        ValueError).
    ids : array_like of int, shape (n,)
        In [0, 2**64) (key_size 8) or [0, 2**32) (key_size 4).
    shows, clicks : array_like of int, shape (n,)
        In [0, 65535].
    key_size : {8, 4}
    compression : {"gzip", "lz4", None}
        None writes the records uncompressed.
    level : int or None
        0-12. gzip: libdeflate's levels (1-9 as zlib's, default 6). lz4: below 3 the fast
        compressor (default), 3-12 lz4hc.

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    TypeError, ValueError
        Arrays of the wrong kind, shape or range (the message names the first bad index).
    OSError
    """
    return _records.write_counts(
        path, ids, shows, clicks, key_size=key_size, compression=compression, level=level
    )


def compression_of(path: PathLike) -> Compression:
    """How the file at path is compressed, from its first bytes."""
    return _records.compression_of(path)
