"""Instructions executed by ``clean --dedup off`` and ``clean --dedup stream``
on the throughput stream, counted with valgrind's callgrind.

    python benchmarks/instructions.py            # the 120 MB stream: about 10 minutes
    python benchmarks/instructions.py --mb 20    # a 20 MB stream: about 2 minutes

The time target of ``--dedup stream`` (at most 40% over the rules alone) is
measured by ``throughput.py``. On a shared machine its times move by tens of
percent from run to run; an instruction count does not. Read this count as a
lower bound on the time ratio: cache misses make the stream run's
instructions a little slower than the rules' on average. Both runs use the
stream of ``throughput.py`` (same generator, same cache in
``benchmarks/_data/``) and run in parallel, one per CPU. valgrind must be
installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODES = ("off", "stream")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def collected(stderr: str) -> int:
    """The instruction count in callgrind's report (its "Collected" line)."""
    m = _COLLECTED.search(stderr)
    if m is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{stderr[-2000:]}")
    return int(m.group(1))


def count(modes: Sequence[str], stream: Path) -> dict[str, int]:
    """Run ``clean --dedup MODE < stream`` under callgrind for each mode, in parallel."""
    procs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/{mode}.out",
                   sys.executable, "-m", "cleaner", "--dedup", mode]
            with stream.open("rb") as src:
                procs[mode] = subprocess.Popen(cmd, stdin=src, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                               text=True, cwd=ROOT)
        out = {}
        for mode, proc in procs.items():
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"clean --dedup {mode} under valgrind failed ({proc.returncode}):\n{err[-2000:]}")
            out[mode] = collected(err)
    return out


def stream_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options of a script that runs both modes on throughput.py's stream (``--mb``, ``--seed``)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=120, help="stream size in MB (10^6 bytes); default %(default)s")
    ap.add_argument("--seed", type=int, default=None, help="generator seed (default: throughput.py's)")
    return ap


def ready_stream(mb: int, seed: int | None) -> Path:
    """throughput.py's stream of ``mb`` MB (built unless cached), described,
    and the package byte-compiled as pip install leaves it (else each run
    compiles it)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import throughput as tp  # a sibling script (its stream generator and cache), as time_profile imports this one

    seed = tp.DEFAULT_SEED if seed is None else seed
    stream, stats = tp.prepared_stream(mb, seed)
    print(stats.describe())
    print(tp.source_info())
    tp.byte_compile()
    return stream


def main(argv: Sequence[str] | None = None) -> int:
    args = stream_parser(__doc__).parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    stream = ready_stream(args.mb, args.seed)
    print(f"\ncounting with callgrind, {len(MODES)} runs in parallel ({os.cpu_count()} CPUs)...", flush=True)
    got = count(MODES, stream)
    print("\n| clean | instructions | over --dedup off |")
    print("|---|---:|---:|")
    for mode in MODES:
        print(f"| --dedup {mode} | {got[mode] / 1e9:.3f} G | {100 * (got[mode] / got['off'] - 1):+.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
