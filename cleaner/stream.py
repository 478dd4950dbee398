"""Framing: byte chunks -> documents -> lines, and kept lines -> bytes.

Lines are split on ``\\n`` only and keep their endings, so every kept line is
written exactly as it was read (CRLF, invalid UTF-8 and a missing final
newline included). Each chunk is handled as soon as it arrives, so output
follows input without waiting for its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from .boilerplate import Boilerplate
from .context import ContextClassifier
from .dedup import speedup
from .engine import DocumentCleaner, Engine, Sink
from .explain import Stats
from .matcher import Matcher
from .watchdog import scope

_c_split_lines: Callable[[bytes], tuple[list[bytes], list[str], list[int]] | None] | None = speedup("split_lines")
CHUNK_SIZE = 1 << 18
FORM_FEED = "\f"


def read_chunks(f: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield what is available, up to ``size`` bytes at a time (one read call
    each, so a slow pipe is not waited on until the buffer fills)."""
    read = getattr(f, "read1", f.read)
    while True:
        b = read(size)
        if not b:
            return
        yield b


class StreamCleaner:
    """Cleans a byte stream holding one document, or several separated by
    form-feed lines (``split_docs``)."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        *,
        stats: Stats,
        sink: Sink | None = None,
        split_docs: bool = False,
        first_doc: int = 1,
        matcher: Matcher | None = None,
        boiler: Boilerplate | None = None,
        classifier: ContextClassifier | None = None,
    ) -> None:
        self.engine = engine
        self.matcher = matcher
        self.boiler = boiler
        self.classifier = classifier
        self.name = name
        self.stats = stats
        self.sink = sink
        self.split_docs = split_docs
        self.doc_count = first_doc - 1  # documents are numbered from ``first_doc`` (a batch of a stream)
        self.changed = False
        self.doc = self._new_doc()
        self.carry: list[bytes] = []

    def _new_doc(self) -> DocumentCleaner:
        self.doc_count += 1
        self.stats.docs += 1
        doc_id = f"{self.name}#{self.doc_count}" if self.split_docs else self.name
        return DocumentCleaner(self.engine, doc_id, self.stats, self.sink,
                               self.matcher, self.boiler, self.classifier)

    def feed(self, chunk: bytes) -> bytes:
        """Take the next chunk; return the bytes decided so far."""
        self.stats.bytes_in += len(chunk)
        cut = chunk.rfind(b"\n")
        if cut < 0:
            self.carry.append(chunk)
            return b""
        head = chunk[: cut + 1]
        if self.carry:
            head = b"".join([*self.carry, head])  # one copy: long lines arrive in many chunks
            self.carry = []
        if cut + 1 < len(chunk):
            self.carry.append(chunk[cut + 1 :])
        with scope(self.engine.config.regex_timeout):
            return self._emit(self._lines(head))

    def close(self) -> bytes:
        """End of input: the last line (even without newline) and the document end."""
        out: list[bytes] = []
        tail, self.carry = b"".join(self.carry), []
        with scope(self.engine.config.regex_timeout):
            if tail:  # an empty input holds no line at all (not one empty line)
                out = self._lines(tail)
            self.doc.finish(out)
        if self.matcher is not None:
            self.matcher.end_chunk()  # lets go of the lookups (they hold the runs) before a save
        self.changed = self.changed or self.doc.changed
        return self._emit(out)

    def end_at_boundary(self) -> None:
        """Stop here, right after a form-feed line: the rest of the stream is
        cleaned elsewhere (a batch of whole documents, ``clean -j N`` on stdin),
        so the document begun after that line is not this stream's. Instead of
        ``close``."""
        if self.carry or self.doc.line_no or not self.split_docs:
            raise ValueError("end_at_boundary: the input fed so far does not end with a form-feed line")
        self.stats.docs -= 1

    def _emit(self, out: list[bytes]) -> bytes:
        data = b"".join(out)
        self.stats.lines_out += len(out)
        self.stats.bytes_out += len(data)
        return data

    def _lines(self, data: bytes) -> list[bytes]:
        split = _c_split_lines(data) if _c_split_lines is not None else None
        if split is not None:  # valid UTF-8 without a CR: the prefilter reads data itself
            raws, texts, feeds = split
            buf = data
        else:
            raws, texts, feeds, buf = split_lines(data)
        self.stats.lines_in += len(raws)
        hits = self.engine.candidates(buf)
        matcher = self.matcher
        if matcher is not None and self.engine.config.unit == "line":
            matcher.prepare(raws, texts)
        out: list[bytes] = []
        stops = sorted(hits) if matcher is not None and matcher.looks_ahead else None
        lo = 0
        if self.split_docs:
            for i in feeds:
                self.doc.feed_batch(raws, texts, hits, lo, i, out, stops)
                self.doc.finish(out)
                self.changed = self.changed or self.doc.changed
                out.append(raws[i])
                self.doc = self._new_doc()
                lo = i + 1
        self.doc.feed_batch(raws, texts, hits, lo, len(texts), out, stops)
        self.doc.end_batch()
        if matcher is not None:
            matcher.end_chunk()
        return out


def split_lines(data: bytes) -> tuple[list[bytes], list[str], list[int], bytes]:
    """A chunk's lines split at ``\\n`` only: each line's bytes with their line
    ending, its text without (a CRLF's CR goes with the ending; bytes that are
    not UTF-8 decode as surrogates), the indexes of the form-feed lines, and
    the chunk for the prefilter, as valid UTF-8 and with CRLF as LF
    (``_speedups.split_lines`` gives the first three)."""
    try:
        text = data.decode("utf-8")
        buf = data
    except UnicodeDecodeError:
        text = data.decode("utf-8", "surrogateescape")
        buf = text.encode("utf-8", "replace")  # the prefilter wants valid UTF-8
    cr = b"\r" in data  # buf holds a CR exactly where data does
    if cr:
        buf = buf.replace(b"\r\n", b"\n")
        text = text.replace("\r\n", "\n")
    texts = text.split("\n")
    if data.endswith(b"\n"):
        texts.pop()
    if not cr:  # splitlines also splits at a lone CR: only without one
        raws = data.splitlines(keepends=True)
    else:
        raws = data.split(b"\n")
        last = raws.pop()
        raws = [r + b"\n" for r in raws]
        if last:
            raws.append(last)
    # (a \f byte is never part of a longer UTF-8 character)
    feeds = list(_indexes(texts, FORM_FEED)) if b"\f" in data else []
    return raws, texts, feeds, buf


def _indexes(items: list[str], value: str) -> Iterator[int]:
    """The positions of ``value`` in ``items`` (found by list.index, in C:
    a batch holds many lines and few document ends)."""
    i = -1
    while True:
        try:
            i = items.index(value, i + 1)
        except ValueError:
            return
        yield i
