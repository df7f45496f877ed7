"""hotloop.RunningStats against exact arithmetic: push, extend, merge, pickling."""

import copy
import itertools
import math
import pickle

import numpy as np
import pytest
from hotloop import RunningStats
from hypothesis import given
from hypothesis import strategies as st
from reference import exact_moments


def assert_matches(rs, values, *, rel=1e-14, skipna=False):
    n, mean, var = exact_moments(values, 0, skipna)
    assert rs.count == n
    for got, ref in ((rs.mean, mean), (rs.var(), var)):
        if math.isnan(ref):
            assert math.isnan(got)
        elif math.isinf(ref) or ref == 0.0:
            assert got == ref
        else:
            assert got == pytest.approx(ref, rel=rel, abs=0)


def test_push_one_by_one_at_large_offset(rng):
    values = (1e9 + rng.standard_normal(20_000)).tolist()
    rs = RunningStats()
    for v in values:
        rs.push(v)
    assert_matches(rs, values)


@pytest.mark.parametrize("kind", ["ndarray", "float32", "strided", "list", "tuple", "generator"])
def test_extend_inputs(kind, rng):
    base = 1e6 + rng.standard_normal(3001)
    if kind == "float32":
        data, values = base.astype(np.float32), base.astype(np.float32).astype(np.float64)
    elif kind == "strided":
        data, values = base[::-3], base[::-3]
    elif kind == "list":
        data, values = base.tolist(), base
    elif kind == "tuple":
        data, values = tuple(base.tolist()), base
    elif kind == "generator":
        data, values = (float(v) for v in base), base
    else:
        data, values = base, base
    rs = RunningStats()
    rs.extend(data)
    assert_matches(rs, values)


def test_generator_is_streamed_in_constant_memory():
    rs = RunningStats()
    rs.extend(float(i % 7) for i in range(300_000))  # chunks of 1024, nothing materialised
    assert rs.count == 300_000
    assert rs.mean == pytest.approx(sum(i % 7 for i in range(300_000)) / 300_000, rel=1e-15)


@given(
    st.lists(st.floats(-1e12, 1e12), min_size=0, max_size=200),
    st.lists(st.integers(0, 200), max_size=6),
)
def test_merge_of_any_split_equals_whole(values, cuts):
    cuts = sorted({0, len(values), *[c for c in cuts if c <= len(values)]})
    parts = []
    for a, b in itertools.pairwise(cuts):
        p = RunningStats()
        p.extend(np.array(values[a:b], dtype=np.float64))
        parts.append(p)
    total = RunningStats()
    for p in parts:
        total.merge(p)
    assert_matches(total, values, rel=1e-12)


def test_nonfinite_policy():
    rs = RunningStats()
    rs.extend([1.0, 2.0, math.nan])
    assert rs.count == 3 and math.isnan(rs.mean) and math.isnan(rs.std())
    rs = RunningStats(skipna=True)
    rs.extend([1.0, math.nan, 3.0])
    rs.push(math.nan)
    assert rs.count == 2 and rs.mean == 2.0 and rs.var() == 1.0
    rs = RunningStats()
    rs.extend(np.array([1.0, math.inf, 2.0]))
    assert rs.count == 3 and rs.mean == math.inf and math.isnan(rs.var())
    rs.push(-math.inf)
    assert math.isnan(rs.mean)


def test_empty_and_ddof():
    rs = RunningStats()
    assert rs.count == 0 and math.isnan(rs.mean) and math.isnan(rs.var())
    rs.push(5)
    assert rs.mean == 5.0 and rs.var() == 0.0 and math.isnan(rs.var(ddof=1))
    rs.push(7)
    assert rs.var(ddof=1) == 2.0 and rs.std(1) == math.sqrt(2.0)
    with pytest.raises(ValueError, match="ddof must be >= 0"):
        rs.var(-1)
    with pytest.raises(TypeError, match="ddof must be an int"):
        rs.std(0.5)


def test_equal_values_have_zero_variance():
    rs = RunningStats()
    for _ in range(1000):
        rs.push(0.1)
    assert rs.var() == 0.0 and rs.mean == 0.1


def test_pickle_copy_and_repr(rng):
    rs = RunningStats()
    rs.extend(1e9 + rng.standard_normal(1000))
    rs.push(math.inf)
    for clone in (pickle.loads(pickle.dumps(rs)), copy.copy(rs), copy.deepcopy(rs)):
        assert clone.count == rs.count
        assert clone.__reduce__() == rs.__reduce__()  # the whole state, bit for bit
    r = repr(rs)
    assert r.startswith("RunningStats(count=1001, mean=inf, std=nan")
    assert "skipna" in repr(RunningStats(skipna=True))


def test_bad_input_leaves_state_unchanged():
    rs = RunningStats()
    rs.extend([1.0, 2.0])
    before = rs.__reduce__()
    with pytest.raises(TypeError, match=r"x\[2\] must be a real number"):
        rs.extend(iter([3.0, 4.0, "five"]))
    with pytest.raises(TypeError, match="float64 or float32"):
        rs.extend(np.arange(3))
    with pytest.raises(ValueError, match="1-D"):
        rs.extend(np.ones((2, 2)))
    with pytest.raises(TypeError, match="push expects a real number, got str"):
        rs.push("1.0")
    with pytest.raises(TypeError):
        rs.merge([1.0])
    with pytest.raises(ValueError, match="cannot merge skipna=True"):
        rs.merge(RunningStats(skipna=True))
    assert rs.__reduce__() == before


def test_corrupt_pickle_state_is_refused():
    rs = RunningStats()
    fn, args = rs.__reduce__()
    bad = list(args)
    bad[1] = -5
    with pytest.raises(ValueError, match="negative count"):
        fn(*bad)
