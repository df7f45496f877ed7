"""hotloop.cabi: the C ABI for bytes, lists and scalars, without NumPy; also from PyPy."""

import array
import importlib.util
import json
import math
import random
import shutil
import struct
import subprocess
import sys
import textwrap

import hotloop
import pytest
from hotloop import cabi

KEY = b"\x37\xfa\x21\x3d"


def load(backend):
    """A fresh copy of the module on the given backend (ctypes: cffi hidden from it)."""
    spec = importlib.util.spec_from_file_location(f"hotloop_cabi_{backend}", cabi.__file__)
    module = importlib.util.module_from_spec(spec)
    if backend == "ctypes":
        saved = sys.modules.get("cffi")
        sys.modules["cffi"] = None  # import cffi raises ImportError
        try:
            spec.loader.exec_module(module)
        finally:
            if saved is None:
                del sys.modules["cffi"]
            else:
                sys.modules["cffi"] = saved
    else:
        pytest.importorskip("cffi")
        spec.loader.exec_module(module)
    assert module.backend == backend
    return module


@pytest.fixture(scope="module", params=["cffi", "ctypes"])
def mod(request):
    return load(request.param)


def bits(x):
    """The float's bytes: equality bit for bit (NaN payloads included)."""
    return struct.pack("<d", x)


def test_imports_neither_numpy_nor_extensions():
    code = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("c", {cabi.__file__!r})
        m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
        assert m.fib(10) == 55
        print(sorted(k for k in sys.modules if k.split(".")[0] in ("numpy", "hotloop")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("n", [0, 1, 2, 20, 30, 93])
def test_fib_matches_hotloop(mod, n):
    assert mod.fib_fast(n) == hotloop.fib_fast(n)
    if n <= 30:
        assert mod.fib(n) == hotloop.fib(n)


@pytest.mark.parametrize(
    ("arg", "exc"), [(-1, ValueError), (94, OverflowError), (2.0, TypeError), (True, TypeError)]
)
def test_fib_refuses_what_hotloop_refuses(mod, arg, exc):
    with pytest.raises(exc):
        mod.fib(arg)
    with pytest.raises(exc):
        hotloop.fib(arg)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 15, 16, 17, 125, 1000, 65537])
@pytest.mark.parametrize("offset", [0, 1, 3, 6])
def test_ws_mask_matches_hotloop_and_a_twin(mod, n, offset):
    data = random.Random(n).randbytes(n)
    twin = bytes(b ^ KEY[(offset + i) % 4] for i, b in enumerate(data))
    for kind in (bytes, bytearray, memoryview):
        got = mod.ws_mask(kind(data), KEY, offset=offset)
        assert type(got) is bytes
        assert got == twin == hotloop.ws_mask(data, KEY, offset=offset)


def test_ws_mask_bad_input(mod):
    with pytest.raises(ValueError, match="4 bytes"):
        mod.ws_mask(b"abc", b"abc")
    with pytest.raises(TypeError, match="str"):
        mod.ws_mask("abc", KEY)
    with pytest.raises(TypeError, match="bytes-like"):
        mod.ws_mask([1, 2], KEY)
    with pytest.raises(ValueError):
        mod.ws_mask(b"abc", KEY, offset=-1)


@pytest.mark.parametrize("n", [1, 2, 7, 50, 1001])
def test_moments_match_hotloop_bit_for_bit(mod, n):
    rng = random.Random(n)
    values = [1e6 + rng.gauss(0, 1) for _ in range(n)]
    for seq in (values, tuple(values), array.array("d", values)):
        assert bits(mod.mean(seq)) == bits(hotloop.mean(values))
        assert bits(mod.var(seq)) == bits(hotloop.var(values))
        assert bits(mod.std(seq)) == bits(hotloop.std(values))
        if n > 1:
            assert bits(mod.std(seq, ddof=1)) == bits(hotloop.std(values, ddof=1))


def test_moments_edge_cases(mod):
    assert math.isnan(mod.mean([]))
    assert math.isnan(mod.std([]))
    assert mod.mean([1, 2, 3, 4]) == 2.5  # ints are converted, as NumPy does
    assert math.isnan(mod.mean([1.0, math.nan]))
    assert mod.mean([1.0, math.inf]) == math.inf
    assert math.isnan(mod.var([1.0, math.inf]))
    # the accurate kernels: a naive sum would lose the 1.0 entirely
    assert mod.mean([1e16, 1.0, -1e16]) == pytest.approx(1 / 3, rel=1e-15)
    with pytest.raises(TypeError, match="str"):
        mod.mean([1.0, "2"])
    with pytest.raises(TypeError, match="sequence"):
        mod.mean(3.0)
    with pytest.raises(ValueError, match="ddof"):
        mod.std([1.0, 2.0], ddof=2)


def test_int_beyond_float64_is_named_as_hotloop_names_it(mod):
    for x in ([1.0, 10**400], (3, -(10**401))):
        with pytest.raises(OverflowError) as ours:
            mod.mean(x)
        with pytest.raises(OverflowError) as theirs:
            hotloop.mean(x)
        assert str(ours.value) == str(theirs.value)
        assert "x[1] is too large for a float64: got " in str(ours.value)
        assert "digits); accepted: finite float64" in str(ours.value)
        with pytest.raises(OverflowError, match=r"x\[1\] is too large for a float64"):
            mod.std(x)


PYPY_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("hotloop_cabi", sys.argv[1])
cabi = importlib.util.module_from_spec(spec); spec.loader.exec_module(cabi)
data = bytes(range(256)) * 3
print(json.dumps({
    "impl": sys.implementation.name, "backend": cabi.backend, "numpy": "numpy" in sys.modules,
    "fib": cabi.fib(25), "ws_mask": cabi.ws_mask(data, bytes.fromhex(sys.argv[2]), offset=1).hex(),
    "mean": cabi.mean([0.1 * i for i in range(1000)]).hex(),
}))
"""


@pytest.mark.skipif(shutil.which("pypy3") is None, reason="no pypy3 (apt-get install pypy3)")
def test_pypy_loads_the_same_library():
    """Debian's pypy3 runs the kernels of this very libhotloop_c.so through cffi."""
    run = subprocess.run(
        ["pypy3", "-c", PYPY_SCRIPT, cabi.__file__, KEY.hex()],
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(run.stdout)
    data = bytes(range(256)) * 3
    assert got["impl"] == "pypy"
    assert got["backend"] == "cffi"
    assert got["numpy"] is False
    assert got["fib"] == hotloop.fib(25) == 75025
    assert got["ws_mask"] == hotloop.ws_mask(data, KEY, offset=1).hex()
    assert got["mean"] == hotloop.mean([0.1 * i for i in range(1000)]).hex()
