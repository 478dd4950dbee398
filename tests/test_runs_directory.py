"""The index's runs: their directories and the C lookups through them
(RunSet) against the numpy / Python reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import dedup, index

SPEEDUPS = dedup.load_speedups()
# the C path of cleaner.index: built, and not turned off (CLEANER_SPEEDUPS=0)
needs_c = pytest.mark.skipif(SPEEDUPS is None or dedup.speedup("RunSet") is None,
                             reason="cleaner._speedups is not built or not in use")

# keys as hashes (uniform), crowded (small values, long equal prefixes) or both
KEYS = st.one_of(
    st.lists(st.integers(0, 2**64 - 1), max_size=400),
    st.lists(st.integers(0, 5000), max_size=400),
    st.lists(st.integers(2**40, 2**40 + 3000), max_size=400),
    st.lists(st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1)), max_size=400),
)


def _sorted(keys: list[int], bits: int) -> np.ndarray:
    dtype = np.uint64 if bits == 64 else np.uint32
    return np.unique(np.array([k % (1 << bits) for k in keys], dtype))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([64, 32]), KEYS)
def test_directory_points_at_each_keys_bucket(bits: int, keys: list[int]) -> None:
    """Every key lies in its bucket's range, and the ranges tile the run."""
    k = _sorted(keys, bits)
    d = index.run_directory(k)
    b = index.dir_bits(len(k))
    assert len(d) == (1 << b) + 1 and d[0] == 0 and d[-1] == len(k)
    assert (np.diff(np.asarray(d).astype(np.int64)) >= 0).all()
    shift = max(0, int(k[-1]).bit_length() - b) if len(k) else 0
    for pos, key in enumerate(k.tolist()):
        bucket = key >> shift if shift < 64 else 0
        assert d[bucket] <= pos < d[bucket + 1]


def test_dir_bits_keeps_buckets_between_one_and_two_dir_keys() -> None:
    for n in (0, 1, 31, 32, 63, 64, 65, 127, 128, 1000, 1 << 20, (1 << 22) - 1):
        b = index.dir_bits(n)
        assert (b == 0 and n < 2 * index.DIR_KEYS) or index.DIR_KEYS << b <= n < index.DIR_KEYS << (b + 1)


def _runs(bits: int, keys: list[int], cuts: list[int], shared: int) -> list[index.Run]:
    """Runs over slices of keys; the first ``shared`` keys of each run also
    go into the next (runs should not share keys: the oldest must win)."""
    k = _sorted(keys, bits)
    order = np.random.default_rng(len(k)).permutation(len(k))
    edges = sorted({0, len(k), *(c % (len(k) + 1) for c in cuts)})
    runs = []
    carry = np.zeros(0, k.dtype)
    for n, (a, b) in enumerate(itertools.pairwise(edges)):
        part = np.unique(np.concatenate([k[np.sort(order[a:b])], carry]))
        runs.append(index.Run.of(part, (np.arange(len(part)) * 7 + n * 1000 + (n % 2) * 2**25).astype(np.uint32)))
        carry = part[:shared]
    return runs


def _want(runs: list[index.Run], q: np.ndarray) -> list[int]:
    """The id of each query in the oldest run holding it, else -1 (numpy)."""
    out = np.full(len(q), -1, np.int64)
    for r in reversed(runs):
        hit, pos = index._member(r.keys, q)
        out[hit] = r.ids(pos[hit])
    return out.tolist()


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.sampled_from([64, 32]), KEYS, st.lists(st.integers(0, 400), max_size=4), st.integers(0, 3),
       st.lists(st.integers(0, 2**64 - 1), max_size=60), st.booleans())
def test_runset_lookups_match_numpy(bits: int, keys: list[int], cuts: list[int], shared: int, other: list[int],
                                    with_filter: bool) -> None:
    """RunSet.get / member / owners, with directories or without, == the
    numpy lookups run by run (the oldest run's id wins a shared key)."""
    assert SPEEDUPS is not None
    runs = _runs(bits, keys, cuts, shared)
    q = np.concatenate([_sorted(keys, bits), _sorted(other, bits), _sorted([k + 1 for k in keys], bits)])
    want = _want(runs, q)
    bitmap, shift = None, 0
    if with_filter:
        f = index.KeyFilter(bits, [r.keys for r in runs])
        bitmap, shift = (None, 0) if f.full else (f.bytes, f.shift)
    for views in ([(r.keys, r.pids, r.base) for r in runs],
                  [(r.keys, r.pids, r.base, index.run_directory(r.keys)) for r in runs]):
        rs = SPEEDUPS.RunSet(bits // 8, bitmap, shift, views)
        assert [rs.get(int(k), -1) for k in q] == want
        assert list(rs.member(np.ascontiguousarray(q))) == [int(w >= 0) for w in want]
        empty = index.FingerprintTable(bits).recent  # whatever owners takes as the recent keys
        assert rs.owners([int(k) for k in q], empty) == [w for w in want if w >= 0]


@needs_c
def test_runset_rejects_a_directory_not_made_for_its_run() -> None:
    assert SPEEDUPS is not None
    keys = np.arange(0, 2**40, 2**30, dtype=np.uint64)  # 1024 keys: 16 buckets
    run = index.Run.of(keys, np.arange(len(keys), dtype=np.uint32))
    good = index.run_directory(keys)
    assert SPEEDUPS.RunSet(8, None, 0, [(*run[:2], run.base, good)]).get(2**30) == 1
    for bad in (good[:-1], np.append(good[:-1], np.uint32(5)), np.zeros(3, np.uint32)):
        with pytest.raises(ValueError):
            SPEEDUPS.RunSet(8, None, 0, [(*run[:2], run.base, bad)])
    wrong = np.array(good)
    wrong[1:-1] = [len(keys) + 9] * (len(good) - 2)  # out of the run: misleads, never reads past it
    rs = SPEEDUPS.RunSet(8, None, 0, [(*run[:2], run.base, wrong)])
    assert rs.get(2**30) in (None, 1)


def test_runs_keep_their_directory_until_their_keys_change() -> None:
    """Built at the first lookup, kept by the run, rebuilt after sampling
    drops keys; counted in nbytes whether built or not."""
    table = index.FingerprintTable(32)
    rng = np.random.default_rng(5)
    keys = np.unique(rng.integers(0, 2**32, 5000, dtype=np.uint64)).astype(np.uint32)
    table.add_run(keys, np.arange(len(keys), dtype=np.uint32))
    before = table.nbytes()
    assert table.runs[0].dir is None
    assert before == keys.nbytes + 3 * len(keys) + 4 * ((1 << index.dir_bits(len(keys))) + 1) \
        + index.filter_bits(len(keys)) // 8
    if dedup.speedup("RunSet") is None:
        return  # directories are built for the C lookups only
    table.run_set()
    d = table.runs[0].dir
    assert d is not None and table.nbytes() == before
    table.run_set()
    assert table.runs[0].dir is d  # not rebuilt
    table.sample(1 << 31)
    table.run_set()
    assert table.runs[0].dir is not d
    assert (np.asarray(table.runs[0].dir) == np.asarray(index.run_directory(table.runs[0].keys))).all()
    rs = table.run_set()
    assert [rs.get(int(k)) for k in keys[:50]] == [p if k < 2**31 else None for p, k in enumerate(keys[:50])]


@needs_c
@settings(max_examples=100, deadline=None)
@given(st.sampled_from([64, 32]), KEYS, st.integers(1, 5), st.booleans())
def test_c_reads_the_filter_as_key_filter_does(bits: int, keys: list[int], every: int, numpy_build: bool) -> None:
    """A filter over only some of the runs' keys: RunSet.member == in a run
    and KeyFilter.may_hold, so C reads (and filter_set writes) the bits that
    filter_slots names."""
    assert SPEEDUPS is not None
    k = _sorted(keys, bits)
    run = index.Run.of(k, np.arange(len(k), dtype=np.uint32))
    f = index.KeyFilter(bits, [k[::every]])
    if numpy_build:  # the same bits set without filter_set
        bitmap = np.frombuffer(f.bytes, np.uint8)  # a view: writes into f.bytes
        bitmap[:] = 0
        for slot in index.filter_slots(k[::every], f.shift):
            np.bitwise_or.at(bitmap, slot >> 3, np.left_shift(1, slot & 7).astype(np.uint8))
    assert not f.full
    assert f.may_hold(k[::every]).all()
    rs = SPEEDUPS.RunSet(bits // 8, f.bytes, f.shift, [(run.keys, run.pids, run.base, index.run_directory(run.keys))])
    assert list(rs.member(np.ascontiguousarray(k))) == f.may_hold(k).astype(int).tolist()


@pytest.mark.parametrize("bits", [64, 32])
def test_key_filter_lets_few_new_keys_through(bits: int) -> None:
    """Two bits per key in a word: at 4 bits per key about 16% of new keys
    pass (one bit per key let 22%); two bits that often coincide would not."""
    rng = np.random.default_rng(bits)
    top = 2**bits - 1
    keys = np.unique(rng.integers(0, top, 1 << 14, dtype=np.uint64, endpoint=True))
    keys = keys.astype(np.uint64 if bits == 64 else np.uint32)
    f = index.KeyFilter(bits, [keys])
    assert f.size == 4 * (1 << 14)
    new = rng.integers(0, top, 1 << 16, dtype=np.uint64, endpoint=True).astype(keys.dtype)
    new = new[~np.isin(new, keys)]
    assert 0.12 < f.may_hold(new).mean() < 0.19


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3000), min_size=1, max_size=12), st.sampled_from([64, 32]))
def test_the_filter_in_use_is_the_one_nbytes_counts(sizes: list[int], bits: int) -> None:
    """Runs added one by one (merged, the filter grown): after each, the
    filter lookups use is sized as ``nbytes`` counts it (4 to 8 bits per key),
    not left to thin out to 2."""
    table = index.FingerprintTable(bits)
    rng = np.random.default_rng(sum(sizes))
    dtype = np.uint64 if bits == 64 else np.uint32
    for n in sizes:
        keys = np.unique(rng.integers(0, 2**bits - 1, n, dtype=np.uint64, endpoint=True).astype(dtype))
        table.add_run(keys, np.arange(len(keys), dtype=np.uint32))
        in_runs = sum(len(r.keys) for r in table.runs)
        assert table._filter().size == index.filter_bits(in_runs)
        assert table._filter().size >= min(index.FILTER_BITS_PER_KEY * in_runs, index.FILTER_MAX_BITS)


@needs_c
def test_stream_dedup_spills_without_numpy(tmp_path: object) -> None:
    """With the C extension, spills and merges of a --dedup stream run never
    import numpy (0.1 s of start-up at the first spill)."""
    import random
    import subprocess
    import sys

    rng = random.Random(3)
    who = ["The minister", "A council", "Their drone", "This investor", "The airport", "A prison"]
    did = ["reviewed", "reduced", "stopped", "extended", "criticized", "acknowledged", "suspended"]
    what = ["the budget", "its tariff", "the project", "a protest", "their loan", "the strike", "this tax"]
    text = "\n".join(" ".join(f"{rng.choice(who)} {rng.choice(did)} {rng.choice(what)} by {rng.randrange(1000)} "
                              f"percent in {rng.randrange(1900, 2030)}." for _ in range(4)) for _ in range(3000))
    driver = (
        "import runpy, sys\n"
        "from cleaner import index\n"
        "index.SPILL_AT = 256  # many spills and merges from a small input\n"
        "runs = []\n"
        "add_run = index.FingerprintTable.add_run\n"
        "index.FingerprintTable.add_run = lambda self, *a, **k: (runs.append(1), add_run(self, *a, **k))[1]\n"
        "sys.argv = ['clean', '--dedup', 'stream']\n"
        "try:\n"
        "    runpy.run_module('cleaner', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(len(runs), 'numpy' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", driver], input=text, capture_output=True, text=True, check=True)
    spills, numpy = out.stderr.split()[-2:]
    assert int(spills) > 2 and numpy == "False"
