import os

import hotloop
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROLLING = {
    "mean": hotloop.rolling_mean,
    "var": hotloop.rolling_var,
    "std": hotloop.rolling_std,
}
REDUCTIONS = {
    ("mean", False): hotloop.mean,
    ("var", False): hotloop.var,
    ("std", False): hotloop.std,
    ("mean", True): hotloop.nanmean,
    ("var", True): hotloop.nanvar,
    ("std", True): hotloop.nanstd,
}


@pytest.fixture(scope="module", params=sorted(ROLLING), ids=lambda s: f"rolling_{s}")
def rolling_kernel(request):
    """The rolling family: (statistic name, function). Shared tests run over all three."""
    return request.param, ROLLING[request.param]


@pytest.fixture(
    scope="module", params=sorted(REDUCTIONS), ids=lambda k: ("nan" if k[1] else "") + k[0]
)
def reduction(request):
    """The reduction family: (statistic, skipna, function)."""
    stat, skipna = request.param
    return stat, skipna, REDUCTIONS[request.param]


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)
