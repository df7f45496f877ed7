from collections.abc import Sequence
from typing import SupportsComplex, SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt

_Complex = npt.NDArray[np.complex128] | Sequence[complex]
_Counts = npt.NDArray[np.int32]
_Lim = tuple[SupportsFloat, SupportsFloat]

def julia(
    zs: _Complex,
    cs: SupportsComplex | complex | _Complex,
    maxiter: SupportsIndex,
    *,
    n_threads: int | None = None,
) -> _Counts: ...
def julia_grid(
    c: SupportsComplex | complex,
    width: SupportsIndex,
    height: SupportsIndex | None = None,
    *,
    xlim: _Lim = (-1.8, 1.8),
    ylim: _Lim = (-1.8, 1.8),
    maxiter: SupportsIndex = 300,
    n_threads: int | None = None,
    rows: tuple[SupportsIndex, SupportsIndex] | None = None,
    cols: tuple[SupportsIndex, SupportsIndex] | None = None,
) -> _Counts: ...
def mandelbrot_grid(
    width: SupportsIndex,
    height: SupportsIndex | None = None,
    *,
    xlim: _Lim = (-2.0, 1.0),
    ylim: _Lim = (-1.5, 1.5),
    maxiter: SupportsIndex = 300,
    n_threads: int | None = None,
    rows: tuple[SupportsIndex, SupportsIndex] | None = None,
    cols: tuple[SupportsIndex, SupportsIndex] | None = None,
) -> _Counts: ...

# Argument checks shared with hotloop.ffi (private).
def julia_args(
    zs: object, cs: object, maxiter: object
) -> tuple[npt.NDArray[np.complex128], npt.NDArray[np.complex128], int, int]: ...
