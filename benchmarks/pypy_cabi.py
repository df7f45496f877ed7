"""PyPy's JIT on pure-Python loops beside hotloop's C ABI called from PyPy (hotloop.cabi).

    pypy3 benchmarks/pypy_cabi.py [path/to/hotloop/cabi.py]

Runs under any Python (CPython too, for comparison) without NumPy: the C side is the
libhotloop_c.so next to cabi.py, loaded through cffi. Each row is timed after a warm-up long
enough for PyPy's JIT to compile the loop (the warm-up calls are not counted), as the best of
7 repeats; the table gives time per call and the ratio pure Python / C ABI (> 1: the C ABI is
faster). The pure-Python twins compute the same results (checked before timing).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, os.pardir, "pyx", "hotloop", "cabi.py")


def load(path: str):
    spec = importlib.util.spec_from_file_location("hotloop_cabi", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def py_fib(n):
    return n if n < 2 else py_fib(n - 1) + py_fib(n - 2)


def py_ws_mask(data, key):
    out = bytearray(data)
    for i in range(len(out)):
        out[i] ^= key[i & 3]
    return bytes(out)


def py_mean(xs):
    # two passes, as the kernel does: the mean, then the mean of the residuals as a correction
    n = len(xs)
    s = 0.0
    for x in xs:
        s += x
    m = s / n
    r = 0.0
    for x in xs:
        r += x - m
    return m + r / n


def per_call(fn, arg, budget=0.2):
    for _ in range(3):  # warm-up: let the JIT trace and compile
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < budget:
            fn(arg)
            k += 1
    best = math.inf
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(k):
            fn(arg)
        best = min(best, (time.perf_counter() - t0) / k)
    return best


def fmt(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def main():
    cabi = load(sys.argv[1] if len(sys.argv) > 1 else DEFAULT)
    key = b"\x37\xfa\x21\x3d"
    small, large = bytes(range(125)), bytes(range(256)) * 4096
    floats50 = [1e6 + 0.1 * i for i in range(50)]
    floats100k = [1e6 + 1e-3 * i for i in range(100_000)]
    rows = [
        ("fib(1)", py_fib, cabi.fib, 1),
        ("fib(25), naive recursion", py_fib, cabi.fib, 25),
        ("ws_mask 125 B", lambda d: py_ws_mask(d, key), lambda d: cabi.ws_mask(d, key), small),
        ("ws_mask 1 MiB", lambda d: py_ws_mask(d, key), lambda d: cabi.ws_mask(d, key), large),
        ("mean of a list of 50", py_mean, cabi.mean, floats50),
        ("mean of a list of 100k", py_mean, cabi.mean, floats100k),
    ]
    impl = f"{sys.implementation.name} {sys.version.split()[0]}"
    print(f"| {impl}, cabi backend {cabi.backend} | pure Python | hotloop C ABI | ratio |")
    print("| --- | --- | --- | --- |")
    for name, py, c, arg in rows:
        a, b = py(arg), c(arg)
        assert a == b or (isinstance(a, float) and abs(a - b) <= 1e-9 * abs(a)), (name, a, b)
        tp, tc = per_call(py, arg), per_call(c, arg)
        print(f"| {name} | {fmt(tp)} | {fmt(tc)} | {tp / tc:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
