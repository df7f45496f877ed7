import os
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

import numpy as np

from hotloop._errors import HotloopError

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]

FREQUENCY_COUNT: int
RECORD_SIZE_64: int
RECORD_SIZE_32: int
BLOCK_SIZE: int
STEP_BYTES: int
RECORD_DTYPE: np.dtype
RECORD_DTYPE_32: np.dtype

class Compression(IntEnum):
    none = 0
    gzip = 1
    lz4 = 2

class RecordsError(HotloopError):
    path: str | None
    kind: str | None
    offset: int | None
    file_offset: int | None
    line: int | None
    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        kind: str | None = None,
        offset: int | None = None,
        file_offset: int | None = None,
        line: int | None = None,
    ) -> None: ...

class Counters:
    def __init__(self, key_size: int = 8) -> None: ...
    @property
    def key_size(self) -> int: ...
    @property
    def records(self) -> int: ...
    @property
    def shows_all(self) -> int: ...
    @property
    def clicks_all(self) -> int: ...
    def __len__(self) -> int: ...
    def frequencies(self) -> tuple[list[int], list[int]]: ...
    def result(
        self, entity_type: str | int, entity_id: str | int, *, as_json: bool = False
    ) -> dict[str, Any] | str: ...
    def merge(self, other: Counters) -> Counters: ...
    def state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    @staticmethod
    def from_state(
        key_size: int,
        ids: Any,
        shows: Any,
        clicks: Any,
        shows_all: int,
        clicks_all: int,
        records: int,
    ) -> Counters: ...

class CountsIterator:
    path: Any
    key_size: int
    def __init__(
        self, path: _Path, *, key_size: int = 8, batch_size: int | None = None
    ) -> None: ...
    def __iter__(self) -> CountsIterator: ...
    def __next__(self) -> tuple[int, int, int] | np.ndarray: ...

def count_records(
    paths: _Path | Iterable[_Path], *, key_size: int = 8, n_threads: int | None = None
) -> Counters: ...
def get_counters(
    paths: _Path | Iterable[_Path],
    entity_type: str | int,
    entity_id: str | int,
    *,
    key_size: int = 8,
    as_json: bool = False,
    n_threads: int | None = None,
) -> dict[str, Any] | str: ...
def targets_negative(
    all_path: _Path,
    in_path: _Path,
    out_path: _Path,
    *,
    has_header: bool = True,
    key64: bool = False,
    n_threads: int | None = None,
) -> int: ...
def iter_counts(
    path: _Path, *, key_size: int = 8, batch_size: int | None = None
) -> CountsIterator: ...
def read_counts(path: _Path, *, key_size: int = 8) -> np.ndarray: ...
def write_counts(
    path: _Path,
    ids: Any,
    shows: Any,
    clicks: Any,
    *,
    key_size: int = 8,
    compression: str | Compression | None = "gzip",
    level: int | None = None,
) -> int: ...
def compression_of(path: _Path) -> Compression: ...
