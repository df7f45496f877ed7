"""Byte family: WebSocket masking (RFC 6455) against websockets' C ``apply_mask``.

Anchors: websockets' C speedup (``websockets.speedups.apply_mask``, SSE2, always allocates a new
``bytes``), a NumPy version XORing a uint32 view, a plain Python loop (the teaching material's
baseline, where a Go shared library was ~7000x faster on 64 KiB), and memcpy of the same size
as the ceiling: masking reads and writes every byte once, as a copy does, so no masking can beat
the copy that has the same allocation. Out of place the ceiling is ``bytes(bytearray)`` (allocate
+ memcpy, as ``ws_mask`` and ``apply_mask`` do); in place it is ``np.copyto`` into a
preallocated buffer.
"""

from __future__ import annotations

import importlib.metadata

import hotloop
import numpy as np

from benchmarks.harness import Case, Contender, Unavailable, at_least

SEED = 20240604
KEY = b"\x37\xfa\x21\x3d"
KIB = 1024
MIB = 1024 * KIB


def label(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"


def payload(n: int) -> bytes:
    return np.random.default_rng(SEED).integers(0, 256, n, dtype=np.uint8).tobytes()


# --------------------------------------------------------------------------------------------
# Anchors written out


def numpy_mask(data: bytes, key: bytes) -> np.ndarray:
    """XOR through a uint32 view (4 key bytes at a time), the tail byte by byte.

    Returns the array (converting to bytes would add a copy that this anchor is spared).
    """
    n = len(data)
    a = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(n, dtype=np.uint8)
    m = n - n % 4
    np.bitwise_xor(
        a[:m].view(np.uint32), np.frombuffer(key, dtype=np.uint32)[0], out=out[:m].view(np.uint32)
    )
    out[m:] = a[m:] ^ np.frombuffer(key, dtype=np.uint8)[: n - m]
    return out


def numpy_mask_inplace(buf: np.ndarray, key: bytes) -> np.ndarray:
    """In place through a uint32 view (buf's length is a multiple of 4 here)."""
    v = buf.view(np.uint32)
    np.bitwise_xor(v, np.frombuffer(key, dtype=np.uint32)[0], out=v)
    return buf


def python_mask(data: bytes, key: bytes) -> bytes:
    """The loop a user writes first."""
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def copy_bytes(source: bytearray) -> bytes:
    """Allocate a new bytes object and memcpy into it."""
    return bytes(source)


def same_bytes(a, b) -> bool:
    return bytes(memoryview(a).cast("B")) == bytes(memoryview(b).cast("B"))


# --------------------------------------------------------------------------------------------
# Cases


def out_of_place(n: int, apply_mask, ws_label: str, with_python: bool) -> Case:
    def setup():
        data = payload(n)
        return data, KEY, bytearray(hotloop.ws_mask(data, KEY))

    threads = n >= MIB
    subjects = [
        Contender(
            "hotloop.ws_mask(data, key)" + (", 1 thread" if threads else ""),
            hotloop.ws_mask,
            {"n_threads": 1},
            args=lambda d: d[:2],
            key="1 thread",
        )
    ]
    if threads:
        subjects.append(
            Contender(
                "hotloop.ws_mask(data, key), 2 threads",
                hotloop.ws_mask,
                {"n_threads": 2},
                args=lambda d: d[:2],
                key="2 threads",
            )
        )
    anchors = [
        Contender(ws_label, apply_mask, args=lambda d: d[:2], require=at_least(1.0)),
        Contender("NumPy uint32-view XOR", numpy_mask, args=lambda d: d[:2]),
        Contender(
            "memcpy ceiling: bytes(bytearray)",
            copy_bytes,
            args=lambda d: (d[2],),
            note="the copy of the masked bytes: same allocation and traffic",
            peer=False,
        ),
    ]
    if with_python:
        anchors.append(Contender("pure-Python loop", python_mask, args=lambda d: d[:2]))
    return Case(f"ws_mask out of place, {label(n)}", setup, subjects, anchors, agree=same_bytes)


def in_place(n: int, apply_mask, ws_label: str) -> Case:
    def setup():
        data = payload(n)
        buf = bytearray(data)
        arr = np.frombuffer(data, dtype=np.uint8).copy()
        dst = np.empty_like(arr)
        return data, KEY, buf, arr, dst

    def masked_in_place(buf, key, n_threads):
        return hotloop.ws_mask(buf, key, out=buf, n_threads=n_threads)

    need = at_least(1.5) if n >= 256 * KIB else None
    threads = n >= MIB
    subjects = [
        Contender(
            "hotloop.ws_mask(buf, key, out=buf)" + (", 1 thread" if threads else ""),
            masked_in_place,
            {"n_threads": 1},
            args=lambda d: (d[2], d[1]),
            key="1 thread",
        )
    ]
    if threads:
        subjects.append(
            Contender(
                "hotloop.ws_mask(buf, key, out=buf), 2 threads",
                masked_in_place,
                {"n_threads": 2},
                args=lambda d: (d[2], d[1]),
                key="2 threads",
            )
        )
    anchors = [
        Contender(
            ws_label + " (new bytes: it has no in-place form)",
            apply_mask,
            args=lambda d: d[:2],
            require=need,
        ),
        Contender(
            "NumPy uint32-view XOR in place", numpy_mask_inplace, args=lambda d: (d[3], d[1])
        ),
        Contender(
            "memcpy ceiling: np.copyto(dst, src)",
            np.copyto,
            args=lambda d: (d[4], d[3]),
            peer=False,
        ),
    ]
    # In-place calls toggle the buffer: results differ between contenders by design.
    return Case(f"ws_mask in place, {label(n)}", setup, subjects, anchors, agree=None)


def cases(scale: str) -> list[Case]:
    try:
        from websockets.speedups import apply_mask
    except ImportError as exc:
        raise Unavailable(f"websockets with its C speedups is not installed ({exc})") from None
    ws_label = f"websockets {importlib.metadata.version('websockets')} apply_mask (C)"
    outs, ins = {
        "quick": ((4 * KIB, 64 * KIB), (4 * KIB, 64 * KIB)),
        "default": ((64 * KIB, MIB), (256 * KIB,)),
        "full": ((64 * KIB, MIB, 16 * MIB), (64 * KIB, 256 * KIB, MIB, 16 * MIB)),
    }[scale]
    return [
        *(out_of_place(n, apply_mask, ws_label, with_python=n == 64 * KIB) for n in outs),
        *(in_place(n, apply_mask, ws_label) for n in ins),
    ]
