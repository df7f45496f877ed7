"""Everything that decides how hotloop's extensions are built, in one place.

setup.py builds from it and tools/annotate.py annotates with the very same Cython directives, so
the annotated HTML shows the code that really ships.

Environment knobs:
  HOTLOOP_FAIL_NO_OPENMP=1  fail the build when the compiler cannot build and run an OpenMP
                            program (CI sets it), instead of building serial kernels; also
                            fail (as when CI is set) when an optional family's library is
                            missing, instead of skipping that family with a warning.
  HOTLOOP_DISABLE_OPENMP=1  build without OpenMP on purpose (to test the serial build).
  HOTLOOP_CYTHON_DEBUG=1    turn Cython's bounds, wraparound and initialisation checks back on.
  HOTLOOP_NATIVE=1          add -march=native (never by default: wheels must run on any x86-64;
                            the kernels that gain from AVX2/AVX-512 pick them at run time).
  HOTLOOP_MODULES=a,b       build only these modules (e.g. hotloop._rolling), for quick rebuilds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CXX_INCLUDE = "cxx/include"
# The families, their sources and libraries, and the compiler flags: shared with CMake.
FAMILIES_FILE = ROOT / "cxx" / "families.json"
_SPEC = json.loads(FAMILIES_FILE.read_text())

# One compiled module per family: hotloop._X from pyx/hotloop/_X.pyx and its cxx/src files.
MODULES: dict[str, dict[str, list[str]]] = {
    f"hotloop._{family}": {
        "sources": [
            f"pyx/hotloop/_{family}.pyx",
            *(f"cxx/src/{s}" for s in spec["sources"]),
            *(["cxx/src/threads_client.cpp"] if spec.get("pool") else []),
        ],
        "libraries": spec.get("libraries", []),
    }
    for family, spec in _SPEC["families"].items()
}

# Families marked "optional" wrap a third-party C++ library that a Python package ships (its
# headers and static libraries): without it they are skipped with a warning naming the package,
# except in CI, where a skipped family is an error.
OPTIONAL: dict[str, dict] = {
    f"hotloop._{family}": spec["optional"]
    for family, spec in _SPEC["families"].items()
    if "optional" in spec
}

# The same flags as the C++ tests and benchmarks (CMake reads them from the same file), plus one
# for the Cython-generated code only: it defines helpers that a module may not use.
BASE_CXX_FLAGS = [*_SPEC["cxx_flags"], "-Wno-unused-function"]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def compiler_directives() -> dict[str, object]:
    debug = env_flag("HOTLOOP_CYTHON_DEBUG")
    return {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "nonecheck": False,
        "cdivision": True,
        "embedsignature": True,
        "cpow": True,
    }


def _cxx_command() -> list[str]:
    cxx = os.environ.get("CXX") or sysconfig.get_config_var("CXX") or "c++"
    return cxx.split()


_PROBE = r"""
#include <omp.h>
#include <cstdio>
int main() {
  int n = 0;
#pragma omp parallel num_threads(2) reduction(+ : n)
  n += 1;
  std::printf("%d %d\n", n, omp_get_max_threads());
  return n >= 1 ? 0 : 1;
}
"""


def probe_openmp(flag: str = "-fopenmp") -> tuple[bool, str]:
    """Compile, link and run a tiny OpenMP program. Returns (works, why-not)."""
    tmp = Path(tempfile.mkdtemp(prefix="hotloop-omp-"))
    try:
        src, exe = tmp / "probe.cpp", tmp / "probe"
        src.write_text(_PROBE)
        cmd = [*_cxx_command(), flag, str(src), "-o", str(exe)]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0:
            return False, f"`{' '.join(cmd)}` failed:\n{build.stderr.strip()}"
        run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            return False, f"the OpenMP probe ran but exited {run.returncode}: {run.stderr.strip()}"
        return True, ""
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"the OpenMP probe could not run: {exc}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def openmp_flags() -> list[str]:
    """-fopenmp when it works; [] with a warning otherwise (or an error in CI)."""
    if env_flag("HOTLOOP_DISABLE_OPENMP"):
        warnings.warn("HOTLOOP_DISABLE_OPENMP is set: building serial kernels.", stacklevel=2)
        return []
    ok, why = probe_openmp()
    if ok:
        return ["-fopenmp"]
    if env_flag("HOTLOOP_FAIL_NO_OPENMP"):
        sys.exit(f"hotloop: OpenMP is required (HOTLOOP_FAIL_NO_OPENMP=1) but {why}")
    warnings.warn(
        f"hotloop: building WITHOUT OpenMP, every kernel will run on one thread ({why}). "
        "Install a compiler with OpenMP support (e.g. g++ with libgomp) for parallel kernels.",
        stacklevel=2,
    )
    return []


_HEADER_PROBE = """
#include <{header}>
int main() {{ return 0; }}
"""


def probe_header(header: str, include_dirs: list[str]) -> tuple[bool, str]:
    """Compile a program that includes `header` with our C++ flags: (works, why-not)."""
    tmp = Path(tempfile.mkdtemp(prefix="hotloop-lib-"))
    try:
        src = tmp / "probe.cpp"
        src.write_text(_HEADER_PROBE.format(header=header))
        cmd = [*_cxx_command(), *_SPEC["cxx_flags"], "-fsyntax-only", str(src)]
        cmd += [f"-I{d}" for d in include_dirs]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0:
            last = build.stderr.strip().splitlines()[:1] or ["(no output)"]
            return False, f"including <{header}> fails: {last[0]}"
        return True, ""
    except OSError as exc:
        return False, f"the compiler could not run: {exc}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def optional_library(name: str) -> dict[str, list[str]] | None:
    """Include directories and link arguments of optional module `name`'s library, or None.

    None comes with a warning naming the package to install; in CI (HOTLOOP_FAIL_NO_OPENMP=1 or
    CI set) the build stops instead.
    """
    need = OPTIONAL[name]
    package = need["python_package"]
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    why = f"the Python package {package} is not installed"
    if spec is not None and spec.origin is not None:
        root = Path(spec.origin).parent
        include = root / need["include"]
        libs = [str(p) for pattern in need["static_libraries"] for p in sorted(root.glob(pattern))]
        if not (include / need["header"]).is_file():
            why = f"{package} ships no {need['header']} under {include}"
        elif not libs:
            why = f"{package} ships none of {need['static_libraries']} under {root}"
        else:
            ok, why = probe_header(need["header"], [str(include)])
            if ok:
                # One group: the static libraries depend on each other in every order.
                # --exclude-libs keeps their symbols out of the module's dynamic symbol table.
                link = ["-Wl,--start-group", *libs, "-Wl,--end-group", "-Wl,--exclude-libs,ALL"]
                return {
                    "include_dirs": [str(include)],
                    "extra_link_args": [*link, "-lpthread"],
                    "define_macros": [(d, None) for d in need.get("defines", [])],
                }
    message = (
        f"hotloop: skipping {name}: it needs the C++ library that the Python package {package} "
        f"ships (pip install {package}, listed in requirements-dev.txt), but {why}"
    )
    if env_flag("HOTLOOP_FAIL_NO_OPENMP") or os.environ.get("CI"):
        sys.exit(message + " (CI: every family must build)")
    warnings.warn(message, stacklevel=2)
    return None


def extensions(omp: list[str] | None = None):
    """The setuptools Extension objects (not yet cythonized)."""
    import numpy
    from setuptools import Extension

    omp = openmp_flags() if omp is None else omp
    flags = [*BASE_CXX_FLAGS, *omp]
    if env_flag("HOTLOOP_NATIVE"):
        flags.append("-march=native")
    only = {m.strip() for m in os.environ.get("HOTLOOP_MODULES", "").split(",") if m.strip()}
    unknown = only - MODULES.keys() - SHARED_LIBRARIES.keys()
    if unknown:
        sys.exit(f"hotloop: HOTLOOP_MODULES names unknown modules {sorted(unknown)}")
    exts = []
    for name, spec in MODULES.items():
        if only and name not in only:
            continue
        third_party = {"include_dirs": [], "extra_link_args": [], "define_macros": []}
        if name in OPTIONAL:
            third_party = optional_library(name)
            if third_party is None:
                continue
        exts.append(
            Extension(
                name,
                sources=spec["sources"],
                depends=[str(FAMILIES_FILE)],
                language="c++",
                include_dirs=[CXX_INCLUDE, *third_party["include_dirs"], numpy.get_include()],
                define_macros=[
                    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                    *third_party["define_macros"],
                ],
                libraries=spec.get("libraries", []),
                extra_compile_args=flags,
                extra_link_args=[*omp, *third_party["extra_link_args"]],
            )
        )
    return exts


# --------------------------------------------------------------------------------------------
# The C ABI, a plain shared library shipped inside the package: no Python inside, loaded with
# ctypes/cffi (hotloop.ffi). build_ext builds it next to the extension modules with the same
# compiler and flags, but named lib<name>.so (no Python ABI tag), with hidden visibility and a
# linker version script so that only its C functions are exported. Its header is copied next to
# the library (hotloop.ffi reads the cffi declarations there).
# HOTLOOP_MODULES=hotloop.libhotloop_c builds it alone.
_C_ABI = _SPEC["c_abi"]
SHARED_LIBRARIES: dict[str, dict[str, list[str]]] = {
    f"hotloop.lib{_C_ABI['name']}": {
        "sources": [
            *(f"cxx/{s}" for s in _C_ABI["sources"]),
            *(f"cxx/src/{s}" for f in _C_ABI["families"] for s in _SPEC["families"][f]["sources"]),
        ],
        "headers": [f"cxx/{_C_ABI['header']}"],
        "version_script": [f"cxx/{_C_ABI['version_script']}"],
    },
}


def shared_library_suffix() -> str:
    if sys.platform == "darwin":
        return ".dylib"
    return ".dll" if sys.platform == "win32" else ".so"


def shared_libraries():
    """The setuptools Extension objects of SHARED_LIBRARIES (built by cmdclass()'s build_ext)."""
    from setuptools import Extension

    flags = [*BASE_CXX_FLAGS, "-fvisibility=hidden", "-fvisibility-inlines-hidden"]
    if env_flag("HOTLOOP_NATIVE"):
        flags.append("-march=native")
    only = {m.strip() for m in os.environ.get("HOTLOOP_MODULES", "").split(",") if m.strip()}
    libs = []
    for name, spec in SHARED_LIBRARIES.items():
        if only and name not in only:
            continue
        link = []
        if sys.platform.startswith("linux"):
            link = [f"-Wl,--version-script={ROOT / script}" for script in spec["version_script"]]
        libs.append(
            Extension(
                name,
                sources=spec["sources"],
                language="c++",
                include_dirs=[CXX_INCLUDE],
                extra_compile_args=flags,
                extra_link_args=link,
                depends=[*spec["headers"], *spec["version_script"]],
            )
        )
    return libs


def cmdclass() -> dict:
    """setup()'s cmdclass: build_ext that also builds SHARED_LIBRARIES as plain libraries."""
    from setuptools.command.build_ext import build_ext

    class BuildExt(build_ext):
        def get_ext_filename(self, fullname):
            # distutils asks with the full dotted name and with the last component alone.
            last = fullname.rpartition(".")[2]
            if any(name.rpartition(".")[2] == last for name in SHARED_LIBRARIES):
                return os.path.join(*fullname.split(".")) + shared_library_suffix()
            return super().get_ext_filename(fullname)

        def get_export_symbols(self, ext):
            if ext.name in SHARED_LIBRARIES:
                return []  # no PyInit_<name>: not a Python module
            return super().get_export_symbols(ext)

        def run(self):
            super().run()
            for ext in self.extensions:
                spec = SHARED_LIBRARIES.get(ext.name)
                if spec is None:
                    continue
                package = ext.name.split(".")[:-1]
                dirs = {Path(self.get_ext_fullpath(ext.name)).parent}
                dirs.add(Path(self.build_lib, *package))
                for folder in dirs:
                    folder.mkdir(parents=True, exist_ok=True)
                    for header in spec["headers"]:
                        shutil.copy2(ROOT / header, folder / Path(header).name)

    return {"build_ext": BuildExt}
