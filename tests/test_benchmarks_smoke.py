"""The benchmarks' generators: the throughput stream is deterministic and dirty;
the dedup-quality template pairs replace what is a fact.

No timing is asserted here: benchmarks print numbers, tests never check them.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


@pytest.fixture(scope="module")
def throughput() -> ModuleType:
    return load_benchmark("throughput")


def test_stream_is_deterministic(throughput: ModuleType) -> None:
    a, stats_a = throughput.build_stream(200_000, seed=7)
    b, stats_b = throughput.build_stream(200_000, seed=7)
    assert a == b
    assert stats_a == stats_b
    assert len(a) >= 200_000
    c, _ = throughput.build_stream(200_000, seed=8)
    assert c != a


def test_stream_has_documents_and_junk(throughput: ModuleType) -> None:
    data, stats = throughput.build_stream(300_000, seed=1)
    lines = data.split(b"\n")
    assert lines.count(b"\f") == stats.documents - 1 >= 10
    text = data.decode("utf-8")
    for junk in ("alt=", "More in ", "min read", "By ", "Copyright ©"):
        assert junk in text, junk
    assert stats.junk_lines > 0 and stats.repeated_lines > 0
    assert 0 < stats.non_ascii_lines < stats.lines
    assert stats.bytes == len(data)


@pytest.fixture(scope="module")
def dedup_quality() -> ModuleType:
    return load_benchmark("dedup_quality")


def test_template_pairs_replace_names_not_pronouns_or_sentence_starts(dedup_quality: ModuleType) -> None:
    """The "same template, other facts" generator replaces every number and
    name, and nothing that only looks like a name: ``I’m`` (the pronoun) and a
    capitalised word after a colon stay; a name after a quote closed by a comma
    is replaced."""
    lex = dedup_quality.Lexicon(vocab=["zzz"], content=["zzzcontent"], entities=["Zed"])
    a = ('"We are here," Sasse told reporters on Monday. I’m glad: Neither side won, '
         'and the 2019 vote stands with the budget intact.')
    b, _ = dedup_quality.template(random.Random(1), a, lex)
    pairs = list(zip(a.split(), b.split(), strict=True))
    as_name = {x for x, y in pairs if "Zed" in y}  # other words get "zzzcontent"
    assert as_name == {"Sasse", "Monday."}
    assert ("2019", "2019") not in pairs
    assert dedup_quality.may_start_sentence('work."') and dedup_quality.may_start_sentence("it:")
    assert not dedup_quality.may_start_sentence('crisis,"') and not dedup_quality.may_start_sentence("word")


def test_host_noise_tells_a_busy_host_from_a_quiet_one(throughput: ModuleType) -> None:
    """The spread of the rules alone over the rounds says whether the ratio
    of the stream run to them can be read as the cleaner's."""
    quiet = throughput.host_noise([4.10, 4.31, 4.18])
    assert quiet.startswith("the rules alone took 4.10 to 4.31 s CPU over the rounds (spread 5%)")
    assert quiet.endswith("a quiet host")
    busy = throughput.host_noise([5.31, 8.06, 6.20])
    assert "(spread 52%)" in busy and "a busy host" in busy


def test_instruction_counts_read_from_callgrind_and_counted_on_a_real_run() -> None:
    """instructions.py reads callgrind's count; where valgrind is installed, a
    real (tiny) run of both modes gives counts, stream above off."""
    bench = load_benchmark("instructions")
    assert bench.collected("==7== Events    : Ir\n==7== Collected : 4730569556\n==7==\n") == 4730569556
    with pytest.raises(RuntimeError):
        bench.collected("==7== no count here\n")
    if shutil.which("valgrind") is None:
        pytest.skip("valgrind not installed")
    tiny = Path(__file__).resolve().parent.parent / "corpus_samples"
    sample = sorted(p for p in tiny.glob("*.txt") if not p.name.endswith(".expected.txt"))[0]
    got = bench.count(("off", "stream"), sample)
    assert set(got) == {"off", "stream"} and 0 < got["off"] < got["stream"]


def test_time_profile_counts_inclusive_samples_and_profiles_a_real_run(tmp_path: Path) -> None:
    """time_profile.py counts each function once per sampled stack, places
    stripped, and lists what the stream run gained, without the trunk (frames
    in most of the rules' samples) and unnamed native frames; where py-spy is
    installed, a real (tiny) run is profiled."""
    bench = load_benchmark("time_profile")
    raw = ["main (cleaner/cli.py:498);feed (cleaner/stream.py:89);check_lines (cleaner/_speedups.c:4050) 7\n",
           "main (cleaner/cli.py:498);f (a.py:1);f (a.py:2);0x7f5d3cacafb0 (x.so) 3\n", "garbage\n", "\n"]
    total, per = bench.inclusive(raw)
    assert total == 10 and per == {"main": 10, "feed": 7, "check_lines": 7, "f": 3, "0x7f5d3cacafb0": 3}
    rows = bench.report((8, Counter({"main": 8, "feed": 3, "f": 4})), (10, per), 5)
    assert rows[0] == "samples: --dedup off 8, --dedup stream 10 (+25%)"
    assert rows[4:] == ["| check_lines | 0 | 7 | +7 | 350% |", "| feed | 3 | 7 | +4 | 200% |",
                        "| f | 4 | 3 | -1 | -50% |"]
    if shutil.which("py-spy") is None:
        pytest.skip("py-spy not installed")
    tiny = Path(__file__).resolve().parent.parent / "corpus_samples"
    sample = sorted(p for p in tiny.glob("*.txt") if not p.name.endswith(".expected.txt"))[0]
    out = tmp_path / "p.txt"
    bench.record("stream", sample, out, 1000)
    total, per = bench.inclusive(out.read_text(encoding="utf-8", errors="replace").splitlines())
    assert total > 0 and any(name.startswith("StreamCleaner") or name == "main" for name in per)


def test_ab_compares_two_checkouts_pair_by_pair_and_refuses_different_cleaning(tmp_path: Path) -> None:
    """ab.py reads B against A pair by pair (median and quartiles of the
    ratios); it times real runs of two checkouts, and stops when their
    outputs differ (a checkout whose rule pack lacks the caption rules)."""
    bench = load_benchmark("ab")
    rows = bench.report([2.0, 4.0, 3.0], [2.2, 4.0, 2.7])
    assert rows[0] == "A: best 2.000 s, median 3.000 s CPU"
    assert rows[2] == ("B against A, pair by pair: median +0.0% (quartiles -5.0% to +5.0%, 3 pairs); "
                       "best against best +10.0%")
    root = Path(__file__).resolve().parent.parent
    sample = root / "corpus_samples" / "yahoo-scmp-reuters-doubled.txt"
    a_cpu, b_cpu = bench.compare(root, root, ["--dedup", "stream"], sample, 2, [])
    assert len(a_cpu) == len(b_cpu) == 2 and min(a_cpu) > 0 and min(b_cpu) > 0
    other = tmp_path / "other"
    shutil.copytree(root / "cleaner", other / "cleaner", ignore=shutil.ignore_patterns("__pycache__", "rules"))
    (other / "cleaner" / "rules").mkdir()
    for rule_file in (root / "rules").glob("*.toml"):
        if rule_file.name != "captions.toml":
            shutil.copy(rule_file, other / "cleaner" / "rules" / rule_file.name)
    with pytest.raises(SystemExit, match="different outputs"):
        bench.compare(root, other, ["--dedup", "stream"], sample, 1, [])


def test_refset_sums_real_runs_saves_them_and_names_the_cases_that_moved(tmp_path: Path) -> None:
    """refset.py sums what clean writes (out, the --stats err, the explain
    file) per case, saves and reads them back, and names each case that
    differs, appeared or went."""
    bench = load_benchmark("refset")
    sample = Path(__file__).resolve().parent.parent / "corpus_samples" / "yahoo-scmp-reuters-doubled.txt"
    sets = (("off", ("--dedup", "off")), ("explain", ("--dedup", "stream", "--explain", "{tmp}/explain.jsonl",
                                                     "--stats")))
    got = bench.collect({1: sample}, sets, with_index=False, jobs=1)
    assert set(got) == {"1mb.off.out", "1mb.explain.out", "1mb.explain.err", "1mb.explain.explain"}
    assert got["1mb.off.out"] != got["1mb.explain.out"]  # the stream run removes the doubled article
    sums = tmp_path / "s.sums"
    bench.write_sums(sums, got)
    assert bench.read_sums(sums) == got
    assert bench.collect({1: sample}, sets, with_index=False, jobs=2) == got  # deterministic, in parallel too
    moved = {**got, "1mb.off.out": "0" * 64, "1mb.new.out": "1" * 64}
    del moved["1mb.explain.err"]
    assert bench.differences(got, moved) == ["missing now: 1mb.explain.err", "not saved: 1mb.new.out",
                                             "differs: 1mb.off.out"]
