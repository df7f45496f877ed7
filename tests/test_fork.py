"""Every parallel kernel after fork: a parent that ran it on several threads forks, and the child's
calls finish and give the parent's results.

libgomp cannot start a team in the child of a process that had one (its helper threads do not
exist there, and the child waits for them forever); hotloop's own pool starts afresh in the
child. Each way a user forks is covered: os.fork, multiprocessing's "fork" start method
(Python 3.11-3.13's default on Linux) with Pool.map, and ProcessPoolExecutor. A hang fails the
test after a timeout instead of blocking the run.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
from concurrent.futures import ProcessPoolExecutor

import hotloop
import numpy as np
import pytest
from hotloop import deviceapps, records

# Generous: the CI machine is shared; a hang is forever, a slow child is seconds.
TIMEOUT_S = 120

_TMP: str | None = None  # the parent's temporary folder, seen by forked children


def _data():
    rng = np.random.default_rng(7)
    return {
        "bytes": rng.integers(0, 256, 3 << 20, dtype=np.uint8).tobytes(),
        "series": rng.standard_normal((4, 200_000)),
        "points": rng.uniform(-1.5, 1.5, 40_000) + 1j * rng.uniform(-1.5, 1.5, 40_000),
        "grid": rng.uniform(0, 1, (256, 256)),
        "lat": rng.uniform(-90, 90, 50_000),
        "lon": rng.uniform(-180, 180, 50_000),
    }


def _case_ws_mask(d, nt):
    return hotloop.ws_mask(d["bytes"], b"abcd", n_threads=nt)


def _case_julia(d, nt):
    return hotloop.julia(d["points"], -0.62772 - 0.42193j, 300, n_threads=nt)


def _case_julia_grid(d, nt):
    return hotloop.julia_grid(-0.62772 - 0.42193j, 300, maxiter=200, n_threads=nt)


def _case_mandelbrot_grid(d, nt):
    return hotloop.mandelbrot_grid(300, maxiter=200, n_threads=nt)


def _case_rolling_std(d, nt):
    return hotloop.rolling_std(d["series"], 50, n_threads=nt)


def _case_rolling_mean(d, nt):
    return hotloop.rolling_mean(d["series"], 1000, n_threads=nt)


def _case_rolling_median(d, nt):
    return hotloop.rolling_median(d["series"], 51, n_threads=nt)


def _case_rolling_kurt(d, nt):
    return hotloop.rolling_kurt(d["series"], 50, n_threads=nt)


def _case_rolling_corr(d, nt):
    return hotloop.rolling_corr(d["series"], d["series"][::-1], 50, n_threads=nt)


def _case_ewm_std(d, nt):
    return hotloop.ewm_std(d["series"], span=20, n_threads=nt)


def _case_ewm_corr(d, nt):
    return hotloop.ewm_corr(d["series"], d["series"][::-1], halflife=30.0, n_threads=nt)


def _case_targets_negative(d, nt):
    out = os.path.join(_TMP, f"negative-{os.getpid()}-{nt}.txt")
    n = hotloop.records.targets_negative(
        os.path.join(_TMP, "all.txt"), os.path.join(_TMP, "in.txt"), out, n_threads=nt
    )
    with open(out, "rb") as f:
        text = f.read()
    os.unlink(out)
    return (n, text)


def _case_diffuse(d, nt):
    return hotloop.diffuse(d["grid"], 40, n_threads=nt)


def _case_get_counters(d, nt):
    paths = [os.path.join(_TMP, f"counts{k}.gz") for k in range(2)]
    return hotloop.records.get_counters(paths, "t", 1, n_threads=nt)


def _case_deviceapps(d, nt):
    path = os.path.join(_TMP, f"apps-{os.getpid()}-{nt}.pb.gz")
    recs = [
        {
            "device": {"type": "idfa", "id": f"id{k}"},
            "lat": k / 7,
            "lon": -k / 9,
            "apps": [k, k + 1],
        }
        for k in range(3000)
    ]
    deviceapps.write(recs, path, n_threads=nt, block_size=4096)
    out = [(r["device"]["id"], r["apps"]) for r in deviceapps.read(path)]
    os.unlink(path)
    return out


def _case_latlng_to_cell(d, nt):
    from hotloop import geo

    return geo.latlng_to_cell(d["lat"], d["lon"], n_threads=nt)


CASES = {
    name[len("_case_") :]: fn for name, fn in sorted(globals().items()) if name.startswith("_case_")
}


def _geo_available():
    try:
        import hotloop.geo  # noqa: F401
    except ImportError:
        return False
    return True


def _names():
    return [n for n in CASES if n != "latlng_to_cell" or _geo_available()]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=True)
        )
    return a == b


def _run(name):
    """In a child: the case on 2 threads and on the default, pickled for the parent."""
    d = _data()
    return pickle.dumps([CASES[name](d, 2), CASES[name](d, None)])


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """The results of every case in the parent, which runs each on two threads first (so that
    every thread pool and OpenMP team the kernels use exists before the fork)."""
    global _TMP
    _TMP = str(tmp_path_factory.mktemp("fork"))
    rng = np.random.default_rng(3)
    for k in range(2):
        ids = rng.integers(0, 50_000, 200_000, dtype=np.uint64)
        shows = rng.integers(0, 3, ids.size, dtype=np.uint16)
        clicks = rng.integers(0, 2, ids.size, dtype=np.uint16)
        records.write_counts(os.path.join(_TMP, f"counts{k}.gz"), ids, shows, clicks)
    # Key files of a few MiB: enough input for targets_negative to share it between threads.
    keys = rng.integers(0, 10**9, 400_000)
    with open(os.path.join(_TMP, "all.txt"), "w") as f:
        f.write("key\n" + "\n".join(map(str, keys.tolist())) + "\n")
    with open(os.path.join(_TMP, "in.txt"), "w") as f:
        f.write("key\n" + "\n".join(map(str, keys[::3].tolist())) + "\n")
    d = _data()
    out = {}
    for name in _names():
        first = CASES[name](d, 2)
        out[name] = first
        again = CASES[name](d, 1)
        assert _same(first, again), f"{name}: 2 threads and 1 thread differ in the parent"
    return out


def _check(name, payload, expected):
    two, default = pickle.loads(payload)
    assert _same(two, expected[name]), f"{name}: the child's 2-thread result differs"
    assert _same(default, expected[name]), f"{name}: the child's default result differs"


def test_os_fork(expected):
    names = _names()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(r)
            with os.fdopen(w, "wb") as f:
                pickle.dump({n: _run(n) for n in names}, f)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    deadline = time.monotonic() + TIMEOUT_S
    chunks = []
    with os.fdopen(r, "rb") as f:
        os.set_blocking(f.fileno(), False)
        while True:
            try:
                block = f.read()
            except BlockingIOError:
                block = None
            if block:
                chunks.append(block)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                rest = f.read()
                if rest:
                    chunks.append(rest)
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"the forked child hung (> {TIMEOUT_S} s)")
            time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0, "the forked child failed"
    results = pickle.loads(b"".join(chunks))
    for name in names:
        _check(name, results[name], expected)


def test_multiprocessing_pool_fork(expected):
    ctx = multiprocessing.get_context("fork")
    names = _names()
    with ctx.Pool(2) as pool:
        payloads = pool.map_async(_run, names).get(timeout=TIMEOUT_S)
    for name, payload in zip(names, payloads, strict=True):
        _check(name, payload, expected)


def test_process_pool_executor_fork(expected):
    ctx = multiprocessing.get_context("fork")
    names = _names()
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        futures = {name: ex.submit(_run, name) for name in names}
        for name, fut in futures.items():
            _check(name, fut.result(timeout=TIMEOUT_S), expected)


def test_every_parallel_kernel_is_covered():
    """A new public function with n_threads must be added to CASES."""
    import inspect

    public = set()
    for mod in (hotloop, hotloop.records, hotloop.deviceapps):
        for name in getattr(mod, "__all__", dir(mod)):
            fn = getattr(mod, name, None)
            if callable(fn) and not isinstance(fn, type):
                try:
                    params = inspect.signature(fn).parameters
                except (TypeError, ValueError):
                    continue
                if "n_threads" in params:
                    public.add(name)
    covered = {
        "ws_mask",
        "julia",
        "julia_grid",
        "mandelbrot_grid",
        "rolling_std",
        "rolling_mean",
        "diffuse",
        "get_counters",
        "targets_negative",
        "write",
    }
    # Same drivers as a covered function: read by the same code paths.
    same_driver = {
        "rolling_var": "rolling_std",
        "ewm_mean": "ewm_std",
        "ewm_var": "ewm_std",
        "ewm_cov": "ewm_corr",
        "count_records": "get_counters",
        "write_raw": "write",
    }
    # The moving-window functions run on four drivers: the moments one (rolling_std, rolling_mean),
    # the order-statistics one (rolling_median), the shape one (rolling_kurt) and the pair one
    # (rolling_corr). effective_n_threads is no kernel.
    covered |= {"rolling_median", "rolling_kurt", "rolling_corr", "effective_n_threads"}
    # The exponentially weighted ones on one driver, for one series (ewm_std) or two (ewm_corr).
    covered |= {"ewm_std", "ewm_corr"}
    windows = {n for n in public if n.startswith(("rolling_", "move_"))}
    missing = {n for n in public if n not in covered and n not in same_driver} - windows
    assert not missing, f"parallel functions without a fork test: {sorted(missing)}"
