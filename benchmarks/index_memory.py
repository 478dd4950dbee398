"""Memory of the duplicate index: bytes per indexed paragraph, exact and near.

    python benchmarks/index_memory.py                 # 1M paragraphs through the real add path
    python benchmarks/index_memory.py --paragraphs 10000000

Each paragraph is added the way the matcher adds a kept paragraph: one row in
the paragraph table, one 64-bit exact fingerprint and (with near matching)
``sketch_k`` 32-bit sketch fingerprints, with the recent dicts spilled into
sorted numpy runs every chunk. Fingerprints are random (xxh3 of a counter),
as real hashes are. All paragraphs belong to one document unless
``--per-doc N`` gives N paragraphs per document (each document name costs
about 100 bytes more in Python objects). Prints the index's own estimate, the
process's peak RSS (building and saving) and the size of the saved file.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xxhash

from cleaner.index import Index


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(n: int, near: bool, k: int = 8, chunk: int = 2000, per_doc: int = 0) -> tuple[Index, float]:
    idx = Index()
    doc = idx.doc_id("doc")
    h = xxhash.xxh3_64_intdigest
    exact_add, near_add = idx.exact.add, idx.near.add
    t = time.perf_counter()
    for p in range(n):
        if per_doc and p % per_doc == 0:
            doc = idx.doc_id(f"doc-{p // per_doc}")
        pid = idx.add_paragraph(doc, p)
        exact_add(h(p.to_bytes(8, "little")), pid)
        if near:
            base = h(p.to_bytes(8, "little") + b"n")
            for j in range(k):
                near_add((base * (j + 1) * 0x9E3779B1) & 0xFFFFFFFF, pid)
        if p % chunk == chunk - 1:
            idx.spill()
    idx.spill()
    return idx, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paragraphs", type=int, default=1_000_000)
    ap.add_argument("--no-near", action="store_true", help="exact fingerprints only")
    ap.add_argument("--per-doc", type=int, default=0, help="paragraphs per document (default: all in one)")
    args = ap.parse_args()
    base = rss_mb()
    idx, secs = build(args.paragraphs, near=not args.no_near, per_doc=args.per_doc)
    info = idx.info()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.idx"
        idx.save(path)
        size = os.path.getsize(path)
    peak = rss_mb()
    n = args.paragraphs
    print(f"paragraphs: {n:,}  near matching: {not args.no_near}  build: {secs:.1f} s")
    print(f"index estimate: {info['memory_bytes'] / 1e6:.1f} MB = {info['memory_bytes'] / n:.1f} bytes per paragraph")
    print(f"peak RSS: {peak:.0f} MiB = {peak * 2**20 / 1e6:.0f} MB (before building: {base:.0f} MiB; "
          f"growth {(peak - base) * 1024 * 1024 / n:.1f} bytes per paragraph, including merge buffers)")
    print(f"saved file: {size / 1e6:.1f} MB = {size / n:.1f} bytes per paragraph")
    print(f"extrapolated to 10M paragraphs: {(peak - base) * 10_000_000 / n / 1024:.2f} GB peak")


if __name__ == "__main__":
    main()
