"""Where the time of ``clean --dedup stream`` goes beyond ``--dedup off``: a
sampling profile of both runs on the throughput stream, Python and C frames
alike (``py-spy record --native``), and the functions whose inclusive time
grew the most, with their share of the extra time.

    python benchmarks/time_profile.py            # the 120 MB stream: about a minute
    python benchmarks/time_profile.py --mb 20

Instruction counts (``instructions.py``) weigh every instruction alike; this
weighs them by the time they took, cache misses included: a lookup that
misses the caches shows here, not there. The samples are wall-clock time on
this machine, so a busy host moves them; read shares, not seconds. py-spy
must be installed (``pip install py-spy``; not a dependency of the package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from instructions import MODES, ROOT, ready_stream, stream_parser  # noqa: E402  (a sibling script, not a package)


def frame_name(frame: str) -> str:
    """A py-spy frame without its place: ``check_lines (cleaner/_speedups.c:4050)`` -> ``check_lines``."""
    return frame.split(" (", 1)[0]


def inclusive(lines: Iterable[str]) -> tuple[int, Counter[str]]:
    """From py-spy's raw output (a stack of ``;``-joined frames and a sample
    count per line): the samples in all, and per function the samples with
    it on the stack (counted once per stack, however deep it recurses)."""
    total, per = 0, Counter[str]()
    for line in lines:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        for name in {frame_name(f) for f in stack.split(";")}:
            per[name] += int(n)
    return total, per


def record(mode: str, stream: Path, out: Path, rate: int) -> None:
    """``clean --dedup MODE < stream`` under py-spy, pinned to one CPU where taskset is found."""
    pin = ["taskset", "-c", str(max(os.sched_getaffinity(0)))] if shutil.which("taskset") else []
    cmd = [*pin, "py-spy", "record", "--native", "--rate", str(rate), "--format", "raw", "-o", str(out),
           "--", sys.executable, "-m", "cleaner", "--dedup", mode]
    with stream.open("rb") as src:
        r = subprocess.run(cmd, stdin=src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    if r.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy on clean --dedup {mode} failed ({r.returncode}):\n{r.stderr[-2000:]}")


def report(off: tuple[int, Counter[str]], stream: tuple[int, Counter[str]], top: int) -> list[str]:
    """The table: functions by the samples they gained, with their share of the stream run's extra samples."""
    extra = stream[0] - off[0]
    rows = [f"samples: --dedup off {off[0]}, --dedup stream {stream[0]} ({100 * extra / max(off[0], 1):+.0f}%)",
            "", "| function (inclusive) | off | stream | gained | share of the extra |", "|---|---:|---:|---:|---:|"]
    gained = sorted(stream[1], key=lambda k: (-(stream[1][k] - off[1][k]), k))
    # left out: the trunk, frames in most samples of the rules alone (the
    # entry, main, the read loop: they hold all of the extra), and native
    # frames py-spy could not name (an address)
    for name in [k for k in gained if 2 * off[1][k] <= off[0] and not k.startswith("0x")][:top]:
        g = stream[1][name] - off[1][name]
        rows.append(f"| {name} | {off[1][name]} | {stream[1][name]} | {g:+d} | {100 * g / max(extra, 1):.0f}% |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = stream_parser(__doc__)
    ap.add_argument("--rate", type=int, default=500, help="samples per second; default %(default)s")
    ap.add_argument("--top", type=int, default=30, help="functions listed; default %(default)s")
    args = ap.parse_args(argv)
    if shutil.which("py-spy") is None:
        print("py-spy is not installed (pip install py-spy)", file=sys.stderr)
        return 2
    stream = ready_stream(args.mb, args.seed)
    got = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:  # one after the other: a run beside it would share the caches
            print(f"profiling clean --dedup {mode} ...", flush=True)
            out = Path(tmp) / f"{mode}.txt"
            record(mode, stream, out, args.rate)
            with out.open(encoding="utf-8", errors="replace") as f:
                got[mode] = inclusive(f)
    print("\n".join(["", *report(got["off"], got["stream"], args.top)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
