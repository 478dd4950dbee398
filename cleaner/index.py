"""The duplicate index: exact and near fingerprints of kept paragraphs.

Each fingerprint maps to the id of the first paragraph that produced it; a
paragraph id maps to (document, line) and to a 32-bit mask of its facts
(``dedup.facts_mask``; 0 for paragraphs not sketched), which near matches
are weighed with. Recent fingerprints live in a dict (a ``_speedups.KeyTable``
with the C extension); older ones in sorted numpy runs merged geometrically,
so memory per paragraph stays small and lookups are batched per input chunk.
A run stores each paragraph id in 3 bytes, as an offset from the run's
smallest id (4 bytes when the ids of one run span 2**24 or more); the
paragraph table stores the document once per run of consecutive paragraphs
of one document, so a paragraph row is its line and facts mask (8 bytes).

Two tables are kept apart: fingerprints loaded from an index file (owned by
the documents of earlier runs) and fingerprints added in this run. A
document re-run under the same id is not a duplicate of its own earlier
copy, so hits in the loaded table owned by the current document are ignored.

Memory budget: when the estimate exceeds ``max_bytes``, the index keeps only
fingerprints whose hash falls in the lower half of the hash space (then a
quarter, ...): duplicates whose fingerprints fall outside are no longer
found, which ``--stats`` reports as the sampled share.
"""

from __future__ import annotations

import fcntl
import json
import os
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

import xxhash

from .dedup import HASH, NGRAM_DEFAULT, NORMALIZATION, SKETCH_K_DEFAULT, key_table, speedup
from .errors import CleanerError
from .files import atomic_writer

FORMAT = "corpus-cleaner-index"
VERSION = 3  # 2: per-paragraph facts masks (near-match guard); 3: 3-byte ids in runs, documents as runs
MAGIC = b"CCIDX1\n"
SPILL_AT = 1 << 17  # recent entries per table before they become a sorted run (about 3 MB as a KeyTable)
MAX_RUN = 1 << 22  # entries: merging two runs never copies more than this
MERGE_STEP = 1 << 16  # entries of the newer run placed per step of a merge (bounds its index arrays)
PID3 = 1 << 24  # a run whose ids span less than this stores them in 3 bytes
# KeyFilter sizes (bits). A key sets two bits of one 64-bit word; a new key
# passes the filter with odds of about (1 - exp(-2 * keys / bits)) ** 2 (a
# little more: words fill unevenly): 16% at 4 bits per key, 5% at 8. Sizes
# are powers of two, rebuilt at each doubling (as the estimate counts them):
# 0.5 to 1 byte per key.
FILTER_BITS_PER_KEY = 4
FILTER_MIN_BITS = 1 << 12
FILTER_MAX_BITS = 1 << 26  # 8 MB
FILTER_BUILD_BOOL_BITS = 1 << 24  # built through a temporary bool array up to this size
FILTER_FULL = 2  # past FILTER_FULL / FILTER_BITS_PER_KEY keys per bit (40% of new keys pass): skipped
FILTER_MIX = 0x9E3779B97F4A7C15  # odd: a key's product with it picks its two bits (_speedups.c's too)
DIR_KEYS = 64  # a run's directory has a bucket per DIR_KEYS to 2 * DIR_KEYS keys (_speedups.c's too)
_DICT_ENTRY_BYTES = 100  # rough cost of one dict entry with its int objects
_RunSet = speedup("RunSet")
_dict_columns = speedup("dict_columns")
_sorted_columns = speedup("sorted_columns")
_merge_runs = speedup("merge_runs")
_unfilled = speedup("unfilled")
_filter_set = speedup("filter_set")
_narrow_ids = speedup("narrow_ids")
_id_range = speedup("id_range")
_run_directory = speedup("run_directory")


class IndexError_(CleanerError):
    """An index file is unreadable, corrupt or built with other parameters."""


@dataclass(frozen=True)
class IndexParams:
    """Everything that must match for fingerprints to be comparable."""

    normalization: str = NORMALIZATION
    hash: str = HASH
    ngram: int = NGRAM_DEFAULT
    sketch_k: int = SKETCH_K_DEFAULT

    def to_json(self) -> dict[str, Any]:
        return {"normalization": self.normalization, "hash": self.hash, "ngram": self.ngram,
                "sketch_k": self.sketch_k}


if TYPE_CHECKING:  # numpy is imported where used: in-document runs never need it (start-up)
    import numpy as np

    from .dedup import KeyIds
    # a run's keys, ids or directory: a numpy array or a typed memoryview (Any:
    # numpy code takes both through np.asarray, and mypy cannot tell which is where)
    Column: TypeAlias = Any


class Run(NamedTuple):
    """A sorted run: unique keys and their paragraph ids. ``pids`` holds the
    ids as 3-byte little-endian offsets from ``base`` (dtype ``V3``), or as
    uint32 with ``base`` 0 when they span too much; every id lies in
    ``[base, top]``. ``dir``: the keys' ``run_directory`` for lookups in C,
    built at the first lookup (None before; stale once ``keys`` changed).
    The columns are numpy arrays, or with the C extension typed memoryviews
    (3-byte ids as bytes): spills and merges then never import numpy (0.1 s);
    ``arrays`` gives numpy views of them where numpy is needed."""

    keys: Column
    pids: Column
    base: int
    top: int
    dir: Column | None = None

    @classmethod
    def of(cls, keys: Column, pids: Column) -> Run:
        """A run from keys and their ids as uint32 (narrowed when they fit)."""
        if isinstance(pids, memoryview) and _id_range is not None:  # in C, no numpy
            if not len(pids):
                return cls(keys, memoryview(b""), 0, 0)
            base, top = _id_range(pids)
            if top - base >= PID3:
                return cls(keys, pids, 0, top)
            return cls(keys, memoryview(_narrow_ids(pids, base)), base, top)
        import numpy as np
        if not len(pids):
            return cls(keys, np.empty(0, "V3"), 0, 0)
        base, top = int(pids.min()), int(pids.max())
        if top - base >= PID3:
            return cls(keys, pids.astype(np.uint32, copy=False), 0, top)
        return cls(keys, _narrow(pids, base), base, top)

    @property
    def width(self) -> int:
        """Bytes per id: 3 or 4."""
        return 4 if self.pids.itemsize == 4 else 3

    def arrays(self) -> Run:
        """This run with numpy columns (views of the same buffers)."""
        import numpy as np
        keys, pids = self.keys, self.pids
        if isinstance(pids, memoryview):
            pids = np.frombuffer(pids, np.uint32 if self.width == 4 else "V3")
        return self._replace(keys=np.asarray(keys), pids=pids)

    def ids(self, pos: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The paragraph ids at ``pos`` as uint32."""
        import numpy as np
        col: np.ndarray = self.arrays().pids[pos]
        if col.dtype == np.uint32:
            return col
        wide = np.zeros((len(col), 4), np.uint8)
        wide[:, :3] = col.view(np.uint8).reshape(-1, 3)
        out = wide.view("<u4").reshape(-1).astype(np.uint32, copy=False)
        out += np.uint32(self.base)
        return out

    @property
    def nbytes(self) -> int:
        # the directory as sized for the keys, built or not (like the filter)
        return int(self.keys.nbytes + self.pids.nbytes) + 4 * ((1 << dir_bits(len(self.keys))) + 1)

    def directed(self) -> Run:
        """This run with its keys' directory."""
        d, n = self.dir, len(self.keys)
        if d is not None and len(d) == (1 << dir_bits(n)) + 1 and int(d[-1]) == n:
            return self  # a run's keys only ever shrink (sampling): the same length, the same keys
        return self._replace(dir=run_directory(self.keys))


def dir_bits(n: int) -> int:
    """log2 of the buckets in the directory of a run of ``n`` keys."""
    return max(0, (n // DIR_KEYS).bit_length() - 1)


def run_directory(keys: Column) -> Column:
    """Where each bucket of sorted ``keys`` starts (uint32, one more entry
    than buckets: the last is ``len(keys)``); a key's bucket is its value's
    top ``dir_bits`` bits, counted from the top bit of the largest key."""
    if _run_directory is not None:
        return memoryview(_run_directory(keys)).cast("I")
    import numpy as np
    keys = np.asarray(keys)
    n, b = len(keys), dir_bits(len(keys))
    out = np.empty((1 << b) + 1, np.uint32)
    out[-1] = n
    if b == 0:
        out[0] = 0
        return out
    shift = max(0, int(keys[-1]).bit_length() - b)
    bounds = np.arange(1 << b, dtype=keys.dtype) << keys.dtype.type(shift)
    out[:-1] = np.searchsorted(keys, bounds)
    return out


def _narrow(pids: np.ndarray, base: int) -> np.ndarray:
    """uint32 ids -> 3-byte offsets from ``base`` (all ids in [base, base + PID3))."""
    import numpy as np
    if _narrow_ids is not None:
        return np.frombuffer(_narrow_ids(np.ascontiguousarray(pids, np.uint32), base), "V3")
    off = pids.astype("<u4") - np.uint32(base)
    return np.ascontiguousarray(off.view(np.uint8).reshape(-1, 4)[:, :3]).view("V3").reshape(-1)


class FingerprintTable:
    """Unique keys (uint64 or uint32) -> paragraph id (uint32).

    Recent keys sit in a dict (with the C extension a ``_speedups.KeyTable``:
    the same mapping and order, no Python object per entry); ``spill`` turns
    them into a sorted run and merges runs of similar size, but never beyond
    ``MAX_RUN`` entries, so a merge never needs more than a bounded amount of
    memory on top of the index. Runs hold disjoint keys; older runs come first.
    """

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.recent: KeyIds = self._new_recent()
        self.runs: list[Run] = []
        self.limit = 1 << bits  # keys at or above are not kept (sampling)
        self._key_filter: KeyFilter | None = None
        self._run_set: tuple[list[int], Any] | None = None

    def _new_recent(self, size: int = 0) -> KeyIds:
        """An empty recent table with room for ``size`` entries."""
        return key_table(self.bits // 8, size)

    @property
    def dtype(self) -> type[np.unsignedinteger[Any]]:
        import numpy as np
        return np.uint64 if self.bits == 64 else np.uint32

    def __len__(self) -> int:
        return len(self.recent) + sum(len(r.keys) for r in self.runs)

    def nbytes(self) -> int:
        # the filter as sized for the keys in runs, built or not: the estimate
        # must not depend on when lookups happened
        in_runs = sum(len(r.keys) for r in self.runs)
        f = filter_bits(in_runs) // 8 if in_runs else 0
        return len(self.recent) * _DICT_ENTRY_BYTES + sum(r.nbytes for r in self.runs) + f

    def find_many(self, keys: Iterable[int]) -> dict[int, int]:
        """Keys found in the sorted runs -> paragraph id (one batch per chunk)."""
        if not self.runs:
            return {}
        runs = self.run_set()
        if runs is not None:  # a lookup per key in C: no numpy
            get = runs.get
            return {key: pid for key in keys if (pid := get(key)) is not None}
        import numpy as np
        q = np.fromiter(keys, dtype=self.dtype)
        if not len(q):
            return {}
        # most keys of a chunk are new: the filter drops most of them before
        # any binary search; sorted queries then search each run cache-friendly
        q = np.unique(q[self._filter().may_hold(q)])
        found: dict[int, int] = {}
        for run in self.runs:
            if not len(q):
                break
            run = run.arrays()
            hit, pos = _member(run.keys, q)
            if hit.any():
                found.update(zip(q[hit].tolist(), run.ids(pos[hit]).tolist(), strict=True))
                q = q[~hit]  # runs hold disjoint keys
        return found

    def run_set(self) -> Any:
        """The runs as a ``_speedups.RunSet`` (lookups one key at a time, in C),
        kept until the runs change; None without the extension."""
        if _RunSet is None:
            return None
        if not self.runs:  # nothing to look up: no filter to build (a new document's index)
            return _RunSet(self.bits // 8, None, 0, [])
        ids = self._run_ids()
        if self._run_set is None or self._run_set[0] != ids:
            f = self._filter()
            bitmap = None if f.full else f.bytes
            self._run_set = ids, _RunSet(self.bits // 8, bitmap, f.shift, self._run_views())
        return self._run_set[1]

    def _run_views(self) -> list[tuple[Column, Column, int, Column | None]]:
        """The runs as ``RunSet`` takes them, each with its directory (built
        once per run: the runs keep them)."""
        self.runs = runs = [r.directed() for r in self.runs]
        return [(r.keys, r.pids, r.base, r.dir) for r in runs]

    def _run_ids(self) -> list[int]:
        """What a ``KeyFilter`` records of the runs it covers."""
        return [id(r.keys) for r in self.runs]

    def _filter(self) -> KeyFilter:
        """The filter over the runs' keys, rebuilt when the runs were
        replaced other than by ``add_run`` (sampling, renumbering, loading)."""
        f = self._key_filter
        if f is None or f.runs != self._run_ids():
            f = self._key_filter = KeyFilter(self.bits, [r.keys for r in self.runs])
        return f

    def add(self, key: int, pid: int) -> None:
        if key < self.limit:
            self.recent.setdefault(key, pid)

    def add_many(self, keys: list[int], pid: int) -> None:
        """``add(key, pid)`` for each key, in order."""
        recent = self.recent
        if not isinstance(recent, dict):
            recent.add_many(keys, pid, self.limit)
        elif self.limit == 1 << self.bits and recent.keys().isdisjoint(keys):
            recent.update(dict.fromkeys(keys, pid))
        else:
            for key in keys:
                if key < self.limit:
                    recent.setdefault(key, pid)

    def spill(self, force: bool = False) -> None:
        """Move recent keys into a sorted run; merge runs of similar size."""
        if not self.recent or (len(self.recent) < SPILL_AT and not force):
            return
        if _sorted_columns is not None:
            # the columns, the argsort below and add_run's lookups in the older
            # runs, in C (the lookups mostly answered by the notes the recent
            # table kept of its keys' lookups in these runs, see KeyTable)
            runs = self.run_set()
            kb, pb = _sorted_columns(self.recent, self.bits // 8, runs)
            self.recent.clear()  # its room kept: the next spill's table fills as far
            self.add_run(memoryview(kb).cast(_key_code(self.bits)), memoryview(pb).cast("I"), new=runs is not None)
            return
        import numpy as np
        if _dict_columns is not None:  # 5x faster than fromiter
            kb, pb = _dict_columns(self.recent, self.bits // 8)
            keys, pids = np.frombuffer(kb, self.dtype), np.frombuffer(pb, np.uint32)
        else:
            keys = np.fromiter(self.recent.keys(), dtype=self.dtype, count=len(self.recent))
            pids = np.fromiter(self.recent.values(), dtype=np.uint32, count=len(self.recent))
        self.recent.clear()
        order = np.argsort(keys)
        self.add_run(keys[order], pids[order])

    def add_run(self, keys: Column, pids: Column, new: bool = False) -> None:
        """Append a sorted run (keys not in older runs are kept; ``new``: the
        caller dropped those already), then merge the newest runs while they
        are of similar size and stay under MAX_RUN."""
        self._run_set = None  # holds the runs about to be merged
        f = self._key_filter
        covered = f is not None and f.runs == self._run_ids()
        if self.runs and not new:
            keys, pids = self._new_keys(keys, pids, f if covered else None)
        if not len(keys):
            return
        self.runs.append(Run.of(keys, pids))
        covered = covered and f is not None and f.add(keys)
        while (len(self.runs) > 1 and len(self.runs[-2].keys) <= 2 * len(self.runs[-1].keys)
               and len(self.runs[-2].keys) + len(self.runs[-1].keys) <= MAX_RUN):
            newer = self.runs.pop()
            older = self.runs.pop()
            self.runs.append(_merge(older, newer))
        if covered and f is not None:  # merged runs hold the same keys
            f.runs = self._run_ids()

    def _new_keys(self, keys: Column, pids: Column, f: KeyFilter | None) -> tuple[Column, Column]:
        """A sorted run's keys (and their ids) not in the older runs; ``f``:
        the key filter, when it covers those runs."""
        import numpy as np
        keys, pids = np.asarray(keys), np.asarray(pids)
        if _RunSet is not None:  # the loop below, in C (lookups that interpolate)
            useful = f is not None and not f.full
            olds = _RunSet(self.bits // 8, f.bytes if useful and f is not None else None,
                           f.shift if useful and f is not None else 0, self._run_views())
            old_keys = np.frombuffer(olds.member(np.ascontiguousarray(keys)), bool)
        else:
            may = np.flatnonzero(f.may_hold(keys)) if f is not None else np.arange(len(keys))
            old_keys = np.zeros(len(keys), bool)
            for old in self.runs:
                if not len(may):
                    break
                hit, _pos = _member(np.asarray(old.keys), keys[may])
                old_keys[may[hit]] = True
                may = may[~hit]
        if old_keys.any():
            keys, pids = keys[~old_keys], pids[~old_keys]
        return keys, pids

    def absorb(self, other: FingerprintTable, pid_offset: int) -> None:
        """Add another table's entries (its ids shifted); keys already here win."""
        import numpy as np
        other.spill(force=True)
        self.spill(force=True)
        for run in other.runs:
            run = run.arrays()
            keep = run.keys < self.limit
            self.add_run(run.keys[keep], (run.ids(keep).astype(np.uint64) + pid_offset).astype(np.uint32))

    def sample(self, limit: int) -> None:
        """Keep only keys below ``limit`` (a smaller share of the hash space)."""
        self.limit = min(self.limit, limit)
        self._run_set = None
        kept = [(k, p) for k, p in self.recent.items() if k < self.limit]
        self.recent = self._new_recent(len(kept))
        for k, p in kept:
            self.recent[k] = p
        runs = [r.arrays() for r in self.runs]
        self.runs = [r._replace(keys=r.keys[r.keys < self.limit], pids=r.pids[r.keys < self.limit]) for r in runs]


def _key_code(bits: int) -> Literal["Q", "I"]:
    """The memoryview format of keys of this many bits."""
    return "Q" if bits == 64 else "I"


def filter_bits(keys: int) -> int:
    """The size of a ``KeyFilter`` built over this many keys."""
    size = max(FILTER_MIN_BITS, 64)  # a word at least
    while size < FILTER_BITS_PER_KEY * keys and size < FILTER_MAX_BITS:
        size *= 2
    return size


def filter_slots(keys: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """A ``KeyFilter``'s two bits of each key: in the 64-bit word its top
    bits pick (``key >> shift >> 6``; the keys are hashes), at the places the
    top 12 bits of ``key * FILTER_MIX`` (mod 2**64) pick."""
    import numpy as np
    word = (keys >> keys.dtype.type(shift)).astype(np.uint64) >> np.uint64(6) << np.uint64(6)
    h = keys.astype(np.uint64) * np.uint64(FILTER_MIX)
    return ((word | h >> np.uint64(58)).astype(np.intp),
            (word | h >> np.uint64(52) & np.uint64(63)).astype(np.intp))


class KeyFilter:
    """A bitmap over the runs' keys, two bits per key in a word its top bits
    pick (one memory read per query): a query with a bit clear is in no run.
    4 to 8 bits per key, from ``FILTER_MIN_BITS`` to ``FILTER_MAX_BITS``;
    rebuilt at each doubling as keys are added (the size ``nbytes`` counts),
    and not consulted once too full to drop many queries."""

    def __init__(self, key_bits: int, runs: list[Column]) -> None:
        self.runs = [id(k) for k in runs]
        self.count = sum(len(k) for k in runs)
        self.size = size = filter_bits(self.count)
        self.shift = key_bits - size.bit_length() + 1
        self.bytes: Column
        if _filter_set is not None:  # no numpy
            self.bytes = memoryview(bytearray(0 if self.full else size // 8))  # when full: never consulted
            for keys in runs if not self.full else []:
                self._set(keys)
            return
        import numpy as np
        if self.full:
            self.bytes = np.zeros(0, np.uint8)  # never consulted
        elif size <= FILTER_BUILD_BOOL_BITS:  # a byte per bit, then packed: beats or.at
            bits = np.zeros(size, bool)
            for keys in runs:
                for slot in filter_slots(np.asarray(keys), self.shift):
                    bits[slot] = True
            self.bytes = np.packbits(bits, bitorder="little")
        else:
            self.bytes = np.zeros(size // 8, np.uint8)
            for keys in runs:
                self._set(keys)

    @property
    def full(self) -> bool:
        """Too many keys for the size: most bits set, no use."""
        return FILTER_BITS_PER_KEY * self.count > FILTER_FULL * self.size

    def _set(self, keys: Column) -> None:
        if _filter_set is not None:
            if not isinstance(keys, memoryview):
                import numpy as np
                keys = np.ascontiguousarray(keys)
            _filter_set(self.bytes, keys, self.shift)
            return
        import numpy as np
        for slot in filter_slots(np.asarray(keys), self.shift):
            np.bitwise_or.at(self.bytes, slot >> 3, (np.left_shift(1, slot & 7)).astype(np.uint8))

    def add(self, keys: Column) -> bool:
        """Set the bits of a new run's keys (the caller records the runs
        covered); False when the filter is now below 4 bits per key and must
        be rebuilt at twice the size (the size ``filter_bits`` gives)."""
        self.count += len(keys)
        if FILTER_BITS_PER_KEY * self.count > self.size and self.size < FILTER_MAX_BITS:
            self.runs = []  # rebuilt, larger, at the next lookup
            return False
        if not self.full:
            self._set(keys)
        return True

    def may_hold(self, q: np.ndarray) -> np.ndarray:
        """For each query: whether it may be in a run (bool array)."""
        import numpy as np
        if self.full:
            return np.ones(len(q), bool)
        out = np.ones(len(q), bool)
        bitmap = np.frombuffer(self.bytes, np.uint8)
        for slot in filter_slots(q, self.shift):
            out &= (bitmap[slot >> 3] >> (slot & 7).astype(np.uint8)) & 1 == 1
        return out


def _member(sorted_keys: Column, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``q`` are in ``sorted_keys``, and where."""
    import numpy as np
    sorted_keys = np.asarray(sorted_keys)
    pos = np.searchsorted(sorted_keys, q)
    pos[pos >= len(sorted_keys)] = 0
    return (sorted_keys[pos] == q) if len(sorted_keys) else np.zeros(len(q), bool), pos


def _merge(a: Run, b: Run) -> Run:
    """Merge two sorted runs with disjoint keys: b's entries are placed
    ``MERGE_STEP`` at a time, then a's fill the rest. Besides the merged run
    it needs one byte per entry (a mask) and index arrays of MERGE_STEP
    entries: no sort, no index array as large as either run."""
    base, top = min(a.base, b.base), max(a.top, b.top)
    narrow = a.width == b.width == 3 and top - base < PID3
    n, nb = len(a.keys) + len(b.keys), len(b.keys)
    if _merge_runs is not None:  # the same placement in one linear pass, ids rebased as they are copied
        kw = a.keys.itemsize  # runs' columns are contiguous
        # written whole by merge_runs: not zeroed first (tens of MB per merge up the levels)
        out_keys = memoryview(_unfilled(n * kw)).cast(_key_code(8 * kw))
        out_pids = memoryview(_unfilled(n * 3)) if narrow else memoryview(_unfilled(n * 4)).cast("I")
        base = base if narrow else 0
        _merge_runs(a.keys, a.pids, a.base, b.keys, b.pids, b.base, out_keys, out_pids, base)
        return Run(out_keys, out_pids, base, top)
    import numpy as np
    a, b = a.arrays(), b.arrays()
    keys = np.empty(n, a.keys.dtype)
    if narrow:
        pa = a.pids if a.base == base else _narrow(a.ids(), base)
        pb = b.pids if b.base == base else _narrow(b.ids(), base)
    else:
        base, pa, pb = 0, a.ids(), b.ids()
    pids = np.empty(n, pa.dtype)
    from_a = np.ones(n, bool)
    for s in range(0, nb, MERGE_STEP):
        bk = b.keys[s:s + MERGE_STEP]
        dest = np.searchsorted(a.keys, bk)
        dest += np.arange(s, s + len(bk), dtype=dest.dtype)
        keys[dest] = bk
        pids[dest] = pb[s:s + MERGE_STEP]
        from_a[dest] = False
    keys[from_a] = a.keys
    pids[from_a] = pa
    return Run(keys, pids, base, top)


class DocColumn:
    """The document of each paragraph, stored once per run of consecutive
    paragraphs of one document (8 bytes per run instead of 4 per paragraph).
    ``column[pid]`` is the document index of paragraph ``pid``."""

    def __init__(self) -> None:
        self.starts = array("I")  # first paragraph id of each run
        self.docs = array("I")  # its document
        self.n = 0
        self.last = -1  # the last paragraph's document

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, pid: int) -> int:
        if not 0 <= pid < self.n:
            raise IndexError("paragraph id out of range")
        return self.docs[bisect_right(self.starts, pid) - 1]

    def append(self, doc: int) -> None:
        self.extend(doc, 1)

    def extend(self, doc: int, n: int) -> None:
        """Append ``n`` paragraphs of document ``doc`` (none: no run for it)."""
        if not n:
            return
        if doc != self.last:
            self.starts.append(self.n)
            self.docs.append(doc)
            self.last = doc
        self.n += n

    def nbytes(self) -> int:
        return 8 * len(self.starts)

    def to_numpy(self) -> np.ndarray:
        """One uint32 per paragraph (for renumbering)."""
        import numpy as np
        starts = np.frombuffer(self.starts, np.uint32)
        lengths = np.diff(np.append(starts.astype(np.int64), self.n))
        return np.repeat(np.frombuffer(self.docs, np.uint32), lengths)

    @classmethod
    def from_numpy(cls, docs: np.ndarray) -> DocColumn:
        import numpy as np
        col = cls()
        col.extend_numpy(docs.astype(np.uint32, copy=False))
        return col

    def extend_numpy(self, docs: np.ndarray) -> None:
        """Append paragraphs of documents ``docs`` (uint32, one per paragraph)."""
        import numpy as np
        if not len(docs):
            return
        change = np.flatnonzero(docs[1:] != docs[:-1]) + 1
        starts = np.concatenate(([0], change)).astype(np.uint32)
        if self.last == int(docs[0]):
            starts = starts[1:]
        self.starts.frombytes((starts + np.uint32(self.n)).tobytes())
        self.docs.frombytes(docs[starts].tobytes())
        self.n += len(docs)
        self.last = int(docs[-1])


class Index:
    """Exact (64-bit) and near (32-bit sketch) fingerprints with their first paragraphs."""

    def __init__(self, params: IndexParams | None = None, max_bytes: int | None = None) -> None:
        self.params = params or IndexParams()
        self.max_bytes = max_bytes
        self.exact = FingerprintTable(64)
        self.near = FingerprintTable(32)
        self.para_doc = DocColumn()
        self.para_line = array("I")
        self.para_facts = array("I")
        self.docs: list[str] = []
        self.doc_index: dict[str, int] = {}
        self.sample_shift = 0

    # -- paragraphs and documents -----------------------------------------
    def doc_id(self, name: str) -> int:
        idx = self.doc_index.get(name)
        if idx is None:
            idx = self.doc_index[name] = len(self.docs)
            self.docs.append(name)
        return idx

    def add_paragraph(self, doc: int, line: int, facts: int = 0) -> int:
        pid = self.para_doc.n
        self.para_doc.append(doc)
        self.para_line.append(line)
        self.para_facts.append(facts)
        return pid

    def where(self, pid: int) -> tuple[str, int]:
        return self.docs[self.para_doc[pid]], self.para_line[pid]

    def paragraphs(self) -> int:
        return len(self.para_doc)

    # -- memory -------------------------------------------------------------
    def nbytes(self) -> int:
        docs = sum(len(d) + 60 for d in self.docs)
        return self.exact.nbytes() + self.near.nbytes() + 8 * len(self.para_line) + self.para_doc.nbytes() + docs

    def spill_at(self) -> int:
        """Recent entries of a table that make a spill point. With a budget,
        fewer (an eighth of it at the recent entries' estimated cost), so that
        the budget is enforced often enough."""
        if self.max_bytes is None:
            return SPILL_AT
        return max(64, min(SPILL_AT, self.max_bytes // (8 * _DICT_ENTRY_BYTES)))

    def spill(self) -> None:
        """At a spill point: each table's recent entries, when ``spill_at`` or
        more, become a sorted run; then the budget is enforced. The matcher
        calls it as soon as a paragraph brings a table there, never at a
        chunk's end: when runs form (and so which copy of a value a lookup
        finds first, and when the budget samples) must depend on the
        paragraphs alone, not on how the input was cut into chunks."""
        at = self.spill_at()
        for table in (self.exact, self.near):
            if len(table.recent) >= at:
                table.spill(force=True)
        while self.max_bytes is not None and self.nbytes() > self.max_bytes and self.sample_shift < 24:
            self.exact.spill(force=True)
            self.near.spill(force=True)
            if self.nbytes() <= self.max_bytes:
                break
            if self.exact.nbytes() + self.near.nbytes() <= self.max_bytes // 4:
                break  # the rest is paragraph rows, which sampling cannot free: keep the recall left
            self.sample_shift += 1
            self.exact.sample(1 << (64 - self.sample_shift))
            self.near.sample(1 << (32 - self.sample_shift))

    def sampled_share(self) -> float:
        return 1.0 / (1 << self.sample_shift)

    # -- files ----------------------------------------------------------------
    def compact(self) -> None:
        """Drop paragraphs no fingerprint points at (re-runs of a document add
        rows whose fingerprints were already owned) and renumber the rest."""
        import numpy as np
        self.exact.spill(force=True)
        self.near.spill(force=True)
        n = len(self.para_doc)
        used = np.zeros(n, dtype=bool)
        for table in (self.exact, self.near):
            for run in table.runs:
                used[run.ids()] = True
        if used.all():
            return
        new_id = (np.cumsum(used, dtype=np.uint64) - 1).astype(np.uint32)
        for table in (self.exact, self.near):
            table.runs = [Run.of(r.keys, new_id[r.ids()]) for r in table.runs]
            table._run_set = None  # same keys arrays, new ids
        self.para_doc = DocColumn.from_numpy(self.para_doc.to_numpy()[used])
        pl = np.frombuffer(self.para_line, np.uint32)[used]
        pf = np.frombuffer(self.para_facts, np.uint32)[used]
        self.para_line, self.para_facts = array("I", pl.tobytes()), array("I", pf.tobytes())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a temporary file in the same folder, fsync, rename."""
        path = Path(path)
        self.compact()
        blobs: list[memoryview] = []
        runs: dict[str, list[list[int]]] = {}
        for name, table in (("exact", self.exact), ("near", self.near)):
            # per run: entries, bytes per id (3 or 4), id base, id top
            runs[name] = [[len(r.keys), r.width, r.base, r.top] for r in table.runs]
            for r in table.runs:
                blobs += [_bytes(r.keys), _bytes(r.pids)]
        blobs += [memoryview(self.para_doc.starts), memoryview(self.para_doc.docs), memoryview(self.para_line),
                  memoryview(self.para_facts), memoryview("\n".join(self.docs).encode("utf-8", "surrogateescape"))]
        header = {
            "format": FORMAT, "version": VERSION, "params": self.params.to_json(),
            "sample_shift": self.sample_shift, "runs": runs,
            "paragraphs": len(self.para_line), "doc_runs": len(self.para_doc.starts), "docs": len(self.docs),
            "sizes": [b.nbytes for b in blobs], "checksum": _checksum(blobs),
        }
        head = json.dumps(header, sort_keys=True).encode("utf-8")
        with atomic_writer(path) as f:
            f.write(MAGIC + len(head).to_bytes(8, "little") + head)
            for b in blobs:
                f.write(b)

    @classmethod
    def load(cls, path: str | os.PathLike[str], params: IndexParams | None = None,
             max_bytes: int | None = None) -> Index:
        """Read an index file; check its format and checksum, and that it was
        built with ``params`` (None: take the file's own parameters). The
        arrays are read straight into their final buffers: loading needs the
        index's own memory, not a copy of the file besides."""
        with _IndexReader(path) as reader:
            header = reader.header
            idx = cls._from_reader(reader, header, params, max_bytes)
            reader.finish()
        return idx

    @classmethod
    def _from_reader(cls, reader: _IndexReader, header: dict[str, Any], params: IndexParams | None,
                     max_bytes: int | None) -> Index:
        import numpy as np
        path = reader.path
        if params is None:
            params = IndexParams(**header["params"])
        want = params.to_json()
        if header["params"] != want:
            raise IndexError_(
                f"{path}: index was built with {header['params']}, this run uses {want}; "
                "rebuild the index or run with the same parameters"
            )
        idx = cls(params, max_bytes)
        idx.sample_shift = int(header["sample_shift"])
        idx.exact.limit = 1 << (64 - idx.sample_shift)
        idx.near.limit = 1 << (32 - idx.sample_shift)
        try:
            for name, table in (("exact", idx.exact), ("near", idx.near)):
                for n, width, base, top in header["runs"][name]:
                    keys = reader.read_array(n, np.dtype(table.dtype))
                    pids = reader.read_array(n, np.dtype("V3") if width == 3 else np.dtype(np.uint32))
                    table.runs.append(Run(keys, pids, int(base), int(top)))
            n = int(header["paragraphs"])
            idx.para_doc.starts = reader.uint32s(int(header["doc_runs"]))
            idx.para_doc.docs = reader.uint32s(int(header["doc_runs"]))
            idx.para_doc.n = n
            idx.para_doc.last = idx.para_doc.docs[-1] if idx.para_doc.docs else -1
            idx.para_line = reader.uint32s(n)
            idx.para_facts = reader.uint32s(n)
            text = reader.read_bytes().decode("utf-8", "surrogateescape")
        except (KeyError, TypeError, ValueError) as e:
            raise IndexError_(f"{path}: corrupt index header: {e}") from e
        idx.docs = text.split("\n") if text else []
        idx.doc_index = {d: i for i, d in enumerate(idx.docs)}
        return idx

    def merge_from(self, other: Index) -> None:
        """Add another index's entries; on a fingerprint in both, this one's first copy wins."""
        import numpy as np
        if other.params != self.params:
            raise IndexError_("cannot merge indexes built with different parameters")
        base = self.paragraphs()
        if other.docs:
            doc_map = np.array([self.doc_id(d) for d in other.docs], dtype=np.uint32)
            self.para_doc.extend_numpy(doc_map[other.para_doc.to_numpy()])
            self.para_line.extend(other.para_line)
            self.para_facts.extend(other.para_facts)
        self.exact.absorb(other.exact, base)
        self.near.absorb(other.near, base)
        self.sample_shift = max(self.sample_shift, other.sample_shift)
        self.exact.sample(1 << (64 - self.sample_shift))
        self.near.sample(1 << (32 - self.sample_shift))

    def info(self) -> dict[str, Any]:
        n = self.paragraphs()
        total = self.nbytes()
        return {
            "paragraphs": n, "documents": len(self.docs), "exact_fingerprints": len(self.exact),
            "near_fingerprints": len(self.near), "memory_bytes": total,
            "bytes_per_paragraph": round(total / n, 1) if n else 0.0,
            "sampled_share": self.sampled_share(), "params": self.params.to_json(),
        }


def _checksum(blobs: list[memoryview] | list[bytes]) -> str:
    h = xxhash.xxh3_64()
    for b in blobs:
        h.update(b)
    return h.hexdigest()


def _bytes(a: Column) -> memoryview:
    """A contiguous array's bytes, without a copy."""
    import numpy as np
    return np.ascontiguousarray(a).view(np.uint8).data


class _IndexReader:
    """Reads an index file's header, then its blobs one by one into their own
    buffers, checksumming as it goes; ``finish`` checks the checksum and that
    every byte was read."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        try:
            self.f = open(path, "rb")  # noqa: SIM115 (closed in __exit__)
        except OSError as e:
            raise IndexError_(f"{path}: cannot read index: {e}") from e
        try:
            self.header = self._header()
        except BaseException:
            self.f.close()
            raise
        self.sizes = iter(self.header["sizes"])
        self.hash = xxhash.xxh3_64()

    def _header(self) -> dict[str, Any]:
        path, f = self.path, self.f
        if f.read(len(MAGIC)) != MAGIC:
            raise IndexError_(f"{path}: not a corpus-cleaner index file")
        n = int.from_bytes(f.read(8), "little")
        head = f.read(n) if n < 1 << 24 else b""
        try:
            header = json.loads(head)
        except ValueError as e:
            raise IndexError_(f"{path}: corrupt index header") from e
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
            got = header.get("version") if isinstance(header, dict) else None
            raise IndexError_(f"{path}: index format version {got} is not {FORMAT} v{VERSION}")
        sizes = header.get("sizes")
        if (not isinstance(sizes, list) or not all(isinstance(x, int) and x >= 0 for x in sizes)
                or len(MAGIC) + 8 + n + sum(sizes) != os.fstat(f.fileno()).st_size):
            raise IndexError_(f"{path}: checksum mismatch: the index file is corrupt or truncated")
        return header

    def _corrupt(self) -> IndexError_:
        return IndexError_(f"{self.path}: checksum mismatch: the index file is corrupt or truncated")

    def _next(self, nbytes: int) -> None:
        """The next blob must be ``nbytes`` long (checked before allocating)."""
        if next(self.sizes, None) != nbytes:
            raise self._corrupt()

    def _fill(self, buf: memoryview) -> None:
        if self.f.readinto(buf) != buf.nbytes:
            raise self._corrupt()
        self.hash.update(buf)

    def read_array(self, n: int, dtype: np.dtype[Any]) -> np.ndarray:
        import numpy as np
        self._next(n * dtype.itemsize)
        a = np.empty(n, dtype)
        self._fill(a.view(np.uint8).data)
        return a

    def uint32s(self, n: int) -> array[int]:
        self._next(4 * n)
        a = array("I", [0]) * n
        self._fill(memoryview(a).cast("B"))
        return a

    def read_bytes(self) -> bytes:
        size = next(self.sizes, None)
        data = self.f.read(size) if isinstance(size, int) else b""
        if len(data) != size:
            raise self._corrupt()
        self.hash.update(data)
        return data

    def finish(self) -> None:
        if next(self.sizes, None) is not None or self.f.read(1) or self.hash.hexdigest() != self.header.get("checksum"):
            raise self._corrupt()

    def __enter__(self) -> _IndexReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


@contextmanager
def locked(path: str | os.PathLike[str], shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on ``PATH.lock`` so concurrent runs cannot interleave
    a load and a save of the same index."""
    lock_path = Path(str(path) + ".lock")
    with open(lock_path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
