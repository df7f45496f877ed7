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
  HOTLOOP_LIMITED_API=3.11  build the extension modules against CPython's stable ABI (Cython's
                            Limited API mode, Py_LIMITED_API of that version, at least 3.11:
                            typed memoryviews need the buffer protocol, stable from 3.11 on)
                            and tag the wheel abi3 (cp311-abi3): one binary for 3.11 and later.
  HOTLOOP_RELEASE=1         (tools/wheels.py sets it) tools/build_backend.py asks the isolated
                            build environment for the s2geometry wheel as well, so that
                            hotloop.geo is built; and the compiles add -g0 (no debug
                            information): auditwheel strips the wheel's libraries anyway, and
                            debug information costs 10-30 % of the compile time.
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
from typing import NamedTuple

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


def release_flags() -> list[str]:
    """-g0 in a release build: it comes after Python's CFLAGS (-g), so it wins."""
    return ["-g0"] if env_flag("HOTLOOP_RELEASE") else []


def _limited_api() -> tuple[int, int] | None:
    value = os.environ.get("HOTLOOP_LIMITED_API", "").strip()
    if not value or value.lower() in {"0", "no", "off", "false"}:
        return None
    try:
        major, minor = (int(p) for p in value.split("."))
    except ValueError:
        sys.exit(f"hotloop: HOTLOOP_LIMITED_API must be a version such as 3.11, got {value!r}")
    if (major, minor) < (3, 11):
        sys.exit(
            f"hotloop: HOTLOOP_LIMITED_API={value}: the typed memoryviews need the buffer "
            "protocol of the stable ABI, which exists from 3.11 on; use 3.11 or later"
        )
    if sys.version_info[:2] < (major, minor):
        sys.exit(
            f"hotloop: HOTLOOP_LIMITED_API={value} needs Python {value} or later to build, "
            f"this is {sys.version_info.major}.{sys.version_info.minor}"
        )
    return major, minor


# (major, minor) of the stable ABI the modules are built for, or None (version-specific build).
LIMITED_API = _limited_api()


def limited_api_macros() -> list[tuple[str, str | None]]:
    if LIMITED_API is None:
        return []
    major, minor = LIMITED_API
    return [("Py_LIMITED_API", f"0x{major:02X}{minor:02X}0000"), ("CYTHON_LIMITED_API", "1")]


def limited_api_flags() -> list[str]:
    """Compiler flags of a Limited API build: the shim of pyx/hotloop/_limited_api.h."""
    if LIMITED_API is None:
        return []
    return ["-include", str(ROOT / "pyx" / "hotloop" / "_limited_api.h")]


def setup_options() -> dict:
    """setup()'s options: the abi3 wheel tag of a Limited API build."""
    if LIMITED_API is None:
        return {}
    return {"bdist_wheel": {"py_limited_api": "cp{}{}".format(*LIMITED_API)}}


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


# What provides OpenMP, named when the probe fails: GCC's runtime comes with g++ on Debian
# (libgomp1, and omp.h in libgcc-<v>-dev); clang needs LLVM's.
OPENMP_PACKAGES = (
    "g++ (Debian/Ubuntu: apt-get install g++ libgomp1; Fedora: dnf install gcc-c++ libgomp), "
    "or with clang: libomp-dev"
)

# Why this build has no OpenMP (None: it has), for hotloop.show_config() (see build_info()).
OPENMP_NOTE: str | None = None


def openmp_flags() -> list[str]:
    """-fopenmp when it works; [] with a warning otherwise (or an error in CI)."""
    global OPENMP_NOTE
    if env_flag("HOTLOOP_DISABLE_OPENMP"):
        OPENMP_NOTE = "built without OpenMP on purpose (HOTLOOP_DISABLE_OPENMP=1)"
        warnings.warn("HOTLOOP_DISABLE_OPENMP is set: building serial kernels.", stacklevel=2)
        return []
    ok, why = probe_openmp()
    if ok:
        OPENMP_NOTE = None
        return ["-fopenmp"]
    if env_flag("HOTLOOP_FAIL_NO_OPENMP"):
        sys.exit(f"hotloop: OpenMP is required (HOTLOOP_FAIL_NO_OPENMP=1) but {why}")
    OPENMP_NOTE = openmp_missing_message(why)
    warnings.warn(f"hotloop: {OPENMP_NOTE}", stacklevel=2)
    return []


def openmp_missing_message(why: str) -> str:
    """The warning of a build without OpenMP (also shown by hotloop.show_config())."""
    first = (why.strip().splitlines() or ["?"])[-1].strip()
    return (
        "built WITHOUT OpenMP: the compiler cannot build an OpenMP program "
        f"({first}). Every kernel runs on one thread (results are the same). For parallel "
        f"kernels install {OPENMP_PACKAGES}, then rebuild hotloop."
    )


def probe_program(
    headers: list[str], libraries: list[str], include_dirs: list[str]
) -> tuple[bool, str]:
    """Compile a program that includes `headers` with our C++ flags, and link it with
    `libraries` when there are any: (works, why-not, the compiler's first error line)."""
    tmp = Path(tempfile.mkdtemp(prefix="hotloop-lib-"))
    try:
        src = tmp / "probe.cpp"
        src.write_text("".join(f"#include <{h}>\n" for h in headers) + "int main() { return 0; }\n")
        cmd = [*_cxx_command(), *_SPEC["cxx_flags"], str(src), *(f"-I{d}" for d in include_dirs)]
        if libraries:
            cmd += ["-o", str(tmp / "probe"), *(f"-l{lib}" for lib in libraries)]
        else:
            cmd.append("-fsyntax-only")
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode != 0:
            lines = build.stderr.strip().splitlines() or [""]
            # The line that says what is missing: ld's "cannot find -lX" rather than collect2's
            # summary, the compiler's first error rather than a note.
            error = next(
                (
                    ln
                    for key in ("cannot find", "fatal error", "error")
                    for ln in lines
                    if key in ln
                ),
                lines[0],
            )
            return False, f"`{' '.join(cmd[:1])} ...` failed: {error.strip() or '(no output)'}"
        return True, ""
    except OSError as exc:
        return False, f"the compiler could not run: {exc}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def probe_header(header: str, include_dirs: list[str]) -> tuple[bool, str]:
    """Compile a program that includes `header` with our C++ flags: (works, why-not)."""
    return probe_program([header], [], include_dirs)


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
    note = optional_missing_message(name, package, why)
    if env_flag("HOTLOOP_FAIL_NO_OPENMP") or os.environ.get("CI"):
        sys.exit(f"hotloop: {note} (CI: every family must build)")
    SKIPPED_NOTES[name] = note
    warnings.warn(f"hotloop: {note}", stacklevel=2)
    return None


# Optional modules this build skipped -> why, for hotloop.show_config() (see build_info()).
SKIPPED_NOTES: dict[str, str] = {}


def optional_missing_message(name: str, package: str, why: str) -> str:
    """The warning of an optional module skipped for want of its library's package."""
    public = "hotloop." + name.rpartition("._")[2]
    return (
        f"skipping {name}: it needs the C++ library that the Python package {package} "
        f"ships, but {why}. Everything else is built; for {public} pip install {package}, "
        "then rebuild hotloop"
    )


class Missing(NamedTuple):
    """Something a source build needs and this machine lacks."""

    what: str  # e.g. "<lz4.h> and liblz4.so (LZ4)"
    debian: str  # the Debian/Ubuntu package that provides it
    fedora: str
    why: str  # the probe's reason, one line


# The packages that provide the compiler and Python's C headers: (Debian/Ubuntu, Fedora).
COMPILER_PACKAGES = ("g++", "gcc-c++")
PYTHON_HEADER_PACKAGES = ("python3-dev", "python3-devel")

# What the binary wheel needs instead, and why pip may not have taken it: the tag is
# manylinux_2_35 (Debian 12's libstdc++ sets it, see README), which pip reads from 20.3 on
# (PEP 600); an older pip, or an older glibc, falls back to the sdist and lands here.
WHEEL_ADVICE = (
    "Or use the binary wheel, which needs no compiler and none of these packages: it takes "
    "pip >= 20.3 to use the binary wheel (an older pip cannot read its manylinux_2_35 tag and "
    "builds from source instead: python -m pip install -U pip, then pip install hotloop) and "
    "an x86-64 Linux with glibc >= 2.35 (Debian 12, Ubuntu 22.04 or later)."
)


def missing_requirements(modules: list[str], probe=None) -> list[Missing]:
    """What a source build of `modules` lacks: a compiler, Python's headers, the system
    libraries' headers and shared libraries. [] when everything is there.

    probe(headers, libraries, include_dirs) -> (ok, why) is probe_program() (tests pass a
    fake). One probe of everything together in the usual case; one per requirement only when
    that fails, to name each missing piece (and only the compiler when it cannot run at all).
    """
    probe = probe_program if probe is None else probe
    libs = sorted({lib for m in modules for lib in MODULES[m]["libraries"]})
    python_include = sysconfig.get_paths()["include"]
    headers = [LIBRARY_HEADERS[lib][0] for lib in libs]
    if probe(["Python.h", *headers], libs, [python_include])[0]:
        return []
    ok, why = probe(["cstddef"], [], [])
    if not ok:
        return [Missing("a C++17 compiler", *COMPILER_PACKAGES, why)]
    missing = []
    ok, why = probe(["Python.h"], [], [python_include])
    if not ok:
        version = "{}.{}".format(*sys.version_info[:2])
        what = f"the C headers of Python {version} (Python.h; also python{version}-dev)"
        missing.append(Missing(what, *PYTHON_HEADER_PACKAGES, why))
    for lib in libs:
        header, _ = LIBRARY_HEADERS[lib]
        ok, why = probe([header], [lib], [])
        if not ok:
            missing.append(Missing(f"<{header}> and lib{lib}.so", *LIBRARY_PACKAGES[lib], why))
    return missing


def source_build_message(missing: list[Missing]) -> str:
    """The one message of a source build that cannot work: every missing piece and the
    package that provides it, the command that installs them all, and the wheel instead."""
    lines = ["hotloop: building from source needs what this machine lacks:"]
    for m in missing:
        lines.append(f"  - {m.what}: install {m.debian} (Debian/Ubuntu) or {m.fedora} (Fedora)")
        lines.append(f"    ({m.why})")
    debian = " ".join(dict.fromkeys(m.debian for m in missing))
    lines.append(f"On Debian/Ubuntu: sudo apt-get install {debian}")
    lines.append(WHEEL_ADVICE)
    return "\n".join(lines)


def check_build_requirements(modules: list[str], probe=None) -> None:
    """Stop with one message before anything compiles when a requirement is missing.

    A source build (an sdist, or pip falling back to one because it is too old to read the
    binary wheel's tag) would otherwise end in a wall of compiler errors about one header.
    """
    missing = missing_requirements(modules, probe)
    if missing:
        sys.exit(source_build_message(missing))


# setup.py commands that compile extensions (directly or through a build they run). Others --
# sdist, egg_info, dist_info: PEP 517's build_sdist and metadata hooks -- pack or describe the
# sources only, and must not spend minutes in Cython and compiler probes.
BUILD_COMMANDS = {
    "build",
    "build_ext",
    "build_clib",
    "bdist",
    "bdist_wheel",
    "bdist_egg",
    "install",
    "develop",
    "editable_wheel",
}


# Options whose value is the next word (a directory named "build" is not the build command).
VALUE_OPTIONS = {
    "--dist-dir", "-d", "--formats", "--egg-base", "-e", "--output-dir", "-o", "--build-lib",
    "-b", "--build-temp", "-t", "--plat-name", "-p", "--python-tag", "--parallel", "-j",
}  # fmt: skip


def compiles(argv: list[str]) -> bool:
    """Whether a setup.py command line builds extensions."""
    words = [a for i, a in enumerate(argv) if i == 0 or argv[i - 1] not in VALUE_OPTIONS]
    return any(a in BUILD_COMMANDS for a in words)


def extensions(omp: list[str] | None = None):
    """The setuptools Extension objects (not yet cythonized)."""
    import numpy
    from setuptools import Extension

    only = _only_modules()
    # First: a machine that cannot build gets one clear message, not an OpenMP warning and
    # then compiler errors.
    check_build_requirements([n for n in MODULES if not only or n in only])
    omp = openmp_flags() if omp is None else omp
    flags = [*BASE_CXX_FLAGS, *omp, *limited_api_flags(), *release_flags()]
    if env_flag("HOTLOOP_NATIVE"):
        flags.append("-march=native")
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
                include_dirs=[CXX_INCLUDE, numpy.get_include()],
                define_macros=[
                    ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                    *limited_api_macros(),
                    *third_party["define_macros"],
                ],
                py_limited_api=LIMITED_API is not None,
                libraries=spec.get("libraries", []),
                # A third party's headers are system headers (CMake's SYSTEM): their warnings
                # are not ours to fix.
                extra_compile_args=[*flags, *(f"-isystem{d}" for d in third_party["include_dirs"])],
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
            *(f"cxx/src/{s}" for s in _C_ABI["kernel_sources"]),
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

    flags = [
        *BASE_CXX_FLAGS,
        "-fvisibility=hidden",
        "-fvisibility-inlines-hidden",
        *release_flags(),
    ]
    if env_flag("HOTLOOP_NATIVE"):
        flags.append("-march=native")
    only = _only_modules()
    libs = []
    for name, spec in SHARED_LIBRARIES.items():
        if only and name not in only:
            continue
        link = []
        if sys.platform.startswith("linux"):
            # --no-undefined: a kernel source missing from the list fails here, not at dlopen.
            link = [f"-Wl,--version-script={ROOT / script}" for script in spec["version_script"]]
            link.append("-Wl,--no-undefined")
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


# --------------------------------------------------------------------------------------------
# Build facts for hotloop.show_config(): written as hotloop/_build_info.py (git-ignored) next to
# the extension modules by build_ext. What the process loads at run time (bundled copies,
# OpenMP runtime) is looked up by show_config itself; this records what the build saw.

# System library (as in families.json's "libraries") -> its header and the version macros there.
# LIBRARY_PACKAGES: what provides the headers and the library to link, (Debian/Ubuntu, Fedora),
# named in the message of a build that lacks them.
LIBRARY_PACKAGES = {
    "deflate": ("libdeflate-dev", "libdeflate-devel"),
    "z": ("zlib1g-dev", "zlib-devel"),
    "lz4": ("liblz4-dev", "lz4-devel"),
    "isal": ("libisal-dev", "isa-l-devel"),
}
LIBRARY_HEADERS: dict[str, tuple[str, list[str]]] = {
    "deflate": ("libdeflate.h", ["LIBDEFLATE_VERSION_STRING"]),
    "z": ("zlib.h", ["ZLIB_VERSION"]),
    "lz4": ("lz4.h", ["LZ4_VERSION_MAJOR", "LZ4_VERSION_MINOR", "LZ4_VERSION_RELEASE"]),
    "isal": ("isa-l.h", ["ISAL_MAJOR_VERSION", "ISAL_MINOR_VERSION", "ISAL_PATCH_VERSION"]),
}


def _header_macros(header: str, names: list[str], include_dirs: list[str]) -> list[str] | None:
    """The values of macros `names` after `#include <header>` (the preprocessor's view)."""
    tmp = Path(tempfile.mkdtemp(prefix="hotloop-ver-"))
    try:
        src = tmp / "v.cpp"
        src.write_text(f"#include <{header}>\n")
        cmd = [*_cxx_command(), "-E", "-dM", str(src), *(f"-I{d}" for d in include_dirs)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            return None
        found = {}
        for line in run.stdout.splitlines():
            parts = line.split(None, 2)
            if len(parts) == 3 and parts[0] == "#define" and parts[1] in names:
                found[parts[1]] = parts[2].strip().strip('"')
        return [found.get(n, "?") for n in names]
    except OSError:
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _compiler_version() -> str:
    try:
        run = subprocess.run([*_cxx_command(), "--version"], capture_output=True, text=True)
        return (run.stdout.splitlines() or ["?"])[0].strip()
    except OSError:
        return "?"


def build_info(extensions) -> dict:
    """What this build compiled and linked: written to hotloop/_build_info.py."""
    modules = sorted(e.name for e in extensions)
    openmp = any("-fopenmp" in (e.extra_compile_args or []) for e in extensions)
    libraries: dict[str, str] = {}
    for ext in extensions:
        for lib in ext.libraries or []:
            header, names = LIBRARY_HEADERS.get(lib, (None, []))
            if header is None or f"lib{lib}" in libraries:
                continue
            values = _header_macros(header, names, list(ext.include_dirs or []))
            libraries[f"lib{lib}"] = ".".join(values) if values else "?"
        if ext.name in OPTIONAL:
            package = OPTIONAL[ext.name]["python_package"]
            try:
                from importlib.metadata import version

                libraries[f"{package} (static)"] = version(package)
            except Exception:  # metadata missing: the build still works
                libraries[f"{package} (static)"] = "?"
    notes = [f"{OPENMP_NOTE}"] if not openmp and OPENMP_NOTE else []
    notes += [SKIPPED_NOTES[m] for m in sorted(SKIPPED_NOTES)]
    return {
        "compiler": _compiler_version(),
        "openmp": openmp,
        # What a user should know: a serial build, a skipped module, and what to install.
        "notes": notes,
        "python": (
            "{}.{}+ stable ABI (.abi3.so)".format(*LIMITED_API)
            if LIMITED_API
            else sysconfig.get_config_var("EXT_SUFFIX") or "?"
        ),
        "limited_api": LIMITED_API or None,
        "modules": modules,
        "libraries": libraries,
        "skipped": sorted(set(MODULES) - set(modules) - set(_only_modules() or ())),
    }


def _only_modules() -> set[str]:
    return {m.strip() for m in os.environ.get("HOTLOOP_MODULES", "").split(",") if m.strip()}


def _parallel_compile(compiler, jobs: int):
    """compiler.compile with the sources of one call compiled by `jobs` processes at once."""
    from concurrent.futures import ThreadPoolExecutor

    def compile(  # replaces the distutils method of the same name
        sources,
        output_dir=None,
        macros=None,
        include_dirs=None,
        debug=False,
        extra_preargs=None,
        extra_postargs=None,
        depends=None,
    ):
        macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs
        )
        cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj):
            src, ext = build[obj]
            compiler._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, [o for o in objects if o in build]))
        return objects

    return compile


def cmdclass() -> dict:
    """setup()'s cmdclass: build_ext that also builds SHARED_LIBRARIES as plain libraries."""
    from setuptools.command.build_ext import build_ext

    class BuildExt(build_ext):
        def finalize_options(self):
            # Source files compile in parallel, one per usable CPU, unless -j/--parallel says
            # otherwise: pip and `python -m build` pass no -j, and a serial build takes twice as
            # long on two cores. HOTLOOP_BUILD_JOBS overrides the count. The unit is the source
            # file, not the module (setuptools' own -j): one module (the rolling family) has
            # six large sources and would otherwise be the whole build's critical path.
            super().finalize_options()
            jobs = self.parallel
            if jobs is None:
                env = os.environ.get("HOTLOOP_BUILD_JOBS", "")
                jobs = int(env) if env.isdigit() else len(os.sched_getaffinity(0))
            self._source_jobs = max(1, int(jobs))
            self.parallel = None  # modules one after the other, their sources in parallel

        def build_extensions(self):
            if self._source_jobs > 1:
                self.compiler.compile = _parallel_compile(self.compiler, self._source_jobs)
            super().build_extensions()

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
            self._write_build_info()
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

        def _write_build_info(self):
            modules = [e for e in self.extensions if e.name not in SHARED_LIBRARIES]
            if not modules or _only_modules():
                return  # a partial rebuild keeps the facts of the full build
            text = (
                '"""How this hotloop was built: written by tools/hotloop_build.py (do not edit)."""'
                f"\n\nBUILD = {build_info(modules)!r}\n"
            )
            first = modules[0].name
            dirs = {Path(self.get_ext_fullpath(first)).parent, Path(self.build_lib, "hotloop")}
            for folder in dirs:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "_build_info.py").write_text(text, encoding="utf-8")

    return {"build_ext": BuildExt}
