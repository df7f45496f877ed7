"""Clear ImportErrors for compiled modules whose shared libraries cannot be loaded.

A compiled module that needs a shared library the system lacks fails to import with the
dynamic loader's words (``libdeflate.so.0: cannot open shared object file: No such file or
directory``), which name a file, not what to do. :func:`clearer_import_error` turns that into
an ImportError naming the package to install: the Debian package of the library for a build
from source, or a reinstall of the binary wheel when the missing file is one of the libraries
the wheel bundles (``hotloop.libs``). Imported only when an import has already failed.
"""

from __future__ import annotations

import re
from pathlib import Path

# A binary wheel's bundled libraries (auditwheel) live next to the package, renamed with a hash.
BUNDLE = Path(__file__).parent.parent / "hotloop.libs"

# Library file-name stem -> (what it is, the Debian/Ubuntu package of the run-time library,
# the one a source build needs; Fedora names in the README).
PACKAGES = {
    "libdeflate": ("libdeflate", "libdeflate0", "libdeflate-dev"),
    "liblz4": ("LZ4", "liblz4-1", "liblz4-dev"),
    "libz": ("zlib", "zlib1g", "zlib1g-dev"),
    "libisal": ("ISA-L", "libisal2", "libisal-dev"),
    "libgomp": ("GCC's OpenMP runtime", "libgomp1", "g++"),
    "libstdc++": ("the C++ standard library", "libstdc++6", "g++"),
    "libgcc_s": ("GCC's run-time library", "libgcc-s1", "g++"),
}

# The public module that a compiled module serves (the others serve `hotloop` itself).
PUBLIC = {
    "hotloop._deviceapps": "hotloop.deviceapps",
    "hotloop._records": "hotloop.records",
    "hotloop._geo": "hotloop.geo",
}

# What the loader says (glibc's ld.so; the message also names the module's own file).
_MISSING = re.compile(r"([\w.+-]+\.so(?:\.[\d.]+)?): cannot open shared object file")
_VERSION = re.compile(r"version `([^']+)' not found \(required by")
_SYMBOL = re.compile(r"undefined symbol: (\S+)")
# auditwheel's renaming: libdeflate-3c9d7a5b.so.0 for libdeflate.so.0.
_HASHED = re.compile(r"^(.+?)-[0-9a-f]{8}(\.so.*)$")


def _stem(soname: str) -> str:
    return soname.split(".so")[0]


def clearer_import_error(exc: ImportError) -> ImportError | None:
    """An ImportError that names what to install when exc is the loader failing to find (or
    finding too old) a shared library of a compiled hotloop module; None for any other
    ImportError (the caller re-raises that one as it is)."""
    text = str(exc)
    module = exc.name or "a compiled hotloop module"
    if exc.name and "." not in exc.name:  # the loader names the module without its package
        module = f"hotloop.{exc.name}"
    public = PUBLIC.get(module, "hotloop")
    missing = _MISSING.search(text)
    if missing:
        return ImportError(_missing_message(public, module, missing.group(1), text), name=module)
    version = _VERSION.search(text)
    if version:
        return ImportError(
            f"{public} cannot be imported: its compiled module {module} needs a newer system "
            f"library than this machine has ({version.group(1)} not found: {text}). "
            + _rebuild_advice(),
            name=module,
        )
    symbol = _SYMBOL.search(text)
    if symbol and ".so" in text:
        return ImportError(
            f"{public} cannot be imported: its compiled module {module} was built against "
            f"another version of a shared library than the one loaded now (undefined symbol "
            f"{symbol.group(1)}). " + _rebuild_advice(),
            name=module,
        )
    return None


def _rebuild_advice() -> str:
    if BUNDLE.is_dir():
        return (
            "Reinstall the hotloop wheel (pip install --force-reinstall hotloop); its "
            "manylinux_2_35 tag needs glibc >= 2.35 (Debian 12, Ubuntu 22.04 or later)."
        )
    return (
        "Rebuild hotloop on this machine (pip install --force-reinstall --no-binary hotloop "
        "hotloop), or install its binary wheel."
    )


def _missing_message(public: str, module: str, soname: str, text: str) -> str:
    head = (
        f"{public} cannot be imported: its compiled module {module} needs the shared library "
        f"{soname}, which the dynamic loader cannot find ({text})."
    )
    if _HASHED.match(soname):
        return (
            f"{head} It is one of the libraries the hotloop wheel bundles in {BUNDLE}: this "
            "installation is damaged; reinstall the hotloop wheel (pip install "
            "--force-reinstall hotloop)."
        )
    known = PACKAGES.get(_stem(soname))
    if known is None:
        return (
            f"{head} Install the system package that provides {soname}, or hotloop's binary "
            "wheel, which bundles the libraries it needs."
        )
    what, runtime, dev = known
    return (
        f"{head} It belongs to {what}: install the Debian/Ubuntu package {runtime} (sudo apt-get "
        f"install {runtime}; {dev} to build hotloop from source), or install hotloop's binary "
        "wheel (pip install hotloop, pip >= 20.3), which bundles it."
    )
