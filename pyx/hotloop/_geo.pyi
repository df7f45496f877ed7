from collections.abc import Sequence
from typing import SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.float64] | npt.NDArray[np.float32] | Sequence[SupportsFloat]
_Ids = npt.NDArray[np.uint64] | npt.NDArray[np.signedinteger] | Sequence[int]
_Tokens = npt.NDArray[np.str_] | npt.NDArray[np.bytes_] | Sequence[str] | Sequence[bytes]
_U64 = npt.NDArray[np.uint64]

def latlng_to_cell(
    lat: _Floats, lon: _Floats, level: SupportsIndex = 30, *, n_threads: int | None = None
) -> _U64: ...
def cell_to_latlng(
    ids: _Ids, *, n_threads: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def cell_parent(ids: _Ids, level: SupportsIndex, *, n_threads: int | None = None) -> _U64: ...
def cell_level(ids: _Ids) -> npt.NDArray[np.int8]: ...
def cell_to_token(ids: _Ids, *, n_threads: int | None = None) -> npt.NDArray[np.str_]: ...
def token_to_cell(tokens: _Tokens, *, n_threads: int | None = None) -> _U64: ...
def _cover_rings(
    coords: npt.NDArray[np.float64],
    ring_start: npt.NDArray[np.int64],
    shell_of: npt.NDArray[np.int64],
    geom_start: npt.NDArray[np.int64],
    max_cells: SupportsIndex,
    min_level: SupportsIndex,
    max_level: SupportsIndex,
    level_mod: SupportsIndex,
    interior: bool,
    n_threads: int | None,
) -> tuple[_U64 | None, npt.NDArray[np.int64] | None, tuple[int, int, str] | None]: ...
