"""hotloop.ws_mask against a pure-Python twin and websockets' apply_mask (RFC 6455 masking)."""

import itertools

import hotloop
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

KEY = b"\x37\xfa\x21\x3d"
CHUNK = 1 << 18  # kWsMaskChunk: the unit of the parallel split
PARALLEL_MIN = 1 << 20  # from here on n_threads is used


def mask_twin(data, key, offset=0):
    """The definition, one byte at a time."""
    data, key = bytes(data), bytes(key)
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


def rotated(key, offset):
    """The key that websockets' apply_mask (which has no offset) needs for a given offset."""
    k = offset % 4
    return key[k:] + key[:k]


@pytest.fixture(scope="module")
def apply_mask():
    speedups = pytest.importorskip("websockets.speedups")
    return speedups.apply_mask


def test_every_length_and_offset_matches_twin_and_websockets(apply_mask):
    rng = np.random.default_rng(11)
    payload = rng.integers(0, 256, 4096 + 8, dtype=np.uint8).tobytes()
    twins = {off: mask_twin(payload, KEY, off) for off in range(4)}
    for n in range(4097):
        data = payload[:n]
        for offset in range(4):
            got = hotloop.ws_mask(data, KEY, offset=offset)
            assert type(got) is bytes
            assert got == twins[offset][:n], (n, offset)
            assert got == apply_mask(data, rotated(KEY, offset)), (n, offset)


@pytest.mark.parametrize("n", [0, 1, 3, 63, 64, 65, 319, 320, 321, 1000, 4096, 70001])
def test_unaligned_views_in_and_out(n, apply_mask):
    rng = np.random.default_rng(n)
    base = bytearray(rng.integers(0, 256, n + 80, dtype=np.uint8).tobytes())
    for start in range(0, 17, 3):
        data = memoryview(base)[start : start + n]
        for offset in (0, 1, 2, 3, 5, 2**40 + 3):
            expect = apply_mask(bytes(data), rotated(KEY, offset))
            assert expect == mask_twin(data, KEY, offset)
            assert hotloop.ws_mask(data, KEY, offset=offset) == expect
            out_base = bytearray(n + 80)
            for out_start in (0, 1, 7, 33):
                out = memoryview(out_base)[out_start : out_start + n]
                assert hotloop.ws_mask(data, KEY, offset=offset, out=out) is out
                assert bytes(out) == expect
                assert out_base[:out_start] == bytearray(out_start)  # nothing outside out
                assert out_base[out_start + n :] == bytearray(len(out_base) - out_start - n)
                out_base[:] = bytearray(n + 80)


@pytest.mark.parametrize(
    "make",
    [
        bytes,
        bytearray,
        memoryview,
        lambda b: np.frombuffer(b, dtype=np.uint8).copy(),
        lambda b: np.frombuffer(b, dtype=np.int8).copy(),
        lambda b: memoryview(b).cast("c"),
    ],
    ids=["bytes", "bytearray", "memoryview", "uint8", "int8", "memoryview-c"],
)
def test_input_types(make):
    raw = bytes(range(256)) * 3 + b"tail"
    data = make(raw)
    got = hotloop.ws_mask(data, KEY, offset=1)
    if isinstance(data, np.ndarray):
        assert type(got) is np.ndarray
        assert got.dtype == data.dtype
        assert got.shape == data.shape
        assert got.tobytes() == mask_twin(raw, KEY, 1)
    else:
        assert type(got) is bytes
        assert got == mask_twin(raw, KEY, 1)
    assert bytes(memoryview(data).cast("B")) == raw  # input untouched


def test_multidimensional_array_is_masked_in_c_order():
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    got = hotloop.ws_mask(a, KEY, offset=2)
    assert got.shape == (3, 4, 5)
    assert got.tobytes() == mask_twin(a.tobytes(), KEY, 2)


@pytest.mark.parametrize("kind", ["bytearray", "ndarray", "memoryview"])
def test_in_place(kind):
    raw = np.random.default_rng(3).integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    buf = {
        "bytearray": bytearray(raw),
        "ndarray": np.frombuffer(raw, dtype=np.uint8).copy(),
        "memoryview": memoryview(bytearray(raw)),
    }[kind]
    assert hotloop.ws_mask(buf, KEY, offset=3, out=buf) is buf
    assert bytes(memoryview(buf)) == mask_twin(raw, KEY, 3)
    hotloop.ws_mask(buf, KEY, offset=3, out=buf)  # masking twice restores the payload
    assert bytes(memoryview(buf)) == raw


@pytest.mark.parametrize("shift", [1, -1, 5, -300, 999])
def test_overlapping_out_is_handled(shift):
    n = 1000
    raw = np.random.default_rng(4).integers(0, 256, n, dtype=np.uint8).tobytes()
    base = bytearray(3000)
    src_at = 500
    base[src_at : src_at + n] = raw
    view = memoryview(base)
    out = view[src_at + shift : src_at + shift + n]
    hotloop.ws_mask(view[src_at : src_at + n], KEY, offset=1, out=out)
    assert bytes(out) == mask_twin(raw, KEY, 1)


def test_pieces_with_their_positions_equal_the_whole():
    payload = np.random.default_rng(5).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    cuts = [0, 1, 2, 7, 64, 65, 3000, 3001, 9999, 10_000]
    pieces = [hotloop.ws_mask(payload[a:b], KEY, offset=a) for a, b in itertools.pairwise(cuts)]
    assert b"".join(pieces) == hotloop.ws_mask(payload, KEY)


@pytest.mark.parametrize("n", [PARALLEL_MIN - 1, PARALLEL_MIN, 5 * CHUNK * 4 + 12345])
@pytest.mark.parametrize("offset", [0, 3])
def test_threads_give_identical_bytes(n, offset):
    rng = np.random.default_rng(n)
    data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    one = hotloop.ws_mask(data, KEY, offset=offset, n_threads=1)
    for nt in (2, 3, -1, None):
        assert hotloop.ws_mask(data, KEY, offset=offset, n_threads=nt) == one
    # Check the result itself with NumPy (the pure-Python twin is too slow at this size).
    k = np.frombuffer(rotated(KEY, offset) * (n // 4 + 1), dtype=np.uint8)[:n]
    assert one == (np.frombuffer(data, dtype=np.uint8) ^ k).tobytes()
    # In place with threads too, on an unaligned view.
    buf = bytearray(b"\0" + data)
    view = memoryview(buf)[1:]
    hotloop.ws_mask(view, KEY, offset=offset, out=view, n_threads=2)
    assert bytes(view) == one


@given(
    data=st.binary(max_size=3000),
    key=st.binary(min_size=4, max_size=4),
    offset=st.integers(min_value=0, max_value=2**70),
    start=st.integers(min_value=0, max_value=20),
)
def test_property_against_twin(data, key, offset, start):
    padded = bytearray(start) + bytearray(data)
    view = memoryview(padded)[start:]
    expect = mask_twin(data, key, offset)
    assert hotloop.ws_mask(view, key, offset=offset) == expect
    assert hotloop.ws_mask(view, bytearray(key), offset=offset, out=view) is view
    assert bytes(view) == expect


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"data": "text"}, TypeError, "data must be bytes, bytearray, memoryview"),
        ({"data": 12}, TypeError, "got int"),
        ({"data": [1, 2, 3]}, TypeError, "got list"),
        ({"data": np.zeros(4)}, TypeError, "format 'd' with itemsize 8"),
        ({"data": np.zeros(4, dtype=bool)}, TypeError, "must hold bytes"),
        ({"data": np.zeros(8, dtype=np.uint8)[::2]}, ValueError, "C-contiguous"),
        ({"key": b"abc"}, ValueError, "exactly 4 bytes, got 3"),
        ({"key": b"abcde"}, ValueError, "exactly 4 bytes, got 5"),
        ({"key": "abcd"}, TypeError, "key must be 4 bytes"),
        ({"key": 0x37FA213D}, TypeError, "got int"),
        ({"offset": -1}, ValueError, "offset must be >= 0"),
        ({"offset": -(2**80)}, ValueError, "offset must be >= 0"),
        ({"offset": 1.0}, TypeError, "offset must be an int, got float"),
        ({"offset": True}, TypeError, "got bool"),
        ({"out": b"\0" * 8}, ValueError, "out is read-only"),
        ({"out": bytearray(7)}, ValueError, "out must have 8 bytes like data, got 7"),
        ({"out": np.zeros(1)}, TypeError, "out must hold bytes"),
        ({"out": "12345678"}, TypeError, "out must be bytes"),
        ({"out": np.zeros(16, dtype=np.uint8)[::2]}, ValueError, "C-contiguous"),
        ({"n_threads": 0}, ValueError, "n_threads=0"),
        ({"n_threads": 1.5}, TypeError, "n_threads"),
    ],
)
def test_bad_input(kwargs, exc, match):
    args = {"data": b"12345678", "key": KEY, **kwargs}
    data, key = args.pop("data"), args.pop("key")
    with pytest.raises(exc, match=match):
        hotloop.ws_mask(data, key, **args)


def test_bad_out_leaves_it_untouched():
    out = bytearray(b"x" * 7)
    with pytest.raises(ValueError):
        hotloop.ws_mask(b"12345678", KEY, out=out)
    assert out == bytearray(b"x" * 7)


def test_read_only_out_views():
    with pytest.raises(ValueError, match="read-only"):
        hotloop.ws_mask(b"1234", KEY, out=memoryview(bytearray(4)).toreadonly())
    ro = np.zeros(4, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        hotloop.ws_mask(b"1234", KEY, out=ro)


def test_empty():
    assert hotloop.ws_mask(b"", KEY) == b""
    assert hotloop.ws_mask(bytearray(), KEY, out=bytearray()) == bytearray()
    assert hotloop.ws_mask(np.zeros(0, dtype=np.uint8), KEY).shape == (0,)
