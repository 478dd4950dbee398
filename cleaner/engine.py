"""The per-document state machine: one pass over lines, bounded look-ahead.

For each line, in order: an active truncation drops it; an active block
either swallows it (its predicate holds) or ends; otherwise the rules whose
prefilter fired are tried in priority order; a kept line is then checked
against the paragraphs already kept in the document.

Each line's decision (kept, removed, blank) then goes to the output stage,
directly or, with ``Config.classifier``, through the context classifier
(``cleaner/context.py``): every decided line is pushed to it (removed lines
as evidence, with their rule id) and held, raw bytes for kept and blank
lines only, until its verdict arrives with a bounded look-ahead; a verdict
dropping a kept line is a removal like a rule's. The output stage holds
blank lines until the next kept line so that runs left by removals collapse
to one and documents have no leading or trailing blank lines.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Callable, Container, Sequence
from pathlib import Path
from typing import NamedTuple

from . import watchdog
from .boilerplate import Boilerplate
from .classify import PREDICATES, is_body_line, word_count
from .config import Config
from .context import OUTSIDE_ARTICLE, ContextClassifier, DocumentContext, Verdict
from .dedup import exact_fingerprint
from .explain import Decision, Stats
from .matcher import DOC_KEYS_MAX, Match, Matcher
from .prefilter import Prefilter
from .rules import Rule, RuleSet, default_rules_dir

log = logging.getLogger("cleaner")

BLANK_RULE, BLANK_CATEGORY = "layout.blank-lines", "layout"
DEDUP_RULE, DEDUP_CATEGORY = "dedup.repeat", "duplicates"
CLASSIFIER_CATEGORY = "classifier"
BOILER_RULE = "dedup.boilerplate"
# --unit block: a paragraph longer than this is judged in pieces (bounded memory).
MAX_PARA_LINES = 200
# A run of blank lines longer than this is collapsed even with no removal in
# it, so that holding blank lines back never needs unbounded memory.
MAX_BLANK_RUN = 256
# Strip rules are re-applied to their own output at most this many times.
MAX_STRIPS_PER_LINE = 8
# Junk lines recur (site furniture, share prompts): the rule decision for a
# line text is remembered for up to this many texts of at most this length.
# The decision depends on nothing but the text and whether the body has
# begun, so remembering it changes no output; the memo is emptied when full.
MATCH_MEMO_SIZE = 8192
MATCH_MEMO_MAX_CHARS = 300

# A repeat's first copy dropped by the classifier as outside the article (a
# table of contents above the headings it lists): the repeat is judged as any
# other line. Line numbers of such drops are kept per document, up to this many.
REGION_DROPPED_MAX = 1 << 16

Sink = Callable[[Decision], None]


class Item(NamedTuple):
    line_no: int
    raw: bytes  # the input bytes of the line, line ending included
    text: str  # decoded, without line ending
    cands: Sequence[int] | None  # rule indexes worth trying
    idx: int = -1  # position in the current chunk (for prepared fingerprints)
    skip: bool = False  # a repeat held in a block's look-ahead, which skips it


class Repeat(NamedTuple):
    """A repeat held for the classifier's verdict (see ``_settle_repeat``)."""

    item: Item
    match: Match


def line_ending(raw: bytes) -> bytes:
    if raw.endswith(b"\r\n"):
        return b"\r\n"
    return b"\n" if raw.endswith(b"\n") else b""


class Engine:
    """Compiled rules and prefilter, shared by all documents of a run."""

    def __init__(self, ruleset: RuleSet, config: Config) -> None:
        self.ruleset = ruleset
        self.config = config
        self.rules: tuple[Rule, ...] = ruleset.rules
        patterns = [(i, p) for i, r in enumerate(self.rules) for p in r.patterns]
        pack = Path(default_rules_dir())
        groups = [0 if Path(r.source).parent == pack else 1 for r in self.rules]
        self.prefilter = Prefilter(patterns, use_hyperscan=config.use_hyperscan, groups=groups,
                                   max_words=[r.max_words for r in self.rules])
        self.always = self.prefilter.always
        self.has_before_body = any(r.where == "before_body" for r in self.rules)
        self.skip_repeats = (config.skip_repeats_on and config.unit == "line"
                             and any(r.action == "drop_block" for r in self.rules))
        self.repeat_words = config.dedup_min_words
        self.repeat_chars = 2 * self.repeat_words - 1  # fewer characters cannot hold repeat_words words
        self.block_unit = config.unit == "block"
        # (text, body seen) -> (rule index or -1, new text for strip rules)
        self.match_memo: dict[tuple[str, bool], tuple[int, str | None]] = {}

    def candidates(self, buf: bytes) -> dict[int, list[int]]:
        """Line index -> rule indexes to try, for a batch of lines joined by ``\\n``."""
        return self.prefilter.scan(buf)


class DocumentCleaner:
    """Cleans one document, line by line. Feed ``Item``s, collect kept bytes."""

    # Slots: past 30 attributes an instance's dict stops sharing its keys
    # (CPython 3.11) and every attribute read on the hot path gets slower.
    __slots__ = ("_at", "_next_stop", "blanks", "block", "block_count", "block_prev", "body_seen", "boiler", "changed",
                 "ctx", "doc_id", "doc_keys", "due", "e", "first_line", "gap_removed", "held", "kept_any", "line_no",
                 "matcher", "para", "pending", "pending_count", "pending_rule", "region_dropped", "repeat_keys",
                 "sink", "stand_in", "stats", "timeouts", "truncated_by")

    def __init__(self, engine: Engine, doc_id: str, stats: Stats, sink: Sink | None,
                 matcher: Matcher | None = None, boiler: Boilerplate | None = None,
                 classifier: ContextClassifier | None = None) -> None:
        self.e = engine
        self.doc_id = doc_id
        self.stats = stats
        self.sink = sink
        self.changed = False
        self.line_no = 0
        self.timeouts = 0  # regex timeouts in this document
        self.kept_any = False
        self.body_seen = not engine.has_before_body
        self.blanks: list[Item] = []
        self.gap_removed = False
        self.truncated_by: Rule | None = None
        self.block: Rule | None = None
        self.block_count = 0
        self.block_prev = ""
        self.pending: list[Item] | None = None
        # feed_batch's line in _process, and how far the matcher may judge
        # ahead of it (the next of the batch's hits, or its end; -1: not at
        # all): see _limit
        self._at = -1
        self._next_stop = -1
        self.pending_rule: Rule | None = None
        self.pending_count = 0
        self.matcher = matcher
        self.first_line: dict[int, int] = {}  # exact key hash -> line (``_repeat``)
        # keys of the lines the rules kept, for blocks to skip repeats: the
        # duplicate check notes them (the inline one in its dict) unless there
        # is none or boilerplate removal comes between; then ``doc_keys``
        self.doc_keys: set[int] | None = None
        if engine.skip_repeats and (matcher is None or boiler is not None):
            self.doc_keys = set()
        matcher_notes = engine.skip_repeats and self.doc_keys is None and matcher is not None and not matcher.inline
        self.boiler = boiler
        self.para: list[Item] = []  # with --unit block: kept lines of the open paragraph
        # the classifier stage: lines pushed and awaiting their verdict (None
        # for removed lines: no bytes held), and verdicts due for the output stage
        self.ctx: DocumentContext | None = classifier.document() if classifier is not None else None
        self.held: list[Item | Repeat | None] = []
        self.due: list[tuple[Item | Repeat | None, Verdict]] = []
        self.region_dropped: set[int] = set()  # lines the classifier dropped as outside the article
        self.stand_in: dict[int, int] = {}  # such a first copy -> the repeat kept in its place
        if matcher is not None:
            matcher.start_doc(doc_id, keys=matcher_notes)
        if boiler is not None:
            boiler.start_doc(doc_id)
        self.repeat_keys: Container[int] = (self.doc_keys if self.doc_keys is not None
                                            else matcher.doc_keys if matcher_notes and matcher is not None
                                            and matcher.doc_keys is not None else self.first_line)

    # -- bookkeeping -------------------------------------------------------
    def _record(self, it: Item, rule: str, category: str, action: str, match: Match | None = None,
                features: dict[str, object] | None = None) -> None:
        """Count a removal or change and tell the sink."""
        self.changed = True
        stats = self.stats  # Stats.count, inline: once per removed line
        stats.by_rule[rule] += 1
        stats.by_category[category] += 1
        if self.sink is not None:
            if match is None:
                self.sink(Decision(self.doc_id, it.line_no, rule, category, action, it.text, features=features))
            else:
                self.sink(Decision(self.doc_id, it.line_no, rule, category, action, it.text,
                                   (match.doc, match.line), match.kind, match.score))

    def _removed(self, it: Item, rule: str, category: str, action: str, match: Match | None = None,
                 *, line_kept: bool = False) -> None:
        """Record a removal (or, with ``line_kept``, a change to a kept line)."""
        self._record(it, rule, category, action, match)
        if not line_kept:
            if self.ctx is None:
                self.gap_removed = True
            else:
                self._push(it, rule)

    def _repeated(self, it: Item, m: Match) -> None:
        """A repeat: removed now, or, when it repeats a line of this document
        and the classifier runs, once the first copy's verdict is known."""
        if self.ctx is None or m.doc != self.doc_id:
            self._removed(it, DEDUP_RULE, DEDUP_CATEGORY, "drop_line", m)
            return
        self._push(it, DEDUP_RULE, Repeat(it, m))

    def _settle_repeat(self, rep: Repeat, v: Verdict, out: list[bytes]) -> None:
        """A repeat whose first copy the classifier dropped as outside the
        article is kept when the classifier would keep it as any other line
        (the headings a table of contents listed); the copy kept so stands in
        for the first one for later repeats."""
        it, m = rep
        stand_in = self.stand_in.get(m.line)
        if stand_in is None and v.own_keep and m.line in self.region_dropped:
            self.stand_in[m.line] = it.line_no
            self._out_keep(it, out)
            return
        if stand_in is not None:
            m = m._replace(line=stand_in)
        self._record(it, DEDUP_RULE, DEDUP_CATEGORY, "drop_line", m)
        self.gap_removed = True

    def _drop(self, it: Item, rule: Rule, *, line_kept: bool = False) -> None:
        self._removed(it, rule.id, rule.category, rule.action, line_kept=line_kept)

    def _blank(self, it: Item, out: list[bytes]) -> None:
        if self.para:
            self._settle_para(out)
        if self.ctx is None:
            self._hold_blank(it)
        else:
            self._push(it, None)

    def _keep(self, it: Item, out: list[bytes]) -> None:
        if self.ctx is None:
            self._out_keep(it, out)
        else:
            self._push(it, None)

    # -- the classifier stage ------------------------------------------------
    def _push(self, it: Item, fixed: str | None, held: Repeat | None = None) -> None:
        """A decided line (``fixed``: the rule that removed it) goes to the
        classifier; verdicts now due wait in ``due`` for the output stage.
        Held for the output stage: a kept line, or ``held`` (a repeat)."""
        assert self.ctx is not None
        self.held.append(it if fixed is None else held)
        vs = self.ctx.push(it.text, fixed, held is not None)
        if vs:
            self._due(vs)

    def _due(self, vs: list[Verdict]) -> None:
        """Verdicts of the oldest lines held: due for the output stage (a
        flush decides many lines at once: sliced, not popped one by one)."""
        held, k = self.held, len(vs)
        self.due.extend(zip(held[:k], vs, strict=True))
        del held[:k]

    def _apply_verdicts(self, out: list[bytes]) -> None:
        """The output stage takes the verdicts due, in line order."""
        due, self.due = self.due, []
        for it, v in due:
            if it is None:  # removed by a rule or as a duplicate, recorded then
                self.gap_removed = True
            elif isinstance(it, Repeat):
                self._settle_repeat(it, v, out)
            elif not it.text or it.text.isspace():
                self._hold_blank(it)
            elif v.keep:
                self._out_keep(it, out)
            else:
                self._record(it, v.reason, CLASSIFIER_CATEGORY, "drop_line",
                             features=v.explain() if self.sink is not None else None)
                self.gap_removed = True
                if v.reason.endswith(OUTSIDE_ARTICLE) and len(self.region_dropped) < REGION_DROPPED_MAX:
                    self.region_dropped.add(it.line_no)

    # -- the output stage: blank lines held, runs collapsed ------------------
    def _hold_blank(self, it: Item) -> None:
        if len(self.blanks) < MAX_BLANK_RUN:
            self.blanks.append(it)
        else:
            self._drop_blank(it)

    def _drop_blank(self, it: Item) -> None:
        self._record(it, BLANK_RULE, BLANK_CATEGORY, "drop_line")
        self.gap_removed = True

    def _flush_blanks(self, out: list[bytes]) -> None:
        """A line is about to be kept: settle the blank lines held before it."""
        blanks, self.blanks = self.blanks, []
        if not self.kept_any:
            for b in blanks:  # leading blank lines
                self._drop_blank(b)
        elif self.gap_removed:
            out.append(blanks[0].raw)
            for b in blanks[1:]:
                self._drop_blank(b)
        else:
            for b in blanks:  # (most runs are one line: no generator for them)
                out.append(b.raw)

    def _out_keep(self, it: Item, out: list[bytes]) -> None:
        if self.blanks:
            self._flush_blanks(out)
        self.gap_removed = False
        self.kept_any = True
        out.append(it.raw)

    # -- the state machine -------------------------------------------------
    def feed_batch(self, raws: Sequence[bytes], texts: Sequence[str], hits: dict[int, list[int]],
                   lo: int, hi: int, out: list[bytes], stops: Sequence[int] | None = None) -> None:
        """Process lines ``lo..hi`` of a batch. The common case, a line with no
        candidate rule while no block, truncation or look-ahead is under way,
        is handled inline; everything else takes ``_process``. ``stops``: the
        lines of ``hits``, sorted; with them the matcher judges the lines
        ahead of one up to the next of them (only a rule changes which lines
        it sees): see ``Matcher.check``."""
        always = self.e.always
        matcher = self.matcher
        short = matcher.short if matcher is not None else 0
        inline = matcher is not None and matcher.inline
        new_until = -1
        repeats: dict[int, int] = {}
        # below free, lines judged ahead and new: no test per line (a window
        # with repeats in it has each line tested, as they are rare)
        free = -1
        slow = bool(self.e.block_unit or self.boiler is not None or always)
        # (None unless the matcher looks ahead; a slow batch takes every line
        # through _process, where a rule may drop any line)
        ahead = None if inline or slow else stops
        ctx = self.ctx
        held = self.held
        keys = self.doc_keys
        append = out.append
        new = tuple.__new__  # Item(...) runs a Python-level __new__; this is the same tuple in one C call
        # only _process starts or ends a block, a truncation or a look-ahead
        busy = slow or self.truncated_by is not None or self.block is not None or self.pending is not None
        ln = self.line_no
        # the next stop after the line at hand (how far the matcher may judge
        # ahead of it: Matcher.check's limit), taken in turn from the stops
        # from lo on, then hi, as the lines pass them
        later = iter([*ahead[bisect_left(ahead, lo):bisect_left(ahead, hi)], hi] if ahead is not None else [-1])
        nxt = next(later)
        for i in range(lo, hi):
            ln += 1
            text = texts[i]
            if busy or i in hits:
                self.line_no = ln
                if nxt == i:  # a stop passed: the next one
                    nxt = next(later)
                self._next_stop = nxt
                cands = hits.get(i)
                if always:
                    cands = sorted(set(cands or ()).union(always))
                self._at = i
                self._process(new(Item, (ln, raws[i], text, cands, i, False)), out, None)
                busy = slow or self.truncated_by is not None or self.block is not None or self.pending is not None
                # its check may have judged lines ahead (then new_until moved on)
                if ahead is not None and matcher is not None and matcher.new_until != new_until:
                    new_until, repeats = matcher.new_until, matcher.repeats
                    free = -1 if repeats else new_until
                continue
            raw = raws[i]
            if not text or text.isspace():
                self._blank(new(Item, (ln, raw, text, None, -1, False)), out)
                continue
            # the body has begun once a prose line survives the rules, duplicate
            # or not: rules never depend on dedup (so -j can run them apart)
            if not self.body_seen and len(text) > 40 and is_body_line(text):
                self.body_seen = True
            if keys is not None:
                self._note_key(raw, text, i)
            if matcher is not None and i >= free:
                if i < new_until:  # judged by the lookahead of an earlier line's check (short ones too)
                    copy = repeats.get(i)  # (check's answer for it, without the call)
                    m = None if copy is None else matcher.repeat_of(copy)
                elif len(text) < short:
                    m = None
                elif inline:
                    m = self._repeat(raw, text, ln)
                elif ahead is not None:
                    m = matcher.check(raw, text, ln, i, nxt)
                    new_until, repeats = matcher.new_until, matcher.repeats
                    free = -1 if repeats else new_until
                else:
                    m = matcher.check(raw, text, ln, i)
                if m is not None:
                    self.line_no = ln
                    self._repeated(new(Item, (ln, raw, text, None, -1, False)), m)
                    continue
            if ctx is not None:  # _push, inline
                held.append(new(Item, (ln, raw, text, None, -1, False)))
                vs = ctx.push(text, None)
                if vs:
                    self._due(vs)
                continue
            if self.blanks:
                self._flush_blanks(out)
            self.kept_any = True
            self.gap_removed = False
            append(raw)
        self.line_no = ln
        self._at, self._next_stop = -1, -1
        if self.due:
            self._apply_verdicts(out)

    def end_batch(self) -> None:
        """The batch's arrays are about to go: lines a look-ahead still holds
        lose their place in them (judged later, a line must not be read as
        the line at its old position in the next batch)."""
        if self.pending:
            self.pending = [it._replace(idx=-1) for it in self.pending]

    def _process(self, it: Item, out: list[bytes], exclude: Rule | None) -> None:
        if self.truncated_by is not None:
            self._drop(it, self.truncated_by)
            return
        text = it.text
        blank = not text or text.isspace()
        if self.pending is not None:
            self._lookahead(it, blank, out)
            return
        block = self.block
        if block is not None:
            if blank:
                self._blank(it, out)
                return
            if self._skips(it):
                self._after_rules(it, out)
                return
            if self.block_count < block.max_lines and self._continues(block, text, self.block_prev):
                self.block_count += 1
                self.block_prev = text
                self._drop(it, block)
                return
            self.block = None
        if blank:
            self._blank(it, out)
            return
        cands = it.cands
        if cands:
            rule, new_text = self._match(it, cands, exclude)
            if rule is not None:
                action = rule.action
                if action == "strip":
                    assert new_text is not None
                    if not new_text.strip():
                        self._drop(it, rule)
                        return
                    self._drop(it, rule, line_kept=True)
                    # idx -1: duplicates are judged on the text kept, not the prepared one as read
                    it = it._replace(raw=new_text.encode("utf-8", "surrogateescape") + line_ending(it.raw),
                                     text=new_text, idx=-1)
                    text = new_text
                elif action == "drop_line":
                    self._drop(it, rule)
                    return
                elif action == "truncate_after":
                    self.truncated_by = rule
                    self._drop(it, rule)
                    return
                else:  # drop_block
                    if rule.min_lines:
                        self.pending, self.pending_rule, self.pending_count = [it], rule, 0
                        return
                    self._drop(it, rule)
                    self.block, self.block_count, self.block_prev = rule, 0, text
                    return
        self._after_rules(it, out)

    def _after_rules(self, it: Item, out: list[bytes]) -> None:
        """A line the rules kept: boilerplate, then duplicates, then kept."""
        text = it.text
        if not self.body_seen and is_body_line(text):
            self.body_seen = True
        if self.doc_keys is not None:
            self._note_key(it.raw, text, it.idx)
        if self.boiler is not None and self.boiler.is_boilerplate(it.raw, text):
            self._removed(it, BOILER_RULE, DEDUP_CATEGORY, "drop_line")
            return
        if self.e.block_unit:
            self.para.append(it)
            if len(self.para) >= MAX_PARA_LINES:
                self._settle_para(out)
            return
        if self.matcher is not None:
            if self.matcher.inline:
                m = self._repeat(it.raw, text, it.line_no) if len(text) >= self.matcher.short else None
            else:
                m = self.matcher.check(it.raw, text, it.line_no, it.idx, self._limit(it.idx))
            if m is not None:
                self._repeated(it, m)
                return
        self._keep(it, out)

    def _limit(self, idx: int) -> int:
        """How far the matcher may judge ahead of the batch's line ``idx``
        (``Matcher.check``'s limit; -1: not at all). Only from feed_batch's
        own line, with no block, look-ahead or truncation under way: then the
        lines up to the next hit take feed_batch's fast path, in order (only
        a hit line can start what would drop a line a rule is no candidate for)."""
        if idx != self._at or self.block is not None or self.pending is not None or self.truncated_by is not None:
            return -1
        return self._next_stop

    def _repeat(self, raw: bytes, text: str, line: int) -> Match | None:
        """Exact repeats within the document (the default, ``Matcher.inline``):
        the paragraph's key looked up in the document's own dict; the same
        decision as ``Matcher.check`` without its batching."""
        h = exact_fingerprint(raw, text)
        first = self.first_line.get(h)
        if first is None:
            self.first_line[h] = line
            return None
        assert self.matcher is not None
        if word_count(text) < self.matcher.s.min_words:
            return None  # short lines may repeat
        return Match("exact", 1.0, self.doc_id, first)

    def _note_key(self, raw: bytes, text: str, idx: int) -> None:
        """Remember the key of a line the rules kept (for ``_skips``)."""
        keys = self.doc_keys
        assert keys is not None
        if len(text) >= self.e.repeat_chars and len(keys) < DOC_KEYS_MAX:
            keys.add(self.matcher.key(raw, text, idx) if self.matcher is not None
                     else exact_fingerprint(raw, text))

    def _skips(self, it: Item) -> bool:
        """Whether block rules skip this line: it repeats a line the rules kept
        earlier in the document (``Config.skip_repeats``). Duplicate removal
        takes such a line out, so a block must not hinge on it: cleaning the
        output again would find the block whole."""
        if not self.e.skip_repeats:
            return False
        text, keys = it.text, self.repeat_keys
        if not keys or len(text) < self.e.repeat_chars:
            return False
        if exact_fingerprint(it.raw, text) not in keys:
            return False
        return word_count(text) >= self.e.repeat_words  # (the rarer test last: most lines are not repeats)

    def _settle_para(self, out: list[bytes]) -> None:
        """``--unit block``: a paragraph ended; keep or drop all its lines together."""
        para, self.para = self.para, []
        m = None
        if self.matcher is not None:
            raw = b"".join(p.raw for p in para)
            text = "\n".join(p.text for p in para)
            m = self.matcher.check(raw, text, para[0].line_no)
        for p in para:
            if m is None:
                self._keep(p, out)
            else:
                self._removed(p, DEDUP_RULE, DEDUP_CATEGORY, "drop_line", m)

    def _continues(self, rule: Rule, text: str, prev: str | None) -> bool:
        assert rule.continue_predicate is not None
        return PREDICATES[rule.continue_predicate].fn(text, prev, rule.continue_params)

    def _lookahead(self, it: Item, blank: bool, out: list[bytes]) -> None:
        """A block start waits for ``min_lines`` continuation lines before it counts."""
        assert self.pending is not None and self.pending_rule is not None
        rule = self.pending_rule
        if not blank and self._skips(it):
            it = it._replace(skip=True)
        self.pending.append(it)
        if (blank or it.skip) and len(self.pending) <= 2 * rule.max_lines:
            return
        prev = next(p.text for p in reversed(self.pending[:-1]) if p.text.strip() and not p.skip)
        if not blank and not it.skip and self._continues(rule, it.text, prev):
            self.pending_count += 1
            if self.pending_count >= rule.min_lines:
                items, self.pending = self.pending, None
                for p in items:
                    if p.skip:
                        self._after_rules(p, out)
                    elif p.text.strip():
                        self._drop(p, rule)
                    else:
                        self._blank(p, out)
                self.block, self.block_count, self.block_prev = rule, self.pending_count, it.text
            return
        self._release(out)

    def _release(self, out: list[bytes]) -> None:
        """The look-ahead failed: the start line is not this block; re-run the held lines."""
        assert self.pending is not None
        items, rule = self.pending, self.pending_rule
        self.pending, self.pending_rule = None, None
        self._process(items[0], out, rule)
        for p in items[1:]:
            self._process(p._replace(skip=False) if p.skip else p, out, None)

    def _match(self, it: Item, cands: Sequence[int], exclude: Rule | None) -> tuple[Rule | None, str | None]:
        text = it.text
        if exclude is not None or len(text) > MATCH_MEMO_MAX_CHARS:
            idx, new = self._match_rules(it, cands, exclude)
        else:
            memo = self.e.match_memo
            key = (text, self.body_seen)
            hit = memo.get(key)
            if hit is not None:
                idx, new = hit
            else:
                timeouts = self.timeouts
                idx, new = self._match_rules(it, cands, exclude)
                if self.timeouts == timeouts:  # a timed-out search decided nothing
                    if len(memo) >= MATCH_MEMO_SIZE:
                        memo.clear()
                    memo[key] = (idx, new)
        return (self.e.rules[idx] if idx >= 0 else None), new

    def _match_rules(self, it: Item, cands: Sequence[int], exclude: Rule | None) -> tuple[int, str | None]:
        """The first candidate rule (in priority order) that matches: its
        index (-1: none) and, for a strip rule, the new text."""
        text = it.text
        rules = self.e.rules
        wc = -1
        for idx in cands:
            rule = rules[idx]
            if rule is exclude or (rule.where == "before_body" and self.body_seen):
                continue
            if rule.min_words is not None or rule.max_words is not None:
                if wc < 0:
                    wc = word_count(text)
                if not rule.accepts_words(wc):
                    continue
            if self._search(rule, text, it):
                if rule.action != "strip":
                    return idx, None
                new = self._strip(rule, text, it)
                if new is not None:  # None: timed out, keep the line as it is
                    return idx, new
        return -1, None

    def _search(self, rule: Rule, text: str, it: Item) -> bool:
        timeout = self.e.config.regex_timeout
        for pat in rule.compiled:
            try:
                if watchdog.search(pat, text, timeout) is not None:
                    return True
            except TimeoutError:
                self._timeout(rule, it)
        return False

    def _strip(self, rule: Rule, text: str, it: Item) -> str | None:
        timeout = self.e.config.regex_timeout
        for _ in range(MAX_STRIPS_PER_LINE):
            new = text
            for pat in rule.compiled:
                try:
                    new = watchdog.sub(pat, rule.replace, new, timeout)
                except TimeoutError:
                    self._timeout(rule, it)
                    return None
            if new == text:
                break
            text = new
            nxt = self._first_strip(text, it)
            if nxt is None:
                break
            rule = nxt
        return text

    def _first_strip(self, text: str, it: Item) -> Rule | None:
        """After a strip, another strip rule may apply to the new text (idempotence)."""
        for rule in self.e.rules:
            if rule.action == "strip" and self._search(rule, text, it):
                return rule
        return None

    def _timeout(self, rule: Rule, it: Item) -> None:
        self.stats.regex_timeouts[rule.id] += 1
        self.timeouts += 1
        log.warning("rule %s: regex timed out on %s line %d; line kept", rule.id, self.doc_id, it.line_no)

    def finish(self, out: list[bytes]) -> None:
        """End of document: resolve any look-ahead, take the classifier's last
        verdicts and drop trailing blank lines."""
        while self.pending is not None:
            self._release(out)
        if self.para:
            self._settle_para(out)
        if self.ctx is not None:
            self._due(self.ctx.finish())
            assert not self.held, "a line was pushed without a verdict"
            self._apply_verdicts(out)
        for b in self.blanks:
            self._drop_blank(b)
        self.blanks = []
