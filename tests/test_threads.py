"""The thread-count helper and the build facts (OpenMP, SIMD dispatch)."""

import os
import subprocess
import sys

import hotloop
import numpy as np
import pytest
from hotloop._threads import usable_cpu_count


def test_openmp_is_built_in():
    """CI (HOTLOOP_FAIL_NO_OPENMP=1) must never ship a serial build by accident."""
    if os.environ.get("CI") or os.environ.get("HOTLOOP_FAIL_NO_OPENMP") == "1":
        assert hotloop.openmp_enabled(), "hotloop was built without OpenMP"
    assert isinstance(hotloop.openmp_enabled(), bool)


def test_simd_level_is_reported():
    assert hotloop.simd_level() in {"avx512f", "avx2", "baseline"}
    cpu = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    if " avx512f" in cpu:
        assert hotloop.simd_level() == "avx512f"
    elif " avx2" in cpu:
        assert hotloop.simd_level() == "avx2"


@pytest.mark.skipif(not hotloop.openmp_enabled(), reason="serial build: always 1")
def test_effective_n_threads_values():
    cpus = usable_cpu_count()
    assert hotloop.effective_n_threads(1) == 1
    assert hotloop.effective_n_threads(3) == min(3, cpus)
    assert hotloop.effective_n_threads(10**9) == cpus  # capped at the usable CPUs
    assert hotloop.effective_n_threads(2**64 + 3) == cpus
    assert hotloop.effective_n_threads(-1) == cpus
    assert hotloop.effective_n_threads(-cpus) == 1
    assert hotloop.effective_n_threads(-cpus - 5) == 1
    assert hotloop.effective_n_threads(np.int64(2)) == 2
    assert 1 <= hotloop.effective_n_threads(None) <= cpus


@pytest.mark.skipif(
    not hotloop.openmp_enabled() or not hasattr(os, "sched_setaffinity") or usable_cpu_count() < 2,
    reason="needs OpenMP, sched_setaffinity and 2 CPUs",
)
def test_effective_n_threads_follows_the_affinity_mask():
    """The usable-CPU count is cached for at most 0.1 s: a narrowed affinity mask is seen."""
    script = (
        "import os, time, hotloop\n"
        "before = hotloop.effective_n_threads(-1)\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "time.sleep(0.15)\n"
        "print(before, hotloop.effective_n_threads(-1), hotloop.effective_n_threads(None), "
        "hotloop.effective_n_threads(5))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, after, default, five = map(int, out.stdout.split())
    assert before == usable_cpu_count()
    assert (after, default, five) == (1, 1, 1)


@pytest.mark.parametrize(
    ("value", "exc", "match"),
    [
        (0, ValueError, "n_threads=0"),
        (1.5, TypeError, "got float"),
        ("2", TypeError, "got str"),
        (True, TypeError, "got bool"),
    ],
)
def test_effective_n_threads_bad(value, exc, match):
    with pytest.raises(exc, match=match):
        hotloop.effective_n_threads(value)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_huge_n_threads_starts_no_more_threads_than_cpus():
    """n_threads=10**9 once started threads until creation failed and killed the process."""
    script = (
        "import os, numpy as np, hotloop\n"
        "hotloop.julia_grid(-0.62772 - 0.42193j, 64, n_threads=10**9)\n"
        "hotloop.rolling_std(np.ones(10**6), 5, n_threads=10**9)\n"
        "print(len(os.listdir('/proc/self/task')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(out.stdout) <= usable_cpu_count() + 2


@pytest.mark.skipif(not hotloop.openmp_enabled(), reason="serial build")
@pytest.mark.parametrize(("env", "expected"), [("1", 1), ("2", 2), ("64", None)])
def test_none_honours_omp_num_threads(env, expected):
    code = (
        "import hotloop; from hotloop._threads import usable_cpu_count; "
        "print(hotloop.effective_n_threads(None), usable_cpu_count())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "OMP_NUM_THREADS": env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    got, cpus = int(out[0]), int(out[1])
    assert got == (min(int(env), cpus) if expected is None else min(expected, cpus))


def test_show_config(capsys):
    info = hotloop.show_config()
    assert info["openmp"] == hotloop.openmp_enabled()
    assert "simd" in capsys.readouterr().out


def _threads_after(script: str) -> int:
    """The number of threads of a fresh interpreter after running script."""
    out = subprocess.run(
        [sys.executable, "-c", script + "\nimport os\nprint(len(os.listdir('/proc/self/task')))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.skipif(usable_cpu_count() < 2, reason="needs 2 CPUs")
def test_one_pool_serves_every_module():
    """ws_mask, julia_grid and mandelbrot_grid live in different extension modules; their
    parallel calls share the process's one pool (at most usable CPUs - 1 helper threads)."""
    base = _threads_after("import hotloop")
    used = _threads_after(
        "import hotloop\n"
        "data = bytes(16 << 20)\n"
        "for _ in range(3):\n"
        "    hotloop.ws_mask(data, b'abcd', n_threads=2)\n"
        "    hotloop.julia_grid(0.3j, 300, n_threads=2)\n"
        "    hotloop.mandelbrot_grid(300, n_threads=2)\n"
    )
    assert base < used <= base + usable_cpu_count() - 1


@pytest.mark.skipif(not hotloop.openmp_enabled(), reason="serial build")
def test_threadpoolctl_openmp_limit_caps_the_default():
    """threadpoolctl's OpenMP limit (what scikit-learn users set) caps n_threads=None, also for
    the kernels whose threads are hotloop's own pool, and starts no helper thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    script = (
        "import threadpoolctl, hotloop\n"
        "with threadpoolctl.threadpool_limits(1, user_api='openmp'):\n"
        "    assert hotloop.effective_n_threads(None) == 1, hotloop.effective_n_threads(None)\n"
        "    hotloop.ws_mask(bytes(16 << 20), b'abcd')\n"
        "    hotloop.julia_grid(0.3j, 300)\n"
    )
    assert threadpoolctl is not None
    base = _threads_after("import threadpoolctl, hotloop")
    assert _threads_after(script) == base
