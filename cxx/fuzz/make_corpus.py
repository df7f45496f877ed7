"""Writes the seed corpora of the fuzz harnesses (cxx/fuzz/corpus/<harness>/) with hotloop's own
writers and the usual foreign ones (Python's gzip, the lz4 CLI): a few records, an empty file, a
multi-member file, and the like.

    PYTHONPATH=pyx python cxx/fuzz/make_corpus.py
"""

import gzip
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from hotloop import deviceapps as da
from hotloop import records as rc

HERE = Path(__file__).resolve().parent / "corpus"
RECORDS = [
    {
        "device": {"type": "idfa", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7c"},
        "lat": 67.78,
        "lon": -22.8,
        "apps": [1, 2, 3, 4],
    },
    {
        "device": {"type": "gaid", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7d"},
        "lat": 42,
        "lon": -42,
        "apps": [],
    },
    {"device": {}, "apps": [0, 4294967295, 300]},
    {"lat": float("nan")},
]


def written(records, **kw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.gz"
        da.write(records, path, **kw)
        return path.read_bytes()


def main():
    many = [dict(r, apps=list(range(i % 9))) for i in range(40) for r in RECORDS[:1]]
    files = {
        "few_records": written(RECORDS),
        "empty": written([]),
        "members": written(many, block_size=300, n_threads=1),
        "foreign_one_member": gzip.compress(gzip.decompress(written(RECORDS)), mtime=0),
    }
    with tempfile.TemporaryDirectory() as d:
        da.write_raw([(1, da.encode_message(RECORDS[0])), (7, b"other type")], Path(d) / "r")
        files["raw_types"] = (Path(d) / "r").read_bytes()
    out = HERE / "deviceapps_gzip_fuzz"
    out.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (out / name).write_bytes(blob)
    # framing: a split byte, then the uncompressed stream
    out = HERE / "deviceapps_framing_fuzz"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("few_records", "members", "raw_types"):
        stream = gzip.decompress(files[name])
        (out / name).write_bytes(bytes([100]) + stream)
    (out / "cut_header").write_bytes(bytes([128]) + struct.pack("<IHH", 0xFFFFFFFF, 1, 10)[:5])
    # messages
    out = HERE / "deviceapps_message_fuzz"
    out.mkdir(parents=True, exist_ok=True)
    for i, rec in enumerate(RECORDS):
        (out / f"record_{i}").write_bytes(da.encode_message(rec))
    (out / "packed_apps").write_bytes(b"\x12\x03\x01\x02\x03")
    records_main()


def counts_written(ids, shows, clicks, **kw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c"
        rc.write_counts(path, ids, shows, clicks, **kw)
        return path.read_bytes()


def lz4_cli(raw):
    """raw compressed by the lz4 command (frames as other tools write them), or None."""
    if not shutil.which("lz4"):
        return None
    return subprocess.run(["lz4", "-c", "-q"], input=raw, capture_output=True, check=True).stdout


def records_main():
    # records_stream_fuzz: a control byte (bit 0: 4-byte ids), then a counter file.
    ids = np.array([0, 7, 2**64 - 1, 7, 123456789, 0], dtype=np.uint64)
    shows = np.array([1, 65535, 2, 30, 0, 3], dtype=np.uint16)
    clicks = np.array([0, 1, 65535, 5, 0, 40], dtype=np.uint16)
    ids32 = ids % 2**32
    raw = rc.RECORD_DTYPE
    packed = np.rec.fromarrays([ids, shows, clicks], dtype=raw).tobytes()
    packed32 = np.rec.fromarrays([ids32, shows, clicks], dtype=rc.RECORD_DTYPE_32).tobytes()
    # Two blocks of the writer (a hinted 'L' member or frame, then an 'E' one) that compress to
    # a few KiB: a short period of ids.
    n = rc.BLOCK_SIZE // rc.RECORD_SIZE_64 + 40
    big_ids = (np.arange(n, dtype=np.uint64) % 61) * 1000003
    big_s = (np.arange(n) % 5).astype(np.uint16)
    big_c = (np.arange(n) % 2).astype(np.uint16)
    skippable = struct.pack("<II", 0x184D2A51, 3) + b"abc"
    stream = {
        "raw": b"\x00" + packed,
        "raw32": b"\x01" + packed32,
        "raw_cut": b"\x00" + packed[:-5],
        "empty": b"\x00",
        "gzip_ours": b"\x02" + counts_written(ids, shows, clicks, compression="gzip"),
        "gzip_ours32": b"\x03"
        + counts_written(ids32, shows, clicks, key_size=4, compression="gzip"),
        "gzip_two_blocks": b"\x0c" + counts_written(big_ids, big_s, big_c, compression="gzip"),
        "gzip_python": b"\x04" + gzip.compress(packed, mtime=0),
        "gzip_members_padding": b"\x06"
        + gzip.compress(packed[:24], mtime=0)
        + gzip.compress(packed[24:], mtime=0)
        + bytes(8),
        "lz4_ours": b"\x08" + counts_written(ids, shows, clicks, compression="lz4"),
        "lz4_two_blocks": b"\x0e" + counts_written(big_ids, big_s, big_c, compression="lz4"),
        "lz4_skippable": b"\x00"
        + skippable
        + counts_written(ids, shows, clicks, compression="lz4")[20:],
    }
    cli = lz4_cli(packed)
    if cli is not None:
        stream["lz4_cli"] = b"\x0a" + cli
    write_corpus("records_stream_fuzz", stream)
    # records_keys_fuzz: a control byte (bit 0 header, bit 1 key64, bits 2/3 gzip the files),
    # the all-file, 0xFF, the in-file.
    keys = {
        "plain": b"\x00" + b"1\n2\n3\n2\n" + b"\xff" + b"2\n9\n",
        "header_crlf": b"\x01" + b"id\r\n10\r\n007\r\n0\r\n4294967295" + b"\xff" + b"id\r\n7\r\n",
        "key64": b"\x03"
        + b"key\n18446744073709551615\n1\n12345678901234567\n"
        + b"\xff"
        + b"key\n1\n",
        "gzip_both": b"\x0d" + b"id\n5\n6\n7\n" + b"\xff" + b"id\n6\n",
        "bad_line": b"\x01" + b"id\n12a\n" + b"\xff" + b"id\n",
        "over32": b"\x00" + b"4294967296\n" + b"\xff",
        "over64": b"\x02" + b"18446744073709551616\n" + b"\xff",
        "header_only": b"\x01" + b"id" + b"\xff" + b"id\n",
    }
    write_corpus("records_keys_fuzz", keys)


def write_corpus(harness, files):
    out = HERE / harness
    out.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (out / name).write_bytes(blob)


if __name__ == "__main__":
    main()
