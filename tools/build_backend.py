"""The PEP 517 build backend: setuptools' own, loaded from the source tree.

pyproject.toml names this module with backend-path = ["."], which puts the project root on
sys.path for the build; pip requires the backend itself to come from that path. setup.py can then
import tools.hotloop_build without editing sys.path.

One addition to setuptools: a release build (HOTLOOP_RELEASE=1, set by tools/wheels.py) asks the
isolated build environment for the s2geometry wheel too, whose headers and static libraries
hotloop.geo links. An ordinary source build does not: hotloop.geo is optional there and is
skipped with a warning naming the package when s2geometry is absent.
"""

import os

from setuptools.build_meta import *  # noqa: F403
from setuptools.build_meta import __all__  # noqa: F401
from setuptools.build_meta import get_requires_for_build_wheel as _setuptools_requires

# The S2 release hotloop.geo is written and tested against (pyproject.toml's geo-test extra).
RELEASE_REQUIRES = ["s2geometry>=0.14,<0.15"]


def get_requires_for_build_wheel(config_settings=None):
    if os.environ.get("HOTLOOP_RELEASE", "").strip().lower() in {"1", "true", "yes", "on"}:
        # Not setuptools' hook: it runs setup.py to collect setup_requires (hotloop has none),
        # and that run would stop at the very s2geometry this list is asking for.
        return list(RELEASE_REQUIRES)
    return _setuptools_requires(config_settings)
