"""Decides whether a paragraph repeats one kept earlier: exactly, or nearly.

Exact: the folded paragraph's xxh3 hash was seen (``dedup.exact_key``).
Near: at least ``near_threshold`` of the paragraph's bottom-k sketch of word
n-gram fingerprints is already in the index (the onion idea, with a fixed
number of fingerprints per paragraph) for one earlier paragraph, weighed with
the two paragraphs' facts (numbers, names; ``dedup.near_accept``): facts that
disagree refuse the match, facts that confirm it accept one sketch value
less. A match so accepted is then checked from the other side (two-sided
containment, ``dedup.is_excerpt``): all of the new paragraph's n-grams are
looked up, which tells how much of the earlier paragraph's sketch is in it and
where; when what the two share is one short block holding a minority of the
earlier paragraph (a shared quote), the match is refused. That check needs
every fingerprint, so it is skipped when the index is sampled (memory budget).
The reported score stays the share of the new paragraph's sketch found. Only
kept paragraphs are indexed, so the first copy in input order always wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from .classify import word_count
from .dedup import (
    IN_A,
    NEAR_MAX_CHARS,
    NOT_IN_A,
    UNKNOWN,
    exact_fingerprint,
    fold_words,
    is_excerpt,
    near_accept,
    near_fingerprints,
    next_key_set,
    ngram_hashes,
    speedup,
)
from .index import Index

if TYPE_CHECKING:
    from .dedup import KeyIds


class Match(NamedTuple):
    """Where the kept copy is, and how alike the two are (a tuple: one is made
    per repeat, and a frozen dataclass is slow to make)."""

    kind: str  # "exact" or "near"
    score: float
    doc: str
    line: int


@dataclass(frozen=True)
class MatchSettings:
    min_words: int
    near: bool
    near_threshold: float
    near_min_words: int
    ngram: int
    sketch_k: int


Prepared = tuple[int, list[int], int]  # exact key, sketch, facts mask (0: none)
Found = tuple[int, list[int], int, list[int]]  # check_lines' find: Prepared, then the near candidates' ids
_new = tuple.__new__
_RunSet = speedup("RunSet")
_probe = speedup("probe")
_check_lines = speedup("check_lines")
# Matcher.repeats when check_lines found none (read only: one dict, not one a call)
NO_REPEATS: dict[int, int] = {}
# Keys of the lines the rules kept, per document, for block rules to skip
# repeats (``Config.skip_repeats``): at most this many; past it, a repeat of a
# later line breaks a block as any line would.
DOC_KEYS_MAX = 1 << 16


def _isdisjoint(recent: KeyIds, keys: list[int]) -> bool:
    """No key in a ``FingerprintTable.recent`` (a dict or a KeyTable)."""
    return recent.keys().isdisjoint(keys) if isinstance(recent, dict) else recent.isdisjoint(keys)


class Matcher:
    """Repeat detection over a scope: one document (``reset`` at each
    document) or the whole stream, optionally against a loaded index whose
    entries owned by the current document are ignored."""

    def __init__(self, settings: MatchSettings, live: Index, loaded: Index | None = None,
                 per_doc: bool = False, line_unit: bool = True) -> None:
        self.s = settings
        self.live = live
        self.loaded = loaded
        self.per_doc = per_doc
        self.doc = 0
        self.doc_name = ""
        self.loaded_doc = -1
        self.short = 2 * settings.min_words - 1  # fewer characters cannot hold min_words words
        # check_lines' parameters: the fingerprints', the most keys noted per
        # document, the shortest text judged, the shortest fingerprinted for near
        # matching (as ``fingerprints``), the longest, the spill point, and the
        # fewest words of an exact repeat (as ``_exact``)
        # (the spill point depends only on the budget, which every index of this matcher shares)
        self._spill_at = live.spill_at()
        near_from = max(2 * settings.near_min_words, self.short) if settings.near else NEAR_MAX_CHARS + 1
        self._params = (settings.ngram, settings.sketch_k, settings.near_min_words, settings.near_threshold,
                        DOC_KEYS_MAX, self.short, near_from, NEAR_MAX_CHARS, self._spill_at, settings.min_words)
        # exact matching within one document needs no index: the engine keeps
        # the document's keys in a dict (``DocumentCleaner._repeat``, the hot path)
        # (with --unit block, paragraphs are judged by ``check``, which needs the
        # index; with a memory budget, the index is what honours it)
        self.inline = per_doc and not settings.near and loaded is None and line_unit and live.max_bytes is None
        self._pre: dict[int, Prepared] = {}
        # per table: fingerprints of the chunk found in its sorted runs (a dict,
        # or with the C extension a RunSet that looks each one up when asked)
        self._found: list[Any] = [{}, {}, {}, {}]
        self._c_runs = _RunSet is not None
        # the chunk's lines, with the C extension (fingerprinted when asked for)
        self._raws: Sequence[bytes] = ()
        self._texts: Sequence[str] = ()
        self.min_share = 1.0  # per document: the smallest hash share a budget left any document
        self.doc_keys: KeyIds | None = None
        # check_lines looks ahead: the chunk's lines [_new_from, new_until) it
        # judged (new and indexed, or exact repeats: ``repeats``, their copies'
        # ids), and what it found for the line it stopped at
        self._new_from = self.new_until = -1
        self.repeats: dict[int, int] = NO_REPEATS
        self._found_ahead: tuple[int, Found] | None = None
        # the engine may pass check a limit past the line (check_lines' lookahead)
        self.looks_ahead = _check_lines is not None and self._c_runs
        # check_lines judges this scope (unless the live index is sampled);
        # not derived from looks_ahead, which a test turns off on its own
        self._in_c = _check_lines is not None and self._c_runs and loaded is None

    def start_doc(self, name: str, keys: bool = False) -> None:
        """``keys``: note the exact keys of the document's paragraphs checked
        (``doc_keys``, up to ``DOC_KEYS_MAX``), for the engine's block rules."""
        # (the last document's are no longer read: its cleaner finished before this one began)
        self.doc_keys = next_key_set(self.doc_keys) if keys else None
        if self.inline:  # the engine keeps the document's keys: no index, no ids
            self.doc_name = name
            return
        if self.per_doc:
            self.min_share = min(self.min_share, self.live.sampled_share())
            self.live = Index(self.live.params, self.live.max_bytes)  # the same budget: the same spill point
            # the chunk's lookups so far were in the last document's index
            # (a form feed inside a batch): the new one has no runs yet
            if self._c_runs:
                self._found[0], self._found[1] = self.live.exact.run_set(), self.live.near.run_set()
            else:
                self._found[0], self._found[1] = {}, {}
        self.doc_name = name
        self._forget_ahead()
        self.doc = self.live.doc_id(name)
        self.loaded_doc = self.loaded.doc_index.get(name, -1) if self.loaded is not None else -1

    # -- fingerprints -----------------------------------------------------------
    def fingerprints(self, raw: bytes, text: str) -> Prepared:
        s = self.s
        if s.near and 2 * s.near_min_words <= len(text) <= NEAR_MAX_CHARS:
            return near_fingerprints(raw, text, s.ngram, s.sketch_k, s.near_min_words)
        return exact_fingerprint(raw, text), [], 0

    def prepare(self, raws: Sequence[bytes], texts: Sequence[str]) -> None:
        """Fingerprint a chunk's lines and look them up in the sorted runs at once
        (the sketches of all the chunk's paragraphs in one batch). With the C
        extension, lines are fingerprinted when first asked for (the rules
        remove a quarter of them first) and looked up one by one in C."""
        if self.inline:
            return
        if self._c_runs:
            self._raws, self._texts = raws, texts
            self._lookup(())
            return
        short = self.short
        fingerprints = self.fingerprints
        pre = {i: fingerprints(raws[i], text) for i, text in enumerate(texts)
               if len(text) >= short and not text.isspace()}
        self._pre = pre
        self._lookup(pre.values())

    def _prepared(self, idx: int) -> Prepared | None:
        """The fingerprints of the chunk's line ``idx`` (the engine passes -1
        for a line a strip rule changed), or None when it is too short to match."""
        fp = self._pre.get(idx)
        if fp is None and idx < len(self._texts):
            raws, texts = self._raws, self._texts
            text = texts[idx]
            if len(text) >= self.short and not text.isspace():
                fp = self._pre[idx] = self.fingerprints(raws[idx], text)
        return fp

    def _lookup(self, fps: Iterable[Prepared], one: bool = False) -> None:
        """Look fingerprints up in the sorted runs: a chunk's (``prepare``), or
        ``one`` line's more (``check`` of a line not prepared), added to the
        chunk's lookups, never in their place."""
        if self._c_runs:
            tables = [self.live.exact, self.live.near]
            if self.loaded is not None:
                tables += [self.loaded.exact, self.loaded.near]
            for n, table in enumerate(tables):
                self._found[n] = table.run_set()
            return
        items = list(fps)
        exact = [k for k, _, _ in items]
        near = [h for _, sk, _ in items for h in sk]
        tables = [self.live.exact, self.live.near]
        if self.loaded is not None:
            tables += [self.loaded.exact, self.loaded.near]
        for n, table in enumerate(tables):
            found = table.find_many(exact if n % 2 == 0 else near)
            if one:
                self._found[n].update(found)
            else:
                self._found[n] = found

    def key(self, raw: bytes, text: str, idx: int = -1) -> int:
        """A paragraph's exact key hash (the prepared one when there is one)."""
        fp = self._prepared(idx) if idx >= 0 else None
        return fp[0] if fp is not None else exact_fingerprint(raw, text)

    def end_chunk(self) -> None:
        self._forget_ahead()
        self._pre = {}
        self._raws, self._texts = (), ()
        self._found = [{}, {}, {}, {}]  # the C lookups hold the runs a later spill replaces

    def _forget_ahead(self) -> None:
        self._new_from = self.new_until = -1
        self.repeats = NO_REPEATS
        self._found_ahead = None

    def _indexed(self) -> None:
        """After a paragraph was indexed: spill when a table's recent entries
        reached the index's spill point (``Index.spill``: at that paragraph,
        whatever the chunks)."""
        live, at = self.live, self._spill_at
        if len(live.near.recent) >= at or len(live.exact.recent) >= at:
            self._spill()

    def _spill(self) -> None:
        """``Index.spill``, then the chunk looked up again in the new runs."""
        live = self.live
        live.spill()
        if self._c_runs:
            self._found[0], self._found[1] = live.exact.run_set(), live.near.run_set()
        else:  # the chunk's keys moved from recent to the runs: found there now
            self._lookup(self._pre.values())

    # -- decisions --------------------------------------------------------------
    def _first(self, key: int, near: bool) -> tuple[int, Index] | None:
        """The paragraph id owning a fingerprint: this run first, then the loaded index."""
        live = self.live.near if near else self.live.exact
        pid = live.recent.get(key)
        if pid is None:
            pid = self._found[1 if near else 0].get(key)
        if pid is not None:
            return pid, self.live
        if self.loaded is not None:
            pid = self._found[3 if near else 2].get(key)
            if pid is not None and self.loaded.para_doc[pid] != self.loaded_doc:
                return pid, self.loaded
        return None

    def check(self, raw: bytes, text: str, line: int, idx: int = -1, limit: int = -1) -> Match | None:
        """None if the paragraph is new (and now indexed), else where it was seen.

        ``limit``: the chunk's lines ``idx + 1 .. limit - 1`` are the caller's
        next paragraphs, judged as they come (the fast path of
        ``DocumentCleaner.feed_batch``, which passes a limit up to the next
        line a rule may remove). Those are then judged ahead, in one C call,
        until one has near candidates: the new ones before it are indexed
        now, exact repeats among them are noted in ``repeats`` (their copies'
        ids), and ``new_until`` tells the caller it need only ask about those
        (it may be from an earlier call: then at most ``idx``)."""
        if idx < self.new_until and idx >= self._new_from:  # judged by the last call's lookahead
            copy = self.repeats.get(idx)
            return None if copy is None else self.repeat_of(copy)
        live = self.live
        texts = self._texts
        if not self._in_c or live.sample_shift or idx in self._pre or not 0 <= idx < len(texts):
            return self._check_py(raw, text, line, idx)
        ahead = self._found_ahead
        if ahead is not None and ahead[0] == idx:
            self._found_ahead = None
            return self._near_found(ahead[1], raw, text, line)
        # _speedups.check_lines from the chunk's line idx up to limit (it
        # clamps the limit): it indexes the new paragraphs, their rows added
        # here, then a spill when due. Called once per stretch of lines, so
        # kept to this one frame.
        exact, near, runs = live.exact.recent, live.near.recent, self._found
        stop, found, lines, facts, repeats = _check_lines(
            texts, idx, limit, line, live.para_doc.n, exact, runs[0], near, runs[1], self.doc_keys, self._params)
        if lines:
            # the new paragraphs' rows (no Index method between: this frame is the hot path)
            live.para_doc.extend(self.doc, len(lines) >> 2)
            live.para_line.frombytes(lines)
            live.para_facts.frombytes(facts)
            at = self._spill_at  # _indexed, inline
            if len(near) >= at or len(exact) >= at:
                self._spill()
        if stop == idx:  # not judged: its near candidates (None: the C fingerprints do not take it)
            return self._check_py(raw, text, line, idx) if found is None else self._near_found(found, raw, text, line)
        # judged; lines judged ahead set new_until and repeats (their copies' ids)
        self._new_from, self.new_until = idx, stop
        if found is not None:
            self._found_ahead = (stop, found)
        if repeats is None:
            self.repeats = NO_REPEATS
            return None
        self.repeats = repeats
        copy = repeats.get(idx)
        return None if copy is None else self.repeat_of(copy)

    def _near_found(self, r: Found, raw: bytes, text: str, line: int) -> Match | None:
        """A paragraph check_lines left with near candidates: judged on them,
        indexed unless one is taken."""
        key, sk, facts, found = r
        live = self.live
        m = self._near([(p, live) for p in found], len(sk), facts, raw, text)
        if m is None:
            self._add(key, sk, facts, line)
        return m

    def _check_py(self, raw: bytes, text: str, line: int, idx: int) -> Match | None:
        """``check`` without check_lines: no C extension, a sampled or loaded
        index, a line prepared by ``prepare``, a text outside the chunk (a
        line a strip rule changed, a ``--unit block`` paragraph), or one whose
        characters the C fingerprints do not take."""
        fp = self._prepared(idx) if idx >= 0 else None
        if fp is None:
            if len(text) < self.short or text.isspace():
                return None
            fp = self.fingerprints(raw, text)
            self._lookup([fp], one=True)
        key, sk, facts = fp
        keys = self.doc_keys
        if keys is not None and len(keys) < DOC_KEYS_MAX:
            keys.setdefault(key, 0)
        live = self.live
        if _probe is not None and self.loaded is None and live.sample_shift == 0:
            # the path below up to indexing, in one call (_speedups.probe)
            found = _probe(key, sk, self.s.near_threshold, live.para_doc.n, live.exact.recent, self._found[0],
                           live.near.recent, self._found[1])
            if found is None:  # new, and indexed under the next id
                live.add_paragraph(self.doc, line, facts)
                self._indexed()
                return None
            if isinstance(found, int):
                return self._exact(found, live, text)
            m = self._near([(p, live) for p in found], len(sk), facts, raw, text)
            if m is not None:
                return m
            self._add(key, sk, facts, line)
            return None
        hit = self._first(key, False)
        if hit is not None:
            return self._exact(hit[0], hit[1], text)
        if sk and not self._no_near_hit(sk):
            if self.loaded is None:
                # this run only: the same choice as below without a call per fingerprint
                if self._c_runs:
                    pids = self._found[1].owners(sk, self.live.near.recent)
                else:
                    rget, fget = self.live.near.recent.get, self._found[1].get
                    pids = [p for p in [rget(h, fget(h)) for h in sk] if p is not None]
                if self._may_reach(pids, len(sk)):
                    m = self._near([(p, self.live) for p in pids], len(sk), facts, raw, text)
                    if m is not None:
                        return m
            else:
                hits = [h for h in map(lambda k: self._first(k, True), sk) if h is not None]
                if self._may_reach(hits, len(sk)):
                    m = self._near(hits, len(sk), facts, raw, text)
                    if m is not None:
                        return m
        self._add(key, sk, facts, line)
        return None

    def repeat_of(self, pid: int) -> Match:
        """The match of an exact repeat of paragraph ``pid`` of this run
        (long enough: ``check_lines`` judged that; ``repeats`` holds the
        lines it judged so, with their ``pid``)."""
        doc, line = self.live.where(pid)
        return _new(Match, ("exact", 1.0, doc, line))  # Match(...) runs a Python-level __new__

    def _exact(self, pid: int, src: Index, text: str) -> Match | None:
        if word_count(text) < self.s.min_words:
            return None  # short lines may repeat
        doc, first_line = src.where(pid)
        return Match("exact", 1.0, doc, first_line)

    def _add(self, key: int, sk: list[int], facts: int, line: int) -> None:
        """Index a new paragraph."""
        live = self.live
        if key >= live.exact.limit and all(h >= live.near.limit for h in sk):
            return  # sampled out (memory budget): nothing could ever point at its row
        pid = live.add_paragraph(self.doc, line, facts)
        live.exact.add(key, pid)
        live.near.add_many(sk, pid)
        self._indexed()

    def _may_reach(self, owners: Sequence[object], k: int) -> bool:
        """Whether one earlier paragraph can own enough of a ``k``-value sketch
        for ``_near`` to take it: the commonest of the owners found is found at
        most len - (distinct owners - 1) times (else no call, no Counter)."""
        return len(owners) - len(set(owners)) + 1 >= self.s.near_threshold * k - 1

    def _near(self, hits: list[tuple[int, Index]], k: int, facts: int, raw: bytes, text: str) -> Match | None:
        """Score against single earlier paragraphs (not hits pooled from several):
        the commonest first (ties: the first seen) that ``near_accept`` takes with
        its facts and that is not an excerpt (``dedup.is_excerpt``; judged only
        when the index holds every fingerprint, i.e. is not sampled)."""
        grams: list[int] | None = None
        for (pid, src), count in Counter(hits).most_common():
            if count < self.s.near_threshold * k - 1:
                break  # near_accept refuses this and every count below
            if not near_accept(count, k, self.s.near_threshold, facts, src.para_facts[pid]):
                continue
            if src.sample_shift == 0:
                if grams is None:
                    grams = ngram_hashes(fold_words(raw, text), self.s.ngram)
                if is_excerpt(grams, self._status(grams, pid, src), self.s.sketch_k, self.s.ngram):
                    continue
            score = count / k
            doc, first_line = src.where(pid)
            return Match("near", round(score, 3), doc, first_line)
        return None

    @staticmethod
    def _status(grams: list[int], pid: int, src: Index) -> list[int]:
        """For each n-gram hash of the new paragraph: whether its near
        fingerprint is owned by paragraph ``pid`` of ``src``, by no paragraph,
        or by another one (the two-sided check, on the rare candidate path)."""
        keys = [h & 0xFFFFFFFF for h in grams]
        table = src.near
        runs = table.find_many(keys)
        rget, fget = table.recent.get, runs.get
        owners = [rget(key, fget(key)) for key in keys]
        return [NOT_IN_A if o is None else IN_A if o == pid else UNKNOWN for o in owners]

    def _no_near_hit(self, sk: list[int]) -> bool:
        """True when no fingerprint of the sketch is known anywhere (the common
        case, decided without a call per fingerprint)."""
        found = self._found
        recent = self.live.near.recent
        if self._c_runs:  # recent is a KeyTable: one call looks in it and in the runs
            return not found[1].owners(sk, recent) and (self.loaded is None or not found[3].owners(sk, None))
        return (_isdisjoint(recent, sk) and found[1].keys().isdisjoint(sk)
                and (self.loaded is None or found[3].keys().isdisjoint(sk)))
