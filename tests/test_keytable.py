"""_speedups.KeyTable (FingerprintTable.recent in C) against a dict: the same
mapping after any sequence of puts, setdefaults and deletions, iterated in the
same (insertion) order, through growth and compaction."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from array import array
from typing import Any

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cleaner import dedup, index

try:
    from cleaner._speedups import KeyTable
except ImportError:  # not built
    KeyTable = None

needs_c = pytest.mark.skipif(KeyTable is None, reason="cleaner._speedups is not built")

# few distinct keys (collisions, re-puts after deletion) and some far apart
SMALL = st.integers(0, 40)
KEYS8 = st.one_of(SMALL, st.integers(0, 2**64 - 1), st.sampled_from([2**32 - 1, 2**32, 2**64 - 1]))
KEYS4 = st.one_of(SMALL, st.integers(0, 2**32 - 1))
PIDS = st.integers(0, 2**32 - 1)


class KeyTableVsDict(RuleBasedStateMachine):
    """One table of each key width, each beside its dict model."""

    def __init__(self) -> None:
        super().__init__()
        assert KeyTable is not None
        self.tables: dict[int, tuple[Any, dict[int, int]]] = {8: (KeyTable(8), {}), 4: (KeyTable(4, 3), {})}

    @rule(wide=st.booleans(), data=st.data(), pid=PIDS)
    def setdefault(self, wide: bool, data: st.DataObject, pid: int) -> None:
        t, d = self.tables[8 if wide else 4]
        key = data.draw(KEYS8 if wide else KEYS4)
        assert t.setdefault(key, pid) == d.setdefault(key, pid)

    @rule(wide=st.booleans(), data=st.data(), pid=PIDS)
    def put(self, wide: bool, data: st.DataObject, pid: int) -> None:
        t, d = self.tables[8 if wide else 4]
        key = data.draw(KEYS8 if wide else KEYS4)
        t[key] = pid
        d[key] = pid

    @rule(wide=st.booleans(), keys=st.lists(SMALL | st.integers(0, 2**32 - 1), max_size=70), pid=PIDS,
          limit=st.integers(0, 2**33))
    def add_many(self, wide: bool, keys: list[int], pid: int, limit: int) -> None:
        t, d = self.tables[8 if wide else 4]
        t.add_many(keys, pid, limit)
        for k in keys:
            if k < limit:
                d.setdefault(k, pid)

    @rule(wide=st.booleans(), data=st.data())
    def delete(self, wide: bool, data: st.DataObject) -> None:
        t, d = self.tables[8 if wide else 4]
        key = data.draw(KEYS8 if wide else KEYS4)
        if key in d:
            del t[key]
            del d[key]
        else:
            with pytest.raises(KeyError):
                del t[key]

    @precondition(lambda self: any(d for _, d in self.tables.values()))
    @rule(wide=st.booleans(), data=st.data())
    def delete_present(self, wide: bool, data: st.DataObject) -> None:
        """Deletions of keys held: at the end (check_lines' undo), or anywhere."""
        t, d = self.tables[8 if wide else 4]
        if not d:
            return
        keys = list(d)
        key = keys[-1] if data.draw(st.booleans()) else data.draw(st.sampled_from(keys))
        del t[key]
        del d[key]

    @rule(wide=st.booleans(), data=st.data())
    def lookups(self, wide: bool, data: st.DataObject) -> None:
        t, d = self.tables[8 if wide else 4]
        key = data.draw((KEYS8 if wide else KEYS4) | st.integers(-3, 2**65))
        assert t.get(key) == d.get(key) and t.get(key, "no") == d.get(key, "no")
        assert (key in t) == (key in d)
        if key in d:
            assert t[key] == d[key]
        else:
            with pytest.raises(KeyError):
                t[key]

    @rule(wide=st.booleans(), n=st.integers(0, 300), start=st.integers(0, 2**31))
    def grow(self, wide: bool, n: int, start: int) -> None:
        """Many keys at once: the table grows (and compacts dead entries)."""
        t, d = self.tables[8 if wide else 4]
        for k in range(start, start + 7 * n, 7):
            assert t.setdefault(k, k & 0xFFFF) == d.setdefault(k, k & 0xFFFF)

    @rule(wide=st.booleans(), stride=st.integers(1, 5))
    def delete_many(self, wide: bool, stride: int) -> None:
        t, d = self.tables[8 if wide else 4]
        for k in list(d)[::stride]:
            del t[k]
            del d[k]

    @rule(wide=st.booleans(), data=st.data())
    def clear(self, wide: bool, data: st.DataObject) -> None:
        """Emptied with its room kept (a spill's recent table), now and then."""
        if data.draw(st.integers(0, 4)) == 0:
            t, d = self.tables[8 if wide else 4]
            room = t.memory()
            t.clear()
            d.clear()
            assert t.memory() <= room  # the arrays stay; the mask of deleted entries goes

    @invariant()
    def same_as_the_dict(self) -> None:
        for t, d in self.tables.values():
            assert len(t) == len(d)
            assert list(t) == list(d) and t.keys() == list(d)
            assert t.values() == list(d.values()) and t.items() == list(d.items())
            assert t == d and (t != d) is False


TestKeyTableVsDict = needs_c(KeyTableVsDict.TestCase)
TestKeyTableVsDict.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)


GOLDEN = 0x9E3779B97F4A7C15  # KeyTable's key mixing: (k ^ k >> 32) * GOLDEN


def key_of_mixed(h: int) -> int:
    """The key whose mixed hash is h (the mixing undone)."""
    k = h * pow(GOLDEN, -1, 2**64) % 2**64
    return k ^ (k >> 32)


@needs_c
def test_keys_whose_hashes_agree_on_the_home_and_tag_bits() -> None:
    """A slot's tag (hash bits below the home's) tells most keys of a cluster
    apart; keys it cannot (hashes differing in the low 32 bits only) are told
    apart by their keys, and keys with one home and other tags by the tags
    (8-byte keys: any mixed hash has one)."""
    same_tag = [key_of_mixed((0xABCDEF01 << 32) | j) for j in range(0, 2**32, 2**32 // 40)]
    same_home = [key_of_mixed((0xABC00000 + (j << 8)) << 32) for j in range(40)]
    for keys in (same_tag + same_home, same_home + same_tag):
        t, d = KeyTable(8), {}
        for i, k in enumerate(keys):
            assert t.setdefault(k, i) == d.setdefault(k, i)
        for k in keys[::3]:
            del t[k]
            del d[k]
        for k in keys:
            assert t.get(k) == d.get(k)
            assert t.setdefault(k, 7) == d.setdefault(k, 7)
        assert t.items() == list(d.items())


@needs_c
def test_columns_in_insertion_order_after_deletions() -> None:
    """dict_columns and sorted_columns read a KeyTable as they read a dict
    holding the same entries in the same order (dead entries skipped)."""
    from cleaner import _speedups as c
    t, d = KeyTable(8), {}
    for k in range(1000):
        key = (k * 0x9E3779B97F4A7C15) % 2**64
        t[key] = d[key] = k
    for key in dict.fromkeys(list(d)[::3] + list(d)[-5:]):
        del t[key]
        del d[key]
    for f in (c.dict_columns, c.sorted_columns):
        assert f(t, 8) == f(d, 8)
    assert c.dict_columns(KeyTable(4), 4) == (b"", b"")


@needs_c
def test_bad_keys_and_ids() -> None:
    t = KeyTable(4)
    for bad in (2**32, -1):
        with pytest.raises(OverflowError):
            t[bad] = 1
        assert bad not in t and t.get(bad) is None
    with pytest.raises(TypeError):
        t["a"] = 1
    with pytest.raises(OverflowError):
        t[1] = 2**32
    with pytest.raises(OverflowError):
        t.setdefault(1, -1)
    with pytest.raises(TypeError):
        hash(t)
    with pytest.raises(ValueError):
        KeyTable(2)
    r = run_alone("""
        import sys
        from cleaner._speedups import KeyTable
        for size in (2**32, 2**62, sys.maxsize):  # past 32-bit positions: never sized
            try:
                KeyTable(8, size)
            except MemoryError:
                continue
            raise AssertionError(size)
        print("ok")
    """)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr[-2000:]
    assert len(t) == 0 and "a" not in t and t.get(1.5) is None
    import numpy as np
    t[np.uint32(5)] = np.uint32(6)  # numpy ints are ints
    assert t[5] == 6 and np.uint64(5) in t
    assert repr(t) == "KeyTable(4, {5: 6})" and t.key_bytes == 4


def run_alone(code: str) -> subprocess.CompletedProcess[str]:
    """code in a fresh interpreter (a crash fails the test, not the run)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=20)


@needs_c
def test_lists_while_the_collector_changes_the_table() -> None:
    """keys() and items() allocate objects, so the garbage collector may run
    and its callbacks put entries: the list holds the entries there were."""
    r = run_alone("""
        import gc
        from cleaner._speedups import KeyTable
        t = KeyTable(8)
        for k in range(5000):
            t[k] = k
        def grow(phase, info):
            if phase == "start" and len(t) < 6000:
                for k in range(10**6, 10**6 + 100):
                    t[k + len(t)] = 0
        gc.callbacks.append(grow)
        gc.set_threshold(1)
        items, keys = t.items(), t.keys()
        gc.set_threshold(700)
        gc.callbacks.remove(grow)
        assert items == [(k, k) for k in range(5000)], items[-3:]
        assert keys[:5000] == list(range(5000)) and len(t) > 5000
        print("ok")
    """)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr[-2000:]


@needs_c
def test_add_many_keys_compared_by_python_code() -> None:
    """add_many compares each key with the limit, which may run Python code
    that drops the list's reference to it: the key must stay alive."""
    r = run_alone("""
        from cleaner._speedups import KeyTable
        class Key:
            def __init__(self, v):
                self.v = v
            def __index__(self):
                return self.v
            def __lt__(self, other):
                keys[0] = 0  # the list's reference to this key is dropped
                global others
                others = [Key(12345) for _ in range(50)]  # where it was, most likely
                return True
        keys = [Key(7)]
        t = KeyTable(8)
        t.add_many(keys, 1, 2**64)
        assert t.items() == [(7, 1)], t.items()
        print("ok")
    """)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr[-2000:]


@needs_c
def test_memory_per_entry() -> None:
    """No Python object per entry: a few tens of bytes each, growing in steps."""
    t8, t4 = KeyTable(8), KeyTable(4)
    for k in range(50_000):
        t8[k * 2654435761] = t4[k] = k
    assert 16 * len(t8) <= t8.memory() <= 40 * len(t8)
    assert 12 * len(t4) <= t4.memory() <= 32 * len(t4)
    assert KeyTable(8, 40_000).memory() == KeyTable(8, 43_690).memory()  # sized for 40 000 entries up front


@needs_c
def test_clear_keeps_the_room_and_the_table_fills_again() -> None:
    """A spill empties the recent table and fills it again: the arrays stay
    (no growing, no fresh pages), and the new entries alone are found and
    spilled (none of the old ones' slots or ids is left over)."""
    near = index.Index().near
    for k in range(3000):
        near.recent[k] = k
    near.spill(force=True)  # a run holding keys 0..2999
    t = near.recent
    for k in range(2000, 5000):
        t[k] = k + 1
    room = t.memory()
    t.clear()
    assert len(t) == 0 and t.memory() == room and t.keys() == [] and 2500 not in t
    for k in range(2500, 5500):  # some in the run: sorted_columns drops those
        assert t.setdefault(k, k + 2) == k + 2
    assert t.get(2000) is None and t[4999] == 5001 and len(t) == 3000
    kb, pb = dedup.speedup("sorted_columns")(t, 4, near.run_set())
    assert memoryview(kb).cast("I").tolist() == list(range(3000, 5500))
    assert memoryview(pb).cast("I").tolist() == list(range(3002, 5502))


def test_next_key_set_reuses_a_small_table_emptied() -> None:
    """One table per document made only when the last one grew large."""
    assert len(dedup.next_key_set(None)) == 0
    small = dedup.key_set()
    for k in range(dedup.KEY_SET_SIZE):
        small.setdefault(k, 0)
    again = dedup.next_key_set(small)
    assert again is small and len(again) == 0 and 3 not in again
    again.setdefault(5, 0)
    assert list(again) == [5]
    large = dedup.key_set()
    for k in range(4 * dedup.KEY_SET_SIZE + 1):
        large.setdefault(k, 0)
    fresh = dedup.next_key_set(large)
    assert fresh is not large and len(fresh) == 0 and len(large) == 4 * dedup.KEY_SET_SIZE + 1


@needs_c
@pytest.mark.parametrize("width", [3, 4])
def test_merge_runs_writes_every_byte_so_its_outputs_need_no_zeroing(width: int) -> None:
    """_merge hands merge_runs buffers left as allocated (``unfilled``): the
    merge over buffers full of 0xFF gives what the one over zeroes gives."""
    unfilled = dedup.speedup("unfilled")
    assert len(unfilled(0)) == 0 and len(unfilled(1000)) == 1000
    with pytest.raises(ValueError):
        unfilled(-1)
    a_keys, b_keys = array("I", range(0, 2000, 2)), array("I", range(1, 2001, 2))
    a_ids = index._narrow(np.arange(1000, dtype=np.uint32), 0) if width == 3 else array("I", range(1000))
    b_ids = index._narrow(np.arange(1000, 2000, dtype=np.uint32), 0) if width == 3 else array("I", range(1000, 2000))
    outs = []
    for fill in (0, 0xFF):
        keys, ids = bytearray([fill]) * (4 * 2000), bytearray([fill]) * (width * 2000)
        dedup.speedup("merge_runs")(a_keys, a_ids, 0, b_keys, b_ids, 0, memoryview(keys).cast("I"),
                                    memoryview(ids).cast("I") if width == 4 else memoryview(ids), 0)
        outs.append((bytes(keys), bytes(ids)))
    assert outs[0] == outs[1]
    assert memoryview(outs[0][0]).cast("I").tolist() == list(range(2000))


@needs_c
def test_fingerprint_table_recent_same_with_a_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    """FingerprintTable's uses of recent (add, add_many, sample, spill, len,
    nbytes) give the same table with a KeyTable and with a dict."""
    import random

    def build() -> tuple[object, ...]:
        rng = random.Random(3)
        out: list[object] = []
        for bits in (64, 32):
            table = index.FingerprintTable(bits)
            for pid in range(3000):
                table.add(rng.getrandbits(bits) if pid % 7 else rng.randrange(50), pid)
                table.add_many([rng.getrandbits(bits) if i % 3 else rng.randrange(50) for i in range(8)], pid)
                if pid == 1500:
                    table.sample(1 << (bits - 1))
                if pid % 1000 == 999:
                    out.append((list(table.recent.items()), len(table), table.nbytes()))
                    table.spill(force=pid == 1999)
            out.append([(r.keys.tolist(), r.ids().tolist()) for r in table.runs])
        return tuple(out)

    with_c = build()
    monkeypatch.setattr(dedup, "_KeyTable", None)  # dedup.key_table: a dict
    assert build() == with_c
