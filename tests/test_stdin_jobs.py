"""``clean -j N`` on stdin: batches of whole documents (cut right after
form-feed lines) in worker processes give the bytes, ``--explain`` records,
``--stats`` and exit code of ``-j 1``, however the input arrives."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import queue
import random
import select
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ARTICLE,
    DROP_LINE,
    JUNK,
    producer_into_clean,
    run_clean,
    sample_names,
    sample_paths,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cleaner import Cleaner
from cleaner import batch as batch_mod
from cleaner.batch import Target, run_stdin_parallel
from cleaner.cli import _ExplainWriter
from cleaner.explain import Decision, Stats

WARNING = b"clean: warning: -j on stdin with "


def _generated_stream(n_docs: int, seed: int = 7) -> bytes:
    """Documents of article lines, junk, repeats, CRLF, invalid UTF-8 and
    blank lines, separated by form-feed lines (LF or CRLF), the last line
    without a newline; the corpus samples among them."""
    rng = random.Random(seed)
    samples = [sample_paths(n)[0].read_bytes() for n in sample_names()]
    junk = [JUNK, DROP_LINE, "Advertisement", "Share this article", "Read more", "Menu", "Home | World | Sport"]
    docs: list[bytes] = []
    for k in range(n_docs):
        if k % 50 == 3:
            doc = samples[k % len(samples)]
        else:
            lines = [rng.choice(ARTICLE + junk) for _ in range(rng.randint(0, 40))]
            if lines and rng.random() < 0.3:
                lines.append(lines[0])  # a repeat
            if rng.random() < 0.2:
                lines.insert(rng.randint(0, len(lines)), "caf\xe9 \udcff bad bytes")
            if rng.random() < 0.2:
                lines.insert(rng.randint(0, len(lines)), "")
            end = "\r\n" if rng.random() < 0.2 else "\n"
            doc = "".join(line + end for line in lines).encode("utf-8", "surrogateescape")
        if doc and not doc.endswith(b"\n"):
            doc += b"\n"
        docs.append(doc + (b"\f\r\n" if rng.random() < 0.1 else b"\f\n"))
    return b"".join(docs) + ARTICLE[0].encode() + b" and no newline \xe9"


@pytest.fixture(scope="module")
def big_stream() -> bytes:
    data = _generated_stream(4000)
    assert len(data) > 2 * batch_mod.BATCH_BYTES  # several batches even from a fast pipe
    return data


def _run_both(tmp_path: Path, data: bytes, *opts: str) -> list[int]:
    """``clean -j 1`` and ``-j 2`` on ``data``; the document numbers of the explain records."""
    res = {}
    for j in ("1", "2"):
        r = run_clean(["-j", j, *opts, "--stats", "--explain", tmp_path / f"e{j}.jsonl"], data)
        res[j] = (r.returncode, r.stdout, r.stderr, (tmp_path / f"e{j}.jsonl").read_bytes())
    assert res["1"][0] == 0, res["1"][2].decode()
    assert res["2"][2] == res["1"][2]  # --stats, and no warning
    assert res["2"][3] == res["1"][3]  # --explain: the same records in the same order
    assert res["2"] == res["1"]
    numbers = [json.loads(line)["doc"] for line in res["1"][3].splitlines()]
    return [int(d.split("#")[1]) for d in numbers]


@pytest.mark.parametrize("opts", [[], ["--no-classifier", "--near"], ["--unit", "block"], ["--dedup", "off"]])
def test_jobs_on_stdin_give_the_bytes_explain_and_stats_of_one_process(tmp_path: Path, big_stream: bytes,
                                                                      opts: list[str]) -> None:
    numbers = _run_both(tmp_path, big_stream, *opts)
    assert numbers[-1] > 3000  # documents of later batches, numbered on


@pytest.mark.parametrize("data", [b"", ARTICLE[0].encode() + b"\n" + JUNK.encode() + b"\n" + ARTICLE[1].encode(),
                                  b"\f", b"\f\r\n\f\n"])
def test_jobs_on_stdin_edge_inputs(tmp_path: Path, data: bytes) -> None:
    """Empty input, one document without any form feed, form feeds only."""
    _run_both(tmp_path, data)


def test_jobs_on_stdin_check_exit_code_and_reasons(big_stream: bytes) -> None:
    clean_docs = b"".join(line.encode() + b"\n" for line in ARTICLE) + b"\f\n" + ARTICLE[0].encode() + b"\n"
    for data, code in ((big_stream, 1), (clean_docs, 0)):
        one = run_clean(["--check"], data)
        two = run_clean(["-j", "2", "--check"], data)
        assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
        assert one.returncode == code
    assert one.stderr == b""


# -- what stays in one process --------------------------------------------------------------


@pytest.mark.parametrize("opts", [["--dedup", "stream"], ["--dedup", "stream", "--no-classifier"],
                                  ["--repeated-boilerplate", "2"], ["--index", "IDX"], ["--jsonl"]])
def test_cross_document_state_on_stdin_runs_in_one_process_with_a_warning(tmp_path: Path, opts: list[str]) -> None:
    if opts == ["--jsonl"]:
        data = b"".join(b'{"text": "%s\\n%s\\n%s"}\n' % (a.encode(), JUNK.encode(), a.encode()) for a in ARTICLE)
    else:
        data = _generated_stream(60)
    res = {}
    for j in ("1", "2"):
        args = [o.replace("IDX", str(tmp_path / f"c{j}.idx")) for o in opts]
        res[j] = run_clean(["-j", j, *args, "--stats"], data)
    assert res["1"].returncode == 0 and WARNING not in res["1"].stderr
    assert res["2"].stderr.startswith(WARNING)
    assert res["2"].stderr.split(b"\n", 1)[1] == res["1"].stderr
    assert res["2"].stdout == res["1"].stdout
    if "--index" in opts:
        assert (tmp_path / "c2.idx").read_bytes() == (tmp_path / "c1.idx").read_bytes()


def test_jobs_with_stdin_among_files_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE[0] + "\n")
    r = run_clean(["-j", "2", "a.txt", "-"], b"x\n", cwd=tmp_path)
    assert r.returncode == 2
    assert b"-j reads FILE arguments or stdin alone, not both" in r.stderr


# -- output follows input, a document at a time ---------------------------------------------

DOC1 = [*ARTICLE, JUNK, "Name *"]
DOC2 = ARTICLE[::-1]
PRODUCER = textwrap.dedent(f"""
    import sys
    sys.stdout.write("".join(line + "\\n" for line in {DOC1!r}) + "\\f\\n")
    sys.stdout.flush()
    sys.stdin.readline()  # "go"
    sys.stdout.write("\\n".join({DOC2!r}))
""")


def test_a_slow_producer_sees_each_document_cleaned_before_it_ends() -> None:
    whole = ("".join(line + "\n" for line in DOC1) + "\f\n" + "\n".join(DOC2)).encode()
    s = Cleaner().stream("<stdin>", split_docs=True)
    expected = s.feed(whole) + s.close()
    first_doc = expected[: expected.index(b"\f\n") + 2]
    assert JUNK.encode() not in first_doc and ARTICLE[0].encode() in first_doc
    with producer_into_clean(PRODUCER, ["-j", "2"]) as (producer, q):
        assert producer.stdin is not None
        got = b""
        while not got.endswith(b"\f\n"):
            try:
                _, line = q.get(timeout=60)
            except queue.Empty:
                raise AssertionError(f"clean -j 2 held the first document while its input stayed open: {got!r}") from None
            assert line is not None, "clean -j 2 ended before its input did"
            got += line
        assert producer.poll() is None  # still waiting for "go": its stdout is open
        assert got == first_doc
        producer.stdin.write(b"go\n")
        producer.stdin.close()
        while (line := q.get(timeout=120)[1]) is not None:
            got += line
    assert got == expected


# -- any documents, any chunking: library level, one pool for all examples ------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    ctx = mp.get_context("forkserver")
    with ctx.Pool(2, initializer=batch_mod._init, initargs=(Cleaner(),)) as p:
        yield p


_CLEANER: list[Cleaner] = []


def _cleaner() -> Cleaner:
    if not _CLEANER:
        _CLEANER.append(Cleaner())
    c = _CLEANER[0]
    c.stats = Stats()
    return c


def _explain(decisions: list[Decision]) -> str:
    buf = io.StringIO()
    w = _ExplainWriter(buf)
    for d in decisions:
        w(d)
    w.flush()
    return buf.getvalue()


LINES = [*ARTICLE[:4], JUNK, DROP_LINE, "Advertisement", "", " ", "\f", "\f\r", "caf\xe9 \udcff", "x\f"]
line_st = st.tuples(st.sampled_from(LINES), st.sampled_from(["\n", "\n", "\r\n"])).map(
    lambda le: (le[0] + le[1]).encode("utf-8", "surrogateescape"))
doc_st = st.lists(line_st, max_size=12).map(b"".join)
stream_st = st.tuples(st.lists(st.tuples(doc_st, st.sampled_from([b"\f\n", b"\f\r\n", b"\n\f\n"])), max_size=7),
                      doc_st, st.sampled_from([b"", b"\f", b"\f\r", b"tail without newline"])).map(
    lambda t: b"".join(d + sep for d, sep in t[0]) + t[1] + t[2])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=stream_st, cuts=st.lists(st.integers(1, 200), max_size=12), pauses=st.lists(st.booleans(), max_size=12),
       batch_bytes=st.integers(1, 600), huge=st.integers(1, 2000))
@example(data=b"", cuts=[], pauses=[], batch_bytes=1, huge=1)
@example(data=b"\f\n", cuts=[], pauses=[], batch_bytes=1, huge=1000)
@example(data=b"a\n\f", cuts=[3], pauses=[True], batch_bytes=1, huge=1000)
@example(data=b"A\n\f\nB\n\f\n" + JUNK.encode() + b"\n", cuts=[3], pauses=[True], batch_bytes=1, huge=1000)
@example(data=(ARTICLE[0] + "\n\f\r\n" + ARTICLE[1] + "\n\f\n" + ARTICLE[2]).encode(), cuts=[len(ARTICLE[0]) + 2],
         pauses=[True], batch_bytes=1, huge=10)
def test_any_documents_any_chunking_give_one_process_output(pool: Any, monkeypatch: pytest.MonkeyPatch, data: bytes,
                                                            cuts: list[int], pauses: list[bool], batch_bytes: int,
                                                            huge: int) -> None:
    """Small BATCH_BYTES and HUGE_DOC, so that short streams make many
    batches and documents cleaned in the parent; the input comes through a
    real pipe in hypothesis' chunks, with pauses (batches sent early)."""
    monkeypatch.setattr(batch_mod, "BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(batch_mod, "HUGE_DOC", huge)
    ref_dec: list[Decision] = []
    one = _cleaner()
    s = one.stream("<stdin>", sink=ref_dec.append, split_docs=True)
    ref_out = s.feed(data) + s.close()
    ref_stats, ref_changed = one.stats, s.changed

    r, w = os.pipe()

    def produce() -> None:
        pos = 0
        for k, n in enumerate(cuts):
            os.write(w, data[pos : pos + n])
            pos += n
            if k < len(pauses) and pauses[k]:
                time.sleep(0.005)
        if pos < len(data):
            os.write(w, data[pos:])
        os.close(w)

    writer = threading.Thread(target=produce)
    writer.start()
    par = _cleaner()
    out = io.BytesIO()
    got: list[Decision] = []
    with os.fdopen(r, "rb", buffering=0) as f:
        res = run_stdin_parallel(par, 2, Target("stdout"), out=out, sink=got.append, f=f, pool=pool)
    writer.join()
    assert out.getvalue() == ref_out
    assert _explain(got) == _explain(ref_dec)
    assert par.stats == ref_stats
    assert res.changed == ref_changed
    assert res.reasons == Counter(d.rule for d in ref_dec)


class _SlowWake:
    """The os module as ``batch`` sees it, except that a wake byte (``b"\\0"``
    written by the pool's result thread) is written 0.3 s late."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        if data == b"\0" and threading.current_thread() is not threading.main_thread():
            time.sleep(0.3)
        return os.write(fd, data)


def test_a_late_wake_byte_leaves_a_shared_pool_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A result is stored before its wake byte is written; the main thread may
    see it early (a wake-up for input, or a spurious one, forced here) and
    return. Its wake pipe must not close under the pool's result thread: a
    write to a closed pipe there killed that thread, and the next call on the
    same pool waited forever."""
    real_wait = batch_mod._Stdin.wait

    def restless_wait(self: Any, *, for_input: bool) -> bool:
        fds = [self.wake] + ([self.fd] if for_input and self.fd is not None else [])
        if select.select(fds, [], [], 0.01)[0]:
            return bool(real_wait(self, for_input=for_input))
        return False  # woken for nothing: the caller looks again

    monkeypatch.setattr(batch_mod._Stdin, "wait", restless_wait)
    monkeypatch.setattr(batch_mod, "os", _SlowWake())
    data = ("\n".join(ARTICLE[:3]) + "\n\f\n" + JUNK + "\n" + ARTICLE[3] + "\n").encode()
    one = Cleaner()
    want = one.stream("<stdin>", split_docs=True)
    want_out = want.feed(data) + want.close()
    ctx = mp.get_context("forkserver")
    pool = ctx.Pool(1, initializer=batch_mod._init, initargs=(Cleaner(),))
    try:
        got: list[bytes] = []

        def run() -> None:
            r, w = os.pipe()
            os.write(w, data)
            os.close(w)
            out = io.BytesIO()
            with os.fdopen(r, "rb", buffering=0) as f:
                run_stdin_parallel(Cleaner(), 1, Target("stdout"), out=out, f=f, pool=pool)
            got.append(out.getvalue())

        for n in range(1, 4):
            t = threading.Thread(target=run, daemon=True)
            t.start()
            t.join(60)
            assert not t.is_alive(), "run_stdin_parallel hung on a pool shared with an earlier call"
            assert got == [want_out] * n
            time.sleep(0.5)  # an earlier call's late wake byte, if any, is written by now
    finally:
        pool.terminate()
