"""The build in bad environments (tools/hotloop_build.py): what a source build says and does
when the machine lacks a compiler, Python's headers, a system library, OpenMP or the optional
S2 package. The decisions are tested with fake probes (no compiler runs); one real build with a
compiler that cannot do OpenMP runs only when HOTLOOP_SLOW_TESTS=1 (a few minutes).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import hotloop_build as hb

ROOT = Path(__file__).resolve().parent.parent
ALL = list(hb.MODULES)
SLOW = os.environ.get("HOTLOOP_SLOW_TESTS") == "1"


def fake_probe(lacking=(), compiler=True, calls=None):
    """probe(headers, libraries, include_dirs) that fails when it includes or links anything
    in `lacking` (header names or library names), or always when there is no compiler."""

    def probe(headers, libraries, include_dirs):
        if calls is not None:
            calls.append((tuple(headers), tuple(libraries)))
        if not compiler:
            return False, "the compiler could not run: [Errno 2] No such file or directory: 'c++'"
        bad = [x for x in [*headers, *libraries] if x in lacking]
        if bad:
            return False, f"`c++ ...` failed: fatal error: {bad[0]}: No such file or directory"
        return True, ""

    return probe


@pytest.fixture
def no_ci(monkeypatch):
    for var in ("CI", "HOTLOOP_FAIL_NO_OPENMP", "HOTLOOP_DISABLE_OPENMP", "HOTLOOP_MODULES"):
        monkeypatch.delenv(var, raising=False)


def test_everything_present_is_one_probe():
    calls = []
    assert hb.missing_requirements(ALL, fake_probe(calls=calls)) == []
    assert len(calls) == 1  # one compile-and-link of every header and library
    headers, libraries = calls[0]
    assert set(headers) == {"Python.h", "libdeflate.h", "zlib.h", "lz4.h", "isa-l.h"}
    assert set(libraries) == {"deflate", "z", "lz4", "isal"}


def test_modules_without_libraries_probe_none():
    calls = []
    assert hb.missing_requirements(["hotloop._moments"], fake_probe(calls=calls)) == []
    assert calls == [(("Python.h",), ())]


@pytest.mark.parametrize(
    ("lacking", "debian"),
    [
        (["lz4.h"], ["liblz4-dev"]),
        (["deflate"], ["libdeflate-dev"]),  # the header is there, the library to link is not
        (["libdeflate.h", "lz4"], ["libdeflate-dev", "liblz4-dev"]),
        (["Python.h"], ["python3-dev"]),
    ],
)
def test_a_missing_library_is_named_with_its_package(lacking, debian):
    missing = hb.missing_requirements(ALL, fake_probe(lacking))
    assert [m.debian for m in missing] == debian
    message = hb.source_build_message(missing)
    for package in debian:
        assert f"install {package} (Debian/Ubuntu)" in message
    assert f"On Debian/Ubuntu: sudo apt-get install {' '.join(debian)}" in message
    assert "fatal error" in message  # the probe's reason, one line per requirement
    assert "pip >= 20.3 to use the binary wheel" in message


def test_no_compiler_is_named_alone():
    missing = hb.missing_requirements(ALL, fake_probe(compiler=False))
    assert [(m.what, m.debian, m.fedora) for m in missing] == [
        ("a C++17 compiler", "g++", "gcc-c++")
    ]
    message = hb.source_build_message(missing)
    assert "sudo apt-get install g++" in message
    assert "No such file or directory: 'c++'" in message


def test_the_wheel_advice_of_an_old_pip():
    """pip < 20.3 cannot read the wheel's manylinux_2_35 tag and falls back to the sdist: the
    build that then fails says what to install and how to get the wheel instead."""
    message = hb.source_build_message(
        [hb.Missing("<lz4.h> and liblz4.so", "liblz4-dev", "lz4-devel", "no lz4.h")]
    )
    assert message.startswith("hotloop: building from source needs what this machine lacks:")
    assert "pip >= 20.3 to use the binary wheel" in message
    assert "manylinux_2_35" in message
    assert "python -m pip install -U pip" in message
    assert "glibc >= 2.35" in message


def test_a_missing_library_stops_the_build_before_anything_compiles(monkeypatch, no_ci):
    monkeypatch.setattr(hb, "probe_program", fake_probe(["lz4.h"]))

    def no_openmp_probe(*args, **kwargs):
        raise AssertionError("the OpenMP probe ran before the requirements were checked")

    monkeypatch.setattr(hb, "probe_openmp", no_openmp_probe)
    with pytest.raises(SystemExit) as stop:
        hb.extensions()
    assert "<lz4.h> and liblz4.so: install liblz4-dev" in str(stop.value.code)
    # a quick rebuild of a module that needs no lz4 is not stopped by it
    monkeypatch.setenv("HOTLOOP_MODULES", "hotloop._deviceapps")
    assert [e.name for e in hb.extensions(omp=[])] == ["hotloop._deviceapps"]


def test_without_s2_only_geo_is_skipped(monkeypatch, no_ci):
    monkeypatch.setattr(hb, "probe_program", fake_probe())
    need = dict(hb.OPTIONAL["hotloop._geo"], python_package="no_such_package_hl")
    monkeypatch.setitem(hb.OPTIONAL, "hotloop._geo", need)
    monkeypatch.setattr(hb, "SKIPPED_NOTES", {})
    with pytest.warns(UserWarning, match=r"skipping hotloop._geo.*pip install no_such_package_hl"):
        exts = hb.extensions(omp=["-fopenmp"])
    assert sorted(e.name for e in exts) == sorted(set(ALL) - {"hotloop._geo"})
    note = hb.SKIPPED_NOTES["hotloop._geo"]
    assert "for hotloop.geo pip install no_such_package_hl, then rebuild" in note
    # CI: every family must build
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit, match="CI: every family must build"):
        hb.extensions(omp=["-fopenmp"])


def test_without_openmp_a_warning_names_what_to_install(monkeypatch, no_ci):
    reason = "`c++ -fopenmp ...` failed:\nprobe.cpp:2:10: fatal error: omp.h: No such file"
    monkeypatch.setattr(hb, "probe_openmp", lambda flag="-fopenmp": (False, reason))
    monkeypatch.setattr(hb, "OPENMP_NOTE", None)
    with pytest.warns(UserWarning) as caught:
        assert hb.openmp_flags() == []
    text = str(caught[0].message)
    assert "built WITHOUT OpenMP" in text
    assert "fatal error: omp.h: No such file" in text
    assert "apt-get install g++ libgomp1" in text
    assert "libomp-dev" in text
    assert "one thread" in text
    assert hb.OPENMP_NOTE in text
    monkeypatch.setenv("HOTLOOP_FAIL_NO_OPENMP", "1")
    with pytest.raises(SystemExit, match="OpenMP is required"):
        hb.openmp_flags()


def test_build_info_carries_the_notes(monkeypatch):
    from setuptools import Extension

    monkeypatch.setattr(hb, "OPENMP_NOTE", "built WITHOUT OpenMP: ...")
    monkeypatch.setattr(hb, "SKIPPED_NOTES", {"hotloop._geo": "skipping hotloop._geo: ..."})
    ext = Extension("hotloop._moments", sources=[], extra_compile_args=[])
    info = hb.build_info([ext])
    assert info["openmp"] is False
    assert info["notes"] == ["built WITHOUT OpenMP: ...", "skipping hotloop._geo: ..."]


def test_show_config_notes_what_a_build_lacks():
    import hotloop
    from hotloop import _config

    if hotloop.openmp_enabled():
        assert _config.notes({"notes": []}) == []
    else:
        assert "OpenMP" in _config.notes({})[0]
    assert _config.notes({"notes": ["skipping hotloop._geo: x"]})[-1] == "skipping hotloop._geo: x"


# --------------------------------------------------------------------------------------------
# A real build with a compiler that cannot do OpenMP (opt-in: HOTLOOP_SLOW_TESTS=1)

NO_OPENMP_CXX = """#!/bin/sh
# g++ on a machine without GCC's OpenMP support (as clang without libomp-dev): -fopenmp fails.
for arg in "$@"; do
  if [ "$arg" = "-fopenmp" ]; then
    echo "probe.cpp:2:10: fatal error: omp.h: No such file or directory" >&2
    exit 1
  fi
done
exec g++ "$@"
"""

# Run against the serial build: every family, and the thread-count facts.
SERIAL_CHECK = """
import json, numpy as np, hotloop
from hotloop import geo
x = 1e9 + np.random.default_rng(0).standard_normal(50_000)
info = hotloop.show_config()
print(json.dumps({
    "file": hotloop.__file__,
    "openmp": hotloop.openmp_enabled(),
    "threads": [hotloop.effective_n_threads(k) for k in (None, 1, 2, -1)],
    "notes": info["notes"],
    "std": hotloop.std(x).hex(),
    "rolling": hotloop.rolling_std(x, 50, n_threads=2).tobytes().hex()[-64:],
    "julia": int(hotloop.julia_grid(-0.8 + 0.156j, 64, 48, maxiter=200, n_threads=2).sum()),
    "mask": hotloop.ws_mask(bytes(range(256)) * 4096, b"abcd", n_threads=2)[-8:].hex(),
    "diffuse": hotloop.diffuse(np.eye(32), 10, n_threads=2).sum().hex(),
    "cell": int(geo.latlng_to_cell(np.array([48.85]), np.array([2.35]))[0]),
}))
"""


@pytest.mark.skipif(not SLOW, reason="a full source build (minutes): HOTLOOP_SLOW_TESTS=1")
@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_a_compiler_without_openmp_builds_a_working_serial_package(tmp_path):
    from tools.wheels import sdist_inputs

    tree = tmp_path / "src"
    for f in sdist_inputs():
        target = tree / f.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
    cxx = tmp_path / "bin" / "g++-no-openmp"
    cxx.parent.mkdir()
    cxx.write_text(NO_OPENMP_CXX)
    cxx.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HOTLOOP_FAIL_NO_OPENMP")}
    env.update(CC=str(cxx), CXX=str(cxx))
    start = time.perf_counter()
    build = subprocess.run(
        ["nice", "-n", "10", sys.executable, "setup.py", "-q", "build_ext", "--inplace", "-j2"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - start
    print(f"serial build: {took:.0f} s")
    assert build.returncode == 0, build.stderr[-3000:]
    assert "built WITHOUT OpenMP" in build.stderr
    assert "apt-get install g++ libgomp1" in build.stderr
    assert "fatal error: omp.h" in build.stderr

    run_env = dict(os.environ, PYTHONPATH=str(tree / "pyx"))
    out = subprocess.run(
        [sys.executable, "-c", SERIAL_CHECK],
        env=run_env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(got["file"]).is_relative_to(tree)
    assert got["openmp"] is False
    assert got["threads"] == [1, 1, 1, 1]
    assert "built WITHOUT OpenMP" in got["notes"][0]
    assert "apt-get install g++ libgomp1" in got["notes"][0]
    # the same results as this (parallel) build, bit for bit
    here = subprocess.run(
        [sys.executable, "-c", SERIAL_CHECK],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    ref = json.loads(here.stdout.strip().splitlines()[-1])
    for key in ("std", "rolling", "julia", "mask", "diffuse", "cell"):
        assert got[key] == ref[key], key
