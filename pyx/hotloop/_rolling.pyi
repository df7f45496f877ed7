from collections.abc import Sequence
from typing import Literal, SupportsFloat, SupportsIndex

import numpy as np
import numpy.typing as npt

_Values = npt.NDArray[np.floating | np.integer | np.bool_] | Sequence[SupportsFloat]
_F = npt.NDArray[np.floating]
_Interpolation = Literal["linear", "lower", "higher", "nearest", "midpoint"]

def rolling_sum(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_mean(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_var(
    x: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 0,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_std(
    x: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 0,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_count(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_min(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_max(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_argmin(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_argmax(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_median(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_quantile(
    x: _Values,
    window: SupportsIndex,
    q: SupportsFloat,
    *,
    interpolation: _Interpolation = "linear",
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_rank(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...

# bottleneck's signatures.
def move_sum(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_mean(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_std(
    a: _Values,
    window: SupportsIndex,
    min_count: SupportsIndex | None = None,
    axis: int = -1,
    ddof: SupportsIndex = 0,
) -> _F: ...
def move_var(
    a: _Values,
    window: SupportsIndex,
    min_count: SupportsIndex | None = None,
    axis: int = -1,
    ddof: SupportsIndex = 0,
) -> _F: ...
def move_min(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_max(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_argmin(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_argmax(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_median(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...
def move_rank(
    a: _Values, window: SupportsIndex, min_count: SupportsIndex | None = None, axis: int = -1
) -> _F: ...

# Argument checks shared with hotloop.ffi (private).
def rolling_params(
    window: object, ddof: object, min_periods: object, has_ddof: bool
) -> tuple[int, int, int]: ...
def as_rolling_array(x: object, name: str) -> np.ndarray: ...
def as_axis(axis: object, ndim: int, name: str) -> int: ...

# Shape and pair statistics.
def rolling_skew(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_kurt(
    x: _Values,
    window: SupportsIndex,
    *,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_sem(
    x: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 1,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_cov(
    x: _Values,
    y: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 1,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def rolling_corr(
    x: _Values,
    y: _Values,
    window: SupportsIndex,
    *,
    ddof: SupportsIndex = 1,
    min_periods: SupportsIndex | None = None,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...

# Exponentially weighted statistics: pandas' DataFrame.ewm, and numbagg's signatures.
_Alpha = SupportsFloat | None

def ewm_mean(
    x: _Values,
    *,
    alpha: _Alpha = None,
    span: _Alpha = None,
    halflife: _Alpha = None,
    com: _Alpha = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: SupportsIndex | None = 0,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def ewm_var(
    x: _Values,
    *,
    alpha: _Alpha = None,
    span: _Alpha = None,
    halflife: _Alpha = None,
    com: _Alpha = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: SupportsIndex | None = 0,
    bias: bool = False,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def ewm_std(
    x: _Values,
    *,
    alpha: _Alpha = None,
    span: _Alpha = None,
    halflife: _Alpha = None,
    com: _Alpha = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: SupportsIndex | None = 0,
    bias: bool = False,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def ewm_cov(
    x: _Values,
    y: _Values,
    *,
    alpha: _Alpha = None,
    span: _Alpha = None,
    halflife: _Alpha = None,
    com: _Alpha = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: SupportsIndex | None = 0,
    bias: bool = False,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...
def ewm_corr(
    x: _Values,
    y: _Values,
    *,
    alpha: _Alpha = None,
    span: _Alpha = None,
    halflife: _Alpha = None,
    com: _Alpha = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: SupportsIndex | None = 0,
    axis: SupportsIndex = -1,
    out: _F | None = None,
    n_threads: int | None = None,
) -> _F: ...

_ExpAlpha = SupportsFloat | npt.NDArray[np.floating] | Sequence[SupportsFloat]
_ExpAxis = SupportsIndex | tuple[SupportsIndex, ...]

def move_exp_nanmean(
    a: _Values, /, *, alpha: _ExpAlpha, min_weight: SupportsFloat = 0, axis: _ExpAxis = -1
) -> _F: ...
def move_exp_nansum(
    a: _Values, /, *, alpha: _ExpAlpha, min_weight: SupportsFloat = 0, axis: _ExpAxis = -1
) -> _F: ...
def move_exp_nanvar(
    a: _Values, /, *, alpha: _ExpAlpha, min_weight: SupportsFloat = 0, axis: _ExpAxis = -1
) -> _F: ...
def move_exp_nanstd(
    a: _Values, /, *, alpha: _ExpAlpha, min_weight: SupportsFloat = 0, axis: _ExpAxis = -1
) -> _F: ...
def move_exp_nancount(
    a: _Values, /, *, alpha: _ExpAlpha, min_weight: SupportsFloat = 0, axis: _ExpAxis = -1
) -> _F: ...
def move_exp_nancov(
    a: _Values,
    b: _Values,
    /,
    *,
    alpha: _ExpAlpha,
    min_weight: SupportsFloat = 0,
    axis: _ExpAxis = -1,
) -> _F: ...
def move_exp_nancorr(
    a: _Values,
    b: _Values,
    /,
    *,
    alpha: _ExpAlpha,
    min_weight: SupportsFloat = 0,
    axis: _ExpAxis = -1,
) -> _F: ...

MOMENTS_TILE: int
DIRECT_WINDOW_MAX: dict[str, int]

def moments_block_size(window: SupportsIndex) -> int: ...
