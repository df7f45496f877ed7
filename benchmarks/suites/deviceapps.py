"""DeviceApps family: write and read gzip'ed protobuf record streams, against the official
protobuf package (its default upb backend, and its pure-Python backend) with Python's gzip.

Records come from deviceapps_records.generate (32-hex ids, types idfa/gaid/adid/dvid, uniform
lat/lon, 0-50 app ids), made once per case and held in a list, so that only writing is timed.
The anchors are what a user writes with the official package (deviceapps_records.protobuf_write
and protobuf_read: one message per record, Python's gzip at the same level). Every contender's
output is checked against hotloop's: the same uncompressed bytes for writers, the same last record
for readers. The pure-Python backend is chosen when protobuf is imported, so it runs in a worker
process that generates the same records from the same seed; its time includes a pipe round trip
(about 0.1 ms).

Memory: a separate process streams N records from a generator through each writer and reader and
reports its peak resident memory (VmHWM) after N/10 and after N records; the growth between the
two must stay flat.
"""

from __future__ import annotations

import atexit
import collections
import gc
import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import deviceapps_records as R
from benchmarks.harness import Accuracy, Case, Contender, Unavailable, at_least, at_most

# Subprocesses run from the repository root, where ``benchmarks`` is importable.
ROOT = Path(__file__).resolve().parents[2]
SEED = 20240607
LEVEL = 6


def _size(n: int) -> str:
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else f"{n:,}"


def _materialize(n: int) -> list[dict]:
    """n generated records in a list; the collector is kept off meanwhile (it would rescan the
    growing list) and the records are frozen out of its reach afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        records = list(R.generate(n, SEED))
    finally:
        if was:
            gc.enable()
    gc.freeze()
    return records


class _Workdir(tempfile.TemporaryDirectory):
    """A temporary folder for the files of this family, removed at exit."""

    def file(self, name: str) -> str:
        return os.path.join(self.name, name)


class _PurePythonWorker:
    """`python -m benchmarks.deviceapps_records --worker` with the pure-Python protobuf backend."""

    def __init__(self) -> None:
        env = dict(os.environ, PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION="python")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.deviceapps_records", "--worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        ready = self.proc.stdout.readline().split()
        if ready != ["ready", "python"]:
            raise Unavailable(f"the pure-Python protobuf worker did not start: {ready}")
        atexit.register(self.close)

    def ask(self, line: str) -> list[str]:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        if not answer or answer[0] != "ok":
            raise RuntimeError(f"pure-Python protobuf worker: {answer}")
        return answer

    def write(self, n: int, path: str) -> str:
        self.ask(f"write {n} {SEED} {LEVEL} {path}")
        return path

    def read(self, path: str) -> int:
        return int(self.ask(f"read {path}")[2])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------
# Contenders (each returns what the agreement check compares)


def same_stream(a: Any, b: Any) -> bool:
    """Two written files hold the same uncompressed bytes (read with Python's gzip)."""
    with gzip.open(a, "rb") as fa, gzip.open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def same_last(a: Any, b: Any) -> bool:
    return a == b


def cases(scale: str) -> list[Case | Accuracy]:
    try:
        import google.protobuf  # noqa: F401
        from hotloop import deviceapps as da
    except ImportError as exc:
        raise Unavailable(f"needs the protobuf package ({exc})") from None
    cls = R.message_class()
    work = _Workdir(prefix="hotloop-deviceapps-bench-")
    n_big = 2_000 if scale == "quick" else 1_000_000
    n_small = 500 if scale == "quick" else 100_000
    threads = da_threads()

    def hotloop_write(n_threads):
        def run(records, path):
            da.write(records, path, level=LEVEL, n_threads=n_threads)
            return path

        return run

    def upb_write(records, path):
        R.protobuf_write(records, path, LEVEL, cls)
        return path

    def hotloop_read(path):
        return list(collections.deque(da.read(path), maxlen=1))

    def upb_read(path):
        return list(collections.deque(R.protobuf_read(path, cls), maxlen=1))

    def write_case(n: int, pure_python: bool) -> Case:
        def setup():
            return _materialize(n)

        anchors = [
            Contender(
                f"protobuf {_upb_version()} (upb) + gzip level {LEVEL}",
                upb_write,
                args=lambda recs: (recs, work.file("upb.gz")),
                require={"default": at_least(5)},
            )
        ]
        if pure_python:
            worker = _worker()
            anchors.append(
                Contender(
                    f"protobuf {_upb_version()} pure-Python backend + gzip level {LEVEL}",
                    lambda _recs: worker.write(n, work.file("purepy.gz")),
                    args=lambda recs: (recs,),
                )
            )
        return Case(
            f"write {_size(n)} records (level {LEVEL})",
            setup,
            [
                Contender(
                    "hotloop.deviceapps.write, n_threads=1",
                    hotloop_write(1),
                    args=lambda recs: (recs, work.file("h1.gz")),
                    key="1 thread",
                ),
                Contender(
                    f"hotloop.deviceapps.write, n_threads=None ({threads} here)",
                    hotloop_write(None),
                    args=lambda recs: (recs, work.file("hn.gz")),
                    key="default",
                ),
            ],
            anchors,
            agree=same_stream,
        )

    def read_case(n: int, pure_python: bool) -> Case:
        path = work.file(f"read{n}.gz")
        foreign = work.file(f"read{n}-pygzip.gz")

        def setup():
            records = _materialize(n)
            da.write(records, path, level=LEVEL)
            R.protobuf_write(records, foreign, LEVEL, cls)
            return path

        anchors = [
            Contender(
                f"protobuf {_upb_version()} (upb) + gzip",
                upb_read,
                require={"hotloop file": at_least(4)},
            )
        ]
        if pure_python:
            worker = _worker()
            anchors.append(
                Contender(
                    f"protobuf {_upb_version()} pure-Python backend + gzip",
                    lambda p: worker.read(p) and None,
                )
            )
        return Case(
            f"read {_size(n)} records to dicts",
            setup,
            [
                Contender("hotloop.deviceapps.read", hotloop_read, key="hotloop file"),
                Contender(
                    "hotloop.deviceapps.read, file written by Python's gzip (zlib path)",
                    hotloop_read,
                    args=lambda _p: (foreign,),
                    key="gzip file",
                ),
            ],
            anchors,
            agree=None if pure_python else same_last,
        )

    if scale == "default":
        # 1e5 records against the default (upb) backend: the speed-ups hold from 1e5 to 1e6.
        return [
            write_case(n_small, pure_python=False),
            read_case(n_small, pure_python=False),
            memory_case(n_small, work),
        ]
    return [
        write_case(n_big, pure_python=False),
        read_case(n_big, pure_python=False),
        write_case(n_small, pure_python=True),
        read_case(n_small, pure_python=True),
        memory_case(n_small if scale == "quick" else 1_000_000, work),
        size_case(n_small, work, cls),
    ]


def da_threads() -> int:
    import hotloop

    return hotloop.effective_n_threads(None)


_WORKER: list[_PurePythonWorker] = []


def _worker() -> _PurePythonWorker:
    if not _WORKER:
        _WORKER.append(_PurePythonWorker())
    return _WORKER[0]


def _upb_version() -> str:
    import google.protobuf

    return google.protobuf.__version__


# --------------------------------------------------------------------------------------------
# Memory and size

_MEMORY = r"""
import sys
from benchmarks import deviceapps_records as R

def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

what, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
marks = []
def watched(it):
    for i, rec in enumerate(it):
        if i == n // 10:
            marks.append(hwm())
        yield rec
if what == "hotloop-write":
    from hotloop import deviceapps as da
    da.write(watched(R.generate(n)), path)
elif what == "hotloop-read":
    from hotloop import deviceapps as da
    for _ in watched(da.read(path)):
        pass
elif what == "upb-write":
    R.protobuf_write(watched(R.generate(n)), path)
else:
    for _ in watched(R.protobuf_read(path)):
        pass
print(marks[0], hwm())
"""


def _peak(what: str, n: int, path: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY, what, str(n), path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def memory_case(n: int, work: _Workdir) -> Accuracy:
    def measure(what: str, path: str):
        return lambda _data: _peak(what, n, path)

    return Accuracy(
        f"peak memory streaming {_size(n)} records from a generator (MiB, own process)",
        lambda: None,
        Contender("none", lambda _d: None),
        [
            Contender(
                "hotloop.deviceapps.write",
                measure("hotloop-write", work.file("mem-h.gz")),
                require=at_most(8, "MiB of growth"),
            ),
            Contender(
                "hotloop.deviceapps.read",
                measure("hotloop-read", work.file("mem-h.gz")),
                require=at_most(8, "MiB of growth"),
            ),
            Contender("protobuf (upb) + gzip, write", measure("upb-write", work.file("mem-u.gz"))),
            Contender("protobuf (upb) + gzip, read", measure("upb-read", work.file("mem-u.gz"))),
        ],
        metrics={
            f"growth from record {_size(n // 10)} to {_size(n)}": lambda r, _ref: r[1] - r[0],
            f"peak at record {_size(n // 10)}": lambda r, _ref: r[0],
            f"peak at record {_size(n)}": lambda r, _ref: r[1],
        },
    )


def size_case(n: int, work: _Workdir, cls) -> Accuracy:
    from hotloop import deviceapps as da

    def setup():
        return _materialize(n)

    def hotloop_size(records):
        return da.write(records, work.file("size-h.gz"), level=LEVEL) / len(records)

    def upb_size(records):
        return R.protobuf_write(records, work.file("size-u.gz"), LEVEL, cls) / len(records)

    def raw_size(records):
        return sum(8 + len(da.encode_message(r)) for r in records) / len(records)

    return Accuracy(
        f"file size at level {LEVEL}, {_size(n)} records (bytes per record)",
        setup,
        Contender("uncompressed records", raw_size),
        [
            Contender("hotloop.deviceapps.write (libdeflate members)", hotloop_size),
            Contender("protobuf + Python's gzip (zlib)", upb_size),
        ],
        metrics={
            "bytes per record": lambda r, _ref: r,
            "compressed / uncompressed": lambda r, ref: r / ref,
        },
    )
