"""Output follows input: a slow producer piped into the real ``clean`` process."""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import ARTICLE, CLEAN, clean_env, producer_into_clean

from cleaner import Cleaner, Config
from cleaner.context import WINDOW_CHUNK_DIVISOR, WINDOW_DEFAULT

# With default options the classifier decides a line once it has seen its
# look-ahead: verdicts come in chunks of CHUNK lines, the first when BOUND
# lines are in, the next each CHUNK lines later. So the producer writes HEAD
# lines at once (one short of the second chunk), waits for "go" on stdin (so
# that clean's start-up time, which includes building the prefilter, cannot
# eat the producer's time), then writes the other lines one every DELAY
# seconds, flushing each: the first line must come out while the producer
# waits, and the second chunk (from line CHUNK on) as soon as the next line
# is in, while the producer still has lines to write.
CHUNK = WINDOW_DEFAULT // WINDOW_CHUNK_DIVISOR
BOUND = WINDOW_DEFAULT + CHUNK
HEAD = BOUND + CHUNK - 1
N_LINES = HEAD + 15
DELAY = 0.2
LINES = [f"Line {i}: {ARTICLE[i % len(ARTICLE)]}" for i in range(N_LINES)]

PRODUCER = textwrap.dedent(f"""
    import sys, time
    lines = {LINES!r}
    sys.stdout.write("".join(line + "\\n" for line in lines[:{HEAD}]))
    sys.stdout.flush()
    sys.stdin.readline()
    for line in lines[{HEAD}:]:
        time.sleep({DELAY})
        sys.stdout.write(line + "\\n")
        sys.stdout.flush()
    time.sleep({DELAY})
""")


def test_output_arrives_while_producer_still_writing() -> None:
    with producer_into_clean(PRODUCER) as (producer, q):
        assert producer.stdin is not None
        # 1. the first lines come out while the producer is blocked, input still open
        try:
            _, first = q.get(timeout=120)
        except queue.Empty:
            raise AssertionError("clean did not write the first line while its input stayed open") from None
        assert first == (LINES[0] + "\n").encode()
        out = [first]
        for _ in range(1, CHUNK):
            out.append(q.get(timeout=60)[1])
        assert producer.poll() is None
        producer.stdin.write(b"go\n")
        producer.stdin.close()
        # 2. the next chunk comes out while the producer still has lines to write
        t_second, second = q.get(timeout=60)
        producer_running_at_second = producer.poll() is None
        assert second == (LINES[CHUNK] + "\n").encode()
        rest = []
        while True:
            _, item = q.get(timeout=60)
            if item is None:
                break
            rest.append(item)
        producer.wait(timeout=30)
        producer_end = time.monotonic()
    assert producer_running_at_second, "clean held its output until the producer had finished"
    assert t_second < producer_end
    assert [*out, second, *rest] == [(line + "\n").encode() for line in LINES]


def test_stream_feed_returns_decided_lines_at_once() -> None:
    """Library level, rules and duplicates only: each complete kept line comes
    back from the ``feed`` that completed it; a partial line waits for its
    newline or ``close``. (With the classifier, the default, a line waits for
    its bounded look-ahead: ``test_classifier.py``.)"""
    s = Cleaner(Config(classifier=False)).stream("doc")
    assert s.feed(ARTICLE[0].encode() + b"\n") == ARTICLE[0].encode() + b"\n"
    assert s.feed(ARTICLE[1].encode()[:10]) == b""
    assert s.feed(ARTICLE[1].encode()[10:] + b"\n" + ARTICLE[2].encode()) == ARTICLE[1].encode() + b"\n"
    assert s.close() == ARTICLE[2].encode()


def _peak_rss_bytes(args: list[str], path: str) -> int:
    """Peak RSS of a real ``clean`` run, measured by a fresh parent process
    (its only child is that run)."""
    probe = textwrap.dedent(f"""
        import resource, subprocess, sys
        subprocess.run({CLEAN + args + [path]!r}, stdout=subprocess.DEVNULL, check=True)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True, env=clean_env())
    return int(out.stdout) * 1024  # kilobytes on Linux


def test_a_huge_line_costs_a_few_copies_of_itself_not_a_string_per_word(tmp_path: Path) -> None:
    # a minified script or data URI: one line of megabytes; the classifier, the
    # word tiers and near matching must not hold a string (or an n-gram) per word
    words = [f"w{i % 9973}x{i % 7}" for i in range(1_500_000)]
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_text(" ".join(words) + "\n")
    small.write_text("one line\n")
    size = big.stat().st_size
    for args in ([], ["--dedup", "stream"]):
        extra = _peak_rss_bytes(args, str(big)) - _peak_rss_bytes(args, str(small))
        assert extra < 8 * size, (args, extra / size)


def test_a_look_ahead_held_across_batches_keeps_its_lines_apart() -> None:
    # "Home", "News", "Business & Tech" open a menu look-ahead at the end of
    # one batch; the next batch's first line ends it. The held lines are then
    # judged in the new batch, and must be judged as themselves: read as the
    # line at their old position, "Business & Tech" was indexed under an
    # article paragraph's key, and that paragraph went as its repeat.
    head = ARTICLE[0] + "\nHome\nNews\nBusiness & Tech\n"
    tail = "".join(line + "\n" for line in ARTICLE[1:5])
    for opts in ({"dedup": "stream"}, {"dedup": "stream", "near": False, "classifier": False},
                 {"dedup": "doc", "near": True}):
        outs = []
        for chunks in ([head + tail], [head, tail]):
            s = Cleaner(Config(**opts)).stream("doc")
            outs.append(b"".join([s.feed(c.encode()) for c in chunks] + [s.close()]))
        assert outs[0] == outs[1], opts
        assert all(line.encode() in outs[1] for line in ARTICLE[:5]), opts


@pytest.mark.parametrize("options", [{}, {"dedup": "stream", "unit": "line"}, {"unit": "block", "dedup": "doc"},
                                     {"repeated_boilerplate": 2}])
def test_document_cleaner_attributes_stay_inline(options: dict[str, object]) -> None:
    """CPython 3.11 keeps at most 30 attributes of an instance inline (shared
    keys); from the 30th on every ``self.x`` of the line loop is a dict
    lookup. DocumentCleaner has slots (no instance dict at all); what is the
    same for every document lives on the Engine."""
    cleaner = Cleaner(Config(**options))  # type: ignore[arg-type]
    stream = cleaner.stream("doc", sink=lambda d: None)
    stream.feed(b"A line of article text that runs on for a while.\n")
    assert not hasattr(stream.doc, "__dict__")
    assert all(hasattr(stream.doc, name) for name in type(stream.doc).__slots__)  # each set in __init__
