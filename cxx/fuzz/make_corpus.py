"""Writes the seed corpora of the deviceapps fuzz harnesses (cxx/fuzz/corpus/<harness>/) with
hotloop's own writer: a few records, an empty file, a multi-member file, and the like.

    PYTHONPATH=pyx python cxx/fuzz/make_corpus.py
"""

import gzip
import struct
import tempfile
from pathlib import Path

from hotloop import deviceapps as da

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


if __name__ == "__main__":
    main()
