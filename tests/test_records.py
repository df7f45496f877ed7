"""hotloop.records against slow twins (Python dicts and sets, NumPy), other writers' files
(Python's gzip, the lz4 package and CLI), damaged files at every byte, and bad arguments."""

from __future__ import annotations

import _thread
import gzip
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time

import lz4.frame
import numpy as np
import pytest
from hotloop import HotloopError, records
from hotloop.records import RecordsError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interrupts import default_sigint

U64_MAX = 2**64 - 1
U32_MAX = 2**32 - 1


# --------------------------------------------------------------------------------------------
# Slow twins


def pack(ids, shows, clicks, key_size=8):
    """The records as bytes, built field by field (independent of the C++ writer)."""
    dt = records.RECORD_DTYPE if key_size == 8 else records.RECORD_DTYPE_32
    a = np.zeros(len(ids), dtype=dt)
    a["id"] = np.asarray(ids, dtype=np.uint64).astype(dt["id"])
    a["shows"] = shows
    a["clicks"] = clicks
    return a.tobytes()


def twin_counters(parts, entity_type="t", entity_id=1):
    """get_counters by a Python dict of exact per-id totals. parts: (ids, shows, clicks) lists."""
    shows, clicks = {}, {}
    shows_all = clicks_all = 0
    for ids, s, c in parts:
        for i, a, b in zip(ids, s, c, strict=True):
            i, a, b = int(i), int(a), int(b)
            shows[i] = shows.get(i, 0) + a
            clicks[i] = clicks.get(i, 0) + b
            shows_all += a
            clicks_all += b

    def freq(totals):
        f = [0] * 33
        for v in totals.values():
            f[min(v, 32)] += 1
        return f

    return {
        "type": entity_type,
        "id": entity_id,
        "shows_all": shows_all,
        "clicks_all": clicks_all,
        "shows_uniq": sum(1 for v in shows.values() if v > 0),
        "clicks_uniq": sum(1 for v in clicks.values() if v > 0),
        "shows_freq": freq(shows),
        "clicks_freq": freq(clicks),
    }


def twin_from_bytes(raw, key_size=8):
    dt = records.RECORD_DTYPE if key_size == 8 else records.RECORD_DTYPE_32
    a = np.frombuffer(raw, dtype=dt)
    return twin_counters([(a["id"].tolist(), a["shows"].tolist(), a["clicks"].tolist())])


def twin_negative(all_text, in_text, has_header=True, key64=False):
    """(output text, count) of targets_negative, with Python sets."""

    def lines(text):
        ls = text.split("\n")
        if ls and ls[-1] == "":
            ls.pop()
        return [x[:-1] if x.endswith("\r") else x for x in ls]

    def key(x):
        assert x.isascii() and x.isdigit(), x  # ASCII digits only, at least one
        v = int(x)
        assert v <= (U64_MAX if key64 else U32_MAX)
        return v

    a, b = lines(all_text), lines(in_text)
    out = []
    if has_header:
        if a:
            out.append(a[0])
        a, b = a[1:], b[1:]
    exclude = {key(x) for x in b}
    kept = [k for k in map(key, a) if k not in exclude]
    out += [str(k) for k in kept]
    return "".join(x + "\n" for x in out), len(kept)


def sample(n, seed=0, key_size=8, repeat_every=10):
    rng = np.random.default_rng(seed)
    hi = U64_MAX if key_size == 8 else U32_MAX
    ids = rng.integers(0, hi, n, dtype=np.uint64, endpoint=True)
    ids[::repeat_every] = ids[1::repeat_every][: len(ids[::repeat_every])]
    shows = rng.integers(0, 40, n).astype(np.uint16)
    clicks = rng.integers(0, 3, n).astype(np.uint16)
    return ids, shows, clicks


COMPRESSIONS = ["gzip", "lz4", None]


# --------------------------------------------------------------------------------------------
# Constants and names


def test_constants_come_from_cxx():
    assert records.FREQUENCY_COUNT == 33
    assert records.RECORD_SIZE_64 == 12 == records.RECORD_DTYPE.itemsize
    assert records.RECORD_SIZE_32 == 8 == records.RECORD_DTYPE_32.itemsize
    assert [(c.name, int(c)) for c in records.Compression] == [("none", 0), ("gzip", 1), ("lz4", 2)]
    assert records.BLOCK_SIZE % 12 == 0 and records.BLOCK_SIZE % 8 == 0


def test_error_names():
    assert records.error is RecordsError
    assert issubclass(RecordsError, HotloopError)
    import hotloop

    assert hotloop.records is records


# --------------------------------------------------------------------------------------------
# Formats: our writer, Python's gzip, the lz4 package and CLI read the same bytes


@pytest.mark.parametrize("key_size", [8, 4])
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_write_read_roundtrip(tmp_path, key_size, compression):
    ids, s, c = sample(150_000, seed=1, key_size=key_size)  # more than two blocks
    p = tmp_path / "r.bin"
    n = records.write_counts(p, ids, s, c, key_size=key_size, compression=compression)
    assert n == p.stat().st_size
    assert records.compression_of(p) == records.Compression[compression or "none"]
    a = records.read_counts(p, key_size=key_size)
    assert a.dtype == (records.RECORD_DTYPE if key_size == 8 else records.RECORD_DTYPE_32)
    assert np.array_equal(a["id"], ids) and np.array_equal(a["shows"], s)
    assert np.array_equal(a["clicks"], c)
    raw = pack(ids, s, c, key_size)
    data = p.read_bytes()
    if compression == "gzip":
        assert gzip.decompress(data) == raw
    elif compression == "lz4":
        with lz4.frame.open(p) as f:
            assert f.read() == raw
    else:
        assert data == raw


@pytest.mark.skipif(shutil.which("lz4") is None, reason="no lz4 CLI")
def test_lz4_cli_reads_ours_and_we_read_its(tmp_path):
    ids, s, c = sample(100_000, seed=2)
    p = tmp_path / "r.lz4"
    records.write_counts(p, ids, s, c, compression="lz4")
    out = subprocess.run(["lz4", "-d", "-c", str(p)], capture_output=True, check=True).stdout
    assert out == pack(ids, s, c)
    (tmp_path / "raw").write_bytes(out)
    subprocess.run(
        ["lz4", "-q", "-f", str(tmp_path / "raw"), str(tmp_path / "cli.lz4")], check=True
    )
    a = records.read_counts(tmp_path / "cli.lz4")
    assert np.array_equal(a["id"], ids)


@pytest.mark.parametrize(
    "make",
    [
        lambda raw: gzip.compress(raw, mtime=0),
        lambda raw: gzip.compress(raw[:120], 1) + gzip.compress(raw[120:], 9),  # two members
        lambda raw: gzip.compress(raw) + b"\0" * 7,  # zero padding, as Python's gzip allows
        lambda raw: lz4.frame.compress(raw),
        lambda raw: lz4.frame.compress(raw, block_linked=False, content_checksum=True),
        lambda raw: lz4.frame.compress(raw, block_size=lz4.frame.BLOCKSIZE_MAX64KB),
        lambda raw: lz4.frame.compress(raw[:240]) + lz4.frame.compress(raw[240:]),
        lambda raw: raw,
    ],
    ids=["gzip", "gzip2", "gzip-pad", "lz4", "lz4-indep", "lz4-64k", "lz4-2frames", "raw"],
)
def test_other_writers(tmp_path, make):
    ids, s, c = sample(30_000, seed=3)
    raw = pack(ids, s, c)
    p = tmp_path / "f"
    p.write_bytes(make(raw))
    a = records.read_counts(p)
    assert a.tobytes() == raw
    assert records.get_counters(p, "t", 1, n_threads=2) == twin_from_bytes(raw)


def test_read_counts_empty_and_tiny(tmp_path):
    p = tmp_path / "e"
    p.write_bytes(b"")
    assert records.read_counts(p).shape == (0,)
    r = records.get_counters(p, "x", "y")
    assert r["shows_all"] == 0 and r["shows_freq"] == [0] * 33
    for comp in COMPRESSIONS:
        records.write_counts(p, [], [], [], compression=comp)
        assert records.read_counts(p).shape == (0,)
        assert records.get_counters(p, "x", "y") == twin_counters([], "x", "y")
    records.write_counts(p, [U64_MAX], [65535], [0])
    assert records.read_counts(p).tolist() == [(U64_MAX, 65535, 0)]


# --------------------------------------------------------------------------------------------
# get_counters and Counters


id_pool = st.sampled_from([0, 1, 2, 31, 2**32 - 1, 2**32, 2**63, U64_MAX - 1, U64_MAX])
count = st.one_of(st.sampled_from([0, 1, 31, 32, 33, 65535]), st.integers(0, 65535))
record = st.tuples(st.one_of(id_pool, st.integers(0, U64_MAX)), count, count)
part = st.tuples(st.lists(record, max_size=60), st.sampled_from(COMPRESSIONS))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(part, min_size=1, max_size=4), n_threads=st.sampled_from([1, 2, 3]))
def test_get_counters_matches_twin(tmp_path, parts, n_threads):
    paths, twin_parts = [], []
    for k, (recs, comp) in enumerate(parts):
        ids = [r[0] for r in recs]
        s = [r[1] for r in recs]
        c = [r[2] for r in recs]
        p = tmp_path / f"p{k}"
        records.write_counts(p, np.array(ids, dtype=np.uint64), s, c, compression=comp)
        paths.append(p)
        twin_parts.append((ids, s, c))
    want = twin_counters(twin_parts, "idfa", 7)
    got = records.get_counters(paths, "idfa", 7, n_threads=n_threads)
    assert got == want
    assert json.loads(records.get_counters(paths, "idfa", 7, as_json=True)) == want
    # Counting each file on its own and merging gives exactly the same.
    merged = records.Counters()
    for p in paths:
        merged.merge(records.count_records(p, n_threads=1))
    assert merged.result("idfa", 7) == want
    assert pickle.loads(pickle.dumps(merged)).result("idfa", 7) == want


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recs=st.lists(st.tuples(st.integers(0, U32_MAX), count, count), max_size=80))
def test_get_counters_key_size_4(tmp_path, recs):
    ids, s, c = [r[0] for r in recs], [r[1] for r in recs], [r[2] for r in recs]
    p = tmp_path / "k4"
    records.write_counts(p, ids, s, c, key_size=4, compression="lz4")
    assert records.get_counters(p, "t", 1, key_size=4) == twin_counters([(ids, s, c)])


def test_get_counters_large_threads_agree_with_numpy(tmp_path):
    ids, s, c = sample(400_000, seed=5)
    s[::7] = 65535
    paths = []
    for k, comp in enumerate(COMPRESSIONS):
        p = tmp_path / f"f{k}"
        sl = slice(k * 130_000, (k + 1) * 130_000 if k < 2 else None)
        records.write_counts(p, ids[sl], s[sl], c[sl], compression=comp)
        paths.append(p)
    # The NumPy twin: unique + bincount.
    u, inv = np.unique(ids, return_inverse=True)
    ts = np.bincount(inv, weights=s).astype(np.int64)
    tc = np.bincount(inv, weights=c).astype(np.int64)
    want_sf = np.bincount(np.minimum(ts, 32), minlength=33).tolist()
    want_cf = np.bincount(np.minimum(tc, 32), minlength=33).tolist()
    results = [records.get_counters(paths, "a", "b", n_threads=n) for n in (1, 2, 4)]
    assert results[0] == results[1] == results[2]
    r = results[0]
    assert r["shows_freq"] == want_sf and r["clicks_freq"] == want_cf
    assert r["shows_all"] == int(s.sum(dtype=np.uint64)) and r["clicks_all"] == int(c.sum())
    assert r["shows_uniq"] == int((ts > 0).sum()) and r["clicks_uniq"] == int((tc > 0).sum())
    cnt = records.count_records(paths)
    assert len(cnt) == len(u) and cnt.records == len(ids)


def test_big_tables_reused_across_calls(tmp_path):
    # Tables from 1 MiB are kept when freed and reused by the next call (zeroed first): counting
    # other files, with other ids and the other key size, in between must change nothing.
    def numpy_twin(ids, s, c):
        _, inv = np.unique(ids, return_inverse=True)
        ts = np.bincount(inv, weights=s).astype(np.int64)
        tc = np.bincount(inv, weights=c).astype(np.int64)
        return (
            np.bincount(np.minimum(ts, 32), minlength=33).tolist(),
            np.bincount(np.minimum(tc, 32), minlength=33).tolist(),
            len(ts),
        )

    rng = np.random.default_rng(11)
    cases = []
    for k, key_size in enumerate((8, 4, 8)):
        n = 1_500_000
        hi = 2**64 if key_size == 8 else 2**32
        ids = rng.integers(0, hi, n, dtype=np.uint64, endpoint=False)
        ids[::9] = ids[1::9][: len(ids[::9])]  # some repeats
        s = rng.integers(0, 40, n).astype(np.uint16)
        c = rng.integers(0, 3, n).astype(np.uint16)
        p = tmp_path / f"big{k}"
        records.write_counts(p, ids, s, c, key_size=key_size, compression=None)
        cases.append((p, key_size, numpy_twin(ids, s, c)))
    for p, key_size, (sf, cf, distinct) in cases + cases[::-1]:
        r = records.get_counters(p, "t", 1, key_size=key_size, n_threads=1)
        assert r["shows_freq"] == sf and r["clicks_freq"] == cf
        assert len(records.count_records(p, key_size=key_size)) == distinct


def test_counters_merge_self_and_state(tmp_path):
    p = tmp_path / "f"
    records.write_counts(p, [5, 5, 6], [20, 0, 1], [0, 0, 40])
    a = records.count_records(p)
    a.merge(a)
    assert a.result("t", 1) == twin_counters([([5, 5, 6] * 2, [20, 0, 1] * 2, [0, 0, 40] * 2)])
    ids, s, c = a.state()
    assert sorted(zip(ids.tolist(), s.tolist(), c.tolist(), strict=True)) == [
        (5, 32, 0),
        (6, 2, 32),
    ]
    with pytest.raises(ValueError, match="key_size"):
        a.merge(records.Counters(4))
    with pytest.raises(ValueError, match="repeat"):
        records.Counters.from_state(8, [1, 1], [0, 0], [0, 0], 0, 0, 0)
    with pytest.raises(ValueError, match="shows"):
        records.Counters.from_state(8, [1], [33], [0], 0, 0, 0)


def test_get_counters_entity_and_json(tmp_path):
    p = tmp_path / "f"
    records.write_counts(p, [1], [2], [3])
    r = records.get_counters([p], "gaid", "abc")
    assert (r["type"], r["id"]) == ("gaid", "abc")
    assert json.loads(records.get_counters(str(p), "gaid", 2**70, as_json=True))["id"] == 2**70
    with pytest.raises(TypeError, match="entity_type"):
        records.get_counters(p, None, 1)
    with pytest.raises(TypeError, match="entity_id"):
        records.get_counters(p, "t", True)


# --------------------------------------------------------------------------------------------
# Damaged and bad files


def expected_or_error(path, wants, *, key_size=8):
    """Each reader either raises RecordsError or returns one of `wants` (twin results)."""
    for n_threads in (1, 2):
        try:
            got = records.get_counters(path, "t", 1, key_size=key_size, n_threads=n_threads)
        except RecordsError as exc:
            assert str(path) in str(exc)
        else:
            assert got in wants
    try:
        arr = records.read_counts(path, key_size=key_size)
    except RecordsError:
        pass
    else:
        assert twin_from_bytes(arr.tobytes(), key_size) in wants


def damage_cases(data):
    for i in range(len(data)):
        for flip in (0xFF, 0x01):
            d = bytearray(data)
            d[i] ^= flip
            yield bytes(d)
        yield data[:i]


def gzip_members(raw, cuts, **header):
    """raw as one gzip member per piece between cuts, by Python's gzip (FNAME set by filename)."""
    out = io.BytesIO()
    for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, **header) as f:
            f.write(raw[a:b])
    return out.getvalue()


@pytest.mark.parametrize(
    "writer", ["ours-gzip", "ours-lz4", "python-gzip", "python-gzip-3", "ours-gzip-2files"]
)
def test_damage_at_every_byte(tmp_path, writer):
    ids, s, c = sample(40, seed=9)
    raw = pack(ids, s, c)
    src = tmp_path / "src"
    whole_prefixes = {}  # cuts that leave a whole, shorter stream -> the records they hold
    if writer == "python-gzip":
        data = gzip.compress(raw, mtime=0)
    elif writer == "python-gzip-3":  # three members with names: ISA-L's streaming inflater
        data = gzip_members(raw, [120, 300], filename="part")
        for end, cuts in ((120, []), (300, [120])):
            whole_prefixes[gzip_members(raw[:end], cuts, filename="part")] = raw[:end]
    elif writer == "ours-gzip-2files":
        records.write_counts(src, ids[:20], s[:20], c[:20])
        first = src.read_bytes()
        records.write_counts(src, ids[20:], s[20:], c[20:])
        data = first + src.read_bytes()
        whole_prefixes[first] = raw[: 20 * 12]
    else:
        records.write_counts(src, ids, s, c, compression=writer.split("-")[1])
        data = src.read_bytes()
    assert all(data.startswith(k) for k in whole_prefixes)
    p = tmp_path / "d"
    errors = 0
    for d in damage_cases(data):
        wants = [twin_from_bytes(raw)]
        if d in whole_prefixes:  # a cut between members of other writers or between two files
            wants.append(twin_from_bytes(whole_prefixes[d]))
        p.write_bytes(d)
        if d[:4] and records.compression_of(p) == records.Compression.none:
            # A damaged magic number: the file reads as uncompressed records.
            w = twin_from_bytes(d[: len(d) - len(d) % 12])
            try:
                assert records.get_counters(p, "t", 1) == w
            except RecordsError:
                errors += 1
            continue
        if len(d) == 0:
            assert records.get_counters(p, "t", 1) == twin_counters([])
            continue
        try:
            expected_or_error(p, wants)
        except AssertionError:
            raise AssertionError(f"wrong result for damaged file {d.hex()}") from None
    assert errors > 0


def test_cut_between_blocks_is_detected(tmp_path):
    ids, s, c = sample(3 * records.BLOCK_SIZE // 12, seed=4)  # three blocks
    for comp in ("gzip", "lz4"):
        p = tmp_path / f"f.{comp}"
        records.write_counts(p, ids, s, c, compression=comp)
        data = p.read_bytes()
        # Find the block boundaries: members/frames start with the magic after the previous.
        magic = b"\x1f\x8b\x08\x04" if comp == "gzip" else (0x184D2A5B).to_bytes(4, "little")
        starts = [i for i in range(1, len(data)) if data.startswith(magic, i)]
        assert len(starts) >= 2
        for cut in starts[:2]:
            p.write_bytes(data[:cut])
            for n_threads in (1, 2):
                with pytest.raises(RecordsError, match="cut between two blocks"):
                    records.get_counters(p, "t", 1, n_threads=n_threads)
            with pytest.raises(RecordsError, match="cut between two blocks"):
                records.read_counts(p)


def test_foreign_gzip_members(tmp_path):
    # Members not written by hotloop (no size hints) are streamed by ISA-L: many members, zero
    # padding after one, in a file longer than the decoder's input buffer; then a corrupt one.
    ids, s, c = sample(60_000, seed=12)
    raw = pack(ids, s, c)
    cuts = list(range(7_000 * 12, len(raw), 7_000 * 12))
    data = gzip_members(raw, cuts, filename="records.bin")
    p = tmp_path / "f.gz"
    p.write_bytes(data)
    want = twin_from_bytes(raw)
    for n_threads in (1, 2):
        assert records.get_counters(p, "t", 1, n_threads=n_threads) == want
    assert records.read_counts(p).tobytes() == raw
    second = data.index(b"\x1f\x8b\x08", 10)  # the second member's header
    p.write_bytes(data[:second] + b"\0" * 7 + data[second:])
    assert records.get_counters(p, "t", 1) == want
    bad = bytearray(data)
    bad[second + 40] ^= 0x55  # inside the second member's deflate data
    p.write_bytes(bytes(bad))
    with pytest.raises(RecordsError, match=f"gzip.*member at file byte {second}") as info:
        records.get_counters(p, "t", 1)
    assert info.value.kind == "gzip" and info.value.file_offset == second


def test_crc_failure_contributes_nothing(tmp_path):
    ids, s, c = sample(1000, seed=6)
    data = bytearray(gzip.compress(pack(ids, s, c), mtime=0))
    data[-6] ^= 0x10  # the CRC-32
    p = tmp_path / "f.gz"
    p.write_bytes(bytes(data))
    with pytest.raises(RecordsError, match="gzip") as info:
        records.get_counters(p, "t", 1)
    assert info.value.kind == "gzip" and info.value.path == str(p)
    with pytest.raises(RecordsError):
        records.read_counts(p)


def test_truncated_record_names_file_and_offset(tmp_path):
    p = tmp_path / "t.bin"
    p.write_bytes(pack([1, 2], [3, 4], [5, 6]) + b"\1\2\3")
    for n_threads in (1, 2):
        with pytest.raises(RecordsError, match=r"t\.bin: truncated record.*byte 24") as info:
            records.get_counters(p, "t", 1, n_threads=n_threads)
        assert info.value.kind == "truncated" and info.value.offset == 24
    it = records.iter_counts(p)
    assert next(it) == (1, 3, 5) and next(it) == (2, 4, 6)
    with pytest.raises(RecordsError, match="truncated"):
        next(it)
    p.write_bytes(gzip.compress(b"\0" * 13))
    with pytest.raises(RecordsError, match="truncated record"):
        records.read_counts(p)


def test_junk_after_gzip_and_lz4(tmp_path):
    p = tmp_path / "j"
    p.write_bytes(gzip.compress(pack([1], [1], [1])) + b"junk")
    with pytest.raises(RecordsError, match="junk"):
        records.get_counters(p, "t", 1)
    p.write_bytes(lz4.frame.compress(pack([1], [1], [1])) + b"junk")
    with pytest.raises(RecordsError, match="junk"):
        records.get_counters(p, "t", 1)


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        records.get_counters(tmp_path / "missing", "t", 1)
    with pytest.raises(FileNotFoundError):
        records.get_counters([tmp_path / "missing", tmp_path / "m2"], "t", 1)
    with pytest.raises(IsADirectoryError):
        records.read_counts(tmp_path)
    with pytest.raises(FileNotFoundError):
        records.iter_counts(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        records.write_counts(tmp_path / "no" / "dir", [1], [1], [1])
    with pytest.raises(IsADirectoryError):
        records.write_counts(tmp_path, [1], [1], [1])


def test_first_failing_file_is_reported(tmp_path):
    good, bad1, bad2 = tmp_path / "good", tmp_path / "bad1", tmp_path / "bad2"
    records.write_counts(good, [1], [1], [1])
    bad1.write_bytes(b"\0" * 13)
    bad2.write_bytes(b"\0" * 5)
    for n in (1, 2, 3):
        with pytest.raises(RecordsError, match="bad1"):
            records.get_counters([good, bad1, bad2], "t", 1, n_threads=n)


# --------------------------------------------------------------------------------------------
# Arguments


def test_bad_arguments(tmp_path):
    p = tmp_path / "f"
    records.write_counts(p, [1], [1], [1])
    with pytest.raises(ValueError, match="key_size must be 4 or 8, got 5"):
        records.get_counters(p, "t", 1, key_size=5)
    with pytest.raises(TypeError, match="key_size"):
        records.read_counts(p, key_size=8.0)
    with pytest.raises(ValueError, match="paths must name at least one file"):
        records.get_counters([], "t", 1)
    with pytest.raises(TypeError, match="paths"):
        records.get_counters(3, "t", 1)
    with pytest.raises(ValueError, match="n_threads"):
        records.get_counters(p, "t", 1, n_threads=0)
    with pytest.raises(TypeError, match="as_json"):
        records.get_counters(p, "t", 1, as_json="yes")
    with pytest.raises(ValueError, match="compression"):
        records.write_counts(p, [1], [1], [1], compression="zstd")
    with pytest.raises(ValueError, match="level"):
        records.write_counts(p, [1], [1], [1], level=13)
    with pytest.raises(ValueError, match=r"shows\[1\] = 65536"):
        records.write_counts(p, [1, 2], [1, 65536], [1, 1])
    with pytest.raises(ValueError, match=r"clicks\[0\] = -1 is negative"):
        records.write_counts(p, [1], [1], [-1])
    with pytest.raises(ValueError, match=r"ids\[0\]"):
        records.write_counts(p, [2**32], [1], [1], key_size=4)
    with pytest.raises(ValueError, match="ids"):
        records.write_counts(p, [2**64], [1], [1])
    with pytest.raises(TypeError, match="integer dtype"):
        records.write_counts(p, [1.5], [1], [1])
    with pytest.raises(ValueError, match="one length"):
        records.write_counts(p, [1, 2], [1], [1])
    with pytest.raises(ValueError, match="batch_size"):
        records.iter_counts(p, batch_size=0)
    with pytest.raises(ValueError, match="NUL"):
        records.read_counts("a\0b")
    assert records.read_counts(p).tolist() == [(1, 1, 1)]  # the failed writes left it intact
    assert [f.name for f in tmp_path.iterdir()] == ["f"]  # and no temporary files


# --------------------------------------------------------------------------------------------
# iter_counts


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_iter_counts(tmp_path, compression):
    ids, s, c = sample(100_000, seed=8)
    p = tmp_path / "f"
    records.write_counts(p, ids, s, c, compression=compression)
    whole = records.read_counts(p)
    tuples = list(records.iter_counts(p))
    assert tuples == list(zip(ids.tolist(), s.tolist(), c.tolist(), strict=True))
    for bs in (1, 7, 65536, 10**6):
        if bs == 1:
            it = records.iter_counts(p, batch_size=bs)
            first = [next(it) for _ in range(3)]
            assert np.concatenate(first).tolist() == whole[:3].tolist()
            continue
        batches = list(records.iter_counts(p, batch_size=bs))
        assert all(len(b) == bs for b in batches[:-1]) and 0 < len(batches[-1]) <= bs
        assert np.concatenate(batches).tobytes() == whole.tobytes()
    it = records.iter_counts(p, key_size=8)
    assert iter(it) is it and "CountsIterator" in repr(it)


# --------------------------------------------------------------------------------------------
# targets_negative


def run_negative(tmp_path, all_text, in_text, *, compress=None, **kw):
    pa, pi, po = tmp_path / "all", tmp_path / "in", tmp_path / "out"
    for p, t in ((pa, all_text), (pi, in_text)):
        data = t.encode()
        if compress == "gzip":
            data = gzip.compress(data, compresslevel=1)
        elif compress == "lz4":
            data = lz4.frame.compress(data)
        p.write_bytes(data)
    n = records.targets_negative(pa, pi, po, **kw)
    return po.read_text(), n


NEGATIVE_CASES = [
    ("id\n1\n2\n3\n", "id\n2\n"),
    ("", ""),
    ("id\n", "id\n"),
    ("id", "id"),
    ("id\n1\n2", "id\n1"),
    ("id\r\n1\r\n2\r\n3\r\n", "id\r\n3\r\n"),
    ("id\n007\n7\n08\n", "x\n0007\n"),
    ("id\n5\n5\n6\n5\n", "h\n6\n6\n"),
    ("id\n0\n4294967295\n", "h\n"),
    ("id\n0\n1\n", "h\n0\n"),
]


@pytest.mark.parametrize("compress", [None, "gzip", "lz4"])
@pytest.mark.parametrize(("all_text", "in_text"), NEGATIVE_CASES)
def test_targets_negative_cases(tmp_path, all_text, in_text, compress):
    assert run_negative(tmp_path, all_text, in_text, compress=compress) == twin_negative(
        all_text, in_text
    )


def test_targets_negative_no_header_and_key64(tmp_path):
    a = "18446744073709551615\n0\n4294967296\n3\n"
    b = "3\n4294967296\n"
    assert run_negative(tmp_path, a, b, has_header=False, key64=True) == twin_negative(
        a, b, has_header=False, key64=True
    )


key_text = st.integers(0, U32_MAX).map(str) | st.sampled_from(["0", "00", "0001", "4294967295"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    a=st.lists(key_text, max_size=40),
    b=st.lists(key_text, max_size=40),
    header=st.booleans(),
    crlf=st.booleans(),
    trailing=st.booleans(),
)
def test_targets_negative_matches_sets(tmp_path, a, b, header, crlf, trailing):
    nl = "\r\n" if crlf else "\n"

    def text(keys):
        ls = (["key"] if header else []) + keys
        return nl.join(ls) + (nl if trailing and ls else "")

    ta, tb = text(a), text(b + a[: len(a) // 3])
    assert run_negative(tmp_path, ta, tb, has_header=header) == twin_negative(
        ta, tb, has_header=header
    )


@pytest.mark.parametrize(
    ("all_text", "in_text", "match", "bad"),
    [
        ("id\n1\nx2\n", "id\n", r"line 3: 'x2': not an unsigned decimal number", "all"),
        ("id\n1\n4294967296\n", "id\n", r"line 3: .*does not fit in 32 bits", "all"),
        ("id\n1\n", "id\n99999999999999999999\n", r"line 2: .*does not fit in 64 bits", "in"),
        ("id\n1\n\n2\n", "id\n", r"line 3: '': an empty line", "all"),
        ("id\n-1\n", "id\n", "line 2", "all"),
        ("id\n 1\n", "id\n", "line 2", "all"),
        ("id\n1\n", "id\n1 \n", "line 2", "in"),
    ],
)
def test_targets_negative_bad_keys(tmp_path, all_text, in_text, match, bad):
    po = tmp_path / "out"
    po.write_text("old\n")
    with pytest.raises(RecordsError, match=match) as info:
        run_negative(tmp_path, all_text, in_text)
    assert info.value.kind == "key" and info.value.line is not None
    assert info.value.path.endswith(bad)
    assert po.read_text() == "old\n"  # untouched
    assert sorted(f.name for f in tmp_path.iterdir()) == ["all", "in", "out"]


def test_targets_negative_outputs(tmp_path):
    pa, pi = tmp_path / "all", tmp_path / "in"
    pa.write_text("id\n1\n2\n")
    pi.write_text("id\n2\n")
    # Into a symbolic link: the link's target is replaced, the link stays.
    target = tmp_path / "target"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert records.targets_negative(pa, pi, link) == 1
    assert link.is_symlink() and target.read_text() == "id\n1\n"
    assert (target.stat().st_mode & 0o777) == 0o640
    # Over one of its inputs.
    assert records.targets_negative(pa, pi, pa) == 1
    assert pa.read_text() == "id\n1\n"
    with pytest.raises(IsADirectoryError):
        records.targets_negative(pa, pi, tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        records.targets_negative(pa, pi, fifo)
    with pytest.raises(FileNotFoundError):
        records.targets_negative(tmp_path / "missing", pi, tmp_path / "o")
    with pytest.raises(FileNotFoundError):
        records.targets_negative(pa, tmp_path / "missing", tmp_path / "o")
    with pytest.raises(FileNotFoundError):
        records.targets_negative(pa, pi, tmp_path / "no" / "o")
    with pytest.raises(TypeError, match="has_header"):
        records.targets_negative(pa, pi, tmp_path / "o", has_header=1)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("header", "nl", "trailing", "compress"),
    [
        (False, "\n", False, None),
        (True, "\r\n", False, None),
        (False, "\r\n", True, "gzip"),
    ],
)
def test_targets_negative_threads_agree(tmp_path, header, nl, trailing, compress):
    # About 2.4 MB of keys (three 1 MiB chunks) against 1.2 MB (two): threads share both files,
    # and the set's shards (one per thread, rounded up to a power of two) fill side by side.
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**64, 120_000, dtype=np.uint64, endpoint=False)
    words = [str(k) for k in keys.tolist()]
    words[7] = "000" + words[7]  # leading zeros take the slow path, and the output drops them
    all_words = (["key"] if header else []) + words
    in_words = (["key"] if header else []) + words[::2] + ["1", "0"]
    all_text = nl.join(all_words) + (nl if trailing else "")
    in_text = nl.join(in_words) + (nl if trailing else "")
    want = twin_negative(all_text, in_text, has_header=header, key64=True)
    for n_threads in (1, 2, 3):
        got = run_negative(
            tmp_path,
            all_text,
            in_text,
            compress=compress,
            has_header=header,
            key64=True,
            n_threads=n_threads,
        )
        assert got == want, n_threads


@pytest.mark.parametrize("n_threads", [1, 2])
def test_targets_negative_threads_report_the_first_bad_line(tmp_path, n_threads):
    words = [str(10**12 + i) for i in range(200_000)]  # 2.6 MB
    words[150_000] = "x"
    words[190_000] = "y"
    with pytest.raises(RecordsError, match="line 150002: 'x'") as info:
        run_negative(
            tmp_path, "id\n" + "\n".join(words), "id\n1\n", key64=True, n_threads=n_threads
        )
    assert info.value.line == 150_002 and info.value.path.endswith("all")
    with pytest.raises(ValueError, match="n_threads"):
        run_negative(tmp_path, "id\n", "id\n", n_threads=0)


@pytest.fixture(scope="module")
def big_key_files(tmp_path_factory):
    """1.5M 63-bit keys (about 29 MB) and their first 1M: two steps of the C++ job."""
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**63, 1_500_000, dtype=np.uint64)
    d = tmp_path_factory.mktemp("keys")
    pa, pi = d / "all.csv", d / "in.csv"
    pa.write_text("id\n" + "\n".join(map(str, keys.tolist())) + "\n")
    pi.write_text("id\n" + "\n".join(map(str, keys[:1_000_000].tolist())) + "\n")
    return pa, pi, keys


def test_targets_negative_releases_the_gil(tmp_path, big_key_files):
    pa, pi, keys = big_key_files
    stamps = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    n = records.targets_negative(pa, pi, tmp_path / "out", key64=True)
    t1 = time.perf_counter()
    stop.set()
    t.join()
    assert n == len(keys) - 1_000_000 - np.isin(keys[1_000_000:], keys[:1_000_000]).sum()
    during = [x for x in stamps if t0 < x < t1]
    # Holding the GIL for the call would leave the ticker at most a few switch intervals.
    assert len(during) > 10_000, (len(during), t1 - t0)


def test_ctrl_c_stops_long_calls(tmp_path, big_key_files):
    pa, pi, _ = big_key_files
    out = tmp_path / "out"
    timer = threading.Timer(0.02, _thread.interrupt_main)
    with default_sigint():
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                records.targets_negative(pa, pi, out, key64=True)
        finally:
            timer.cancel()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


@pytest.mark.parametrize("compression", ["gzip", "lz4", None])
def test_team_of_threads_on_one_big_file(tmp_path, compression):
    ids, s, c = sample(6 * records.BLOCK_SIZE // 12 + 1234, seed=11)  # seven blocks
    p = tmp_path / "big"
    records.write_counts(p, ids, s, c, compression=compression)
    want = records.get_counters(p, "t", 1, n_threads=1)
    for n in (2, 3, 4, 8):
        assert records.get_counters(p, "t", 1, n_threads=n) == want
    if compression is None:
        return
    # Damage in the fourth block: every thread count reports the same (first) error.
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x55
    p.write_bytes(bytes(data))
    messages = set()
    for n in (1, 2, 3):
        with pytest.raises(RecordsError) as info:
            records.get_counters(p, "t", 1, n_threads=n)
        messages.add(str(info.value))
    assert len(messages) == 1, messages


_PEAK = r"""
import sys
from hotloop import records

def hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

before = hwm()
r = records.get_counters(sys.argv[1], "t", 1, n_threads=int(sys.argv[2]))
print(hwm() - before, r["shows_uniq"] + r["shows_freq"][0])
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.parametrize("compression", [None, "lz4"])
def test_memory_grows_with_distinct_ids_not_records(tmp_path, compression):
    ids = np.tile(np.arange(1000, dtype=np.uint64) * 7919, 5000)  # 5M records, 60 MB raw
    p = tmp_path / "many"
    records.write_counts(
        p, ids, np.ones(len(ids), np.uint16), np.zeros(len(ids), np.uint16), compression=compression
    )
    for n_threads in (1, 2):
        out = subprocess.run(
            [sys.executable, "-c", _PEAK, str(p), str(n_threads)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        ).stdout.split()
        growth, distinct = float(out[0]), int(out[1])
        assert distinct == 1000
        assert growth < 24, f"peak memory grew by {growth:.1f} MiB for a 60 MB file"


def test_ctrl_c_stops_get_counters(tmp_path):
    p = tmp_path / "big.raw"
    n = 8_000_000  # 96 MB: three steps of the job
    a = np.zeros(n, dtype=records.RECORD_DTYPE)
    a["id"] = np.arange(n, dtype=np.uint64)
    a.tofile(p)
    timer = threading.Timer(0.01, _thread.interrupt_main)
    with default_sigint():
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                records.get_counters(p, "t", 1, n_threads=1)
        finally:
            timer.cancel()


def _count_in_child(path, n_threads, queue):
    queue.put(records.get_counters(path, "t", 1, n_threads=n_threads))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("compression", [None, "lz4"])
def test_threads_work_in_a_forked_child(tmp_path, compression):
    """The pool's helpers do not exist in a child made by fork: a team there must neither hang
    waiting for them nor differ in its result (a hang fails on the timeout)."""
    import multiprocessing

    ids, s, c = sample(4 * records.BLOCK_SIZE // 12, seed=13)  # a team of 2: several blocks
    p = tmp_path / "f"
    records.write_counts(p, ids, s, c, compression=compression)
    want = records.get_counters(p, "t", 1, n_threads=1)
    assert records.get_counters(p, "t", 1, n_threads=2) == want  # the parent's helpers start
    # multiprocessing's fork context.
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_count_in_child, args=(str(p), 2, queue))
    child.start()
    try:
        got = queue.get(timeout=120)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert got == want
    assert child.exitcode == 0
    # A bare os.fork: the child reports through a pipe and leaves with os._exit.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(r)
            out = records.get_counters(p, "t", 1, n_threads=2, as_json=True)
            os.write(w, out.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("get_counters(n_threads=2) hung in a child made by os.fork")
    with os.fdopen(r, "rb") as f:
        assert json.loads(f.read()) == want
    assert os.waitstatus_to_exitcode(status) == 0
    # And the parent's pool still works.
    assert records.get_counters(p, "t", 1, n_threads=2) == want
