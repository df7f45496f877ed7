from collections.abc import Sequence
from typing import SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.float64] | npt.NDArray[np.float32]
_Values = _Floats | Sequence[SupportsFloat]
_F = npt.NDArray[np.floating]

def rolling_mean(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_var(
    x: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 0,
    min_periods: SupportsIndex | None = None,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_std(
    x: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 0,
    min_periods: SupportsIndex | None = None,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...

# Argument checks shared with hotloop.ffi (private).
def rolling_params(
    window: object, ddof: object, min_periods: object, has_ddof: bool
) -> tuple[int, int, int]: ...
