"""The parts of hotloop.show_config() that look at the installation and the running process.

Imported by show_config() only, never by ``import hotloop`` (importlib.metadata and ctypes cost
milliseconds that an import should not pay).
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
# auditwheel puts the shared libraries a binary wheel bundles in <site-packages>/hotloop.libs.
BUNDLE = HERE.parent / "hotloop.libs"
# Libraries show_config reports where the process loaded them from (file-name prefixes).
WATCHED = (
    "libgomp",
    "libiomp",
    "libomp",
    "libdeflate",
    "liblz4",
    "libisal",
    "libz.",
    "libz-",
    "libhotloop_c",
)
OPENMP = ("libgomp", "libiomp", "libomp")
# Run-time version functions: file-name prefix -> (symbol, it returns a C string).
VERSION_FUNCTIONS = {"libz": "zlibVersion", "liblz4": "LZ4_versionString"}


def mapped_libraries() -> list[str]:
    """Paths of the shared libraries mapped into this process (Linux: /proc/self/maps)."""
    try:
        text = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    seen: dict[str, None] = {}
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and ".so" in parts[5]:
            seen.setdefault(parts[5].strip(), None)
    return list(seen)


def _runtime_version(path: str) -> str | None:
    name = Path(path).name
    for prefix, symbol in VERSION_FUNCTIONS.items():
        if re.match(rf"{re.escape(prefix)}[.-]", name):
            try:
                fn = getattr(ctypes.CDLL(path), symbol)
            except (OSError, AttributeError):
                return None
            fn.restype = ctypes.c_char_p
            return fn().decode()
    return None


def install_kind() -> str:
    """'binary wheel (<tag>)', 'wheel built from source (<tag>)' or 'source tree'."""
    from importlib import metadata

    try:
        dist = metadata.distribution("hotloop")
    except metadata.PackageNotFoundError:
        return "source tree (not installed)"
    files = [f for f in dist.files or () if str(f).replace("\\", "/") == "hotloop/__init__.py"]
    if not files or Path(dist.locate_file(files[0])).resolve().parent != HERE:
        return "source tree (editable install or on sys.path)"
    tags = re.findall(r"^Tag:\s*(\S+)", dist.read_text("WHEEL") or "", re.M)
    tag = ", ".join(tags) or "?"
    if "manylinux" in tag or "musllinux" in tag or BUNDLE.is_dir():
        return f"binary wheel ({tag})"
    return f"wheel built from source on this machine ({tag})"


def details() -> dict:
    try:
        from hotloop._build_info import BUILD
    except ImportError:
        BUILD = {}
    mapped = mapped_libraries()
    loaded = {}
    for path in mapped:
        name = Path(path).name
        if name.startswith(WATCHED):
            version = _runtime_version(path)
            loaded[name] = f"{path} ({version})" if version else path
    bundled = sorted(p.name for p in BUNDLE.iterdir()) if BUNDLE.is_dir() else []
    build = {k: BUILD[k] for k in ("compiler", "python", "limited_api", "skipped") if k in BUILD}
    return {
        "install": install_kind(),
        "build": build or "unknown (no hotloop/_build_info.py: rebuild hotloop)",
        "libraries": BUILD.get("libraries", {}),
        "bundled": bundled,
        "loaded": loaded,
        "openmp runtime": [p for p in mapped if Path(p).name.startswith(OPENMP)],
        "notes": notes(BUILD),
    }


def notes(build: dict) -> list[str]:
    """What a user of this build should know, with what to install: a build without OpenMP
    (serial kernels), optional modules the build skipped. The build wrote them (pip hides a
    successful build's warnings); [] for a complete build."""
    from hotloop._threads import openmp_enabled

    found = list(build.get("notes", []))
    if not openmp_enabled() and not any("OpenMP" in n for n in found):
        found.insert(0, "built without OpenMP: every kernel runs on one thread")
    return found
