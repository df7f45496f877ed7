"""Build hotloop's extension modules. All build decisions live in tools/hotloop_build.py."""

import sys
from pathlib import Path

from Cython.Build import cythonize
from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent / "tools"))
import hotloop_build

setup(
    ext_modules=cythonize(
        hotloop_build.extensions(),
        compiler_directives=hotloop_build.compiler_directives(),
        include_path=["pyx"],
    )
    # Plain shared libraries (the C ABI for ctypes/cffi), built by hotloop_build's build_ext.
    + hotloop_build.shared_libraries(),
    cmdclass=hotloop_build.cmdclass(),
)
