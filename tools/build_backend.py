"""The PEP 517 build backend: setuptools' own, loaded from the source tree.

pyproject.toml names this module with backend-path = ["."], which puts the project root on
sys.path for the build; pip requires the backend itself to come from that path. setup.py can then
import tools.hotloop_build without editing sys.path.
"""

from setuptools.build_meta import *  # noqa: F403
from setuptools.build_meta import __all__  # noqa: F401
