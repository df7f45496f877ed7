"""Build hotloop's extension modules. All build decisions live in tools/hotloop_build.py."""

import sys

from Cython.Build import cythonize
from setuptools import setup

# The project root is on sys.path: `python setup.py` runs from it, and pyproject.toml's
# backend-path puts it there for pip's isolated builds.
from tools import hotloop_build

setup(
    ext_modules=(
        cythonize(
            hotloop_build.extensions(),
            compiler_directives=hotloop_build.compiler_directives(),
            include_path=["pyx"],
        )
        # The C ABI library for ctypes/cffi, built by hotloop_build's build_ext.
        + hotloop_build.shared_libraries()
    )
    # An sdist or a metadata query compiles nothing: no probes, no Cython (MANIFEST.in lists
    # the sources an sdist carries).
    if hotloop_build.compiles(sys.argv[1:])
    else [],
    cmdclass=hotloop_build.cmdclass(),
    # A Limited API build (HOTLOOP_LIMITED_API) tags its wheel abi3.
    options=hotloop_build.setup_options(),
)
