"""The duplicate index: exact and near fingerprints of kept paragraphs.

Each fingerprint maps to the id of the first paragraph that produced it; a
paragraph id maps to (document, line) and to a 32-bit mask of its facts
(``dedup.facts_mask``; 0 for paragraphs not sketched), which near matches
are weighed with. Recent fingerprints live in a dict; older ones in sorted
numpy runs (a few bytes each) merged geometrically, so memory per paragraph
stays small and lookups are batched per input chunk.

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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xxhash

from .dedup import HASH, NGRAM_DEFAULT, NORMALIZATION, SKETCH_K_DEFAULT
from .errors import CleanerError
from .files import atomic_writer

FORMAT = "corpus-cleaner-index"
VERSION = 2  # 2: per-paragraph facts masks (near-match guard)
MAGIC = b"CCIDX1\n"
SPILL_AT = 1 << 15  # recent entries per table before they become a sorted run
MAX_RUN = 1 << 22  # entries: merging two runs never copies more than this
_DICT_ENTRY_BYTES = 100  # rough cost of one dict entry with its int objects


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

    Run = tuple[np.ndarray, np.ndarray]


class FingerprintTable:
    """Unique keys (uint64 or uint32) -> paragraph id (uint32).

    Recent keys sit in a dict; ``spill`` turns them into a sorted run and
    merges runs of similar size, but never beyond ``MAX_RUN`` entries, so a
    merge never needs more than a bounded amount of memory on top of the
    index. Runs hold disjoint keys; older runs come first.
    """

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.recent: dict[int, int] = {}
        self.runs: list[Run] = []
        self.limit = 1 << bits  # keys at or above are not kept (sampling)

    @property
    def dtype(self) -> type[np.unsignedinteger[Any]]:
        import numpy as np
        return np.uint64 if self.bits == 64 else np.uint32

    def __len__(self) -> int:
        return len(self.recent) + sum(len(k) for k, _ in self.runs)

    def nbytes(self) -> int:
        return len(self.recent) * _DICT_ENTRY_BYTES + sum(k.nbytes + p.nbytes for k, p in self.runs)

    def find_many(self, keys: Iterable[int]) -> dict[int, int]:
        """Keys found in the sorted runs -> paragraph id (one batch per chunk)."""
        import numpy as np
        if not self.runs:
            return {}
        q = np.fromiter(keys, dtype=self.dtype)
        if not len(q):
            return {}
        found: dict[int, int] = {}
        for run_keys, pids in self.runs:
            hit, pos = _member(run_keys, q)
            for k, p in zip(q[hit].tolist(), pids[pos[hit]].tolist(), strict=True):
                found.setdefault(k, p)
        return found

    def add(self, key: int, pid: int) -> None:
        if key < self.limit:
            self.recent.setdefault(key, pid)

    def add_many(self, keys: list[int], pid: int) -> None:
        """``add(key, pid)`` for each key, in order."""
        recent = self.recent
        if self.limit == 1 << self.bits and recent.keys().isdisjoint(keys):
            recent.update(dict.fromkeys(keys, pid))
        else:
            for key in keys:
                if key < self.limit:
                    recent.setdefault(key, pid)

    def spill(self, force: bool = False) -> None:
        """Move recent keys into a sorted run; merge runs of similar size."""
        import numpy as np
        if not self.recent or (len(self.recent) < SPILL_AT and not force):
            return
        keys = np.fromiter(self.recent.keys(), dtype=self.dtype, count=len(self.recent))
        pids = np.fromiter(self.recent.values(), dtype=np.uint32, count=len(self.recent))
        self.recent = {}
        order = np.argsort(keys)
        self.add_run(keys[order], pids[order])

    def add_run(self, keys: np.ndarray, pids: np.ndarray) -> None:
        """Append a sorted run (keys not in older runs are kept), then merge
        the newest runs while they are of similar size and stay under MAX_RUN."""
        for old_keys, _ in self.runs:
            hit, _pos = _member(old_keys, keys)
            if hit.any():
                keys, pids = keys[~hit], pids[~hit]
        if not len(keys):
            return
        self.runs.append((keys, pids))
        while (len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0])
               and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= MAX_RUN):
            newer = self.runs.pop()
            older = self.runs.pop()
            self.runs.append(_merge(older, newer))

    def absorb(self, other: FingerprintTable, pid_offset: int) -> None:
        """Add another table's entries (its ids shifted); keys already here win."""
        import numpy as np
        other.spill(force=True)
        self.spill(force=True)
        for keys, pids in other.runs:
            keep = keys < self.limit
            self.add_run(keys[keep], (pids[keep].astype(np.uint64) + pid_offset).astype(np.uint32))

    def sample(self, limit: int) -> None:
        """Keep only keys below ``limit`` (a smaller share of the hash space)."""
        self.limit = min(self.limit, limit)
        self.recent = {k: p for k, p in self.recent.items() if k < self.limit}
        self.runs = [(k[k < self.limit], p[k < self.limit]) for k, p in self.runs]


def _member(sorted_keys: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``q`` are in ``sorted_keys``, and where."""
    import numpy as np
    pos = np.searchsorted(sorted_keys, q)
    pos[pos >= len(sorted_keys)] = 0
    return (sorted_keys[pos] == q) if len(sorted_keys) else np.zeros(len(q), bool), pos


def _merge(a: Run, b: Run) -> Run:
    """Merge two sorted runs with disjoint keys by inserting b into a: no
    sort and no index array as large as both runs."""
    import numpy as np
    pos = np.searchsorted(a[0], b[0])
    return np.insert(a[0], pos, b[0]), np.insert(a[1], pos, b[1])


class Index:
    """Exact (64-bit) and near (32-bit sketch) fingerprints with their first paragraphs."""

    def __init__(self, params: IndexParams | None = None, max_bytes: int | None = None) -> None:
        self.params = params or IndexParams()
        self.max_bytes = max_bytes
        self.exact = FingerprintTable(64)
        self.near = FingerprintTable(32)
        self.para_doc = array("I")
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
        self.para_doc.append(doc)
        self.para_line.append(line)
        self.para_facts.append(facts)
        return len(self.para_doc) - 1

    def where(self, pid: int) -> tuple[str, int]:
        return self.docs[self.para_doc[pid]], self.para_line[pid]

    def paragraphs(self) -> int:
        return len(self.para_doc)

    # -- memory -------------------------------------------------------------
    def nbytes(self) -> int:
        docs = sum(len(d) + 60 for d in self.docs)
        return self.exact.nbytes() + self.near.nbytes() + 12 * len(self.para_doc) + docs

    def spill(self) -> None:
        """Between chunks: compact recent entries and enforce the budget."""
        self.exact.spill()
        self.near.spill()
        while self.max_bytes is not None and self.nbytes() > self.max_bytes and self.sample_shift < 24:
            self.exact.spill(force=True)
            self.near.spill(force=True)
            if self.nbytes() <= self.max_bytes:
                break
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
            for _, pids in table.runs:
                used[pids] = True
        if used.all():
            return
        new_id = (np.cumsum(used, dtype=np.uint64) - 1).astype(np.uint32)
        for table in (self.exact, self.near):
            table.runs = [(k, new_id[p]) for k, p in table.runs]
        pd = np.frombuffer(self.para_doc.tobytes(), np.uint32)[used]
        pl = np.frombuffer(self.para_line.tobytes(), np.uint32)[used]
        pf = np.frombuffer(self.para_facts.tobytes(), np.uint32)[used]
        self.para_doc, self.para_line = array("I", pd.tobytes()), array("I", pl.tobytes())
        self.para_facts = array("I", pf.tobytes())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a temporary file in the same folder, fsync, rename."""
        import numpy as np
        path = Path(path)
        self.compact()
        blobs: list[memoryview] = []
        runs: dict[str, list[int]] = {}
        for name, table in (("exact", self.exact), ("near", self.near)):
            runs[name] = [len(k) for k, _ in table.runs]
            for k, p in table.runs:
                blobs += [np.ascontiguousarray(k).data, np.ascontiguousarray(p).data]
        blobs += [memoryview(self.para_doc), memoryview(self.para_line), memoryview(self.para_facts),
                  memoryview("\n".join(self.docs).encode("utf-8", "surrogateescape"))]
        header = {
            "format": FORMAT, "version": VERSION, "params": self.params.to_json(),
            "sample_shift": self.sample_shift, "runs": runs,
            "paragraphs": len(self.para_doc), "docs": len(self.docs),
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
        built with ``params`` (None: take the file's own parameters)."""
        import numpy as np
        header, blobs = read_index_file(path)
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
        pos = 0
        for name, table in (("exact", idx.exact), ("near", idx.near)):
            for _ in header["runs"][name]:
                table.runs.append((np.frombuffer(blobs[pos], table.dtype), np.frombuffer(blobs[pos + 1], np.uint32)))
                pos += 2
        idx.para_doc.frombytes(blobs[pos])
        idx.para_line.frombytes(blobs[pos + 1])
        idx.para_facts.frombytes(blobs[pos + 2])
        if not len(idx.para_doc) == len(idx.para_line) == len(idx.para_facts) == header["paragraphs"]:
            raise IndexError_(f"{path}: paragraph tables of unequal length: the index file is corrupt")
        text = bytes(blobs[pos + 3]).decode("utf-8", "surrogateescape")
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
            od = np.frombuffer(other.para_doc.tobytes(), np.uint32)
            self.para_doc.frombytes(doc_map[od].tobytes())
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


def read_index_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[memoryview]]:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise IndexError_(f"{path}: cannot read index: {e}") from e
    if not data.startswith(MAGIC):
        raise IndexError_(f"{path}: not a corpus-cleaner index file")
    n = int.from_bytes(data[len(MAGIC):len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    try:
        header = json.loads(data[start:start + n])
    except ValueError as e:
        raise IndexError_(f"{path}: corrupt index header") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        got = header.get("version") if isinstance(header, dict) else None
        raise IndexError_(f"{path}: index format version {got} is not {FORMAT} v{VERSION}")
    view = memoryview(data)
    blobs, pos = [], start + n
    for size in header["sizes"]:
        blobs.append(view[pos:pos + size])
        pos += size
    if pos != len(data) or _checksum(blobs) != header.get("checksum"):
        raise IndexError_(f"{path}: checksum mismatch: the index file is corrupt or truncated")
    return header, blobs


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
