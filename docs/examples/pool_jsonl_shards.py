"""Clean JSON Lines shards with a multiprocessing pool (one shard per task).

    python docs/examples/pool_jsonl_shards.py WORKDIR

Makes a few small shards in WORKDIR/shards, cleans each in a worker process
into WORKDIR/clean, and prints a summary. A Cleaner is built once in the
parent and copied into each worker (it pickles as its options and rules).
Duplicate state is per worker: within each record it is always right; for
repeats across records and shards, give each shard its own index
(``Config(dedup="stream", index_path=...)``) and combine them afterwards with
``clean index merge``, or run ``clean -j N --dedup stream`` on files.
"""

from __future__ import annotations

import json
import sys
from multiprocessing import Pool
from pathlib import Path

from cleaner import Cleaner, Config

_cleaner: Cleaner | None = None


def init(cleaner: Cleaner) -> None:
    global _cleaner
    _cleaner = cleaner


def clean_shard(paths: tuple[Path, Path]) -> tuple[str, int]:
    src, dst = paths
    assert _cleaner is not None
    with src.open(encoding="utf-8") as f, dst.open("w", encoding="utf-8") as out:
        records = (json.loads(line) for line in f if line.strip())
        n = 0
        for rec in _cleaner.clean_records(records, field="text", id_field="id"):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return src.name, n


def main(workdir: Path) -> None:
    shards, clean = workdir / "shards", workdir / "clean"
    shards.mkdir(parents=True, exist_ok=True)
    clean.mkdir(exist_ok=True)
    page = ("Article sentence with enough words to be kept as text.\n"
            "Leave a Reply\nYour email address will not be published.\n")
    for s in range(4):
        with (shards / f"shard{s}.jsonl").open("w", encoding="utf-8") as f:
            for r in range(25):
                f.write(json.dumps({"id": f"{s}-{r}", "text": page, "source": "example"}) + "\n")
    cleaner = Cleaner(Config())
    jobs = [(p, clean / p.name) for p in sorted(shards.glob("*.jsonl"))]
    with Pool(2, initializer=init, initargs=(cleaner,)) as pool:
        for name, n in pool.imap(clean_shard, jobs):
            print(f"{name}: {n} records cleaned")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
