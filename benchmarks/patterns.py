"""Threads by default in three calling patterns: every parallel kernel, default vs one thread.

    python -m benchmarks.patterns [--quick | --full] [--only SUBSTRING]

A kernel's default (``n_threads=None``: all usable CPUs) must never lose to ``n_threads=1``,
whatever the caller does between calls:

- back to back: calls one after the other (a loop over frames, a benchmark);
- intermittent: 50 ms of sleep between calls (a server masking frames between messages): the
  helper threads have gone idle, parked or spinning, when the next call comes;
- loaded: back to back while another process keeps one core busy (a busy machine): a helper
  competes with that process for its CPU.

For each kernel and pattern: the median and 95th percentile of the call time with the default
and with one thread, and their ratios (default ÷ one thread; the goal is ≤ 1.2 for both, and
below 1 on large work when the machine is idle). Calls are made in alternating blocks of ten per
mode, so that a change of load hits both modes alike. The showcase runs this after its table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import hotloop
import numpy as np

GOAL = 1.2
GAP_S = 0.050
PATTERNS = ("back to back", "intermittent", "loaded")


@dataclass
class Kernel:
    name: str
    call: Callable[[int | None], object]  # call(n_threads)


@dataclass
class Row:
    kernel: str
    pattern: str
    one_median: float
    one_p95: float
    default_median: float
    default_p95: float

    @property
    def median_ratio(self) -> float:
        return self.default_median / self.one_median

    @property
    def p95_ratio(self) -> float:
        return self.default_p95 / self.one_p95


def kernels(scale: str) -> list[Kernel]:
    """The parallel kernels at a size where the default uses several threads."""
    small = scale == "quick"
    rng = np.random.default_rng(0)
    mib = rng.integers(0, 256, (1 << 18) if small else (1 << 20), dtype=np.uint8).tobytes()
    big = rng.integers(0, 256, (1 << 20) if small else (16 << 20), dtype=np.uint8).tobytes()
    series = 1e9 + rng.standard_normal(50_000 if small else 1_000_000)
    grid = rng.uniform(0, 1, (128, 128) if small else (512, 512))
    side = 64 if small else 200
    out = [
        Kernel(
            "ws_mask 1 MiB" if not small else "ws_mask 256 KiB",
            lambda nt: hotloop.ws_mask(mib, b"abcd", n_threads=nt),
        ),
        Kernel(
            "ws_mask 16 MiB" if not small else "ws_mask 1 MiB",
            lambda nt: hotloop.ws_mask(big, b"abcd", n_threads=nt),
        ),
        Kernel(
            f"julia_grid {side}²",
            lambda nt: hotloop.julia_grid(-0.62772 - 0.42193j, side, n_threads=nt),
        ),
        Kernel(
            f"rolling_std {series.size:.0e} w=50",
            lambda nt: hotloop.rolling_std(series, 50, n_threads=nt),
        ),
        Kernel(
            f"diffuse {grid.shape[0]}² × 20", lambda nt: hotloop.diffuse(grid, 20, n_threads=nt)
        ),
    ]
    out += _file_kernels(small, rng)
    try:
        from hotloop import geo
    except ImportError:
        pass
    else:
        lat = rng.uniform(-90, 90, 20_000 if small else 200_000)
        lon = rng.uniform(-180, 180, lat.size)
        out.append(
            Kernel(
                f"latlng_to_cell {lat.size:.0e}",
                lambda nt: geo.latlng_to_cell(lat, lon, n_threads=nt),
            )
        )
    return out


def _file_kernels(small: bool, rng: np.random.Generator) -> list[Kernel]:
    """The kernels over files: counters of two gzip'ed counter files, a DeviceApps write."""
    import atexit
    import shutil
    import tempfile

    from hotloop import deviceapps, records

    folder = tempfile.mkdtemp(prefix="hotloop-patterns-")
    atexit.register(shutil.rmtree, folder, True)
    n = 20_000 if small else 500_000
    paths = []
    for k in range(2):
        ids = rng.integers(0, n // 10, n, dtype=np.uint64)
        path = os.path.join(folder, f"counts{k}.gz")
        records.write_counts(path, ids, np.ones(n, np.uint16), np.zeros(n, np.uint16))
        paths.append(path)
    recs = [
        {"device": {"type": "idfa", "id": f"dev{k}"}, "lat": 1.5, "lon": 2.5, "apps": [k, 7]}
        for k in range(2_000 if small else 50_000)
    ]
    target = os.path.join(folder, "apps.pb.gz")
    return [
        Kernel(
            f"get_counters 2 × {n:.0e} gzip",
            lambda nt: records.get_counters(paths, "t", 1, n_threads=nt),
        ),
        Kernel(
            f"deviceapps.write {len(recs):.0e}",
            lambda nt: deviceapps.write(recs, target, n_threads=nt),
        ),
    ]


def _time_blocks(kernel: Kernel, blocks: int, per_block: int, gap_s: float) -> dict:
    """Call times (s) per mode, in alternating blocks of calls."""
    times: dict[int | None, list[float]] = {1: [], None: []}
    for _ in range(blocks):
        for nt in (1, None):
            for _ in range(per_block):
                if gap_s:
                    time.sleep(gap_s)
                t0 = time.perf_counter()
                kernel.call(nt)
                times[nt].append(time.perf_counter() - t0)
    return times


def _spinner() -> subprocess.Popen:
    """Another process keeping one core busy."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def measure(kernel: Kernel, pattern: str, blocks: int, per_block: int) -> Row:
    kernel.call(1)
    kernel.call(None)  # warm-up: pools and teams exist, caches are warm
    spinner = _spinner() if pattern == "loaded" else None
    try:
        if spinner is not None:
            time.sleep(0.2)  # let it take its core
        gap = GAP_S if pattern == "intermittent" else 0.0
        times = _time_blocks(kernel, blocks, per_block, gap)
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    one, default = np.array(times[1]), np.array(times[None])
    return Row(
        kernel.name,
        pattern,
        float(np.median(one)),
        float(np.percentile(one, 95)),
        float(np.median(default)),
        float(np.percentile(default, 95)),
    )


PLAN = {"quick": (1, 3), "default": (3, 10), "full": (6, 10)}  # blocks, calls per block


def run(scale: str, only: str | None = None, progress: Callable[[str], None] | None = None):
    blocks, per_block = PLAN[scale]
    rows = []
    for kernel in kernels(scale):
        if only and only.lower() not in kernel.name.lower():
            continue
        for pattern in PATTERNS:
            if progress is not None:
                progress(f"threads patterns: {kernel.name}, {pattern}")
            rows.append(measure(kernel, pattern, blocks, per_block))
    return rows


def _ms(s: float) -> str:
    return f"{s * 1e3:.3g}"


def table(rows: list[Row]) -> str:
    """A Markdown table (also readable on a console)."""
    lines = [
        "| kernel | pattern | 1 thread median / p95 (ms) | default median / p95 (ms) "
        f"| ratio median | ratio p95 | goal ≤ {GOAL} |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ok = r.median_ratio <= GOAL and r.p95_ratio <= GOAL
        lines.append(
            f"| {r.kernel} | {r.pattern} | {_ms(r.one_median)} / {_ms(r.one_p95)} "
            f"| {_ms(r.default_median)} / {_ms(r.default_p95)} | {r.median_ratio:.2f} "
            f"| {r.p95_ratio:.2f} | {'PASS' if ok else 'FAIL'} |"
        )
    return "\n".join(lines)


def header() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"Threads by default (n_threads=None → {hotloop.effective_n_threads(None)} threads on "
        f"{cpus} usable CPUs) against n_threads=1; ratio = default ÷ one thread, gaps of "
        f"{GAP_S * 1e3:.0f} ms in the intermittent pattern, one core kept busy by another "
        "process in the loaded one."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.patterns", description=__doc__)
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true")
    scale.add_argument("--full", action="store_true")
    parser.add_argument("--only", metavar="SUBSTRING")
    args = parser.parse_args(argv)
    which = "quick" if args.quick else "full" if args.full else "default"
    rows = run(which, args.only, lambda m: print(m, file=sys.stderr, flush=True))
    print(header())
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
