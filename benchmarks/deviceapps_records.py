"""DeviceApps test records, and the official-protobuf way of writing and reading them.

    generate(n, seed)                    n random DeviceApps records (a generator)
    message_class(implementation=None)   the DeviceApps message class of the official protobuf
                                         package, built from pyx/hotloop/deviceapps.proto's
                                         descriptor at run time (no generated code)
    protobuf_write(records, path, level) what a user writes with protobuf and Python's gzip
    protobuf_read(path)                  ... and reads back, as dicts of the same shape

Run as ``python -m benchmarks.deviceapps_records --worker`` (from the repository root) it
serves protobuf_write/protobuf_read to another process (used by the showcase to time the
pure-Python protobuf backend, which is chosen at import time).
"""

from __future__ import annotations

import gzip
import os
import struct
import sys
from collections.abc import Iterable, Iterator

MAGIC = 0xFFFFFFFF
DEVICE_APPS_TYPE = 1
DEVICE_TYPES = ("idfa", "gaid", "adid", "dvid")
HEADER = struct.Struct("<IHH")


def generate(n: int, seed: int = 20240607, max_apps: int = 50) -> Iterator[dict]:
    """n records: a 32-hex-digit id, a type among idfa/gaid/adid/dvid, a uniform latitude and
    longitude, 0 to max_apps app ids in [1, 10000). Deterministic for a given seed; drawn with
    NumPy in chunks (about 2 µs a record), yielded one by one."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = 8192
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        ids = rng.integers(0, 2**63, size=(m, 2), dtype=np.int64).tolist()
        types = rng.integers(0, len(DEVICE_TYPES), size=m).tolist()
        lat = rng.uniform(-90.0, 90.0, size=m).tolist()
        lon = rng.uniform(-180.0, 180.0, size=m).tolist()
        counts = rng.integers(0, max_apps + 1, size=m)
        apps = rng.integers(1, 10000, size=int(counts.sum())).tolist()
        ends = np.cumsum(counts).tolist()
        begin = 0
        for i in range(m):
            end = ends[i]
            yield {
                "device": {
                    "type": DEVICE_TYPES[types[i]],
                    "id": f"{ids[i][0]:016x}{ids[i][1]:016x}",
                },
                "lat": lat[i],
                "lon": lon[i],
                "apps": apps[begin:end],
            }
            begin = end


def message_class():
    """The official protobuf DeviceApps class, from a descriptor built in code (the same
    definition as pyx/hotloop/deviceapps.proto)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="hotloop_deviceapps_bench.proto", package="deviceapps_bench", syntax="proto2"
    )
    msg = fdp.message_type.add(name="DeviceApps")
    dev = msg.nested_type.add(name="Device")
    dev.field.add(name="id", number=1, label=F.LABEL_OPTIONAL, type=F.TYPE_BYTES)
    dev.field.add(name="type", number=2, label=F.LABEL_OPTIONAL, type=F.TYPE_BYTES)
    msg.field.add(
        name="device",
        number=1,
        label=F.LABEL_OPTIONAL,
        type=F.TYPE_MESSAGE,
        type_name=".deviceapps_bench.DeviceApps.Device",
    )
    msg.field.add(name="apps", number=2, label=F.LABEL_REPEATED, type=F.TYPE_UINT32)
    msg.field.add(name="lat", number=3, label=F.LABEL_OPTIONAL, type=F.TYPE_DOUBLE)
    msg.field.add(name="lon", number=4, label=F.LABEL_OPTIONAL, type=F.TYPE_DOUBLE)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("deviceapps_bench.DeviceApps")
    )


def protobuf_write(records: Iterable[dict], path: str, level: int = 6, cls=None) -> int:
    """The usual writer with the official package: one message per record, Python's gzip."""
    cls = cls or message_class()
    pack = HEADER.pack
    with gzip.open(path, "wb", compresslevel=level) as f:
        write = f.write
        for rec in records:
            msg = cls()
            device = rec.get("device")
            if device is not None:
                msg.device.SetInParent()
                if "id" in device:
                    msg.device.id = device["id"].encode()
                if "type" in device:
                    msg.device.type = device["type"].encode()
            if "lat" in rec:
                msg.lat = rec["lat"]
            if "lon" in rec:
                msg.lon = rec["lon"]
            msg.apps.extend(rec.get("apps", ()))
            data = msg.SerializeToString()
            write(pack(MAGIC, DEVICE_APPS_TYPE, len(data)))
            write(data)
    return os.path.getsize(path)


def protobuf_read(path: str, cls=None) -> Iterator[dict]:
    """The usual reader with the official package: dicts of the same shape as
    hotloop.deviceapps.read yields."""
    cls = cls or message_class()
    unpack = HEADER.unpack
    with gzip.open(path, "rb") as f:
        read = f.read
        while True:
            header = read(8)
            if not header:
                return
            magic, rtype, length = unpack(header)
            data = read(length)
            if magic != MAGIC or len(data) != length:
                raise ValueError(f"damaged record in {path}")
            if rtype != DEVICE_APPS_TYPE:
                continue
            msg = cls()
            msg.ParseFromString(data)
            d = {}
            if msg.HasField("device"):
                dev = {}
                device = msg.device
                if device.HasField("type"):
                    dev["type"] = device.type.decode()
                if device.HasField("id"):
                    dev["id"] = device.id.decode()
                d["device"] = dev
            if msg.HasField("lat"):
                d["lat"] = msg.lat
            if msg.HasField("lon"):
                d["lon"] = msg.lon
            d["apps"] = list(msg.apps)
            yield d


def _worker() -> None:
    """Serves `write N SEED LEVEL PATH` and `read PATH` lines on stdin; answers `ok ...`."""
    import collections
    import time

    from google.protobuf.internal import api_implementation

    cls = message_class()
    cache: dict[tuple[int, int], list[dict]] = {}
    print(f"ready {api_implementation.Type()}", flush=True)
    for line in sys.stdin:
        cmd, *args = line.split()
        t0 = time.perf_counter()
        if cmd == "write":
            n, seed, level, path = int(args[0]), int(args[1]), int(args[2]), args[3]
            records = cache.setdefault((n, seed), list(generate(n, seed)))
            t0 = time.perf_counter()
            size = protobuf_write(records, path, level, cls)
            print(f"ok {time.perf_counter() - t0} {size}", flush=True)
        elif cmd == "read":
            last = collections.deque(protobuf_read(args[0], cls), maxlen=1)
            print(f"ok {time.perf_counter() - t0} {len(last)}", flush=True)
        else:
            print(f"error unknown command {cmd}", flush=True)


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker()
