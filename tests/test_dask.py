"""hotloop.dask against the in-memory functions, bit for bit, on the threaded scheduler and on a
real two-process LocalCluster (one worker of which is killed in the middle of a computation)."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.bag as db  # noqa: E402
import hotloop  # noqa: E402
import hotloop.dask as hd  # noqa: E402
from hotloop import deviceapps, records  # noqa: E402

ROLLING = {
    "mean": (hotloop.rolling_mean, hd.rolling_mean),
    "var": (hotloop.rolling_var, hd.rolling_var),
    "std": (hotloop.rolling_std, hd.rolling_std),
}


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each, on the loopback interface; closed at the end."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def threads(arr):
    return arr.compute(scheduler="threads")


def same_bits(a, b):
    """Equal bit patterns (NaN payloads and -0.0 included), same dtype and shape."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    return np.array_equal(a.view(np.uint8), b.view(np.uint8))


def offset_series(n, seed=0, dtype=np.float64):
    # 1e9 + N(0, 1): the data on which add/remove updates and a fresh two-pass differ in their
    # last bits, so an output computed from another block start would show.
    return (1e9 + np.random.default_rng(seed).standard_normal(n)).astype(dtype)


# --------------------------------------------------------------------------------------------
# The optional dependency


def test_import_hotloop_does_not_import_dask():
    code = "import sys, hotloop; hotloop.show_config; assert 'dask' not in sys.modules, 'dask'"
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())


# --------------------------------------------------------------------------------------------
# Rolling windows


def test_block_start_matters():
    """Why each task reads back to the start of an in-memory block: a chunk computed from only
    the window - 1 values before it is close to, but not bitwise, the in-memory result."""
    w, n = 50, 200_000
    x = offset_series(n)
    ref = hotloop.rolling_std(x, w)
    # What map_overlap with depth (w - 1, 0) would compute: each chunk from the w - 1 values
    # before it.
    blocks = []
    start = 0
    for size in (30_001,) * 6 + (n - 6 * 30_001,):
        lo = max(0, start - (w - 1))
        blocks.append(hotloop.rolling_std(x[lo : start + size], w)[start - lo :])
        start += size
    naive_result = np.concatenate(blocks)
    np.testing.assert_allclose(naive_result, ref, rtol=1e-10)
    assert not same_bits(naive_result, ref)
    assert same_bits(threads(hd.rolling_std(da.from_array(x, chunks=30_001), w)), ref)


@pytest.mark.parametrize("stat", sorted(ROLLING))
@pytest.mark.parametrize(
    "chunks",
    [
        # below, at and above the window (merged up to the overlap depth first)
        49,
        50,
        51,
        # at and around the depth 2 * 16384 - 1, straddling in-memory block starts
        32_767,
        (32_767, 40_000, 16_383 + 32_768, 50_001, 70_000),
        (100_000, 32_768, 65_537, 1),
    ],
    ids=lambda c: f"chunks={c}" if isinstance(c, int) else "odd",
)
def test_rolling_threads_bitwise(stat, chunks):
    w = 50
    n = 210_000 if isinstance(chunks, int) else None
    x = offset_series(n or sum(chunks))
    if not isinstance(chunks, int):
        chunks = (chunks,)
    ref_fn, dask_fn = ROLLING[stat]
    kw = {} if stat == "mean" else {"ddof": 1}
    got = threads(dask_fn(da.from_array(x, chunks=chunks), w, **kw))
    assert same_bits(got, ref_fn(x, w, **kw))


def test_rolling_nan_at_chunk_edges():
    w = 40
    n = 200_000
    x = offset_series(n, seed=3)
    chunks = (40_000, 33_000, 45_000, 50_000, n - 168_000)
    edges = np.cumsum(chunks)[:-1]
    for e in edges:
        x[e - 1 : e + 2] = np.nan  # on both sides of every chunk boundary
    x[edges[1] - 25 : edges[1] + 30] = np.nan  # a run longer than the window across one
    x[16_384 - 3 : 16_384 + 3] = np.nan  # and across an in-memory block start
    x[70_000] = np.inf
    x[edges[2] + 5] = np.nan  # only after a boundary, in the tile of the chunk's last outputs
    x[edges[3] + 60] = 1e15  # an outlier there too: the tile fails its error test
    xd = da.from_array(x, chunks=(chunks,))
    for min_periods in (None, 1, 7):
        for ref_fn, dask_fn in ROLLING.values():
            got = threads(dask_fn(xd, w, min_periods=min_periods))
            assert same_bits(got, ref_fn(x, w, min_periods=min_periods))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rolling_nd_any_axis(dtype):
    rng = np.random.default_rng(7)
    x = (100.0 + rng.standard_normal((3, 70_000, 2))).astype(dtype)
    x[1, 33_000:33_010, 0] = np.nan
    xd = da.from_array(x, chunks=(2, (33_000, 37_000), 1))
    for axis in (1, -2):
        got = threads(hd.rolling_var(xd, 30, axis=axis, ddof=1, min_periods=5))
        want = np.moveaxis(
            hotloop.rolling_var(
                np.moveaxis(x, 1, -1).reshape(-1, 70_000), 30, ddof=1, min_periods=5
            ).reshape(3, 2, 70_000),
            -1,
            1,
        )
        assert got.dtype == dtype
        assert same_bits(got, want)
    # Along an axis with several chunks in the other dimensions too; short axis: one chunk.
    got = threads(hd.rolling_mean(xd, 2, axis=0))
    want = np.moveaxis(hotloop.rolling_mean(np.moveaxis(x, 0, -1).reshape(-1, 3), 2), -1, 0)
    assert same_bits(got, want.reshape(x.shape))


def test_rolling_window_longer_than_series_and_large_window():
    x = offset_series(5_000)
    assert same_bits(
        threads(hd.rolling_std(da.from_array(x, chunks=700), 6_000, min_periods=2)),
        hotloop.rolling_std(x, 6_000, min_periods=2),
    )
    # A window above 512: blocks of 32 * window, deeper overlap.
    x = offset_series(800_000, seed=2)
    w = 3_001
    assert hd.rolling_depth(w) == (2 * 32 * w - 1, hd.ROLLING_TILE - 1)
    xd = da.from_array(x, chunks=90_000)
    got = hd.rolling_std(xd, w)
    assert len(got.chunks[0]) > 1 and min(got.chunks[0]) >= 192_063  # merged up to the depth
    assert same_bits(threads(got), hotloop.rolling_std(x, w))


def test_rolling_empty():
    for shape, chunks in [((0,), 5), ((3, 0), (2, 5)), ((0, 40_000), (1, 35_000))]:
        x = np.zeros(shape)
        got = threads(hd.rolling_mean(da.from_array(x, chunks=chunks), 3))
        assert got.shape == shape and same_bits(got, hotloop.rolling_mean(x, 3))


def test_rolling_bad_arguments():
    xd = da.zeros(10, chunks=5)
    with pytest.raises(ValueError, match="window"):
        hd.rolling_std(xd, 0)
    with pytest.raises(ValueError, match="ddof"):
        hd.rolling_std(xd, 3, ddof=3)
    with pytest.raises(TypeError, match="float64, float32"):
        hd.rolling_mean(da.zeros(10, dtype=np.int64, chunks=5), 3)
    with pytest.raises(ValueError, match="axis"):
        hd.rolling_mean(xd, 3, axis=1)


def test_rolling_distributed_bitwise(client):
    x = offset_series(300_000, seed=5)
    x[[32_767, 65_536, 98_000]] = np.nan
    xd = da.from_array(x, chunks=((40_000, 60_001, 32_767, 100_000, 67_232),))
    got = client.compute(hd.rolling_std(xd, 100, ddof=1)).result()
    assert same_bits(got, hotloop.rolling_std(x, 100, ddof=1))


# --------------------------------------------------------------------------------------------
# Escape-time grids


@pytest.mark.parametrize(
    ("width", "height", "chunks"),
    [(211, 97, ((7, 50, 1, 39), (100, 1, 13, 97))), (64, 64, 17), (300, 5, (5, 299))],
)
def test_julia_grid_tiles_equal_whole(width, height, chunks):
    for xlim, ylim in [((-1.8, 1.8), (-1.8, 1.8)), ((-0.3141, 0.2718), (-0.1, 0.7))]:
        kw = {"xlim": xlim, "ylim": ylim, "maxiter": 200}
        c = -0.62772 - 0.42193j
        got = threads(hd.julia_grid(c, width, height, chunks=chunks, **kw))
        assert same_bits(got, hotloop.julia_grid(c, width, height, **kw))
        got = threads(hd.mandelbrot_grid(width, height, chunks=chunks, **kw))
        assert same_bits(got, hotloop.mandelbrot_grid(width, height, **kw))


def test_grid_distributed_and_bad_arguments(client):
    tiles = hd.mandelbrot_grid(333, 251, chunks=(100, 77), maxiter=500)
    assert same_bits(client.compute(tiles).result(), hotloop.mandelbrot_grid(333, 251, maxiter=500))
    with pytest.raises(ValueError, match="width"):
        hd.julia_grid(0.3j, 0)
    with pytest.raises(ValueError, match="maxiter"):
        hd.mandelbrot_grid(10, maxiter=-1)
    with pytest.raises(ValueError, match="too narrow"):
        hd.mandelbrot_grid(10, xlim=(0.0, 5e-324))


# --------------------------------------------------------------------------------------------
# Diffusion


def hot_grid(ny, nx, dtype=np.float64, seed=0):
    g = np.random.default_rng(seed).random((ny, nx)).astype(dtype)
    g[ny // 3 : ny // 2, nx // 4 : nx // 2] = 50.0
    return g


@pytest.mark.parametrize("boundary", ["fixed", "periodic"])
@pytest.mark.parametrize("k", [1, 4, 9])
def test_diffuse_threads_bitwise(boundary, k):
    g = hot_grid(61, 83)
    gd = da.from_array(g, chunks=((20, 11, 30), (9, 40, 34)))
    got = threads(hd.diffuse(gd, 23, boundary=boundary, steps_per_exchange=k, dt=0.2))
    assert same_bits(got, hotloop.diffuse(g, 23, boundary=boundary, dt=0.2))


def test_diffuse_float32_small_chunks_and_zero_steps():
    g = hot_grid(40, 33, np.float32, seed=4)
    gd = da.from_array(g, chunks=(3, 5))  # below k: merged
    got = hd.diffuse(gd, 17, boundary="periodic", steps_per_exchange=6)
    assert min(min(c) for c in got.chunks) >= 6
    assert same_bits(threads(got), hotloop.diffuse(g, 17, boundary="periodic"))
    assert same_bits(threads(hd.diffuse(gd, 0)), g)
    with pytest.raises(ValueError, match="unstable"):
        hd.diffuse(gd, 3, dt=1.0)
    with pytest.raises(ValueError, match="boundary"):
        hd.diffuse(gd, 3, boundary="reflect")
    with pytest.raises(ValueError, match="2-D"):
        hd.diffuse(da.zeros(9, chunks=3), 3)


def test_diffuse_default_k():
    g = hot_grid(48, 64)
    gd = da.from_array(g, chunks=(16, 32))  # default k: min(100, 16 // 4) = 4 -> 3 rounds
    out = hd.diffuse(gd, 12)
    assert out.chunks == gd.chunks
    assert same_bits(threads(out), hotloop.diffuse(g, 12))
    assert hd.DEFAULT_STEPS_PER_EXCHANGE == 100


def test_diffuse_distributed_bitwise(client):
    g = hot_grid(130, 101, seed=9)
    gd = da.from_array(g, chunks=(45, 34))
    for boundary in ("fixed", "periodic"):
        got = client.compute(hd.diffuse(gd, 30, boundary=boundary, steps_per_exchange=8))
        assert same_bits(got.result(), hotloop.diffuse(g, 30, boundary=boundary))


# --------------------------------------------------------------------------------------------
# Threads per task


def test_task_n_threads_rules(client):
    usable = hotloop.effective_n_threads(None)
    assert hd.task_n_threads(1) == 1
    with dask.config.set({hd.CONFIG_KEY: 1}):
        assert hd.task_n_threads() == 1
    # The synchronous scheduler runs one task at a time: all usable CPUs.
    assert dask.delayed(hd.task_n_threads)().compute(scheduler="sync") == usable
    # The threaded scheduler runs pool-size tasks at once.
    with dask.config.set(num_workers=1):
        assert dask.delayed(hd.task_n_threads)().compute(scheduler="threads") == usable
    with dask.config.set(num_workers=64):
        assert dask.delayed(hd.task_n_threads)().compute(scheduler="threads") == 1
    # The nanny starts workers with OMP_NUM_THREADS=1: one hotloop thread per task.
    assert client.submit(hd.task_n_threads, pure=False).result() == 1
    assert client.submit(hd.task_n_threads, 2, pure=False).result() == min(2, os.cpu_count())


# --------------------------------------------------------------------------------------------
# A worker killed in the middle of a computation


def slow_copy(block, seconds):
    time.sleep(seconds)
    return block.copy()


def worker_pids(client):
    return client.run(os.getpid)


def kill_one_worker_when_busy(client, timeout=20.0):
    """SIGKILL a worker process that is running a task; returns its address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processing = client.processing()
        busy = [addr for addr, keys in processing.items() if keys]
        if busy:
            pid = worker_pids(client)[busy[0]]
            os.kill(pid, signal.SIGKILL)
            return busy[0]
        time.sleep(0.05)
    raise AssertionError("no worker became busy")


def wait_for_workers(client, n=2, timeout=180.0):
    # The nanny's replacement of a killed worker imports dask, NumPy and hotloop afresh: over
    # half a minute when the machine is loaded (seen in CI), a second or two when it is idle.
    client.wait_for_workers(n, timeout=timeout)


def test_worker_killed_mid_rolling_is_retried_exactly(client):
    x = offset_series(400_000, seed=11)
    xd = da.from_array(x, chunks=50_000).map_blocks(slow_copy, 0.3, dtype=x.dtype)
    future = client.compute(hd.rolling_std(xd, 64))
    time.sleep(0.4)
    kill_one_worker_when_busy(client)
    got = future.result(timeout=60)
    assert same_bits(got, hotloop.rolling_std(x, 64))
    wait_for_workers(client)


def slow_records(n, seed, seconds, fail_at=None):
    rng = np.random.default_rng(seed)
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"record source failed at {i}")
        if seconds:
            time.sleep(seconds)
        yield {
            "device": {"type": "idfa", "id": f"{seed:04d}-{i:06d}"},
            "lat": float(rng.uniform(-90, 90)),
            "lon": float(rng.uniform(-180, 180)),
            "apps": [int(a) for a in rng.integers(0, 2**32, rng.integers(0, 5))],
        }


def record_bag(sizes, seconds=0.0, fail=None):
    """A bag with one partition per size, built lazily by slow_records."""
    return db.from_sequence(list(enumerate(sizes)), partition_size=1).map_partitions(
        lambda items: (
            r
            for seed, n in items
            for r in slow_records(n, seed, seconds, fail_at=(fail if seed == 1 else None))
        )
    )


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_bag_worker_killed_leaves_whole_files(client, tmp_path):
    sizes = [40, 60, 50, 30]
    bag = record_bag(sizes, seconds=0.02)
    future = client.compute(hd.write_bag(bag, tmp_path / "part-*.pb.gz", compute=False))
    time.sleep(0.3)
    kill_one_worker_when_busy(client)
    time.sleep(0.1)
    # The killed worker was writing: its temporary file is still there, under a hidden name.
    assert [n for n in listing(tmp_path) if n.startswith(".part-") and n.endswith(".tmp")]
    written = future.result()
    assert written == [str(tmp_path / f"part-{i}.pb.gz") for i in range(4)]
    for i, path in enumerate(written):
        assert list(deviceapps.read(path)) == list(slow_records(sizes[i], i, 0))
    # A killed writer's temporary file was removed by the retry that replaced it.
    assert listing(tmp_path) == [f"part-{i}.pb.gz" for i in range(4)]
    wait_for_workers(client)


def test_write_bag_failure_leaves_no_partial_file(tmp_path):
    bag = record_bag([30, 30, 30], fail=10)
    with pytest.raises(RuntimeError, match="record source failed at 10"):
        hd.write_bag(bag, tmp_path / "out-*.pb.gz")
    names = listing(tmp_path)
    assert "out-1.pb.gz" not in names
    assert not [n for n in names if n.endswith(".tmp")]
    for name in names:  # the partitions that finished are whole
        i = int(name.split("-")[1].split(".")[0])
        assert list(deviceapps.read(tmp_path / name)) == list(slow_records(30, i, 0))


# --------------------------------------------------------------------------------------------
# Record files


def test_read_bag_round_trip(client, tmp_path):
    sizes = [25, 0, 40]
    paths = []
    for i, n in enumerate(sizes):
        path = tmp_path / f"in-{i}.pb.gz"
        deviceapps.write(slow_records(n, i, 0), path)
        paths.append(str(path))
    bag = hd.read_bag(paths)
    assert bag.npartitions == 3
    want = [r for i, n in enumerate(sizes) for r in slow_records(n, i, 0)]
    assert bag.compute(scheduler="threads") == want
    assert client.compute(hd.read_bag(str(tmp_path / "in-*.pb.gz"))).result() == want
    # write_bag then read_bag: the same records, partition for partition.
    out = hd.write_bag(bag, tmp_path / "copy-*.pb.gz", name_function="{:03d}".format)
    assert [os.path.basename(p) for p in out] == [
        "copy-000.pb.gz",
        "copy-001.pb.gz",
        "copy-002.pb.gz",
    ]
    assert hd.read_bag(out).compute(scheduler="threads") == want
    with pytest.raises(ValueError, match="exactly one"):
        hd.write_bag(bag, tmp_path / "no-star.pb.gz")


def test_get_counters_tree_reduction(client, tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for i in range(7):
        n = int(rng.integers(0, 3000))
        ids = rng.integers(0, 2000, n)  # overlapping ids across files
        shows = rng.integers(0, 5, n)
        clicks = rng.integers(0, 3, n)
        path = tmp_path / f"counts-{i}.bin{'.gz' if i % 2 else ''}"
        records.write_counts(path, ids, shows, clicks, compression="gzip" if i % 2 else None)
        paths.append(str(path))
    want = records.get_counters(paths, "idfa", 42)
    for per, fan_in in [(1, 2), (2, 3), (7, 8)]:
        got = hd.get_counters(paths, "idfa", 42, files_per_task=per, split_every=fan_in)
        assert got == want  # default scheduler: threads (no default client is set)
    item = hd.get_counters(str(tmp_path / "counts-*"), "idfa", 42, as_json=True, compute=False)
    assert client.compute(item).result() == records.get_counters(paths, "idfa", 42, as_json=True)
    with pytest.raises(FileNotFoundError):
        hd.get_counters(str(tmp_path / "none-*"), "idfa", 1)


def test_read_bag_member_ranges(client, tmp_path):
    sizes = [300, 0, 120]
    paths = []
    for i, n in enumerate(sizes):
        path = tmp_path / f"big-{i}.pb.gz"
        deviceapps.write(slow_records(n, i, 0), path, block_size=500)
        paths.append(str(path))
    want = [r for p in paths for r in deviceapps.read(p)]
    total = sum(os.path.getsize(p) for p in paths)
    members = [len(deviceapps.member_ranges(p, 1)) for p in paths]
    assert members[0] > 10
    for target in (1, 3 * total // sum(members), 10 * total):
        bag = hd.read_bag(paths, partition_bytes=target)
        n_parts = sum(len(deviceapps.member_ranges(p, target)) for p in paths)
        assert bag.npartitions == n_parts
        if target == 1:
            assert n_parts == sum(members)
        if target == 10 * total:
            assert n_parts == len(paths)
        assert client.compute(bag).result() == want
    # file order, then member order, partition by partition
    bag = hd.read_bag(paths, partition_bytes=1)
    parts = dask.compute(*bag.to_delayed(), scheduler="sync")
    assert [r for part in parts for r in part] == want
    assert sum(1 for part in parts if part) > 10
    # another writer's gzip file is one partition, read whole
    foreign = tmp_path / "foreign.pb.gz"
    with open(paths[0], "rb") as f:
        data = gzip.decompress(f.read())
    half = len(data) // 2
    # cut at a record boundary, so that both members hold whole records
    cut = next(p for p in _record_offsets(data) if p >= half)
    foreign.write_bytes(gzip.compress(data[:cut], mtime=0) + gzip.compress(data[cut:], mtime=0))
    bag = hd.read_bag([str(foreign)], partition_bytes=1)
    assert bag.npartitions == 1
    assert client.compute(bag).result() == list(deviceapps.read(paths[0]))


def _record_offsets(data):
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += 8 + int.from_bytes(data[pos + 6 : pos + 8], "little")
    return offsets


def test_read_bag_member_ranges_damage(client, tmp_path):
    path = tmp_path / "damaged.pb.gz"
    deviceapps.write(slow_records(200, 7, 0), path, block_size=400)
    blob = bytearray(path.read_bytes())
    ranges = deviceapps.member_ranges(path, 1)
    begin, end, _ = ranges[len(ranges) // 2]
    blob[(begin + end) // 2] ^= 0x55  # inside one member's deflate data
    path.write_bytes(bytes(blob))
    with pytest.raises(deviceapps.DamagedFileError) as whole:
        list(deviceapps.read(path))
    bag = hd.read_bag(str(path), partition_bytes=1)
    with pytest.raises(type(whole.value), match=rf"file bytes \[{begin}, {end}\)"):
        client.compute(bag).result()
    # the other partitions read as they are
    parts = bag.to_delayed()
    for i, (b, _, _) in enumerate(deviceapps.member_ranges(path, 1)):
        if b != begin:
            parts[i].compute(scheduler="sync")
    # truncated between members and inside one: the error class of the whole-file reader
    for cut in (begin, begin + 40):
        path.write_bytes(bytes(blob[:cut]))
        with pytest.raises(deviceapps.DamagedFileError) as whole:
            list(deviceapps.read(path))
        with pytest.raises(type(whole.value)):
            hd.read_bag(str(path), partition_bytes=1000).compute(scheduler="sync")


def test_read_bag_partition_bytes_arguments(tmp_path):
    path = tmp_path / "a.pb.gz"
    deviceapps.write(slow_records(5, 0, 0), path)
    assert hd.read_bag(str(path)).npartitions == 1
    with pytest.raises(FileNotFoundError):
        hd.read_bag([str(tmp_path / "missing.pb.gz")], partition_bytes=1 << 20)
    with pytest.raises(FileNotFoundError):  # found by the task when the file is not cut now
        hd.read_bag([str(tmp_path / "missing.pb.gz")]).compute(scheduler="sync")
    with pytest.raises(ValueError, match="partition_bytes"):
        hd.read_bag(str(path), partition_bytes=0)
    with pytest.raises(TypeError, match="partition_bytes"):
        hd.read_bag(str(path), partition_bytes=1.5)
    empty = tmp_path / "empty.pb.gz"
    empty.write_bytes(b"")
    bag = hd.read_bag([str(empty), str(path)], partition_bytes=1)
    assert bag.npartitions == 2
    assert bag.compute(scheduler="sync") == list(deviceapps.read(path))
