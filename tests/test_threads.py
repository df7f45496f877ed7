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
