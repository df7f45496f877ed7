from collections.abc import Sequence
from typing import Literal, SupportsFloat, SupportsIndex, SupportsInt, overload

import numpy as np
import numpy.typing as npt

# Scalars in give NumPy scalars out; arrays (0-d included) and sequences give arrays of their
# shape (see hotloop.geo's functions).
_Float = float | int | np.floating | np.integer
_Floats = npt.NDArray[np.float64] | npt.NDArray[np.float32] | Sequence[SupportsFloat]
_Id = int | np.integer
_Ids = npt.NDArray[np.uint64] | npt.NDArray[np.signedinteger] | Sequence[SupportsInt]
_Token = str | bytes
_Tokens = npt.NDArray[np.str_] | npt.NDArray[np.bytes_] | Sequence[str] | Sequence[bytes]
_U64 = npt.NDArray[np.uint64]

@overload
def latlng_to_cell(
    lat: _Float, lon: _Float, level: SupportsIndex = 30, *, n_threads: int | None = None
) -> np.uint64: ...
@overload
def latlng_to_cell(
    lat: _Floats | _Float,
    lon: _Floats | _Float,
    level: SupportsIndex = 30,
    *,
    n_threads: int | None = None,
) -> _U64: ...
@overload
def cell_to_latlng(ids: _Id, *, n_threads: int | None = None) -> tuple[np.float64, np.float64]: ...
@overload
def cell_to_latlng(
    ids: _Ids, *, n_threads: int | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
@overload
def cell_parent(ids: _Id, level: SupportsIndex, *, n_threads: int | None = None) -> np.uint64: ...
@overload
def cell_parent(ids: _Ids, level: SupportsIndex, *, n_threads: int | None = None) -> _U64: ...
@overload
def cell_level(ids: _Id) -> np.int8: ...
@overload
def cell_level(ids: _Ids) -> npt.NDArray[np.int8]: ...
@overload
def cell_to_token(ids: _Id, *, n_threads: int | None = None) -> np.str_: ...
@overload
def cell_to_token(ids: _Ids, *, n_threads: int | None = None) -> npt.NDArray[np.str_]: ...
@overload
def token_to_cell(tokens: _Token, *, n_threads: int | None = None) -> np.uint64: ...
@overload
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
    max_cell_tests: SupportsIndex | Literal["auto"] | None,
    n_threads: int | None,
) -> tuple[_U64 | None, npt.NDArray[np.int64] | None, tuple[int, int, str] | None]: ...
