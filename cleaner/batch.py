"""Running a Cleaner over inputs: stdin, files to stdout, files in place or
into a folder, plain text or JSON Lines, in one process or several.

With ``jobs > 1`` files are cleaned by worker processes and the results are
taken in input order, so the output is the one ``jobs == 1`` gives. When
duplicates are looked for across documents (``dedup="stream"``, an index, or
repeated boilerplate), workers run the rules only and the parent runs the
duplicate pass over their output in input order: rules never depend on
duplicate decisions, so the two passes give the one-pass result.

On stdin (``run_stdin_parallel``), batches of whole documents, cut right
after form-feed lines, go to the workers; only without state across
documents (the caller runs stdin in one process otherwise).
"""

from __future__ import annotations

import io
import multiprocessing as mp
import os
import re
import select
import sys
import tempfile
import threading
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import IO, TypeVar

from .api import Cleaner
from .config import Config
from .explain import Decision, Stats
from .files import in_place_path, out_path, sniff
from .index import Index
from .jsonl import JsonlOptions, clean_jsonl
from .stream import CHUNK_SIZE, StreamCleaner, read_chunks

Sink = Callable[[Decision], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Target:
    """Where cleaned output goes."""

    kind: str = "stdout"
    out_dir: str | None = None

    @property
    def skips_binary(self) -> bool:
        """Binary files are left alone when output would be written back or
        judged; printed to stdout they pass through like any bytes."""
        return self.kind != "stdout"


@dataclass
class Outcome:
    """What happened to one input."""

    name: str
    changed: bool = False
    skipped: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    data: bytes | None = None  # output, when a worker cleaned it for the parent to write
    rejected: bytes = b""  # JSON Lines lines set aside by a worker, for the parent's --rejects
    decisions: list[Decision] = field(default_factory=list)
    stats: Stats | None = None


class _Sink:
    """Counts removals per rule (for --check's "why") and forwards them.
    Where nothing is forwarded or kept, ``_Sink.maybe`` gives None and the
    counts come from the stream's stats (``_Sink.reasons_of``): the engine
    then makes no ``Decision`` per removed line."""

    def __init__(self, forward: Sink | None, keep: list[Decision] | None = None) -> None:
        self.forward = forward
        self.keep = keep
        self.reasons: Counter[str] = Counter()

    def __call__(self, d: Decision) -> None:
        self.reasons[d.rule] += 1
        if self.keep is not None:
            self.keep.append(d)
        if self.forward is not None:
            self.forward(d)

    @classmethod
    def maybe(cls, forward: Sink | None, keep: list[Decision] | None = None) -> _Sink | None:
        return None if forward is None and keep is None else cls(forward, keep)

    @staticmethod
    def reasons_of(sink: _Sink | None, stream: StreamCleaner, before: Counter[str]) -> Counter[str]:
        """The removals per rule since ``before`` (the stream's stats by rule when it began)."""
        return sink.reasons if sink is not None else stream.stats.by_rule - before


def clean_input(cleaner: Cleaner, name: str, target: Target, *, out: IO[bytes] | None = None,
                sink: Sink | None = None, jsonl: JsonlOptions | None = None,
                rejects: IO[bytes] | None = None, keep: list[Decision] | None = None,
                skip_binary: bool | None = None, progress: Callable[[int], None] | None = None) -> Outcome:
    """Clean one input ("-" is stdin), streaming, and send the result to
    ``target``. ``skip_binary`` (default: ``target.skips_binary``) leaves
    binary files alone; ``progress`` is told how many bytes were read."""
    stdin = name == "-"
    result = Outcome(name)
    if skip_binary is None:
        skip_binary = target.skips_binary
    if not stdin and skip_binary and sniff(name):
        cleaner.stats.skipped_files += 1
        result.skipped = "binary file"
        return result
    counting = _Sink.maybe(sink, keep)
    before: Counter[str] = Counter(cleaner.stats.by_rule)
    reasons: Counter[str] | None = None
    f: IO[bytes] = sys.stdin.buffer if stdin else open(name, "rb")  # noqa: SIM115 - closed below
    tmp: tuple[int, str] | None = None
    try:
        dest: IO[bytes] | None = out if target.kind == "stdout" else None
        final: Path | None = None
        if target.kind in ("in_place", "out_dir") and not stdin:
            final = in_place_path(name) if target.kind == "in_place" else out_path(target.out_dir or ".", name)
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".clean-tmp")
            dest = os.fdopen(tmp[0], "wb")
        if jsonl is not None:
            changed = False
            clean = _jsonl_cleaner(cleaner)
            lines = f if progress is None else _counted(f, progress)
            counting = counting or _Sink(None)
            for data, ch in clean_jsonl(clean, lines, "<stdin>" if stdin else name, jsonl, cleaner.stats,
                                        counting, rejects):
                changed = changed or ch
                if dest is not None and data:
                    dest.write(data)
                    if dest is out:
                        dest.flush()
            result.changed = changed
        else:
            s = cleaner.stream("<stdin>" if stdin else name, sink=counting, split_docs=stdin)
            chunks = read_chunks(f)
            for chunk in chunks if progress is None else _counted(chunks, progress):
                data = s.feed(chunk)
                if dest is not None and data:
                    dest.write(data)
                    if dest is out:
                        dest.flush()
            data = s.close()
            if dest is not None and data:
                dest.write(data)
                if dest is out:
                    dest.flush()
            result.changed = s.changed
            reasons = _Sink.reasons_of(counting, s, before)
        if tmp is not None and dest is not None and final is not None:
            dest.flush()
            os.fsync(dest.fileno())
            dest.close()
            if target.kind == "in_place" and not result.changed:
                os.unlink(tmp[1])  # unchanged: leave the file and its mtime alone
            else:
                os.chmod(tmp[1], Path(name).stat().st_mode & 0o7777)
                os.replace(tmp[1], final)
            tmp = None
    finally:
        if not stdin:
            f.close()
        if tmp is not None:
            with suppress(OSError):
                os.close(tmp[0])
            with suppress(OSError):
                os.unlink(tmp[1])
    result.reasons = reasons if reasons is not None else counting.reasons if counting is not None else Counter()
    return result


def _counted(items: Iterable[bytes], progress: Callable[[int], None]) -> Iterator[bytes]:
    for item in items:
        progress(len(item))
        yield item


def _jsonl_cleaner(cleaner: Cleaner) -> Callable[[str, str, Sink | None], str]:
    def clean(text: str, doc_id: str, sink: Sink | None) -> str:
        return cleaner.clean_text(text, doc_id=doc_id, sink=sink)

    return clean


# -- several processes ----------------------------------------------------------

_worker: Cleaner | None = None


def _init(cleaner: Cleaner) -> None:
    global _worker
    _worker = cleaner


def _work(args: tuple[list[str], Target, JsonlOptions | None, bool, bool]) -> list[Outcome]:
    """A few files in a worker. With ``capture`` the output comes back in
    ``data`` for the parent to write (binary files are still judged by
    ``target``); otherwise it goes to ``target`` from here."""
    names, target, jsonl, collect, capture = args
    assert _worker is not None
    outcomes = []
    for name in names:
        _worker.stats = Stats()
        keep: list[Decision] | None = [] if collect else None
        buf = io.BytesIO() if capture or target.kind == "stdout" else None
        rejects = io.BytesIO() if jsonl is not None and jsonl.on_error == "skip" else None
        res = clean_input(_worker, name, Target("stdout") if capture else target, out=buf, jsonl=jsonl,
                          rejects=rejects, keep=keep, skip_binary=target.skips_binary)
        res.data = buf.getvalue() if buf is not None else None
        res.rejected = rejects.getvalue() if rejects is not None else b""
        res.decisions = keep or []
        res.stats = _worker.stats
        outcomes.append(res)
    return outcomes


# Files go to workers in batches of about this many bytes (or files): one
# round trip per web page made -j 2 slower than -j 1 on a folder of pages.
BATCH_BYTES = 1 << 20
BATCH_FILES = 64


def batches(names: Iterable[str]) -> Iterator[list[str]]:
    """Consecutive runs of ``names``, each about BATCH_BYTES of input (a
    larger file alone) or BATCH_FILES files; in order."""
    batch: list[str] = []
    size = 0
    for name in names:
        batch.append(name)
        size += os.path.getsize(name)
        if size >= BATCH_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def needs_parent_pass(config: Config) -> bool:
    """Does duplicate removal need documents other than the one at hand?"""
    return config.dedup == "stream" or bool(config.index_path) or bool(config.repeated_boilerplate)


def run_parallel(cleaner: Cleaner, names: Sequence[str], target: Target, jobs: int, *,
                 jsonl: JsonlOptions | None = None, collect: bool = False,
                 capture: bool = False) -> Iterator[Outcome]:
    """Clean files in ``jobs`` worker processes; outcomes come in input order.
    ``cleaner`` must not need a parent pass (see ``needs_parent_pass``)."""
    ctx = mp.get_context("forkserver" if sys.platform != "win32" else "spawn")
    with ctx.Pool(jobs, initializer=_init, initargs=(cleaner,)) as pool:
        tasks = ((b, target, jsonl, collect, capture) for b in batches(names))
        for outcomes in in_order(pool, _work, tasks, ahead=2 * jobs):
            yield from outcomes


def in_order(pool: Pool, func: Callable[[T], R], args: Iterable[T], *, ahead: int) -> Iterator[R]:
    """``pool.imap(func, args)`` with at most ``ahead`` tasks submitted and
    not yet taken by the caller. Outcomes carry whole files' output: imap
    would let workers run arbitrarily far ahead of a slower consumer (the
    duplicate pass, a slow pipe) and hold their results in memory."""
    todo = iter(args)
    pending: deque[AsyncResult[R]] = deque(pool.apply_async(func, (a,)) for a in islice(todo, ahead))
    while pending:
        done = pending.popleft().get()
        for a in islice(todo, 1):
            pending.append(pool.apply_async(func, (a,)))
        yield done


def run_two_pass(cleaner: Cleaner, names: Sequence[str], target: Target, jobs: int, *,
                 collect: bool = False) -> Iterator[Outcome]:
    """Rules in workers (no duplicate removal), then the duplicate pass in
    this process, file by file in input order. Outcomes carry the cleaned
    bytes in ``data`` for the caller to write to ``target``; line numbers
    (of decisions, --stats and the index) are those of the input files."""
    rules_only = Cleaner(replace(cleaner.config, dedup="off", index_path=None, index_readonly=False,
                                 repeated_boilerplate=None, near=False,
                                 skip_repeats=cleaner.config.skip_repeats_on), ruleset=cleaner.ruleset)
    dedup_only = cleaner.without_rules()
    matcher = dedup_only.matcher
    for first in run_parallel(rules_only, names, target, jobs, collect=True, capture=True):
        if first.skipped:
            if first.stats is not None:
                cleaner.stats.merge(first.stats)
            yield first
            continue
        assert first.stats is not None
        removed = {d.line for d in first.decisions if d.action != "strip"}
        # the input line number of each line the rules kept
        kept = [n for n in range(1, first.stats.lines_in + 1) if n not in removed]
        index = matcher.live if matcher is not None else None
        start = index.paragraphs() if index is not None else 0
        found: list[Decision] = []
        second = dedup_only.stats = Stats()
        s = dedup_only.stream(first.name, sink=found.append)
        data = s.feed(first.data or b"") + s.close()
        if matcher is not None:
            if matcher.live is not index:  # per-document scope: a fresh index for this file
                start = 0
            _renumber_index(matcher.live, start, kept)
        found = [_renumber(d, kept) for d in found]
        final = Outcome(first.name, changed=first.changed or s.changed, data=data,
                        reasons=first.reasons + Counter(d.rule for d in found))
        final.decisions = sorted(first.decisions + found, key=lambda d: d.line) if collect else []
        # lines and bytes in are the input's, out the duplicate pass's; removals from both
        both = replace(first.stats, lines_out=second.lines_out, bytes_out=second.bytes_out)
        both.by_rule = first.stats.by_rule + second.by_rule
        both.by_category = first.stats.by_category + second.by_category
        cleaner.stats.merge(both)
        yield final


def _renumber_index(index: Index, start: int, kept: list[int]) -> None:
    """Paragraphs ``start`` on were indexed with line numbers of the rules'
    output; store the input's, as a one-process run does."""
    lines = index.para_line
    for pid in range(start, len(lines)):
        if 0 < lines[pid] <= len(kept):
            lines[pid] = kept[lines[pid] - 1]


def _renumber(d: Decision, kept: list[int]) -> Decision:
    """A decision of the duplicate pass, with line numbers of the original
    input. ``first`` is renumbered only when it points into this document:
    earlier documents' paragraphs are already renumbered in the index, and
    those of a loaded index file always had input line numbers."""
    def orig(line: int) -> int:
        return kept[line - 1] if 0 < line <= len(kept) else line

    first = d.first if d.first is None or d.first[0] != d.doc else (d.first[0], orig(d.first[1]))
    return replace(d, line=orig(d.line), first=first)


def describe_reasons(reasons: Counter[str]) -> str:
    """``rule count, ...``, commonest first, then by rule id (the same for every -j)."""
    return ", ".join(f"{rule} {n}" for rule, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


# -- stdin in several processes ---------------------------------------------------

# A line holding only a form feed (CRLF too: the engine reads "\f\r\n" as "\f")
# ends a document of stdin; batches are cut right after one.
DOC_END = re.compile(rb"^\f\r?\n", re.MULTILINE)
# A document without an end this long is cleaned in this process, streaming,
# not buffered whole for a worker (it is never split: its lines depend on each other).
HUGE_DOC = 8 * BATCH_BYTES


def _work_docs(args: tuple[bytes, int, bool, bool]) -> Outcome:
    """Whole documents of stdin in a worker: ``data`` holds documents
    ``first``, ``first + 1``, ..., each ended by its form-feed line, except
    the ``last`` batch, which ends where the stream ends."""
    data, first, last, collect = args
    assert _worker is not None
    _worker.stats = Stats()
    keep: list[Decision] | None = [] if collect else None
    counting = _Sink.maybe(None, keep)
    s = _worker.stream("<stdin>", sink=counting, split_docs=True, first_doc=first)
    out = s.feed(data)
    if last:
        out += s.close()
    else:
        s.end_at_boundary()
    res = Outcome("-", changed=s.changed, reasons=_Sink.reasons_of(counting, s, Counter()), data=out,
                  stats=_worker.stats)
    res.decisions = keep or []
    return res


class _Stdin:
    """Reads the input as it comes (one ``os.read`` at a time) and tells
    whether more is available right now; waits for input or a worker's
    result, whichever comes first."""

    def __init__(self, f: IO[bytes], wake: int) -> None:
        self.f = f
        self.wake = wake
        try:
            self.fd: int | None = f.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            self.fd = None  # an in-memory stream: always "available"
        self.poll = self.fd is not None and sys.platform != "win32"

    def read(self) -> bytes:
        if self.fd is not None:
            return os.read(self.fd, CHUNK_SIZE)
        return getattr(self.f, "read1", self.f.read)(CHUNK_SIZE)

    def available(self) -> bool:
        """Can ``read`` return at once?"""
        return self.fd is None or not self.poll or bool(select.select([self.fd], [], [], 0)[0])

    def wait(self, *, for_input: bool) -> bool:
        """Block until a result comes in or (``for_input``) input is
        readable; True if input is."""
        if for_input and (self.fd is None or not self.poll):
            return True
        fds = [self.wake] if not for_input or self.fd is None else [self.wake, self.fd]
        ready = select.select(fds, [], [])[0]
        if self.wake in ready:
            os.read(self.wake, 4096)
        return self.fd in ready


def run_stdin_parallel(cleaner: Cleaner, jobs: int, target: Target, *, out: IO[bytes], sink: Sink | None = None,
                       progress: Callable[[int], None] | None = None, f: IO[bytes] | None = None,
                       pool: Pool | None = None) -> Outcome:
    """Clean stdin (``f``) in ``jobs`` worker processes: the stream is cut
    into batches of whole documents (right after form-feed lines), sent as
    soon as they reach BATCH_BYTES or no more input is available right now,
    at most ``2 * jobs`` in flight, and their output is written in order.
    Output, ``sink``'s decisions (doc names ``<stdin>#N`` and line numbers)
    and ``cleaner.stats`` are those of one process, however the input comes
    in. ``cleaner`` must not need a parent pass (see ``needs_parent_pass``).
    A document of more than HUGE_DOC bytes is cleaned here, streaming.
    ``pool`` (default: a new one) must have been started with ``_init`` and
    a ``Cleaner`` like this one."""
    f = f if f is not None else sys.stdin.buffer
    result = Outcome("-")
    write = target.kind == "stdout"
    collect = sink is not None
    ahead = 2 * jobs
    done: dict[int, Outcome | BaseException] = {}
    wake_r, wake_w = os.pipe()
    # A result is stored and its wake byte written under one lock, which the
    # pipe's closing takes too: the main thread may see a result and return
    # before the pool's thread has written its byte, and a write to a closed
    # (or reused) descriptor there would kill the pool's result thread (a
    # caller's pool, shared between calls, would then hang the next call).
    wake_lock = threading.Lock()
    open_pipe = [True]

    def finished(seq: int, value: Outcome | BaseException) -> None:  # in the pool's result thread
        with wake_lock:
            done[seq] = value
            if open_pipe[0]:
                os.write(wake_w, b"\0")

    def take(res: Outcome) -> None:
        if sink is not None:
            for d in res.decisions:
                sink(d)
        if res.stats is not None:
            cleaner.stats.merge(res.stats)
        result.changed = result.changed or res.changed
        result.reasons.update(res.reasons)
        if write and res.data:
            out.write(res.data)
            out.flush()

    ctx = mp.get_context("forkserver" if sys.platform != "win32" else "spawn")
    try:
        inp = _Stdin(f, wake_r)
        with ExitStack() as stack:
            if pool is None:
                pool = stack.enter_context(ctx.Pool(jobs, initializer=_init, initargs=(cleaner,)))
            pending: deque[int] = deque()  # sequence numbers sent and not yet written, in order
            seq = 0

            def drain(wait: bool) -> None:
                """Write the results due, in order; ``wait``: until none is pending."""
                while pending:
                    if pending[0] not in done:
                        if not wait:
                            return
                        inp.wait(for_input=False)
                        continue
                    value = done.pop(pending.popleft())
                    if isinstance(value, BaseException):
                        raise value
                    take(value)

            def submit(data: bytes, first: int, last: bool) -> None:
                nonlocal seq
                back = partial(finished, seq)
                pool.apply_async(_work_docs, ((data, first, last, collect),), callback=back, error_callback=back)
                pending.append(seq)
                seq += 1

            buf = bytearray()  # input read and not yet sent; starts at a document's start
            ends: list[int] = []  # offsets in buf just after each form-feed line
            scan = 0  # where the search for form-feed lines goes on
            doc = 1  # number of buf's first document
            eof = sent_last = False
            while True:
                drain(wait=False)
                if sent_last:
                    if not pending:
                        break
                    inp.wait(for_input=False)
                    continue
                idle = eof or not inp.available()
                while len(pending) < ahead and ends:
                    k = bisect_left(ends, BATCH_BYTES)  # the first document end at or past the batch size
                    if k == len(ends):
                        if not idle and len(buf) < BATCH_BYTES:
                            break  # wait for more documents (a batch never waits on a long one)
                        k -= 1
                    cut = ends[k]
                    submit(bytes(buf[:cut]), doc, False)
                    doc += k + 1
                    del buf[:cut]
                    ends = [e - cut for e in ends[k + 1 :]]
                    scan -= cut
                if eof:
                    if not ends and len(pending) < ahead:
                        submit(bytes(buf), doc, True)
                        buf.clear()
                        sent_last = True
                    else:
                        inp.wait(for_input=False)
                    continue
                if not ends and len(buf) >= HUGE_DOC:
                    drain(wait=True)  # everything before it is written first
                    doc, rest, eof = _clean_huge_doc(cleaner, inp, bytes(buf), doc, result, out if write else None,
                                                     sink, progress)
                    buf = bytearray(rest)
                    ends, scan = [], 0
                    sent_last = eof
                else:
                    # read on while the buffer has room, else wait for a result
                    if not inp.wait(for_input=len(buf) < HUGE_DOC or not pending):
                        continue
                    data = inp.read()
                    if not data:
                        eof = True
                        continue
                    if progress is not None:
                        progress(len(data))
                    buf += data
                for m in DOC_END.finditer(buf, max(scan, 0)):
                    ends.append(m.end())
                scan = max(ends[-1] if ends else 0, len(buf) - 2)  # "\f\r" may be a form-feed line cut short
    finally:
        with wake_lock:
            open_pipe[0] = False
            os.close(wake_r)
            os.close(wake_w)
    return result


def _clean_huge_doc(cleaner: Cleaner, inp: _Stdin, buf: bytes, doc: int, result: Outcome, out: IO[bytes] | None,
                    sink: Sink | None, progress: Callable[[int], None] | None) -> tuple[int, bytes, bool]:
    """Clean document ``doc``, which starts ``buf``, in this process as it
    is read, up to and including its form-feed line; return the next
    document's number, the input read after that line, and whether the
    input ended (then the stream is closed here)."""
    counting = _Sink.maybe(sink)
    before = Counter(cleaner.stats.by_rule)
    s = cleaner.stream("<stdin>", sink=counting, split_docs=True, first_doc=doc)
    line_start = True  # buf starts a line

    def emit(got: bytes) -> None:
        if out is not None and got:
            out.write(got)
            out.flush()

    def feed(data: bytes) -> None:
        emit(s.feed(data))

    try:
        while True:
            start = 0
            if not line_start:
                start = buf.find(b"\n") + 1
            m = DOC_END.search(buf, start) if line_start or start else None
            if m is not None:
                feed(buf[: m.end()])
                s.end_at_boundary()
                return s.doc_count, buf[m.end() :], False
            # feed all but a trailing "\f" or "\f\r" at a line start: the start of a form-feed line, maybe
            cut = buf.rfind(b"\n") + 1
            if not (cut or line_start) or buf[cut:] not in (b"\f", b"\f\r"):
                cut = len(buf)
            if cut:
                feed(buf[:cut])
                line_start = buf[cut - 1] == 0x0A
            buf = buf[cut:]
            data = inp.read()
            if not data:
                feed(buf)
                emit(s.close())
                return s.doc_count, b"", True
            if progress is not None:
                progress(len(data))
            buf += data
    finally:
        result.changed = result.changed or s.changed
        result.reasons.update(_Sink.reasons_of(counting, s, before))
