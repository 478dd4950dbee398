"""The reference set: what `clean` writes for throughput.py's streams at many
option sets, as SHA-256 sums, against the sums saved in ``refset.sums``.

    python benchmarks/refset.py            # check: every output as saved (about 30 s on two CPUs)
    python benchmarks/refset.py --save     # after a change meant to alter outputs: save the new sums

A speed change must leave every output byte-identical: run this before and
after it. Each case's standard output, its standard error when it carries
``--stats`` or an index's info, and its ``--explain`` file are summed. A
change that alters outputs on purpose saves the new sums in the same commit
and says why (the diff of ``refset.sums`` shows which cases moved).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import throughput as tp  # noqa: E402  (a sibling script: its streams)

SUMS = HERE / "refset.sums"
# (name, options); each runs on the 6 MB and the 20 MB stream. "{tmp}" is a
# scratch folder of the run (explain files, an index)
OPTION_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default", ()),
    ("off", ("--dedup", "off")),
    ("stream", ("--dedup", "stream")),
    ("stream-nonear", ("--dedup", "stream", "--no-near")),
    ("stream-t07", ("--dedup", "stream", "--near-threshold", "0.7")),
    ("stream-t03", ("--dedup", "stream", "--near-threshold", "0.3")),
    ("doc-near", ("--dedup", "doc", "--near")),
    ("block", ("--unit", "block", "--dedup", "stream")),
    ("noclass", ("--dedup", "stream", "--no-classifier")),
    ("minw3", ("--dedup", "stream", "--dedup-min-words", "3")),
    ("budget", ("--dedup", "stream", "--max-index-mb", "1", "--stats")),
    ("rb3", ("--dedup", "stream", "--repeated-boilerplate", "3")),
    ("explain", ("--dedup", "stream", "--explain", "{tmp}/explain.jsonl", "--stats")),
    ("j2", ("-j", "2")),
)
STREAMS_MB = (6, 20)


def run_case(stream: Path, options: Sequence[str]) -> dict[str, str]:
    """SHA-256 of what one run writes: out, err (with --stats), explain."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "cleaner", *(o.replace("{tmp}", tmp) for o in options)]
        with stream.open("rb") as fin:
            done = subprocess.run(argv, stdin=fin, capture_output=True, cwd=tp.ROOT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
        got = {"out": hashlib.sha256(done.stdout).hexdigest()}
        if "--stats" in options:
            got["err"] = hashlib.sha256(done.stderr).hexdigest()
        explain = Path(tmp) / "explain.jsonl"
        if explain.exists():
            got["explain"] = hashlib.sha256(explain.read_bytes()).hexdigest()
        return got


def run_index_cases(stream6: Path, stream20: Path) -> dict[str, str]:
    """An index saved from the 6 MB stream, its info, the same stream again
    against it, and the 20 MB stream checked read-only against it."""
    got: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        idx = str(Path(tmp) / "idx.bin")
        for name, stream, options in (("6mb.index-save", stream6, ("--index", idx)),
                                      ("6mb.index-again", stream6, ("--index", idx)),
                                      ("20mb.index-ro", stream20, ("--index", idx, "--index-readonly"))):
            got.update({f"{name}.{k}": v for k, v in run_case(stream, options).items()})
            if name == "6mb.index-save":
                info = subprocess.run([sys.executable, "-m", "cleaner", "index", "info", idx],
                                      capture_output=True, cwd=tp.ROOT, check=True)
                got["6mb.index-info.out"] = hashlib.sha256(info.stdout).hexdigest()
    return got


def collect(streams: dict[int, Path], option_sets: Sequence[tuple[str, tuple[str, ...]]] = OPTION_SETS,
            with_index: bool = True, jobs: int = 2) -> dict[str, str]:
    """Every case's sums, by "<mb>mb.<name>.<what>"."""
    cases = [(f"{mb}mb.{name}", path, options) for mb, path in streams.items() for name, options in option_sets]
    got: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for (name, _, _), sums in zip(cases, pool.map(lambda c: run_case(c[1], c[2]), cases), strict=True):
            got.update({f"{name}.{k}": v for k, v in sums.items()})
    if with_index:
        got.update(run_index_cases(streams[min(streams)], streams[max(streams)]))
    return got


def read_sums(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            out[name] = digest
    return out


def write_sums(path: Path, sums: dict[str, str]) -> None:
    lines = ["# benchmarks/refset.py --save: SHA-256 of clean's outputs on throughput.py's streams"]
    lines += [f"{sums[name]}  {name}" for name in sorted(sums)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def differences(saved: dict[str, str], got: dict[str, str]) -> list[str]:
    """One line per case that moved, appeared or went."""
    out = []
    for name in sorted(set(saved) | set(got)):
        if name not in got:
            out.append(f"missing now: {name}")
        elif name not in saved:
            out.append(f"not saved: {name}")
        elif saved[name] != got[name]:
            out.append(f"differs: {name}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--save", action="store_true", help="save the sums instead of checking them")
    p.add_argument("--sums", type=Path, default=SUMS, help="the sums file (default: benchmarks/refset.sums)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once (default: the CPUs)")
    args = p.parse_args(argv)
    streams = {mb: tp.prepared_stream(mb)[0] for mb in STREAMS_MB}
    got = collect(streams, jobs=max(1, args.jobs))
    if args.save:
        write_sums(args.sums, got)
        print(f"saved {len(got)} sums to {args.sums}")
        return 0
    diff = differences(read_sums(args.sums), got)
    print("\n".join(diff) if diff else f"all {len(got)} outputs as saved")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
