"""hotloop.fib (naive recursion in C++) and hotloop.fib_fast (fast doubling) against loops."""

import math
import sys

import hotloop
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from interrupts import interrupted_after

FIB_93 = 12200160415121876738


def fib_loop(n):
    """The iterative definition in Python integers: the reference."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def fib_python(n):
    """The recursion of the teaching material, in pure Python."""
    return n if n < 2 else fib_python(n - 1) + fib_python(n - 2)


def test_fib_small_values():
    for n in range(31):
        assert hotloop.fib(n) == fib_loop(n), n
    assert hotloop.fib(20) == fib_python(20)
    assert type(hotloop.fib(5)) is int


@pytest.mark.parametrize("n", [np.int64(10), np.uint8(10), np.int32(10)])
def test_fib_accepts_integer_like(n):
    assert hotloop.fib(n) == 55
    assert hotloop.fib_fast(n) == 55


@pytest.mark.parametrize(
    ("n", "exc", "match"),
    [
        (-1, ValueError, "n must be >= 0, got -1"),
        (-(2**70), ValueError, "n must be >= 0"),
        (94, OverflowError, r"fib\(94\) does not fit in 64 bits"),
        (10**30, OverflowError, "n must be >= 0, got 10{30} .too large for a C Py_ssize_t"),
        (1.0, TypeError, "got float"),
        ("3", TypeError, "got str"),
        (True, TypeError, "got bool"),
        (None, TypeError, "got NoneType"),
        (np.float64(3), TypeError, "got float64"),
    ],
)
def test_fib_bad_input(n, exc, match):
    with pytest.raises(exc, match=match):
        hotloop.fib(n)


def test_fib_fast_exact_against_loop():
    ref = [fib_loop(n) for n in range(2000)]
    for n in range(2000):
        assert hotloop.fib_fast(n) == ref[n], n
    assert hotloop.fib_fast(93) == FIB_93
    assert hotloop.fib_fast(94) == FIB_93 + fib_loop(92)
    assert hotloop.fib_fast(5000) == fib_loop(5000)


@pytest.mark.parametrize("n", [64, 93, 94, 127, 128, 129, 255, 256, 1023, 1024, 1025])
def test_fib_fast_around_bit_boundaries(n):
    assert hotloop.fib_fast(n) == fib_loop(n)


@given(st.integers(min_value=1, max_value=200_000))
def test_fib_fast_identities(n):
    """Cassini and the doubling-free addition law: independent of the fast-doubling formulas."""
    a, b, c = hotloop.fib_fast(n - 1), hotloop.fib_fast(n), hotloop.fib_fast(n + 1)
    assert a + b == c
    assert a * c - b * b == (-1) ** n
    m = n // 3 + 1
    # fib(n + m) = fib(n) fib(m + 1) + fib(n - 1) fib(m)
    assert hotloop.fib_fast(n + m) == b * hotloop.fib_fast(m + 1) + a * hotloop.fib_fast(m)


def test_fib_fast_large():
    f = hotloop.fib_fast(10**6)
    assert math.floor(math.log10(f)) + 1 == 208_988  # digits (str() is capped at 4300)
    # The last ten digits by the plain loop modulo 10**10 (independent of fast doubling).
    a, b, mod = 0, 1, 10**10
    for _ in range(10**6):
        a, b = b, (a + b) % mod
    assert f % mod == a


@pytest.mark.parametrize(
    ("n", "exc"),
    [(-1, ValueError), (2**63, OverflowError), (2.5, TypeError), (False, TypeError)],
)
def test_fib_fast_bad_input(n, exc):
    with pytest.raises(exc):
        hotloop.fib_fast(n)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("code", ["hotloop.fib_fast(2**40)", "hotloop.fib(80)"])
def test_long_calls_stop_on_ctrl_c(code):
    took, err = interrupted_after(f"import hotloop; {code}")
    assert "KeyboardInterrupt" in err
    assert took < 10.0  # well under a second when the machine is idle


def test_fib_split_above_the_leaf_matches_loop():
    for n in (37, 38):
        assert hotloop.fib(n) == fib_loop(n)
