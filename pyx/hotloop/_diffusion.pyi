from collections.abc import Callable, Sequence
from typing import Literal, SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt

_Grid = npt.NDArray[np.float64] | npt.NDArray[np.float32]

def evolve(
    grid: _Grid | Sequence[Sequence[float]],
    out: _Grid,
    D: SupportsFloat = 1.0,
    dt: SupportsFloat = 0.1,
) -> _Grid: ...
def diffuse(
    grid: _Grid | Sequence[Sequence[float]],
    steps: SupportsIndex,
    *,
    D: SupportsFloat = 1.0,
    dt: SupportsFloat = 0.1,
    boundary: Literal["fixed", "periodic"] = "fixed",
    n_threads: int | None = None,
    progress: bool | Callable[[int, int], object] = False,
) -> _Grid: ...

# Argument checks shared with hotloop.ffi (private).
def as_grid(grid: object, name: str) -> _Grid: ...
def evolve_args(grid: object, out: object, D: object, dt: object) -> tuple[_Grid, float, float]: ...
