"""Clean JSON Lines shards with a multiprocessing pool (one shard per task).

    python docs/examples/pool_jsonl_shards.py WORKDIR

Makes a few small shards in WORKDIR/shards, then:

1. cleans each shard in a worker process into WORKDIR/clean. One Cleaner is
   built in the parent and copied into each worker (the ``spawn`` start
   method pickles it, as on macOS and Windows). Duplicates are looked for
   within each record (``dedup="doc"``): the result does not depend on which
   worker got which shard.
2. removes paragraphs repeated across records and shards, still in
   parallel: each worker builds its own Cleaner with its own index file
   (one that saves an index cannot be copied), the indexes are merged in
   shard order, and a read-only pass against the merged index keeps each
   paragraph only in the first record that has it. Records are named by
   their "id" field in both passes, so a record is never a duplicate of
   itself.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from multiprocessing import get_context
from pathlib import Path

from cleaner import Cleaner, Config

WIRE = "The central bank left its main interest rate unchanged on Thursday, citing slowing inflation.\n"
_cleaner: Cleaner | None = None


def init(cleaner: Cleaner) -> None:
    global _cleaner
    _cleaner = cleaner


def clean_file(cleaner: Cleaner, src: Path, dst: Path) -> int:
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as out:
        records = (json.loads(line) for line in f if line.strip())
        n = 0
        for rec in cleaner.clean_records(records, field="text", id_field="id"):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def clean_shard(paths: tuple[Path, Path]) -> tuple[str, int]:
    """Step 1: the Cleaner copied in by ``init``."""
    assert _cleaner is not None
    return paths[0].name, clean_file(_cleaner, *paths)


def index_shard(paths: tuple[Path, Path, Path]) -> str:
    """Step 2a: this worker's own Cleaner and index file."""
    src, dst, index = paths
    with Cleaner(Config(dedup="stream", index_path=str(index))) as cleaner:
        clean_file(cleaner, src, dst)
    return index.name


def check_shard(paths: tuple[Path, Path]) -> tuple[str, int]:
    """Step 2b: against the merged index, read-only (copies share it)."""
    assert _cleaner is not None
    return paths[0].name, clean_file(_cleaner, *paths)


def make_shards(shards: Path) -> None:
    shards.mkdir(parents=True, exist_ok=True)
    words = ["harbour", "council", "budget", "river", "storm", "school", "minister", "market", "festival",
             "railway", "museum", "farmers", "election", "bridge", "hospital", "league", "drought", "orchestra",
             "factory", "airport"]
    rnd = random.Random(7)
    boiler = "Leave a Reply\nYour email address will not be published.\n"
    for s in range(4):
        with (shards / f"shard{s}.jsonl").open("w", encoding="utf-8") as f:
            for r in range(25):
                text = "The " + " ".join(rnd.choices(words, k=12)) + " story opens this record.\n"
                if (s, r) in ((0, 3), (2, 7)):  # one wire paragraph, syndicated into two shards
                    text += "\n" + WIRE
                f.write(json.dumps({"id": f"{s}-{r}", "text": text + boiler, "source": "example"}) + "\n")


def main(workdir: Path) -> None:
    shards, clean, deduped, indexes = (workdir / d for d in ("shards", "clean", "dedup", "indexes"))
    make_shards(shards)
    for d in (clean, deduped, indexes):
        d.mkdir(exist_ok=True)
    names = sorted(p.name for p in shards.glob("*.jsonl"))
    pool_of = get_context("spawn").Pool

    # 1. one Cleaner, copied into the workers
    with pool_of(2, initializer=init, initargs=(Cleaner(Config()),)) as pool:
        for name, n in pool.imap(clean_shard, [(shards / x, clean / x) for x in names]):
            print(f"{name}: {n} records cleaned")

    # 2. repeats across shards: an index per worker, merged in shard order, then checked read-only
    steps = [(clean / x, deduped / x, indexes / (x + ".idx")) for x in names]
    with pool_of(2) as pool:
        built = pool.map(index_shard, steps)
    merged = workdir / "all.idx"
    subprocess.run([sys.executable, "-m", "cleaner", "index", "merge", *(str(indexes / b) for b in built),
                    "-o", str(merged)], check=True, capture_output=True)
    reader = Cleaner(Config(dedup="stream", index_path=str(merged), index_readonly=True))
    with pool_of(2, initializer=init, initargs=(reader,)) as pool:
        for name, n in pool.imap(check_shard, [(deduped / x, deduped / (x + ".tmp")) for x in names]):
            (deduped / (name + ".tmp")).replace(deduped / name)
            print(f"{name}: {n} records checked against the merged index")
    reader.close()
    kept = [json.loads(line)["id"] for x in names for line in (deduped / x).open(encoding="utf-8")
            if WIRE in json.loads(line)["text"]]
    print(f"the wire paragraph is kept in record(s) {', '.join(kept)} only")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
