"""The installed package: what `import hotloop` pulls in, and (under `make wheels-test`) that
the binary wheel runs from its venv with no compiler and only its bundled libraries.

tools/wheels.py sets HOTLOOP_EXPECT_INSTALLED=1 when it runs the suite against a repaired wheel
installed in a fresh venv; the checks of that installation skip elsewhere.
"""

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
    import hotloop.deviceapps
    import hotloop.geo
    import hotloop.records

    info = hotloop.show_config()
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
