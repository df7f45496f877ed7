from typing import TypeVar

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

_Out = TypeVar("_Out", bound=Buffer)

def ws_mask(
    data: Buffer,
    key: Buffer,
    *,
    offset: int = 0,
    out: _Out | None = None,
    n_threads: int | None = None,
) -> bytes | npt.NDArray[np.uint8] | npt.NDArray[np.int8] | _Out: ...
