import os
from collections.abc import Iterable, Mapping
from typing import Any

_Path = str | bytes | os.PathLike[str] | os.PathLike[bytes]

MAGIC: int
DEVICE_APPS_TYPE: int
MAX_MESSAGE_SIZE: int
DEFAULT_BLOCK_SIZE: int
MAX_BLOCK_SIZE: int
MAX_LEVEL: int
DEFAULT_MEMBER_LIMIT: int
MAX_MEMBER_LIMIT: int

class DeviceAppsReader:
    path: Any
    byte_range: tuple[int, int, int] | None
    as_bytes: bool
    def __init__(
        self,
        path: _Path,
        *,
        as_bytes: bool = False,
        raw: bool = False,
        max_member_size: int = ...,
        byte_range: tuple[int, ...] | None = None,
    ) -> None: ...
    def __iter__(self) -> DeviceAppsReader: ...
    def __next__(self) -> Any: ...
    def close(self) -> None: ...
    def __enter__(self) -> DeviceAppsReader: ...
    def __exit__(self, *exc_info: object) -> bool: ...
    @property
    def records_read(self) -> int: ...
    @property
    def closed(self) -> bool: ...

def write(
    records: Iterable[Mapping[str, Any]],
    path: _Path,
    *,
    level: int = 6,
    n_threads: int | None = None,
    block_size: int = ...,
) -> int: ...
def write_raw(
    items: Iterable[tuple[int, bytes]],
    path: _Path,
    *,
    level: int = 6,
    n_threads: int | None = None,
    block_size: int = ...,
) -> int: ...
def encode_message(record: Mapping[str, Any]) -> bytes: ...
def decode_message(data: bytes, *, as_bytes: bool = False) -> dict[str, Any]: ...
def read(
    path: _Path,
    *,
    as_bytes: bool = False,
    max_member_size: int = ...,
    byte_range: tuple[int, ...] | None = None,
) -> DeviceAppsReader: ...
def member_ranges(path: _Path, target_bytes: int) -> list[tuple[int, int, int]]: ...
def read_raw(path: _Path, *, max_member_size: int = ...) -> DeviceAppsReader: ...
