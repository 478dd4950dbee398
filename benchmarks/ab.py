"""Two checkouts of cleaner timed against each other: which is faster, by how much.

    python benchmarks/ab.py ../other-checkout                      # this one (B) against it (A), --dedup stream, 20 MB
    python benchmarks/ab.py A B --clean-args "--dedup off" --mb 120 --pairs 12
    python benchmarks/ab.py . .                                    # a checkout against itself: the noise floor

Each pair runs ``clean`` from A and from B back to back on throughput.py's
stream (the order alternating from pair to pair), each run pinned to one CPU,
and reads the child's CPU time (user + system). On a shared host the runs
drift by tens of percent within minutes, while two runs back to back drift
little: read the median of the pairs' ratios, with its quartiles, rather than
the ratio of the two bests.

Both trees are byte-compiled first. Where PYTHONDONTWRITEBYTECODE is set (as
on our machines), a tree without up-to-date ``.pyc`` files compiles its
sources again on every run: about 0.1 s, 4-5% of a 20 MB run, which an A/B
of two trees would read as the code's. (Session 21 measured exactly that:
two trees with the same machine code, 4% apart.)

A change that can be switched at run time is better measured within one
tree (an environment variable read by the code under test): then even the
files and their place in memory are the same for both sides.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import throughput as tp  # noqa: E402  (a sibling script: its stream, pinning and runs)


def run_checkout(tree: Path, clean_args: Sequence[str], prefix: Sequence[str], stream: Path, out: Path) -> float:
    """CPU seconds of ``clean`` from ``tree`` on ``stream`` (its own package first on the path)."""
    argv = [*prefix, sys.executable, "-m", "cleaner", *clean_args]
    _, cpu, _, _ = tp.run_once(argv, stream, out, env={"PYTHONPATH": str(tree)}, cwd=tree)
    return cpu


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """The lower quartile, the median and the upper quartile."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def compare(a: Path, b: Path, clean_args: Sequence[str], stream: Path, pairs: int,
            prefix: Sequence[str]) -> tuple[list[float], list[float]]:
    """CPU seconds of A's and B's runs, pair by pair (A first in even pairs).
    The outputs of the first pair must be the same bytes."""
    tp.OUT_DIR.mkdir(parents=True, exist_ok=True)
    sides = ((a, tp.OUT_DIR / "ab-a.out"), (b, tp.OUT_DIR / "ab-b.out"))
    times: tuple[list[float], list[float]] = ([], [])
    for n in range(pairs):
        for side in ((0, 1) if n % 2 == 0 else (1, 0)):
            tree, out = sides[side]
            times[side].append(run_checkout(tree, clean_args, prefix, stream, out))
        if n == 0 and sides[0][1].read_bytes() != sides[1][1].read_bytes():
            raise SystemExit("A and B give different outputs: not the same cleaning, so not an A/B")
    return times


def report(a_cpu: Sequence[float], b_cpu: Sequence[float]) -> list[str]:
    ratios = [y / x - 1 for x, y in zip(a_cpu, b_cpu, strict=True)]
    q1, q2, q3 = quartiles(ratios)
    return [
        f"A: best {min(a_cpu):.3f} s, median {statistics.median(a_cpu):.3f} s CPU",
        f"B: best {min(b_cpu):.3f} s, median {statistics.median(b_cpu):.3f} s CPU",
        f"B against A, pair by pair: median {q2:+.1%} (quartiles {q1:+.1%} to {q3:+.1%}, "
        f"{len(ratios)} pairs); best against best {min(b_cpu) / min(a_cpu) - 1:+.1%}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", type=Path, help="checkout A (the reference)")
    p.add_argument("b", type=Path, nargs="?", default=tp.ROOT, help="checkout B (default: this one)")
    p.add_argument("--clean-args", default="--dedup stream", help="options of clean (default: --dedup stream)")
    p.add_argument("--mb", type=int, default=20, help="stream size in MB (default 20)")
    p.add_argument("--seed", type=int, default=tp.DEFAULT_SEED)
    p.add_argument("--pairs", type=int, default=20, help="A/B pairs (default 20)")
    p.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed)")
    args = p.parse_args(argv)
    a, b = args.a.resolve(), args.b.resolve()
    for tree in (a, b):
        if not (tree / "cleaner" / "__init__.py").is_file():
            p.error(f"{tree}: not a checkout of cleaner (no cleaner/__init__.py)")
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    stream, stats = tp.prepared_stream(args.mb, args.seed)
    print(stats.describe())
    prefix, pin_note = tp.pin_prefix(args.cpu)
    clean_args = shlex.split(args.clean_args)
    for tree in {a, b}:
        tp.byte_compile(tree)
        run_checkout(tree, clean_args, prefix, Path(os.devnull), Path(os.devnull))  # warm-up: caches filled
    print(f"A: {a}\nB: {b}\nclean {' '.join(clean_args)}; {args.pairs} pairs, {pin_note}")
    a_cpu, b_cpu = compare(a, b, clean_args, stream, args.pairs, prefix)
    print("\n".join(report(a_cpu, b_cpu)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
