"""Does a rule prefilter ever miss a line a rule's regex matches?

    python benchmarks/prefilter_check.py            # Hyperscan: bench pages, samples, 10 MB stream
    python benchmarks/prefilter_check.py --mb 40    # more of the synthetic stream
    python benchmarks/prefilter_check.py --prefilter literal   # the required-literal prefilter
    python benchmarks/prefilter_check.py --file /tmp/s20.txt --max-mb 20   # and lines of a file

A prefilter that misses changes the output (a rule that should fire is never
tried), so this runs every rule's real regex on every line of real and
synthetic text and counts the (line, rule) pairs the regex matches (on a
line the rule's word limits allow) but the prefilter did not report. Lines are
scanned in batches of varied sizes, as the streaming reader does. Prints one
row per source; exit 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from cleaner import Cleaner, Config  # noqa: E402
from cleaner.classify import word_count  # noqa: E402
from cleaner.engine import Engine  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench" / "dirty"


def sources(mb: int, files: list[Path], max_mb: float) -> Iterator[tuple[str, list[str]]]:
    pages = sorted(BENCH.glob("*.txt")) if BENCH.is_dir() else []
    if pages:
        yield "bench", [ln for p in pages for ln in p.read_text("utf-8", "replace").split("\n")]
    samples = sorted(p for p in (ROOT / "corpus_samples").glob("*.txt") if not p.name.endswith(".expected.txt"))
    yield "samples", [ln for p in samples for ln in p.read_text("utf-8", "replace").split("\n")]
    sys.path.insert(0, str(HERE))
    import throughput  # the deterministic stream generator

    if mb > 0:
        path, _ = throughput.prepared_stream(mb)
        with open(path, encoding="utf-8", errors="replace") as f:
            yield f"stream {mb} MB", [ln.rstrip("\n").replace("\r", "") for ln in f]
    for extra in files:
        with open(extra, "rb") as fb:
            data = fb.read(int(max_mb * 1_000_000))
        text = data[:data.rfind(b"\n") + 1].decode("utf-8", "replace").replace("\r\n", "\n")
        yield extra.name[:16], text.split("\n")


def check(name: str, lines: list[str], engine: Engine, seed: int, kind: str) -> int:
    rules, pf = engine.rules, engine.prefilter
    rng = random.Random(seed)
    misses = pairs = 0
    examples: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    i = 0
    while i < len(lines):
        n = rng.choice((1, 2, 7, 50, 400, 3000))
        batch = lines[i:i + n]
        i += n
        hits = pf.scan("\n".join(batch).encode("utf-8", "replace"))
        for k, line in enumerate(batch):
            wc = word_count(line)
            for idx, rule in enumerate(rules):
                if rule.max_words is not None and wc > rule.max_words:
                    continue  # the engine never tries the rule on this line
                if any(p.search(line) for p in rule.compiled):
                    pairs += 1
                    if idx not in hits.get(k, ()) and idx not in pf.always:
                        misses += 1
                        if len(examples) < 5:
                            examples.append((rule.id, line))
    secs = time.perf_counter() - t0
    print(f"{name:<16} {kind:<12} lines {len(lines):>9,}  matched pairs {pairs:>8,}  misses {misses:>5}"
          f"  ({secs:.0f} s)")
    for rid, line in examples:
        print(f"    missed {rid}: {line[:100]!r}")
    return misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=10, help="MB of the synthetic stream to check (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefilter", choices=("hyperscan", "literal"), default="hyperscan",
                    help="which prefilter to check (default %(default)s)")
    ap.add_argument("--file", type=Path, action="append", default=[], help="also check the lines of this file")
    ap.add_argument("--max-mb", type=float, default=20, help="read at most this many MB of each --file")
    args = ap.parse_args()
    os.environ["CLEANER_PREFILTER"] = args.prefilter
    engine = Cleaner(Config(dedup="off")).engine
    if engine.prefilter.kind != args.prefilter:
        print(f"the {args.prefilter} prefilter is not available here ({engine.prefilter.kind}), nothing to check")
        return 0
    total = 0
    for name, lines in sources(args.mb, args.file, args.max_mb):
        total += check(name, lines, engine, args.seed, args.prefilter)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
