"""hotloop.deviceapps against the official protobuf package and Python's gzip.

The message class comes from the shipped pyx/hotloop/deviceapps.proto, compiled at test time with
grpcio-tools' protoc (or, without it, from an equivalent descriptor built in code); the container
is checked with Python's gzip and a pure-Python twin of the record framing.
"""

import errno
import gzip
import importlib.util
import itertools
import math
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from hotloop import HotloopError
from hotloop import deviceapps as da
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interrupts import DEFAULT_SIGINT

from benchmarks import deviceapps_records

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = [
    {
        "device": {"type": "idfa", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7c"},
        "lat": 67.7835424444,
        "lon": -22.8044005471,
        "apps": [1, 2, 3, 4],
    },
    {
        "device": {"type": "gaid", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7d"},
        "lat": 42,
        "lon": -42,
        "apps": [1, 2],
    },
    {
        "device": {"type": "gaid", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7d"},
        "lat": 42,
        "lon": -42,
        "apps": [],
    },
    {"device": {"type": "gaid", "id": "e7e1a50c0ec2747ca56cd9e1558c0d7d"}, "apps": [1]},
]
HEADER = struct.Struct("<IHH")


# --------------------------------------------------------------------------------------------
# The references: official protobuf, and a pure-Python twin of the framing


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The official DeviceApps class generated from the shipped .proto."""
    pytest.importorskip("google.protobuf")
    try:
        from grpc_tools import protoc
    except ImportError:
        return deviceapps_records.message_class()
    out = tmp_path_factory.mktemp("pb")
    rc = protoc.main(
        ["protoc", f"-I{da.PROTO_PATH.parent}", f"--python_out={out}", str(da.PROTO_PATH)]
    )
    assert rc == 0, "protoc failed on the shipped deviceapps.proto"
    spec = importlib.util.spec_from_file_location("deviceapps_pb2", out / "deviceapps_pb2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DeviceApps


def official(pb, rec):
    """The record as an official message (a "device" key means a present device)."""
    msg = pb()
    device = rec.get("device")
    if device is not None:
        msg.device.SetInParent()
        for key in ("id", "type"):
            value = device.get(key)
            if value is not None:
                setattr(msg.device, key, value.encode() if isinstance(value, str) else value)
    for key in ("lat", "lon"):
        if rec.get(key) is not None:
            setattr(msg, key, rec[key])
    msg.apps.extend(rec.get("apps") or ())
    return msg


def expected_dict(rec, as_bytes=False):
    """What read() yields for a record written by write(): text as str (or bytes), float
    lat/lon, apps always present."""

    def text(v):
        if as_bytes:
            return v.encode() if isinstance(v, str) else bytes(v)
        return v.decode() if isinstance(v, bytes | bytearray) else v

    out = {}
    device = rec.get("device")
    if device is not None:
        out["device"] = {k: text(v) for k, v in device.items() if v is not None}
    for key in ("lat", "lon"):
        if rec.get(key) is not None:
            out[key] = float(rec[key])
    out["apps"] = list(rec.get("apps") or ())
    return out


def same(a, b):
    """Dict equality with NaN == NaN and -0.0 != 0.0 for lat/lon."""
    if a.keys() != b.keys():
        return False
    for key in a:
        if key in ("lat", "lon"):
            if struct.pack("<d", a[key]) != struct.pack("<d", b[key]):
                return False
        elif a[key] != b[key]:
            return False
    return True


def twin_records(data):
    """Pure-Python framing: [(type, payload)] from uncompressed bytes (ValueError if damaged)."""
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 8:
            raise ValueError("truncated header")
        magic, rtype, length = HEADER.unpack_from(data, pos)
        if magic != da.MAGIC:
            raise ValueError("bad magic")
        if len(data) - pos - 8 < length:
            raise ValueError("truncated message")
        out.append((rtype, data[pos + 8 : pos + 8 + length]))
        pos += 8 + length
    return out


def frame(payloads, rtype=1):
    return b"".join(HEADER.pack(da.MAGIC, rtype, len(p)) + p for p in payloads)


def read_until_error(path, **kw):
    """(records yielded, exception raised or None)."""
    got = []
    try:
        for rec in da.read(path, **kw):
            got.append(rec)
    except Exception as exc:
        return got, exc
    return got, None


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------------------------
# Strategies

texts = st.one_of(st.text(max_size=40), st.binary(max_size=40))
doubles = st.floats(allow_nan=True, allow_infinity=True, width=64)
uint32 = st.integers(0, 2**32 - 1)
devices = st.fixed_dictionaries({}, optional={"id": texts, "type": texts})
records = st.fixed_dictionaries(
    {},
    optional={
        "device": devices,
        "lat": doubles,
        "lon": doubles,
        "apps": st.lists(uint32, max_size=60),
    },
)


# --------------------------------------------------------------------------------------------
# Round trips and the homework


def test_homework_round_trip(tmp_path):
    path = tmp_path / "hw.pb.gz"
    n = da.write(HOMEWORK, path)
    assert n == path.stat().st_size > 0
    got = list(da.read(path))
    assert got == [expected_dict(r) for r in HOMEWORK] == HOMEWORK


def test_homework_aliases(tmp_path):
    path = str(tmp_path / "hw.pb.gz")
    assert da.deviceapps_xwrite_pb(HOMEWORK, path) == os.path.getsize(path)
    assert list(da.deviceapps_xread_pb(path)) == HOMEWORK
    assert da.MAGIC == 0xFFFFFFFF
    assert da.DEVICE_APPS_TYPE == 1
    import hotloop

    assert hotloop.deviceapps is da
    for name in ("DeviceAppsError", "DamagedFileError", "RecordError"):
        assert issubclass(getattr(da, name), HotloopError)
    assert issubclass(da.RecordTypeError, TypeError)
    assert issubclass(da.RecordValueError, ValueError)
    for name in ("GzipStreamError", "FramingError", "MessageDecodeError"):
        assert issubclass(getattr(da, name), da.DamagedFileError)


def test_proto_file_ships():
    text = da.PROTO_PATH.read_text()
    assert 'syntax = "proto2"' in text
    for line in (
        "optional bytes id = 1;",
        "optional bytes type = 2;",
        "optional Device device = 1;",
        "repeated uint32 apps = 2;",
        "optional double lat = 3;",
        "optional double lon = 4;",
    ):
        assert line in text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(records, max_size=30), st.sampled_from([1, 2, 3]), st.sampled_from([1, 64, 4096]))
def test_round_trip_property(tmp_path, recs, n_threads, block_size):
    path = tmp_path / "p.gz"
    da.write(recs, path, n_threads=n_threads, block_size=block_size)
    got = list(da.read(path, as_bytes=True))
    assert len(got) == len(recs)
    for g, r in zip(got, recs, strict=True):
        assert same(g, expected_dict(r, as_bytes=True)), (g, r)


def test_presence_and_none(tmp_path):
    recs = [
        {},
        {"device": {}},
        {"device": {"id": ""}},
        {"device": {"type": "", "id": None}},
        {"device": None, "lat": None, "lon": 0.0, "apps": None},
        {"lat": -0.0, "apps": (7, 8)},
        {"apps": range(3)},
    ]
    path = tmp_path / "p.gz"
    da.write(recs, path)
    got = list(da.read(path))
    assert got == [
        {"apps": []},
        {"device": {}, "apps": []},
        {"device": {"id": ""}, "apps": []},
        {"device": {"type": ""}, "apps": []},
        {"lon": 0.0, "apps": []},
        {"lat": -0.0, "apps": [7, 8]},
        {"apps": [0, 1, 2]},
    ]
    assert math.copysign(1.0, got[5]["lat"]) == -1.0


def test_text_and_bytes(tmp_path):
    recs = [
        {"device": {"id": "ü€😀", "type": b"\xff\x00raw"}},
        {"device": {"id": bytearray(b"ab")}},
    ]
    path = tmp_path / "t.gz"
    da.write(recs, path)
    raw = list(da.read(path, as_bytes=True))
    assert raw[0]["device"] == {"id": "ü€😀".encode(), "type": b"\xff\x00raw"}
    assert raw[1]["device"] == {"id": b"ab"}
    got, exc = read_until_error(path)
    assert got == [] and isinstance(exc, da.MessageDecodeError)
    assert "UTF-8" in str(exc) and "as_bytes=True" in str(exc)
    assert exc.record_index == 0 and exc.offset == 0


def test_mappings_and_numbers(tmp_path):
    import collections

    import numpy as np

    recs = [
        collections.OrderedDict(apps=[1]),
        collections.ChainMap({"lat": np.float32(1.5)}, {"lon": np.int64(3)}),
        {"device": collections.UserDict(id="u")},
        {"apps": np.array([5, 6], dtype=np.uint32), "lat": np.float64(2.0)},
        {"apps": [np.uint16(9), True.__index__()]},
    ]
    path = tmp_path / "m.gz"
    da.write(recs, path)
    assert list(da.read(path)) == [
        {"apps": [1]},
        {"lat": 1.5, "lon": 3.0, "apps": []},
        {"device": {"id": "u"}, "apps": []},
        {"lat": 2.0, "apps": [5, 6]},
        {"apps": [9, 1]},
    ]


# --------------------------------------------------------------------------------------------
# Byte equality with the official serializer, and its parser


@pytest.mark.parametrize("rec", [*HOMEWORK, {}, {"device": {}}, {"apps": [0, 127, 128, 2**32 - 1]}])
def test_bytes_equal_official(pb, rec):
    assert da.encode_message(rec) == official(pb, rec).SerializeToString()


@given(records)
def test_bytes_equal_official_property(pb, rec):
    ours = da.encode_message(rec)
    assert ours == official(pb, rec).SerializeToString()
    parsed = pb()
    parsed.ParseFromString(ours)
    assert parsed == official(pb, rec) or any(
        isinstance(rec.get(k), float) and math.isnan(rec[k]) for k in ("lat", "lon")
    )
    back = da.decode_message(ours, as_bytes=True)
    assert back["apps"] == list(rec.get("apps", []))


def test_bytes_equal_pure_python_backend():
    """The same bytes as the official package's pure-Python backend (chosen at import time, so
    in another process)."""
    pytest.importorskip("google.protobuf")
    recs = [*HOMEWORK, {}, {"device": {}}, {"lat": -0.0, "lon": 1e300, "apps": [0, 2**32 - 1]}]
    script = (
        "import json, sys; from benchmarks import deviceapps_records as R\n"
        "from google.protobuf.internal import api_implementation as a\n"
        "assert a.Type() == 'python', a.Type()\n"
        "cls = R.message_class(); out = []\n"
        "for rec in json.loads(sys.stdin.read()):\n"
        "    m = cls(); d = rec.get('device')\n"
        "    if d is not None:\n"
        "        m.device.SetInParent()\n"
        "        for k, v in d.items(): setattr(m.device, k, v.encode())\n"
        "    for k in ('lat', 'lon'):\n"
        "        if k in rec: setattr(m, k, rec[k])\n"
        "    m.apps.extend(rec.get('apps', ()))\n"
        "    out.append(m.SerializeToString().hex())\n"
        "print(json.dumps(out))\n"
    )
    import json

    env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python")
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        input=json.dumps(recs),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(run.stdout) == [da.encode_message(r).hex() for r in recs]


def test_file_payloads_equal_official(pb, tmp_path):
    recs = list(deviceapps_records.generate(3000, seed=5))
    path = tmp_path / "f.gz"
    da.write(recs, path, block_size=10_000, n_threads=2)
    data = gzip.decompress(path.read_bytes())  # Python's gzip reads every member
    framed = twin_records(data)
    assert [t for t, _ in framed] == [1] * len(recs)
    assert [p for _, p in framed] == [official(pb, r).SerializeToString() for r in recs]
    assert [p for _, p in da.read_raw(path)] == [p for _, p in framed]
    # ...and a file written by protobuf + Python's gzip (one zlib member) reads the same.
    other = tmp_path / "official.gz"
    deviceapps_records.protobuf_write(recs, str(other), cls=pb)
    assert gzip.decompress(other.read_bytes()) == data
    assert list(da.read(other)) == recs == list(deviceapps_records.protobuf_read(str(other), pb))


def test_decode_what_parsers_accept(pb):
    msg = official(pb, HOMEWORK[0]).SerializeToString()
    unknown = b"\x28\x05" + b"\x31" + bytes(8) + b"\x3a\x02hi" + b"\x45" + bytes(4)
    group = b"\x4b" + b"\x08\x01" + b"\x53\x54" + b"\x4c"  # field 9 group holding field 10 group
    packed = b"\x12\x03\x01\x96\x01"  # apps 1, 150 packed
    again = b"\x0a\x04\x12\x02zz" + b"\x19" + struct.pack("<d", 1.25)  # merge device, new lat
    got = da.decode_message(msg + unknown + group + packed + again)
    assert got == {
        "device": {"type": "zz", "id": HOMEWORK[0]["device"]["id"]},
        "lat": 1.25,
        "lon": HOMEWORK[0]["lon"],
        "apps": [1, 2, 3, 4, 1, 150],
    }
    official_msg = pb()
    official_msg.ParseFromString(msg + unknown + group + packed + again)
    assert official_msg.device.type == b"zz" and list(official_msg.apps) == got["apps"]
    # a uint32 varint wider than 32 bits keeps its low 32 bits, as the official parser does
    wide = b"\x10" + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
    official_msg.ParseFromString(wide)
    assert da.decode_message(wide)["apps"] == list(official_msg.apps) == [2**32 - 1]


@pytest.mark.parametrize(
    ("data", "what", "position"),
    [
        (b"\x10", "truncated varint", 1),
        (b"\x10\x80", "truncated varint", 2),
        (b"\x10" + b"\xff" * 10, "varint longer than 10 bytes", 11),
        (b"\x00\x01", "field number 0", 0),
        (b"\x0a\x05ab", "runs past the end", 1),
        (b"\x18\x01", "lat has the wrong wire type", 1),
        (b"\x25\x00\x00\x00\x00", "lon has the wrong wire type", 1),
        (b"\x08\x01", "device has the wrong wire type", 1),
        (b"\x0a\x02\x08\x01", "device.id has the wrong wire type", 3),
        (b"\x0a\x02\x10\x01", "device.type has the wrong wire type", 3),
        (b"\x15\x00\x00\x00\x00", "apps has the wrong wire type", 1),
        (b"\x19\x00\x00", "truncated double", 1),
        (b"\x2e", "invalid wire type", 1),
        (b"\x2c", "end-group tag without", 1),
        (b"\x2b\x08\x01", "truncated group", 3),
        (b"\x2b\x34", "does not match its start", 2),
        (b"\x12\x02\x80\x80", "truncated varint", 4),
        (b"\x80\x80\x80\x80\x80\x01", "tag wider than 32 bits", 0),
    ],
)
def test_decode_errors(data, what, position):
    with pytest.raises(da.MessageDecodeError, match=what) as info:
        da.decode_message(data)
    assert info.value.offset == position


@given(st.binary(max_size=64))
def test_decode_never_crashes(pb, data):
    try:
        got = da.decode_message(data, as_bytes=True)
    except da.MessageDecodeError:
        return
    msg = pb()
    msg.ParseFromString(data)  # what we accept, the official parser accepts
    assert got["apps"] == list(msg.apps)
    assert ("lat" in got) == msg.HasField("lat")
    if "device" in got:
        assert got["device"].get("id", b"") == msg.device.id


# --------------------------------------------------------------------------------------------
# The container: gzip members, threads, Python's gzip and gzip -d


@pytest.mark.parametrize("block_size", [1, 100, 4096, da.DEFAULT_BLOCK_SIZE])
def test_members_and_threads(tmp_path, block_size):
    recs = list(deviceapps_records.generate(2000, seed=block_size))
    files = []
    for n_threads in (1, 2, 5):
        path = tmp_path / f"t{n_threads}.gz"
        size = da.write(recs, path, n_threads=n_threads, block_size=block_size)
        assert size == path.stat().st_size
        files.append(path.read_bytes())
    assert files[0] == files[1] == files[2], "the file depends on n_threads"
    assert list(da.read(tmp_path / "t2.gz")) == recs
    data = gzip.decompress(files[0])
    assert len(twin_records(data)) == len(recs)
    # every member is a complete gzip member: zlib reads them one by one
    members, rest = 0, files[0]
    while rest:
        d = zlib.decompressobj(31)
        d.decompress(rest)
        assert d.eof
        rest = d.unused_data
        members += 1
    if block_size == 1:  # one member per record, and an empty last one ("HE")
        assert members == len(recs) + 1
    assert members >= 1


def test_gzip_command_reads_it(tmp_path):
    gz = subprocess.run(["which", "gzip"], capture_output=True, text=True).stdout.strip()
    if not gz:
        pytest.skip("no gzip command")
    path = tmp_path / "c.gz"
    da.write(HOMEWORK * 500, path, block_size=1000)
    out = subprocess.run([gz, "-dc", str(path)], capture_output=True, check=True).stdout
    assert out == gzip.decompress(path.read_bytes())
    assert subprocess.run([gz, "-t", str(path)]).returncode == 0


@pytest.mark.parametrize("level", [0, 1, 6, 9, 12])
def test_levels(tmp_path, level):
    path = tmp_path / "l.gz"
    da.write(HOMEWORK * 50, path, level=level)
    assert list(da.read(path)) == HOMEWORK * 50
    assert gzip.decompress(path.read_bytes()) == frame(
        [da.encode_message(r) for r in HOMEWORK * 50]
    )


def test_empty_streams(tmp_path):
    path = tmp_path / "e.gz"
    assert da.write([], path) == path.stat().st_size > 0
    assert gzip.decompress(path.read_bytes()) == b""
    assert list(da.read(path)) == []
    assert list(da.read_raw(path)) == []
    zero = tmp_path / "zero"
    zero.write_bytes(b"")
    assert list(da.read(zero)) == []  # as Python's gzip reads an empty file
    assert gzip.decompress(b"") == b""


def test_skips_other_record_types(tmp_path):
    msgs = [da.encode_message(r) for r in HOMEWORK]
    items = [(2, b"other"), (1, msgs[0]), (0, b""), (65535, b"\xff" * 300), (1, msgs[1])]
    items += [(7, b"x" * 65535), (1, msgs[2]), (1, msgs[3]), (3, b"\x00")]
    path = tmp_path / "mixed.gz"
    da.write_raw(items, path, block_size=50)
    assert list(da.read(path)) == HOMEWORK
    assert list(da.read_raw(path)) == items
    reader = da.read(path)
    assert list(reader) == HOMEWORK and reader.records_read == len(items)
    # a foreign file (Python's gzip) with the same records
    foreign = tmp_path / "foreign.gz"
    foreign.write_bytes(gzip.compress(b"".join(frame([p], t) for t, p in items)))
    assert list(da.read(foreign)) == HOMEWORK


def test_padding_and_concatenation(tmp_path):
    ours = tmp_path / "a.gz"
    da.write(HOMEWORK[:2], ours)
    theirs = gzip.compress(frame([da.encode_message(r) for r in HOMEWORK[2:]]), mtime=0)
    both = tmp_path / "both.gz"
    both.write_bytes(ours.read_bytes() + b"\0" * 10 + theirs + b"\0\0")
    assert list(da.read(both)) == HOMEWORK
    assert gzip.decompress(both.read_bytes()) == gzip.decompress(ours.read_bytes() + theirs)


def test_message_size_limit(tmp_path):
    # device (1 + 3 + (1 + 3 + n)) = 65535 bytes exactly for n = 65527
    biggest = {"device": {"id": "x" * 65527}}
    assert len(da.encode_message(biggest)) == da.MAX_MESSAGE_SIZE
    path = tmp_path / "big.gz"
    da.write([biggest, biggest], path)
    assert list(da.read(path)) == [{"device": {"id": "x" * 65527}, "apps": []}] * 2


# --------------------------------------------------------------------------------------------
# Writing: nothing half-written, clear errors


@pytest.mark.parametrize(
    ("bad", "exc", "key", "match"),
    [
        ("not a dict", da.RecordTypeError, None, "record 3 must be a dict, got str"),
        ({"device": "idfa"}, da.RecordTypeError, "device", "device must be a dict"),
        ({"device": {"id": 5}}, da.RecordTypeError, "device.id", "device.id must be str or"),
        ({"device": {"type": 1.5}}, da.RecordTypeError, "device.type", "must be str or bytes"),
        ({"lat": "42"}, da.RecordTypeError, "lat", "lat must be a real number, got str"),
        ({"lon": True}, da.RecordTypeError, "lon", "lon must be a real number, got bool"),
        ({"lon": [1.0]}, da.RecordTypeError, "lon", "lon must be a real number, got list"),
        ({"apps": 5}, da.RecordTypeError, "apps", "apps must be a list of ints, got int"),
        ({"apps": "123"}, da.RecordTypeError, "apps", "apps must be a list of ints, got str"),
        ({"apps": [1, "2"]}, da.RecordTypeError, "apps", r"apps\[1\] must be an int, got str"),
        ({"apps": [1.0]}, da.RecordTypeError, "apps", r"apps\[0\] must be an int, got float"),
        ({"apps": [False]}, da.RecordTypeError, "apps", r"apps\[0\] must be an int, got bool"),
        (
            {"apps": [-1]},
            da.RecordValueError,
            "apps",
            r"apps\[0\] must be between 0 and 4294967295, got -1",
        ),
        (
            {"apps": [0, 2**32]},
            da.RecordValueError,
            "apps",
            r"apps\[1\] must be between 0 and 4294967295, got 4294967296",
        ),
        (
            {"apps": [2**70]},
            da.RecordValueError,
            "apps",
            r"must be between 0 and 4294967295, got 1180",
        ),
        ({"lat": 10**400}, da.RecordValueError, "lat", "too large for a double"),
        ({"app": [1]}, da.RecordValueError, "app", "unknown key 'app' in the record"),
        ({1: 2}, da.RecordValueError, "1", "unknown key 1 in the record"),
        ({"device": {"ID": "x"}}, da.RecordValueError, "ID", "unknown key 'ID' in device"),
        ({"device": {"id": "\ud800"}}, da.RecordValueError, "device.id", "UTF-8"),
        ({"apps": [1] * 32768}, da.RecordValueError, "apps", "at most 32767"),
        ({"device": {"id": "x" * 65528}}, da.RecordValueError, None, "65536 bytes; a record"),
        ({"apps": [2**31] * 13000}, da.RecordValueError, None, "would be 78000 bytes"),
    ],
)
def test_bad_records(tmp_path, bad, exc, key, match):
    path = tmp_path / "out.gz"
    path.write_bytes(b"the good file")
    records = [*HOMEWORK[:3], bad, HOMEWORK[3]]
    with pytest.raises(exc, match=match) as info:
        da.write(records, path, block_size=10)
    assert isinstance(info.value, da.RecordError)
    assert info.value.index == 3
    assert info.value.key == key
    assert f"record {3}" in str(info.value)
    assert path.read_bytes() == b"the good file", "a failed write replaced the file"
    assert leftovers(tmp_path) == []


def test_failing_iterable_leaves_nothing(tmp_path):
    def gen():
        yield from HOMEWORK * 1000
        raise KeyError("upstream failure")

    path = tmp_path / "out.gz"
    with pytest.raises(KeyError, match="upstream failure"):
        da.write(gen(), path, block_size=100, n_threads=2)
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_write_bad_arguments(tmp_path):
    path = tmp_path / "x.gz"
    with pytest.raises(TypeError, match="records must be an iterable of dicts, got int"):
        da.write(5, path)
    for level, exc in [(-1, ValueError), (13, ValueError), ("6", TypeError), (True, TypeError)]:
        with pytest.raises(exc, match="level"):
            da.write([], path, level=level)
    with pytest.raises(ValueError, match="block_size must be between 1 and"):
        da.write([], path, block_size=0)
    with pytest.raises(ValueError, match="n_threads=0"):
        da.write([], path, n_threads=0)
    with pytest.raises(TypeError, match=r"path must be a str, bytes or os\.PathLike, got int"):
        da.write([], 5)
    with pytest.raises(ValueError, match="NUL"):
        da.write([], "a\0b")
    with pytest.raises(FileNotFoundError):
        da.write([], tmp_path / "no" / "such" / "folder.gz")
    with pytest.raises(IsADirectoryError):
        da.write([], tmp_path)
    with pytest.raises(da.RecordValueError, match="at most 65535"):
        da.write_raw([(1, b"x" * 65536)], path)
    with pytest.raises(da.RecordTypeError, match="pair"):
        da.write_raw([5], path)
    with pytest.raises(ValueError, match="type must be between 0 and 65535"):
        da.write_raw([(65536, b"")], path)
    assert not path.exists() and leftovers(tmp_path) == []


def test_write_accepts_paths(tmp_path):
    for p in (tmp_path / "a.gz", str(tmp_path / "b.gz"), os.fsencode(tmp_path / "c.gz")):
        da.write(HOMEWORK, p)
        assert list(da.read(p)) == HOMEWORK
    os.chdir(tmp_path)
    da.write(HOMEWORK, "relative.gz")
    assert list(da.read("relative.gz")) == HOMEWORK


def test_replaces_with_umask_mode(tmp_path):
    path = tmp_path / "m.gz"
    old = os.umask(0o022)
    try:
        da.write(HOMEWORK, path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    da.write(HOMEWORK[:1], path)
    assert list(da.read(path)) == HOMEWORK[:1]


# --------------------------------------------------------------------------------------------
# Reading damaged files: every record before the damage, then a DamagedFileError saying where


def good_file(tmp_path, n=300, block_size=2000, name="good.gz"):
    recs = [
        {"device": {"type": "idfa", "id": f"{i:032x}"}, "lat": i / 7, "lon": -i, "apps": [i, i + 1]}
        for i in range(n)
    ]
    path = tmp_path / name
    da.write(recs, path, block_size=block_size)
    return recs, path


def record_offsets(data):
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += 8 + HEADER.unpack_from(data, pos)[2]
    return offsets


def check_damage(path, recs, exc_class, index, offset, match, n_yielded=None):
    n_yielded = index if n_yielded is None else n_yielded
    got, exc = read_until_error(path)
    assert isinstance(exc, exc_class), (exc, got[-1:] if got else None)
    assert got == recs[:n_yielded], f"yielded {len(got)} records, expected {n_yielded}"
    assert exc.record_index == index and exc.offset == offset
    assert f"record {index} " in str(exc) and f"byte offset {offset}" in str(exc)
    assert str(path) in str(exc) and exc.path == path
    assert exc.file_offset is not None
    assert match in str(exc)
    return exc


@pytest.mark.parametrize("foreign", [False, True])
def test_bad_magic(tmp_path, foreign):
    recs, path = good_file(tmp_path)
    data = bytearray(gzip.decompress(path.read_bytes()))
    offs = record_offsets(data)
    data[offs[123] + 2] = 0x00
    if foreign:
        path.write_bytes(gzip.compress(bytes(data)))
    else:
        da.write_raw(twin_records(bytes(data[: offs[123]])), path, block_size=2000)
        tail = gzip.compress(bytes(data[offs[123] :]))
        path.write_bytes(path.read_bytes() + tail)
    check_damage(path, recs, da.FramingError, 123, offs[123], "bad record magic 0xFF00FFFF")


def test_truncated_header_and_message(tmp_path):
    recs, path = good_file(tmp_path)
    data = gzip.decompress(path.read_bytes())
    offs = record_offsets(data)
    (tmp_path / "h.gz").write_bytes(gzip.compress(data + b"\xff\xff\xff"))
    check_damage(
        tmp_path / "h.gz",
        recs,
        da.FramingError,
        len(recs),
        len(data),
        "truncated record header: the stream ends 3 bytes into it",
    )
    cut = offs[200] + 8 + 5
    (tmp_path / "m.gz").write_bytes(gzip.compress(data[:cut]))
    check_damage(
        tmp_path / "m.gz",
        recs,
        da.FramingError,
        200,
        offs[200],
        "truncated message: the header announces",
    )


@pytest.mark.parametrize("foreign", [False, True])
def test_truncated_gzip(tmp_path, foreign):
    recs, path = good_file(tmp_path, n=3000, block_size=30_000)
    if foreign:
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())))
    full = path.read_bytes()
    data = gzip.decompress(full)
    offs = record_offsets(data)
    for cut in (len(full) - 1, len(full) - 9, len(full) // 2, 11, 1):
        path.write_bytes(full[:cut])
        got, exc = read_until_error(path)
        assert isinstance(exc, da.GzipStreamError), (cut, exc)
        assert "truncated gzip stream" in str(exc)
        assert got == recs[: len(got)]
        assert exc.record_index == len(got) and exc.offset == [*offs, len(data)][len(got)]
        # the records of the members that zlib inflates whole (and checks) before the cut are
        # delivered; nothing of the member that the cut damaged
        d = zlib.decompressobj(31)
        avail = member = b""
        rest = full[:cut]
        while rest:
            member += d.decompress(rest)
            rest = d.unused_data
            if d.eof:
                avail += member
                member = b""
                d = zlib.decompressobj(31)
        whole = sum(1 for o in offs if o + 8 + HEADER.unpack_from(data, o)[2] <= len(avail))
        assert len(got) == whole, (cut, len(got), whole)
        if foreign:
            assert got == []


@pytest.mark.parametrize("where", ["crc", "isize", "deflate", "header-size"])
def test_corrupt_member(tmp_path, where):
    recs, path = good_file(tmp_path, n=2000, block_size=20_000)
    full = bytearray(path.read_bytes())
    # the second member
    first = int.from_bytes(full[16:20], "little")
    second = int.from_bytes(full[first + 16 : first + 20], "little")
    n_first = len(twin_records(gzip.decompress(bytes(full[:first]))))
    n_second = len(twin_records(gzip.decompress(bytes(full[first : first + second]))))
    if where == "crc":
        full[first + second - 8] ^= 1
        match = "incorrect data check"
    elif where == "isize":
        full[first + second - 4] ^= 1
        match = "incorrect length check"
    elif where == "deflate":
        full[first + 24 : first + 40] = b"\xff" * 16
        match = "corrupt gzip stream in the member starting at file byte"
    else:  # a wrong size hint: the member is still fine, read through zlib
        full[first + 16] ^= 0x40
        match = None
    path.write_bytes(bytes(full))
    got, exc = read_until_error(path)
    if match is None:
        assert exc is None and got == recs
        return
    assert isinstance(exc, da.GzipStreamError) and match in str(exc)
    assert exc.file_offset == first
    # the records of the first member, none of the damaged one (it is checked before any of
    # its records is delivered)
    assert got == recs[:n_first] and exc.record_index == n_first
    assert n_second > 0


def test_cut_between_members(tmp_path):
    recs, path = good_file(tmp_path, n=1000, block_size=5000)
    full = path.read_bytes()
    ends, pos = [], 0
    while pos < len(full):
        assert full[12:14] == b"HL" or full[pos + 12 : pos + 14] in (b"HL", b"HE")
        pos += int.from_bytes(full[pos + 16 : pos + 20], "little")
        ends.append(pos)
    assert pos == len(full) and len(ends) > 3
    assert full[ends[-2] + 12 : ends[-2] + 14] == b"HE"  # the writer's last member
    cut = ends[1]
    path.write_bytes(full[:cut])
    n = len(twin_records(gzip.decompress(full[:cut])))  # a valid gzip stream for gzip...
    got, exc = read_until_error(path)  # ...but not a whole file for us
    assert got == recs[:n] and isinstance(exc, da.GzipStreamError)
    assert "cut between two members" in str(exc) and exc.record_index == n
    # two whole files concatenated (cat a b) are one stream of both files' records
    path.write_bytes(full + full)
    assert list(da.read(path)) == recs + recs


def test_not_gzip_and_junk(tmp_path):
    path = tmp_path / "plain"
    path.write_bytes(frame([da.encode_message(HOMEWORK[0])]))
    got, exc = read_until_error(path)
    assert got == [] and isinstance(exc, da.GzipStreamError) and "not a gzip file" in str(exc)
    recs, good = good_file(tmp_path, n=10)
    path.write_bytes(good.read_bytes() + b"\0\0junk")
    got, exc = read_until_error(path)
    assert got == recs and isinstance(exc, da.GzipStreamError)
    assert "junk after the last gzip member" in str(exc)
    path.write_bytes(good.read_bytes() + b"\x1f")
    got, exc = read_until_error(path)
    assert got == recs and "truncated gzip stream" in str(exc)


def test_malformed_messages_in_file(tmp_path):
    msgs = [da.encode_message(r) for r in HOMEWORK]
    path = tmp_path / "bad.gz"
    da.write_raw([(1, msgs[0]), (5, b"\x18"), (1, msgs[1]), (1, b"\x19\x00"), (1, msgs[2])], path)
    data = gzip.decompress(path.read_bytes())
    exc = check_damage(
        path,
        HOMEWORK,
        da.MessageDecodeError,
        3,
        record_offsets(data)[3],
        "truncated double",
        n_yielded=2,
    )
    assert "(at byte 1 of the 2-byte message)" in str(exc)
    da.write_raw([(1, msgs[0]), (1, b"\x20\x01")], path)  # lon as a varint
    data = gzip.decompress(path.read_bytes())
    check_damage(
        path,
        HOMEWORK,
        da.MessageDecodeError,
        1,
        record_offsets(data)[1],
        "lon has the wrong wire type",
    )


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        da.read(tmp_path / "missing.gz")
    with pytest.raises(FileNotFoundError):
        da.deviceapps_xread_pb(str(tmp_path / "missing.gz"))
    with pytest.raises(IsADirectoryError):
        da.read(tmp_path)
    with pytest.raises(TypeError, match="path must be"):
        da.read(3.5)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_random_damage_never_crashes(tmp_path, data):
    _, path = good_file(tmp_path, n=150, block_size=1500, name="fuzz.gz")
    blob = bytearray(path.read_bytes())
    foreign = data.draw(st.booleans())
    if foreign:
        blob = bytearray(gzip.compress(gzip.decompress(bytes(blob)), mtime=0))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(0, len(blob) - 1)))
        if kind == "flip" and blob:
            blob[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "cut":
            del blob[pos:]
        elif kind == "insert":
            blob[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del blob[pos : pos + data.draw(st.integers(1, 8))]
    path.write_bytes(bytes(blob))
    got, exc = read_until_error(path, as_bytes=True)
    assert exc is None or isinstance(exc, da.DamagedFileError), repr(exc)
    assert all(isinstance(r, dict) and isinstance(r["apps"], list) for r in got)
    if exc is not None:
        assert exc.record_index >= len(got)


# --------------------------------------------------------------------------------------------
# The reader object


def test_reader_object(tmp_path):
    path = tmp_path / "r.gz"
    da.write(HOMEWORK, path)
    reader = da.read(path)
    assert type(reader).__name__ == "DeviceAppsReader" and iter(reader) is reader
    assert "0 records read" in repr(reader)
    assert next(reader) == HOMEWORK[0]
    assert reader.records_read == 1 and not reader.closed
    reader.close()
    reader.close()
    assert reader.closed and list(reader) == []
    with da.read(path) as r:
        assert list(r) == HOMEWORK
    assert r.closed
    exhausted = da.read(path)
    assert list(exhausted) == HOMEWORK and list(exhausted) == []
    with pytest.raises(StopIteration):
        next(exhausted)


def test_reader_threads_share_nothing(tmp_path):
    import concurrent.futures

    recs, path = good_file(tmp_path, n=5000, block_size=5000)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: list(da.read(path)), range(4)))
    assert all(r == recs for r in results)
    shared = da.read(path)

    def drain():
        got = []
        try:
            for rec in shared:
                got.append(rec)
        except RuntimeError as exc:
            assert "another thread" in str(exc)
        return got

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda _: drain(), range(2)))
    # each record went to at most one thread, unchanged
    ids = [r["device"]["id"] for p in parts for r in p]
    assert len(ids) == len(set(ids)) and set(ids) <= {r["device"]["id"] for r in recs}
    assert all(
        r in recs[int(r["device"]["id"], 16) : int(r["device"]["id"], 16) + 1]
        for p in parts
        for r in p
    )


# --------------------------------------------------------------------------------------------
# Huge streams in constant memory

_MEMORY_SCRIPT = r"""
import sys
from hotloop import deviceapps as da

def hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

N = int(sys.argv[2])
marks = {}

def gen():
    for i in range(N):
        if i == 100_000:
            marks["write_early"] = hwm_kib()
        yield {"device": {"type": "idfa", "id": "%032x" % i}, "lat": i * 1e-3, "lon": -1.0,
               "apps": [i % 1000, 7, 100_000 + i % 7]}

n_bytes = da.write(gen(), sys.argv[1], n_threads=2)
marks["write_end"] = hwm_kib()
count = 0
for rec in da.read(sys.argv[1]):
    count += 1
    if count == 100_000:
        marks["read_early"] = hwm_kib()
marks["read_end"] = hwm_kib()
print(count, n_bytes, marks["write_early"], marks["write_end"], marks["read_early"],
      marks["read_end"])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_huge_stream_constant_memory(tmp_path):
    n = 2_000_000
    path = tmp_path / "huge.gz"
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(path), str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout.split()
    count, n_bytes, write_early, write_end, read_early, read_end = map(int, out)
    assert count == n and n_bytes == path.stat().st_size
    # peak resident memory grows by less than 8 MiB from record 100,000 to record 2,000,000
    assert write_end - write_early < 8 * 1024, (write_early, write_end)
    assert read_end - read_early < 8 * 1024, (read_early, read_end)


# --------------------------------------------------------------------------------------------
# One flipped bit never turns into a wrong record: a gzip member is checked (CRC-32, ISIZE)
# before any of its records is delivered


def flip_outcomes(blob, expect, tmp_path, stride=1, **kw):
    """Reads blob with every stride-th bit flipped: {outcome: count}. A wrong record, yielded
    before an error or with none, fails at once."""
    path = tmp_path / "flipped.gz"
    counts = {"whole": 0, "error": 0}
    for bit in range(0, len(blob) * 8, stride):
        b = bytearray(blob)
        b[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(b))
        got, exc = read_until_error(path, **kw)
        if exc is None:
            assert got == expect, f"bit {bit}: wrong records and no error"
            counts["whole"] += 1
        else:
            assert isinstance(exc, da.DamagedFileError), (bit, exc)
            assert got == expect[: len(got)], f"bit {bit}: a wrong record before {exc!r}"
            assert exc.record_index >= len(got)
            counts["error"] += 1
    return counts


@pytest.mark.parametrize("kind", ["one member", "members", "foreign"])
def test_bit_flips_yield_no_wrong_record(tmp_path, kind):
    recs = [
        {"device": {"type": "idfa", "id": f"id{i:02d}"}, "lat": i / 2, "apps": [i, 7]}
        for i in range(24)
    ]
    path = tmp_path / "f.gz"
    da.write(recs, path, block_size=10**6 if kind == "one member" else 200)
    blob = path.read_bytes()
    if kind == "foreign":
        blob = gzip.compress(gzip.decompress(blob), mtime=0)
    else:
        assert blob.count(b"HL") + blob.count(b"HE") >= (1 if kind == "one member" else 4)
    counts = flip_outcomes(blob, recs, tmp_path, stride=1 if len(blob) < 200 else 3)
    # most flips are found; the others change no record (MTIME, XFL, OS, a size hint that
    # sends the member to zlib, which reads it whole)
    assert counts["error"] > 2 * counts["whole"], counts


def test_member_limit(tmp_path):
    # bigger than one zlib step (256 KiB of output), so that a member can pass the limit
    recs, path = good_file(tmp_path, n=6000, block_size=100_000)
    data = gzip.decompress(path.read_bytes())
    assert len(data) > 4 * 100_000
    foreign = tmp_path / "foreign.gz"
    blob = bytearray(gzip.compress(data, mtime=0))
    blob[-8] ^= 1  # the CRC
    foreign.write_bytes(bytes(blob))
    # held whole (the default limit): no record of the damaged member
    got, exc = read_until_error(foreign)
    assert got == [] and isinstance(exc, da.GzipStreamError) and "incorrect data check" in str(exc)
    got, exc = read_until_error(foreign, max_member_size=len(data))
    assert got == [] and isinstance(exc, da.GzipStreamError)
    # past the limit, the member is streamed: its records come before its check (documented)
    got, exc = read_until_error(foreign, max_member_size=100_000)
    assert isinstance(exc, da.GzipStreamError) and "incorrect data check" in str(exc)
    assert len(got) > 0 and got == recs[: len(got)]
    # an undamaged file reads the same under any limit, ours (whose members are then
    # inflated by zlib) and foreign ones
    foreign.write_bytes(gzip.compress(data, mtime=0))
    for p in (path, foreign):
        for limit in (1, 5000, 150_000, da.DEFAULT_MEMBER_LIMIT):
            assert list(da.read(p, max_member_size=limit)) == recs
        assert [r for _, r in da.read_raw(p, max_member_size=7)] == [
            m for _, m in twin_records(data)
        ]
    assert da.DEFAULT_MEMBER_LIMIT >= da.MAX_BLOCK_SIZE + 8 + da.MAX_MESSAGE_SIZE
    with pytest.raises(ValueError, match="max_member_size must be between 1 and"):
        da.read(path, max_member_size=0)
    with pytest.raises(ValueError, match="max_member_size"):
        da.read(path, max_member_size=da.MAX_MEMBER_LIMIT + 1)
    with pytest.raises(TypeError, match="max_member_size must be an int"):
        da.read(path, max_member_size=1.5)


def test_decode_message_none():
    with pytest.raises(TypeError, match="None"):
        da.decode_message(None)
    with pytest.raises(TypeError):
        da.decode_message("text")


# --------------------------------------------------------------------------------------------
# Targets that are not regular files


def _fifo_reader(path, out):
    with open(path, "rb") as f:
        out.append(f.read())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_write_to_fifo_and_devices(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    t = threading.Thread(target=_fifo_reader, args=(fifo, got))
    t.start()
    try:
        n = da.write(HOMEWORK, fifo)
    finally:
        t.join(10)
    # written through the FIFO, which is still a FIFO (not replaced by a regular file)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert len(got) == 1 and len(got[0]) == n
    assert [da.decode_message(m) for _, m in twin_records(gzip.decompress(got[0]))] == [
        expected_dict(r) for r in HOMEWORK
    ]
    assert leftovers(tmp_path) == []
    # write_raw too
    t = threading.Thread(target=_fifo_reader, args=(fifo, got))
    t.start()
    try:
        da.write_raw([(9, b"x")], fifo)
    finally:
        t.join(10)
    assert twin_records(gzip.decompress(got[1])) == [(9, b"x")]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []
    # the FIFO proved that no device is renamed over: /dev/null (as root too) stays
    if os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode):
        assert da.write(HOMEWORK * 100, "/dev/null", n_threads=2, block_size=100) > 0
        assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
        assert list(da.read("/dev/null")) == []  # reads as an empty file


def test_write_through_symlinks(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "real.gz"
    target.write_bytes(b"old")
    link = tmp_path / "link.gz"
    link.symlink_to(target)
    da.write(HOMEWORK, link)
    # the link stays a link; the file it names has the records
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert list(da.read(target)) == HOMEWORK
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "data") == []
    # a relative link, to a link
    rel = tmp_path / "data" / "rel.gz"
    rel.symlink_to("real.gz")
    link2 = tmp_path / "link2.gz"
    link2.symlink_to(rel)
    da.write(HOMEWORK[:2], link2)
    assert rel.is_symlink() and link2.is_symlink()
    assert list(da.read(target)) == HOMEWORK[:2]
    # a dangling link is refused, and nothing is created
    dangling = tmp_path / "dangling.gz"
    dangling.symlink_to(tmp_path / "nowhere.gz")
    with pytest.raises(FileNotFoundError):
        da.write(HOMEWORK, dangling)
    assert dangling.is_symlink() and not (tmp_path / "nowhere.gz").exists()
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Stalled input: Ctrl-C stops a read, and a reader is used by one thread at a time

_STALL_SCRIPT = r"""
import os, sys
from hotloop import deviceapps as da
fifo, blob = sys.argv[1], open(sys.argv[2], "rb").read()
fd = os.open(fifo, os.O_RDWR)  # a writer that never closes: the reader stalls, never sees EOF
os.write(fd, blob[: len(blob) // 2])
reader = da.read(fifo)
print("ready", flush=True)
try:
    for rec in reader:
        pass
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""


_WAIT_FOR_READER_SCRIPT = r"""
import sys
from hotloop import deviceapps as da
print("ready", flush=True)
try:
    da.write([{"apps": [1]}], sys.argv[1])  # opening a FIFO waits for a reader: none comes
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.parametrize("script", [_STALL_SCRIPT, _WAIT_FOR_READER_SCRIPT], ids=["read", "write"])
def test_stalled_fifo_stops_on_sigint(tmp_path, script):
    _, path = good_file(tmp_path, n=300)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-c", f"{DEFAULT_SIGINT}\n{script}", str(fifo), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # inside the read, waiting for input
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "interrupted" in out and "KeyboardInterrupt" in err, (out, err)
    assert proc.returncode != 0
    assert elapsed < 2.0, elapsed


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_stalled_fifo_resumes_and_reader_is_single_threaded(tmp_path):
    recs, path = good_file(tmp_path, n=300)
    blob = path.read_bytes()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR)
    try:
        os.write(fd, blob[:10])
        reader = da.read(fifo)
        got, errors = [], []

        def drain():
            try:
                got.extend(reader)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=drain)
        t.start()
        time.sleep(0.3)  # the thread is inside next(), waiting for input
        assert t.is_alive()
        # a second thread on the same reader is refused, and changes nothing
        with pytest.raises(RuntimeError, match="another thread"):
            next(reader)
        with pytest.raises(RuntimeError, match="another thread"):
            reader.close()
        os.write(fd, blob[10:])
    finally:
        os.close(fd)  # the last writer: the reader sees the end of the file
    t.join(10)
    assert not t.is_alive() and errors == [] and got == recs


# --------------------------------------------------------------------------------------------
# Member ranges: one file read in pieces


def read_ranges(path, ranges, **kw):
    """(records of the ranges read in order, the first exception or None)."""
    got = []
    for byte_range in ranges:
        try:
            for rec in da.read(path, byte_range=byte_range, **kw):
                got.append(rec)
        except Exception as exc:
            return got, exc
    return got, None


def member_starts(blob):
    """File offsets of our writer's members, from their HL/HE size fields."""
    starts, pos = [], 0
    while pos < len(blob):
        assert blob[pos + 12 : pos + 14] in (b"HL", b"HE")
        starts.append(pos)
        pos += int.from_bytes(blob[pos + 16 : pos + 20], "little")
    assert pos == len(blob)
    return starts


def check_cover(ranges, size):
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    for (_, end, _), (begin, _, _) in itertools.pairwise(ranges):
        assert end == begin  # no gap, no overlap
    assert all(b < e for b, e, _ in ranges) or ranges == [(0, 0, 0)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(records, max_size=40),
    st.sampled_from([1, 64, 700]),
    st.sampled_from([1, 100, 1000, 10**9]),
)
def test_ranges_read_as_the_whole_file(tmp_path, recs, block_size, target):
    path = tmp_path / "r.gz"
    da.write(recs, path, block_size=block_size)
    ranges = da.member_ranges(path, target)
    check_cover(ranges, path.stat().st_size)
    got, exc = read_ranges(path, ranges, as_bytes=True)
    whole = list(da.read(path, as_bytes=True))
    assert exc is None and len(got) == len(whole) == len(recs)
    assert all(same(x, y) for x, y in zip(got, whole, strict=True))


@pytest.mark.parametrize("target", ["below one member", "three members", "above the file"])
def test_ranges_cut_at_member_starts(tmp_path, target):
    recs, path = good_file(tmp_path, n=400, block_size=300)
    blob = path.read_bytes()
    starts = member_starts(blob)
    assert len(starts) > 20
    size = len(blob)
    t = {
        "below one member": 1,
        "three members": 3 * size // len(starts),
        "above the file": 10 * size,
    }
    ranges = da.member_ranges(path, t[target])
    check_cover(ranges, size)
    assert {b for b, _, _ in ranges} <= set(starts)
    if target == "below one member":
        # one range per member (the writer's last member ends the scan: it is the last range)
        assert [b for b, _, _ in ranges] == starts
    elif target == "three members":
        assert 3 < len(ranges) < len(starts)
        assert all(e - b >= t[target] for b, e, _ in ranges[:-1])
    else:
        assert ranges == [(0, size, 0)]
    for b, _, ub in ranges:  # the uncompressed offset of a range is that of its first record
        assert ub == len(gzip.decompress(blob[:b]))
    got, exc = read_ranges(path, ranges)
    assert exc is None and got == recs
    # a (begin, end) pair reads the same records; only offsets in errors differ
    assert read_ranges(path, [r[:2] for r in ranges]) == (recs, None)


@pytest.mark.parametrize("members", [1, 3])
def test_foreign_gzip_is_one_range(tmp_path, members):
    recs, path = good_file(tmp_path, n=90, block_size=200)
    data = gzip.decompress(path.read_bytes())
    cuts = [*record_offsets(data)[:: 90 // members][:members], len(data)]
    foreign = tmp_path / "foreign.gz"
    foreign.write_bytes(
        b"".join(gzip.compress(data[a:b], mtime=0) for a, b in itertools.pairwise(cuts))
    )
    ranges = da.member_ranges(foreign, 1)
    assert ranges == [(0, foreign.stat().st_size, 0)]
    assert read_ranges(foreign, ranges) == (recs, None)
    # our members and then a foreign one: cut up to the foreign member, which ends the scan
    blob = path.read_bytes()
    starts = member_starts(blob)
    mixed = tmp_path / "mixed.gz"
    tail = gzip.compress(gzip.decompress(blob[starts[-1] :]), mtime=0)
    mixed.write_bytes(blob[: starts[-1]] + tail)
    ranges = da.member_ranges(mixed, 1)
    assert [b for b, _, _ in ranges] == starts[:-1]  # the foreign member joins the last range
    assert read_ranges(mixed, ranges) == (recs, None) and list(da.read(mixed)) == recs


@pytest.mark.parametrize("where", ["between members", "inside a member", "inside a header"])
def test_truncated_file_ranges_fail_as_the_whole_file(tmp_path, where):
    _, path = good_file(tmp_path, n=400, block_size=300)
    blob = path.read_bytes()
    starts = member_starts(blob)
    cut = {
        "between members": starts[len(starts) // 2],
        "inside a member": starts[len(starts) // 2] + 40,
        "inside a header": starts[len(starts) // 2] + 10,
    }[where]
    path.write_bytes(blob[:cut])
    whole_got, whole_exc = read_until_error(path)
    assert isinstance(whole_exc, da.GzipStreamError)
    for target in (1, 1000, 10**9):
        got, exc = read_ranges(path, da.member_ranges(path, target))
        assert type(exc) is type(whole_exc), (target, exc)
        assert got == whole_got and exc.file_offset == whole_exc.file_offset
        assert exc.offset == whole_exc.offset and "file bytes [" in str(exc)


def test_flipped_byte_fails_its_range_and_yields_no_wrong_record(tmp_path):
    recs, path = good_file(tmp_path, n=60, block_size=250)
    blob = path.read_bytes()
    assert len(member_starts(blob)) > 5
    by_id = {r["device"]["id"]: i for i, r in enumerate(recs)}
    flipped = tmp_path / "flipped.gz"
    n_damaged = 0
    for pos in range(0, len(blob), 3):
        b = bytearray(blob)
        b[pos] ^= 0x10
        flipped.write_bytes(bytes(b))
        _, whole_exc = read_until_error(flipped)
        failing, clean = [], []
        for begin, end, ub in da.member_ranges(flipped, 1):
            got, exc = read_ranges(flipped, [(begin, end, ub)])
            if got:  # whatever a range yields is the records of the file at that place
                k = by_id.get(got[0].get("device", {}).get("id"))
                assert k is not None and got == recs[k : k + len(got)], pos
            if exc is not None:
                assert isinstance(exc, da.DamagedFileError), (pos, exc)
                failing.append((begin, end))
            else:
                clean.extend(got)
        if whole_exc is not None:
            n_damaged += 1
            assert any(begin <= pos < end for begin, end in failing), pos
        elif not failing:
            assert clean == recs, pos
    assert n_damaged > len(blob) // 6  # most flips are found (see test_bit_flips_...)


def test_ranges_of_an_empty_and_a_missing_file(tmp_path):
    zero = tmp_path / "zero"
    zero.write_bytes(b"")
    assert da.member_ranges(zero, 1) == [(0, 0, 0)]
    assert list(da.read(zero, byte_range=(0, 0, 0))) == []
    empty = tmp_path / "empty.gz"
    da.write([], empty)
    assert da.member_ranges(empty, 1) == [(0, empty.stat().st_size, 0)]
    assert read_ranges(empty, da.member_ranges(empty, 1)) == ([], None)
    with pytest.raises(FileNotFoundError):
        da.member_ranges(tmp_path / "missing.gz", 1)
    with pytest.raises(FileNotFoundError):
        da.read(tmp_path / "missing.gz", byte_range=(0, 10))
    with pytest.raises(IsADirectoryError):
        da.member_ranges(tmp_path, 1)


def test_range_errors_name_the_range(tmp_path):
    _, path = good_file(tmp_path, n=300, block_size=300)
    blob = bytearray(path.read_bytes())
    starts = member_starts(bytes(blob))
    m = starts[len(starts) // 2]
    blob[m + 30] ^= 0xFF  # inside the deflate data of a member in the middle
    path.write_bytes(bytes(blob))
    whole_got, whole_exc = read_until_error(path)
    ranges = da.member_ranges(path, 2000)
    (bad,) = [r for r in ranges if r[0] <= m < r[1]]
    got, exc = read_until_error(path, byte_range=bad)
    assert isinstance(exc, type(whole_exc)) and exc.file_offset == whole_exc.file_offset == m
    assert exc.offset == whole_exc.offset  # uncompressed offsets count from the file's start
    assert f"file bytes [{bad[0]}, {bad[1]})" in str(exc) and str(path) in str(exc)
    assert exc.record_index == len(got)  # counted from the range's start
    assert got == whole_got[len(whole_got) - len(got) :]


def test_member_ranges_bad_arguments(tmp_path):
    _, path = good_file(tmp_path, n=10)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="target_bytes"):
            da.member_ranges(path, bad)
    for bad in (1.5, "1", None, True):
        with pytest.raises(TypeError, match="target_bytes"):
            da.member_ranges(path, bad)
    for bad in ([0, 10], (0,), (0, 1, 2, 3), "0-10"):
        with pytest.raises(TypeError, match="byte_range"):
            da.read(path, byte_range=bad)
    for bad in ((5, 4), (-1, 10), (0, -1)):
        with pytest.raises(ValueError, match="byte_range"):
            da.read(path, byte_range=bad)
    # a range that does not start at a member says where it looked
    got, exc = read_until_error(path, byte_range=(3, path.stat().st_size))
    assert got == [] and isinstance(exc, da.GzipStreamError)
    assert "no gzip member starts at file byte 3" in str(exc)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_ranges_need_a_seekable_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        da.member_ranges(fifo, 1)
    assert info.value.errno == errno.ESPIPE
