"""Recursion family: the teaching material's Fibonacci table (fib 32, 33 and 35 by the naive
recursion, C++ against pure Python) and fast doubling against the Python loop.

Each figure is the median over the harness's interleaved rounds (at least 5; fib(35) in Python
takes about a second per call, so its rounds are few). The default run keeps fib(32) and
fib_fast(10,000).
"""

from __future__ import annotations

import hotloop

from benchmarks.harness import Case, Contender


def python_fib(n: int) -> int:
    """The recursion as the teaching material writes it."""
    return n if n < 2 else python_fib(n - 1) + python_fib(n - 2)


def python_fib_loop(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def recursive_case(n: int) -> Case:
    return Case(
        f"fib({n}), naive recursion",
        lambda: n,
        Contender("hotloop.fib (C++)", hotloop.fib),
        [Contender("pure-Python recursion", python_fib)],
    )


def fast_case(n: int) -> Case:
    return Case(
        f"fib_fast({n:,}), exact",
        lambda: n,
        Contender("hotloop.fib_fast", hotloop.fib_fast),
        [Contender("pure-Python loop a, b = b, a + b", python_fib_loop)],
        agree=lambda a, b: a == b,
    )


def cases(scale: str) -> list[Case]:
    ns, fast = {
        "quick": ((15, 16, 18), (90, 1_000)),
        "default": ((32,), (10_000,)),
        "full": ((32, 33, 35), (90, 10_000, 100_000)),
    }[scale]
    return [*(recursive_case(n) for n in ns), *(fast_case(n) for n in fast)]
