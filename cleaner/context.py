"""Context-aware line classifier: keeps the article, drops the page around it.

Rules remove the junk that can be named. What is left of a scraped page is
still a mix of article text and page furniture no rule names: menu entries,
teaser lists, bylines, footers, author bios, comment threads. This module
decides the remaining lines from their own features *and* from their place
on the page (``docs/algorithm.md`` explains each heuristic, why it holds and
what it is worth on the bench):

1. **Line classes** (pass 1, context-free). Cheap features give each line a
   class and a score: length in words (characters in scripts written without
   spaces), the share of stopwords of the document's language, a sentence
   ending, digits, menu separators, table and list markup, the rule that
   removed it (if any) and, with a ``CrossDocCounter``, how many earlier
   documents of the stream held the same line. ``good`` is prose (positive
   score, growing with length), ``neargood`` a sentence, ``data`` a table or
   list row (neutral), ``title`` a heading-like line, ``short`` a label,
   ``bad`` a line with junk evidence (negative).
2. **Context** (pass 2). Prose with no prose directly above or below (a
   teaser, a bio, a caption) counts less; a line repeated right below itself
   (a link and its title, alt text and its caption) is junk.
3. **The article region.** A two-state path (article / page) over the
   scores, found with Viterbi: each switch costs ``switch_cost``, so a
   heading or an ad label between paragraphs stays inside the article while
   a run of menu lines or a share row cuts it. An article run must also score
   a share of the strongest run seen so far (more when it lies far below the
   last article text), which drops lone blocks of prose among the furniture.
4. **Decisions.** Inside the article every line stays (the measured best:
   headings, list items and table rows there are article text); outside it
   every line goes. A document without a clear article (no run worth one long
   paragraph) keeps its lines with content evidence instead of losing them.

Rules take precedence: a line a rule removed stays removed and is evidence
for its neighbours, weighted by the rule's category.

Streaming: ``ContextClassifier.document()`` gives a ``DocumentContext`` that
takes lines one at a time (``push``) and returns verdicts once a line has
``window`` lines of look-ahead; verdicts come in chunks, so between
``window`` and ``window + window // 4`` lines are held (100 at most at the
default). A verdict depends on that window plus running statistics of the
document (the language guess, the Viterbi state, the strongest run so far).
``window=None`` holds the whole document and decides at its end.

Verdicts carry a reason (``classifier:<class>-outside-article`` and the like)
and the feature values, for ``--explain``.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import chain, repeat
from typing import TYPE_CHECKING, NamedTuple

import xxhash

from . import dedup

if TYPE_CHECKING:
    from . import _speedups
    from .dedup import KeyIds

# -- look-ahead and language ------------------------------------------------
# Lines of look-ahead before a line is decided: enough to see past a menu to
# the article's first paragraphs on nearly every page (the bench F1 is the
# same from 64 to 200 lines, and 0.01 lower at 40).
WINDOW_DEFAULT = 64
# Verdicts come in chunks of window / WINDOW_CHUNK_DIVISOR lines, so a line
# sees between ``window`` and ``1.5 * window`` lines ahead (at most 96 at the
# default), and the Viterbi trace-back over the held lines is paid once per
# chunk (3 steps per line at the default).
WINDOW_CHUNK_DIVISOR = 2
# Short lines look this far for their nearest non-short neighbour (only with
# ``drop_short_in_article``).
NEIGHBOR_MAX = 12
# Lines of look-ahead the context step needs (the next non-blank line; a
# line repeated up to two lines below).
LAG = 3
# The language is guessed from lines of at least this many words, and needs
# this many stopword hits, this share of the sampled words, and this lead
# over the runner-up language; otherwise no stopword feature is used.
LANG_LINE_WORDS = 6
LANG_MIN_HITS = 20
LANG_MIN_RATE = 0.15
LANG_MIN_LEAD = 1.5
# A document whose language is still unclear after this many sampled lines
# is classified without stopwords (the guess costs a set lookup per word and
# language, so it stops).
LANG_MAX_LINES = 400
# Words enough for a guess: later lines are not looked at; from
# LANG_EARLY_WORDS on, the guess stops as soon as it is clear.
LANG_ENOUGH_WORDS = 1000
LANG_EARLY_WORDS = 150
# Only the first characters of a line are looked at for stopwords: enough
# for a density, and a paragraph costs no more than a sentence.
STOP_PREFIX_CHARS = 200

# -- pass 1: line classes ---------------------------------------------------
# Fewer units (words; characters / UNSPACED_CHARS_PER_UNIT in unspaced
# scripts) make a ``short`` line: menu entries, labels, bylines, headings.
SHORT_UNITS_DEFAULT = 5
# Prose: at least this many units and the stopword share of running text.
LONG_UNITS_DEFAULT = 12
# A line this long is prose whatever its stopwords (lists of names and
# numbers in long sentences), unless it has almost none.
VERY_LONG_UNITS_DEFAULT = 30
# Stopword shares: below ``stop_low`` a line is not running text (menus,
# name lists, tables); from ``stop_high`` it is.
STOP_LOW_DEFAULT = 0.15
STOP_HIGH_DEFAULT = 0.25
# A token of more than this many characters on average means a script
# written without spaces: units are then characters / UNSPACED_CHARS_PER_UNIT.
UNSPACED_WORD_CHARS = 12
UNSPACED_CHARS_PER_UNIT = 2.5
# A row of a table or list: several tokens with digits and few stopwords.
DATA_MIN_WORDS = 4
# Two or more of these in a line make a menu or breadcrumb trail.
MENU_SEPARATORS = (" | ", " • ", " · ", " ¦ ", " › ", " » ")
MENU_MIN_SEPARATORS = 2

# -- scores (evidence for the article state) --------------------------------
# Prose scores its length, capped: min(units, PROSE_CAP) / PROSE_NORM (a
# 40-word paragraph: 4), halved (PROSE_NO_END) when it does not end like a
# sentence (teaser excerpts, cut-off descriptions).
PROSE_CAP_DEFAULT = 80.0
PROSE_NORM_DEFAULT = 10.0
PROSE_NO_END_DEFAULT = 0.5
# Sentences, table rows and list items are neutral: they neither start an
# article run nor break one.
NEARGOOD_SCORE_DEFAULT = 0.0
DATA_SCORE_DEFAULT = 0.0
# Labels and heading-like lines cost a little: one between paragraphs is
# bridged, ten in a row (a menu) are not.
SHORT_SCORE_DEFAULT = -0.2
TITLE_SCORE_DEFAULT = -0.3
BAD_SCORE_DEFAULT = -0.5
# Removed by a rule: captions sit inside articles (mild); share rows,
# related lists, comment forms, newsletters, consent, legal lines, promos and
# ad rails sit around them (strong); other categories (navigation, chrome)
# in between. Repeats removed by the duplicate index weigh DEDUP_SCORE.
RULE_SCORE_DEFAULT = -1.0
RULE_INLINE_SCORE_DEFAULT = -0.2
RULE_BOUNDARY_SCORE_DEFAULT = -2.0
DEDUP_SCORE_DEFAULT = -0.5
INLINE_CATEGORIES = frozenset({"captions"})
BOUNDARY_CATEGORIES = frozenset({"comments", "social", "related", "newsletter", "consent", "legal", "promos", "ads"})
DEDUP_RULE = "dedup.repeat"

# -- pass 2 and the article region ------------------------------------------
# Prose with no prose line right above or below scores this share of its score.
ISOLATED_FACTOR_DEFAULT = 0.5
# Cost of switching between page and article: a gap of junk lines whose
# scores sum to less than twice this is bridged.
SWITCH_COST_DEFAULT = 2.0
# An article run must score at least this share of the strongest run seen
# so far in the document (and at least REGION_MIN).
REGION_REL_DEFAULT = 0.25
REGION_MIN_DEFAULT = 0.0
# Runs before the strongest one are more often parts of a long article (its
# strongest part comes later) than teasers: they need less.
REGION_REL_BEFORE_DEFAULT = 0.1
# A run that starts more than REGION_GAP lines after the last article line
# (a long stretch of page furniture in between) must score REGION_REL_FAR of
# the strongest run: articles are contiguous, and prose far below them is
# comments, legal notices or another story.
REGION_GAP_DEFAULT = 50
REGION_REL_FAR_DEFAULT = 0.6
# When a document ends and its strongest article run scores less than this
# (one long paragraph), it has no clear article (a table, a list, a short
# notice): lines with content evidence (prose, sentences, data rows) are
# then kept even outside a run, instead of emptying the document.
WEAK_ARTICLE_DEFAULT = 6.0

# -- repeats inside a document -----------------------------------------------
# The duplicate index removes repeated lines of at least ``dedup_min_words``
# words; short lines are not removed for repeating alone ("Pros", "Top pick"
# recur legitimately). Two shapes of short repeat are copies all the same:
# - a short line identical to the line kept right above it (blank lines
#   skipped): a heading and its image's alt text, a link and its title. The
#   copy goes, the first one stays. Judged on the output, so the output has
#   no such pair and cleaning it again removes nothing more.
# - a short line that repeats an earlier line of the document, in a run of
#   repeats (consecutive lines, each a short repeat or a line the duplicate
#   index removed; blank lines skipped) that holds a removed paragraph (at
#   least ``long_units`` words) at most REPEAT_BLOCK_SPAN lines away: the
#   labels, names and prices left over from a copied block ("Top pick" /
#   <product> / "$35 from Amazon") whose long lines the index removed. A
#   copied paragraph is what tells a copy from a template: entries of a
#   list that share their labels and a few short items ("Pros", "- Careful
#   handling") are article text, and list items are never taken for repeats.
# Short lines of more characters than this are never taken for repeats
# (bounds the memory per key).
REPEAT_MAX_CHARS = 200
# At most this many distinct short lines are remembered per document; later
# new ones are not (their repeats are kept): memory stays bounded.
REPEAT_MAX_KEYS = 10000
# How far a short repeat looks, up and down its run of repeats, for a
# removed paragraph: a copied box or card is a few lines. At most
# NEIGHBOR_MAX (the decided lines kept above the window), so the answer does
# not depend on where a chunk of verdicts ends.
REPEAT_BLOCK_SPAN = 8
OUTSIDE_ARTICLE = "-outside-article"  # the end of the reasons of drops outside the article region
REPEAT_ABOVE = "classifier:repeat-of-line-above"
REPEAT_BLOCK = "classifier:repeat-in-copied-block"

# -- cross-document evidence ------------------------------------------------
# A line seen in this many earlier documents of the stream is boilerplate.
CROSSDOC_MIN_DOCS = 3
CROSSDOC_WIDTH = 1 << 20
CROSSDOC_DEPTH = 2
CROSSDOC_MAX_KEYS_PER_DOC = 5000
# Lines are keyed by their first characters (boilerplate differs early).
CROSSDOC_KEY_CHARS = 200

GOOD, NEARGOOD, TITLE, DATA, SHORT, BAD, RULE, DUP, BLANK = (
    "good",
    "neargood",
    "title",
    "data",
    "short",
    "bad",
    "rule",
    "dup",
    "blank",
)
_LINE_KINDS = (GOOD, NEARGOOD, TITLE, DATA, SHORT, BAD)  # what pass 1 gives a line no rule removed

# why a line is ``bad`` (pass 1; "classifier:<why>" in a verdict's reason)
WHY_CROSSDOC = "repeated-across-documents"
WHY_MENU = "menu-separators"
WHY_FEW_STOPWORDS = "few-stopwords"
WHY_GLUE = "glued-teaser"
WHY_ARROW = "arrow-link"

_END = frozenset(".!?…。！？")
_CLOSERS = frozenset("\"'”’»)]*")
_DIGITS = b"0123456789"
_BULLETS = frozenset("-*•·–▪◦")
_CONTENT = frozenset({GOOD, NEARGOOD, DATA})
_ARROWS = frozenset("»›→▸►")
_GAPS = frozenset({BLANK, RULE, DUP})
# the reasons of the commonest verdicts, made once (not per line)
_IN_ARTICLE = {k: f"classifier:{k}-in-article" for k in _LINE_KINDS}
_OUTSIDE = {k: f"classifier:{k}{OUTSIDE_ARTICLE}" for k in _LINE_KINDS}
# _verdicts' reasons in a document without a clear article (for verdict_lines)
_NO_CLEAR = {k: f"classifier:{k}-no-clear-article" for k in _LINE_KINDS}
_ALONE = {k: f"classifier:{k}-alone-no-clear-article" for k in _LINE_KINDS}


@dataclass(frozen=True)
class ContextParams:
    """Every knob of the classifier; each default is the module constant of
    the same name (upper case, ``_DEFAULT`` suffix), documented there.

    window: look-ahead in lines (None: hold the document, decide at its end).

    Switches, each turning one part off (the ablation of
    ``benchmarks/quality.py``; all on by default unless said otherwise):

    use_stopwords: language guess and stopword shares (off: length, endings
      and digits only, as for a language without a list).
    use_context: pass 2 (isolated prose counts less, echoed lines are junk).
    use_rule_weights: the category of the rule that removed a line sets its
      weight (off: every removed line weighs ``rule_score``).
    use_data: table rows, list items and number rows are neutral (off: junk).
    use_region: the article region (off: each line is judged alone: prose,
      sentences and data rows stay, the rest goes).
    use_run_filter: article runs must score a share of the strongest run.
    use_weak_article: a document without a clear article keeps its content lines.
    use_crossdoc: lines found in ``crossdoc_min_docs`` earlier documents of the
      stream are junk (only with a ``CrossDocCounter``).
    use_repeats: short lines repeated right below themselves, or left over
      from a block the duplicate index removed, go (see ``REPEAT_BLOCK_SPAN``;
      the engine turns it off with ``dedup="off"``).
    drop_bad_in_article, drop_short_in_article: also drop junk-looking lines
      and short lines among junk *inside* the article (off by default: on the
      bench both remove more article text than junk).
    """

    window: int | None = WINDOW_DEFAULT
    short_units: int = SHORT_UNITS_DEFAULT
    long_units: int = LONG_UNITS_DEFAULT
    very_long_units: int = VERY_LONG_UNITS_DEFAULT
    stop_low: float = STOP_LOW_DEFAULT
    stop_high: float = STOP_HIGH_DEFAULT
    prose_cap: float = PROSE_CAP_DEFAULT
    prose_norm: float = PROSE_NORM_DEFAULT
    prose_no_end: float = PROSE_NO_END_DEFAULT
    neargood_score: float = NEARGOOD_SCORE_DEFAULT
    data_score: float = DATA_SCORE_DEFAULT
    short_score: float = SHORT_SCORE_DEFAULT
    title_score: float = TITLE_SCORE_DEFAULT
    bad_score: float = BAD_SCORE_DEFAULT
    rule_score: float = RULE_SCORE_DEFAULT
    rule_inline_score: float = RULE_INLINE_SCORE_DEFAULT
    rule_boundary_score: float = RULE_BOUNDARY_SCORE_DEFAULT
    dedup_score: float = DEDUP_SCORE_DEFAULT
    switch_cost: float = SWITCH_COST_DEFAULT
    isolated_factor: float = ISOLATED_FACTOR_DEFAULT
    region_rel: float = REGION_REL_DEFAULT
    region_rel_before: float = REGION_REL_BEFORE_DEFAULT
    region_gap: int = REGION_GAP_DEFAULT
    weak_article: float = WEAK_ARTICLE_DEFAULT
    region_rel_far: float = REGION_REL_FAR_DEFAULT
    region_min: float = REGION_MIN_DEFAULT
    crossdoc_min_docs: int = CROSSDOC_MIN_DOCS
    use_stopwords: bool = True
    use_context: bool = True
    use_rule_weights: bool = True
    use_data: bool = True
    use_region: bool = True
    use_run_filter: bool = True
    use_weak_article: bool = True
    use_crossdoc: bool = True
    drop_bad_in_article: bool = False
    drop_short_in_article: bool = False
    use_glue: bool = True
    use_weak_neighbors: bool = True
    use_arrows: bool = True
    use_repeats: bool = True

    def __post_init__(self) -> None:
        if self.window is not None and self.window < NEIGHBOR_MAX:
            raise ValueError(f"window must be at least {NEIGHBOR_MAX} lines (or None); got {self.window}")
        if not 0 <= self.stop_low <= self.stop_high <= 1:
            raise ValueError("need 0 <= stop_low <= stop_high <= 1")
        if self.switch_cost < 0 or not 0 <= self.region_rel <= 1:
            raise ValueError("need switch_cost >= 0 and 0 <= region_rel <= 1")


def load_stopwords(langs: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
    """The stopword lists shipped in ``cleaner/stopwords/<lang>.txt``."""
    out: dict[str, frozenset[str]] = {}
    pkg = resources.files("cleaner") / "stopwords"
    wanted = None if langs is None else set(langs)
    for entry in pkg.iterdir():
        name = entry.name
        if not name.endswith(".txt") or (wanted is not None and name[:-4] not in wanted):
            continue
        words = (w.strip() for w in entry.read_text(encoding="utf-8").split("\n"))
        out[name[:-4]] = frozenset(w for w in words if w and not w.startswith("#"))
    return out


class LineFeatures(NamedTuple):
    """What pass 1 saw of a line (shown by ``--explain``)."""

    chars: int
    units: float  # words, or characters / UNSPACED_CHARS_PER_UNIT in unspaced scripts
    stop: float  # stopword share; -1.0 when no language was detected
    end: bool  # ends like a sentence
    digits: int  # -1 when not counted (no rule needed it)
    seps: int  # menu separators
    table: bool  # a table row ("| a | b |")
    bullet: bool  # a list item ("- item", "• item")
    xdocs: int  # earlier documents of the stream holding this line (0 without a counter)


_NO_FEATURES = LineFeatures(0, 0.0, -1.0, False, -1, 0, False, False, 0)


class Verdict(NamedTuple):
    """The decision on one line (``line`` is 0-based within the document)."""

    line: int
    keep: bool
    reason: str  # "classifier:..." or, for a line a rule removed, the rule id
    kind: str  # class after pass 2 ("good", "short", ...; "rule"/"dup" for removed lines)
    article: bool  # inside the article region
    score: float  # evidence for the article state
    features: LineFeatures
    # for a repeat the engine holds (pushed ``held``): whether the line, judged
    # as any other line, would be kept (the engine keeps it when its first copy
    # was dropped as outside the article: see ``DocumentCleaner._settle_repeat``);
    # False for any other line
    own_keep: bool = False

    def explain(self) -> dict[str, object]:
        """Feature values for ``--explain``."""
        f = self.features
        d: dict[str, object] = {
            "class": self.kind,
            "article": self.article,
            "score": round(self.score, 2),
            "units": round(f.units, 1),
            "end": f.end,
        }
        if f.stop >= 0:
            d["stop"] = round(f.stop, 3)
        if f.digits > 0:
            d["digits"] = f.digits
        if f.seps:
            d["seps"] = f.seps
        if f.xdocs:
            d["xdocs"] = f.xdocs
        return d


class CrossDocCounter:
    """In how many documents of a stream each line occurs, in bounded memory.

    A count-min sketch (``depth`` rows of ``width`` 16-bit counters, 4 MB at
    the defaults) of line keys (xxh3 of the case-folded, space-trimmed
    line). Counts only over-estimate, never under-estimate; a line is
    counted once per document, at its end, in the order its lines were first
    seen (keys that share cells are raised in that order). ``halve_every``
    documents all counts are halved, so that a site's old boilerplate fades
    from a long stream.
    """

    def __init__(
        self, width: int = CROSSDOC_WIDTH, depth: int = CROSSDOC_DEPTH, halve_every: int | None = None
    ) -> None:
        if width < 1024 or width & (width - 1):
            raise ValueError(f"width must be a power of two >= 1024; got {width}")
        if not 1 <= depth <= 3:
            raise ValueError(f"depth must be 1 to 3; got {depth}")
        if halve_every is not None and halve_every < 1:
            raise ValueError("halve_every must be positive (or None)")
        self.width, self.depth, self.halve_every = width, depth, halve_every
        self.mask = width - 1
        self.bits = width.bit_length() - 1  # each row hashes with its own bits of the 64-bit key
        if self.bits * depth > 64:
            raise ValueError(f"width * depth too large for a 64-bit key: 2**{self.bits} x {depth}")
        self.rows = [array("H", bytes(2 * width)) for _ in range(depth)]
        self.docs = 0
        # the current document's line keys, in the order first seen (end_doc counts them in it)
        self._pending: KeyIds = dedup.key_set()

    @staticmethod
    def key(text: str) -> int:
        return xxhash.xxh3_64_intdigest(text[:CROSSDOC_KEY_CHARS].strip().lower().encode("utf-8", "surrogateescape"))

    def count(self, key: int) -> int:
        """Documents (before the current one) holding the line with this key."""
        m, b = self.mask, self.bits
        c = self.rows[0][key & m]
        for r in range(1, self.depth):
            c = min(c, self.rows[r][(key >> (b * r)) & m])
        return c

    def see(self, text: str, add: bool = True) -> int:
        """``count`` of the line's key, then (``add``) ``add`` it: the
        classifier's one call per line (in C when the extension is built)."""
        if _c_see is not None:
            return _c_see(text, self.rows, self.bits, self._pending if add else None, CROSSDOC_MAX_KEYS_PER_DOC)
        key = self.key(text)
        c = self.count(key)
        if add:
            self.add(key)
        return c

    def add(self, key: int) -> None:
        """Note a line of the current document (counted at ``end_doc``)."""
        if len(self._pending) < CROSSDOC_MAX_KEYS_PER_DOC:
            self._pending.setdefault(key, 0)

    def end_doc(self) -> None:
        """The current document is over: count each of its lines once."""
        m = self.mask
        rows = self.rows
        if _c_count_doc is not None:
            _c_count_doc(rows, self.bits, self._pending)
        else:
            for key in self._pending:
                cur = self.count(key)
                if cur < 0xFFFF:  # conservative update: raise only the minimal cells
                    for r in range(self.depth):
                        i = (key >> (self.bits * r)) & m
                        if rows[r][i] == cur:
                            rows[r][i] = cur + 1
        self._pending = dedup.next_key_set(self._pending)
        self.docs += 1
        if self.halve_every is not None and self.docs % self.halve_every == 0:
            import numpy as np

            for row in rows:
                np.frombuffer(row, np.uint16)[:] >>= 1


# the C versions of CrossDocCounter.see and of end_doc's counting (None: the
# Python ones), as dedup loads the extension
_c_see: Callable[[str, list[array[int]], int, KeyIds | None, int], int] | None = dedup.speedup("crossdoc_see")
_c_count_doc: Callable[[list[array[int]], int, KeyIds], None] | None = dedup.speedup("crossdoc_count_doc")


def langs_by_word(stop: Mapping[str, frozenset[str]]) -> dict[str, tuple[int, ...]]:
    """Each stopword with the languages whose lists hold it (their positions in ``stop``)."""
    out: dict[str, tuple[int, ...]] = {}
    for i, words in enumerate(stop.values()):
        for w in words:
            out[w] = (*out.get(w, ()), i)
    return out


def c_langs_by_word(langs_of: Mapping[str, tuple[int, ...]]) -> _speedups.StopSet | None:
    """``langs_of`` for ``LanguageGuess`` in C: a StopSet whose values have a
    bit per language (None: no extension, or too many languages)."""
    if _C_STOP is None or any(i >= 64 for ids in langs_of.values() for i in ids):
        return None
    words = list(langs_of)
    stop: _speedups.StopSet = _C_STOP(words, [sum(1 << i for i in langs_of[w]) for w in words])
    return stop


class LanguageGuess:
    """Running stopword hits per language over the lines fed so far."""

    def __init__(self, stop: Mapping[str, frozenset[str]],
                 langs_of: Mapping[str, tuple[int, ...]] | None = None,
                 c_langs: _speedups.StopSet | None = None) -> None:
        """``langs_of``: ``langs_by_word(stop)``; ``c_langs``: the same in C
        (``c_langs_by_word``), or None to count in Python."""
        self.stop = stop
        self.langs = tuple(stop)
        self.langs_of = langs_of if langs_of is not None else langs_by_word(stop)
        self.c_langs = c_langs
        self.counts = [0] * len(self.langs)  # stopword hits per language, as self.langs
        self.words = 0
        self.lines = 0

    @property
    def hits(self) -> Counter[str]:
        """Stopword hits per language."""
        return Counter(dict(zip(self.langs, self.counts, strict=True)))

    def feed(self, text: str) -> bool:
        """Count one line's stopwords; False when the line was not sampled."""
        if self.words >= LANG_ENOUGH_WORDS:
            return False
        n = -1
        if self.c_langs is not None:  # -1: a character C leaves to Python
            n = self.c_langs.tally(text, STOP_PREFIX_CHARS, LANG_LINE_WORDS, self.counts)
        if n < 0:
            ws = text[:STOP_PREFIX_CHARS].lower().split()
            n = len(ws)
            if n >= LANG_LINE_WORDS:
                # each stopword adds 1 to each of its languages
                counts = self.counts
                for i in chain.from_iterable(map(self.langs_of.get, ws, repeat(()))):
                    counts[i] += 1
        if n < LANG_LINE_WORDS:
            return False
        self.lines += 1
        self.words += n
        return True

    def best(self) -> str | None:
        """The language whose stopwords are clearly the most frequent, or None."""
        if not self.langs or not self.words:
            return None
        ranked = sorted(zip(self.counts, self.langs, strict=True), reverse=True)
        h1, lang = ranked[0]
        h2 = ranked[1][0] if len(ranked) > 1 else 0
        if h1 < LANG_MIN_HITS or h1 < LANG_MIN_RATE * self.words or h1 < LANG_MIN_LEAD * h2:
            return None
        return lang


def detect_language(texts: Iterable[str], stop: Mapping[str, frozenset[str]]) -> str | None:
    """The language whose stopwords are clearly the most frequent in ``texts``, or None."""
    g = LanguageGuess(stop)
    for t in texts:
        if g.feed(t) and g.words >= LANG_EARLY_WORDS and g.best() is not None:
            break
    return g.best()


# A headline glued to its excerpt ("...Won't StandWarren Mayor Jim Fouts
# says it was..."): a naive page dump joins a teaser's title and summary
# when they sit in one link. Inside a word, a lowercase run (3+ letters) then
# a capital starting a word ("StandWarren", "AthleteA 24-year-old"), or a
# sentence mark then a capital ("Rise?Violence").
_GLUE = re.compile(r"(?<=[a-z]{3})[A-Z](?=[a-z]|$)|(?<=[a-z][.?!:])[A-Z]")
GLUE_TITLE_WORDS = 5  # title words before the glue, at least
GLUE_TEXT_WORDS = 6  # excerpt words after it, at least
GLUE_TITLE_CAPS = 0.6  # share of capitalized title words, at least (Title Case)
GLUE_TEXT_CAPS = 0.4  # share of capitalized excerpt words, below (running text)
GLUE_MAX_WORD = 30  # the glue is looked for in the first words only
GLUE_HEAD_CHARS = 100  # the prefix that usually holds the first title words


def _is_cap(w: str) -> bool:
    c = w[:1]
    return c.isupper() or c.isdigit()


def _glued_teaser(t: str) -> bool:
    """A Title Case headline glued to a lowercase-dominated excerpt."""
    # most prose fails on its first words: judge them on a short prefix first
    # (when a sixth piece starts in it, the first five are whole words)
    head = t[:GLUE_HEAD_CHARS].split(maxsplit=GLUE_TITLE_WORDS)
    if len(head) > GLUE_TITLE_WORDS and sum(map(_is_cap, head[:GLUE_TITLE_WORDS])) < 3:
        return False
    ws = t.split(maxsplit=GLUE_MAX_WORD + GLUE_TEXT_WORDS)
    if len(ws) < GLUE_TITLE_WORDS + GLUE_TEXT_WORDS or sum(map(_is_cap, ws[:GLUE_TITLE_WORDS])) < 3:
        return False
    for i in range(GLUE_TITLE_WORDS - 1, min(len(ws) - GLUE_TEXT_WORDS, GLUE_MAX_WORD)):
        w = ws[i]
        if len(w) < 6:
            continue
        m = _GLUE.search(w, 4)
        if m is None:
            continue
        title = i + 1
        text = ws[i + 1:]
        if (sum(map(_is_cap, ws[:title])) >= GLUE_TITLE_CAPS * title
                and sum(map(_is_cap, text)) < GLUE_TEXT_CAPS * len(text)):
            return True
    return False


def _count_digits(t: str) -> int:
    b = t.encode("utf-8", "surrogateescape")
    return len(b) - len(b.translate(None, _DIGITS))


def line_class(
    t: str, sw: frozenset[str] | None, xdocs: int, p: ContextParams
) -> tuple[str, str, float, LineFeatures, bool]:
    """Pass 1 on a line not removed by a rule, from its text alone: kind, why,
    score and features of the stripped, non-empty text ``t``, given the
    stopwords of the document's language (None: not known yet, or off) and
    the cross-document count. The last value says whether the line is short
    (``DocumentContext`` then looks for repeats). The reference for
    ``_speedups.LineClass.classify``."""
    n = len(t)
    nw = t.count(" ") + 1
    u = float(nw)
    if n > UNSPACED_WORD_CHARS * nw:
        u = n / UNSPACED_CHARS_PER_UNIT
    stop = -1.0
    if sw is not None and u >= p.short_units:
        ws = t[:STOP_PREFIX_CHARS].lower().split()
        stop = sum(map(sw.__contains__, ws)) / len(ws)
    i = n - 1
    while i >= 0 and t[i] in _CLOSERS:
        i -= 1
    end = i >= 0 and t[i] in _END
    seps = 0
    if nw >= 3 and ("|" in t or "•" in t or "·" in t or "»" in t or "›" in t or "¦" in t):
        for sep in MENU_SEPARATORS:
            seps += t.count(sep)
    table = t[0] == "|" and t[-1] == "|" and n > 2
    bullet = t[0] in _BULLETS and n > 2 and t[1] == " "
    digits = -1  # counted only when a rule below needs it
    short = False
    kind, why, score = TITLE, "", p.title_score
    if xdocs >= p.crossdoc_min_docs:
        kind, why, score = BAD, WHY_CROSSDOC, p.bad_score
    elif table:
        kind, score = (DATA, p.data_score) if p.use_data else (BAD, p.bad_score)
    elif seps >= MENU_MIN_SEPARATORS:
        kind, why, score = BAD, WHY_MENU, p.bad_score
    elif u < p.short_units:
        short = True
        if end and stop >= p.stop_high:
            kind, score = NEARGOOD, p.neargood_score
        else:
            kind, score = SHORT, p.short_score
    elif 0 <= stop < p.stop_low:
        if end:
            kind, score = NEARGOOD, p.neargood_score
        else:
            digits = _count_digits(t)
            if p.use_data and digits and u >= DATA_MIN_WORDS:
                kind, score = DATA, p.data_score
            else:
                kind, why, score = BAD, WHY_FEW_STOPWORDS, p.bad_score
    elif (u >= p.long_units and (stop >= p.stop_high or stop < 0)) or u >= p.very_long_units:
        if p.use_glue and n <= UNSPACED_WORD_CHARS * nw and _glued_teaser(t):
            kind, why, score = BAD, WHY_GLUE, p.bad_score
        else:
            kind = GOOD
            score = min(u, p.prose_cap) / p.prose_norm * (1.0 if end else p.prose_no_end)
    elif end:
        kind, score = NEARGOOD, p.neargood_score
    elif stop < 0 and p.use_data and u >= DATA_MIN_WORDS:
        digits = _count_digits(t)
        if digits:
            kind, score = DATA, p.data_score
    if bullet and p.use_data and score < p.data_score:
        kind, why, score = DATA, "", p.data_score
    if p.use_arrows and kind != GOOD and t[0] in _ARROWS and n > 2 and t[1] == " ":
        # "» Next story", "› More videos": a link with an arrow mark
        kind, why, score = BAD, WHY_ARROW, p.bad_score
    return kind, why, score, LineFeatures(n, u, stop, end, digits, seps, table, bullet, xdocs), short


# -- pass 1 in C (cleaner/_speedups.c, optional) ------------------------------------
# ``_speedups.LineClass`` is ``line_class`` for one ContextParams; it takes the
# constants and character sets above from here, and the stopword list of a
# language as a ``_speedups.StopSet``. CLEANER_SPEEDUPS=0 (dedup.speedup gives None)
# or an extension built without it leaves the Python path.
_C_LINE = dedup.speedup("LineClass")
_C_STOP = dedup.speedup("StopSet")


def _exact_number(x: object) -> bool:
    """An int or float the C code holds as a double with Python's comparisons
    and arithmetic (an int beyond 2**53 would round)."""
    return type(x) is float or (type(x) is int and abs(x) <= 1 << 53)


def c_line_class(p: ContextParams) -> _speedups.LineClass | None:
    """``line_class`` in C for these parameters, or None (no extension, or a
    parameter the C code would not treat as Python does)."""
    if _C_LINE is None:
        return None
    nums = (p.short_units, p.long_units, p.very_long_units, p.stop_low, p.stop_high, p.prose_cap,
            p.prose_norm, p.prose_no_end, p.crossdoc_min_docs)
    scores = (p.neargood_score, p.data_score, p.short_score, p.title_score, p.bad_score)
    if not all(map(_exact_number, nums + scores)) or not p.prose_norm:
        return None
    line: _speedups.LineClass = _C_LINE(
        (*nums, *scores, p.use_data, p.use_glue, p.use_arrows),
        (UNSPACED_WORD_CHARS, UNSPACED_CHARS_PER_UNIT, STOP_PREFIX_CHARS, DATA_MIN_WORDS, MENU_MIN_SEPARATORS,
         GLUE_TITLE_WORDS, GLUE_TEXT_WORDS, GLUE_MAX_WORD, GLUE_TITLE_CAPS, GLUE_TEXT_CAPS),
        ("".join(sorted(_END)), "".join(sorted(_CLOSERS)), "".join(sorted(_BULLETS)), "".join(sorted(_ARROWS)),
         MENU_SEPARATORS),
        _LINE_KINDS,
        ("", WHY_CROSSDOC, WHY_MENU, WHY_FEW_STOPWORDS, WHY_GLUE, WHY_ARROW),
        LineFeatures,
    )
    return line


# -- the article region: a two-state Viterbi path -----------------------------
# A line's back-pointers, one byte: bit 0 when the best path into the article
# state at the line came from the article state, bit 1 when the best path into
# the page state did.
def viterbi_forward(scores: list[float], va: float, vj: float, switch: float,
                    back: bytearray) -> tuple[float, float]:
    """The forward step over lines of these scores from the best path scores
    ``va`` (ending in the article state) and ``vj`` (page): appends each
    line's back-pointers to ``back``, returns the new ``va, vj``. The
    reference for ``_speedups.viterbi_forward``."""
    for s in scores:
        from_j = vj - switch
        b = 0
        if va >= from_j:
            na = va + s
            b = 1
        else:
            na = from_j + s
        from_a = va - switch
        if not vj >= from_a:
            vj = from_a
            b |= 2
        va = na
        back.append(b)
    return va, vj


def viterbi_trace(back: bytearray, n: int, state: bool) -> list[bool]:
    """The best path (True: article) through the first ``n`` lines, ending
    in ``state``, from their back-pointers (reference for ``_speedups.viterbi_trace``)."""
    path = [False] * n
    for i in range(n - 1, -1, -1):
        path[i] = state
        state = bool(back[i] & 1) if state else bool(back[i] & 2)
    return path


_c_forward = dedup.speedup("viterbi_forward")
_c_trace = dedup.speedup("viterbi_trace")
# DocumentContext._classify over a buffer's new lines in one call (with c_line)
_c_classify_lines = dedup.speedup("classify_lines")
# _flush's setting of each line's ``art`` and _verdicts' common branches in one call
_c_verdict_lines = dedup.speedup("verdict_lines")
# _score_pending's pass 2 and its list of scores in one call
_c_context_lines = dedup.speedup("context_lines")


class _Line:
    """One line while it waits for its verdict."""

    __slots__ = (
        "art", "feat", "fixed", "held", "index", "kind", "rep", "score", "text", "why",
    )

    # set by pass 1 (_classify) and by _flush before any read: not set here,
    # a few stores less per line
    feat: LineFeatures
    kind: str
    score: float
    art: bool  # inside the article region

    def __init__(self, index: int, text: str, fixed: str | None, held: bool = False) -> None:
        self.index = index
        self.text = text
        self.fixed = fixed
        self.held = held  # a repeat whose verdict's own_keep is read (see push)
        self.why = ""
        self.rep = False  # a short line that repeats an earlier line of the document


# _Line in C (its attributes as struct members: made without a Python frame,
# read and written by the C functions above without a lookup)
_c_line_type = dedup.speedup("Line")


class ContextClassifier:
    """Shared, read-only part: parameters, stopword lists, optional cross-document counts."""

    def __init__(
        self,
        params: ContextParams | None = None,
        *,
        crossdoc: CrossDocCounter | None = None,
        stopwords: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.params = params or ContextParams()
        self.stop = dict(stopwords) if stopwords is not None else load_stopwords()
        self.langs_of = langs_by_word(self.stop)
        self.c_langs = c_langs_by_word(self.langs_of)
        self.crossdoc = crossdoc
        self.c_line = c_line_class(self.params)
        # the Viterbi steps in C when every score is a float or exact int
        p = self.params
        scores = (p.switch_cost, p.isolated_factor, p.dedup_score, p.rule_score, p.rule_inline_score,
                  p.rule_boundary_score)
        exact = self.c_line is not None and all(map(_exact_number, scores))
        self.forward: Callable[[list[float], float, float, float, bytearray], tuple[float, float]] = (
            _c_forward if exact and _c_forward is not None else viterbi_forward)
        self.trace: Callable[[bytearray, int, bool], list[bool]] = (
            _c_trace if exact and _c_trace is not None else viterbi_trace)
        self._c_stop: dict[str, _speedups.StopSet] = {}
        self._rule_scores: dict[str, float] = {}  # rule_score's answers (a pack has a few hundred rules)
        # pass 1 in C: what classify_lines takes besides the lines
        self.classify_lines: Callable[..., tuple[int, int, int]] | None = (
            _c_classify_lines if self.c_line is not None else None)
        self.pass1_consts = (_NO_FEATURES, BLANK, DUP, RULE, 0.0, DEDUP_RULE, p.dedup_score, self._rule_scores,
                             self.rule_score, REPEAT_MAX_CHARS, REPEAT_MAX_KEYS)
        self.context_lines: Callable[..., tuple[_Line | None, list[float]]] | None = _c_context_lines
        self.context_consts = (p.use_context, GOOD, BLANK, DUP, BAD, "echoed-below", p.bad_score, p.isolated_factor,
                               LAG)
        self.verdict_lines: Callable[..., tuple[list[Verdict], list[int]]] | None = _c_verdict_lines
        self.line_type: Callable[[int, str, str | None, bool], _Line] = _c_line_type or _Line
        # a document's push flushes buf[:-hold] once buf holds flush_at lines
        chunk = max(1, (p.window or 0) // WINDOW_CHUNK_DIVISOR)
        self.hold = p.window or 0
        self.flush_at = p.window + chunk if p.window is not None else sys.maxsize
        self.verdict_consts = (Verdict, _IN_ARTICLE, _OUTSIDE, BLANK, "classifier:blank", DEDUP_RULE, BAD, SHORT,
                               WHY_CROSSDOC, _CONTENT, _GAPS, DATA, _NO_CLEAR, _ALONE)
        self.verdict_flags = (p.use_region | p.drop_bad_in_article << 2 | p.drop_short_in_article << 3
                              | p.use_weak_neighbors << 4)

    def rule_score(self, rule_id: str) -> float:
        """The score of a line removed by rule ``rule_id`` (not a repeat), by
        the rule's category."""
        score = self._rule_scores.get(rule_id)
        if score is None:
            p = self.params
            cat = rule_id.split(".", 1)[0]
            score = (
                p.rule_score
                if not p.use_rule_weights
                else p.rule_inline_score
                if cat in INLINE_CATEGORIES
                else p.rule_boundary_score
                if cat in BOUNDARY_CATEGORIES
                else p.rule_score
            )
            self._rule_scores[rule_id] = score
        return score

    def c_stopwords(self, lang: str) -> _speedups.StopSet:
        """The stopwords of ``lang`` for ``c_line`` (made once per language)."""
        assert _C_STOP is not None
        sw = self._c_stop.get(lang)
        if sw is None:
            sw = self._c_stop[lang] = _C_STOP(self.stop[lang])
        return sw

    def document(self) -> DocumentContext:
        """Start a document: feed it lines with ``push`` and end with ``finish``."""
        return DocumentContext(self)

    def classify(self, lines: Sequence[str], fixed: Sequence[str | None]) -> list[Verdict]:
        """All verdicts of one document (the same as pushing its lines one by one).

        ``lines``: the lines after rules ran (decoded, no line endings);
        ``fixed[i]``: None when no rule decided line i, else the id of the
        rule that removed it (``"dedup.repeat"`` for repeats; any other string
        counts as an ordinary rule).
        """
        if len(lines) != len(fixed):
            raise ValueError(f"lines and fixed differ in length ({len(lines)} != {len(fixed)})")
        doc = self.document()
        out: list[Verdict] = []
        for text, fx in zip(lines, fixed, strict=True):
            out.extend(doc.push(text, fx))
        out.extend(doc.finish())
        return out


class DocumentContext:
    """Streaming classifier state for one document."""

    def __init__(self, clf: ContextClassifier) -> None:
        # fewer than 30 attributes: from 30 on, CPython 3.11 no longer keeps
        # them in the class's shared form, and each self.x costs a dict lookup
        # (measured: +0.7% instructions on a default run; the classifier's
        # constants are read from clf instead)
        self.clf = clf
        self.p = p = clf.params
        self.flush_at = clf.flush_at
        self.buf: list[_Line] = []  # lines not yet decided, in order
        self.left: list[_Line] = []  # the last decided lines (context for short lines)
        self.n = 0
        self.lang: str | None = None
        self.guess: LanguageGuess | None = (LanguageGuess(clf.stop, clf.langs_of, clf.c_langs)
                                            if p.use_stopwords and clf.stop else None)
        self.sw: frozenset[str] | None = None
        self.c_sw: _speedups.StopSet | None = None  # self.sw for c_line
        self.classified = 0  # buf[:classified] have features and a class
        self.scored = 0  # buf[:scored] also have their Viterbi step
        self.prev: _Line | None = None  # the last non-blank scored line
        self.va = 0.0  # Viterbi: best path score ending in the article state
        self.vj = 0.0  # ... in the page state
        self.back = bytearray()  # Viterbi back-pointers of buf[:scored] (viterbi_forward)
        self.carry = 0.0  # score of the article run that reaches the last decided line
        self.carry_open = False
        self.best = 0.0  # strongest article run so far
        self.best_start = 0  # and the index of its first line
        self.carry_start = 0
        self.carry_in = False
        self.last_art = -1  # index of the last decided article line
        self.finishing = False
        self.crossdoc = clf.crossdoc if p.use_crossdoc else None
        self.seen: set[str] | None = set() if p.use_repeats else None  # short lines so far
        self.last_out: _Line | None = None  # the last non-blank line kept
        self.last_rep = -1  # index of the last short repeat seen
        self.new_line = clf.line_type

    # -- input -------------------------------------------------------------
    def push(self, text: str, fixed: str | None = None, held: bool = False) -> list[Verdict]:
        """Add the next line; return the verdicts now due (possibly none).
        ``held``: a repeat (``fixed`` DEDUP_RULE) whose verdict's ``own_keep``
        the caller reads; it is judged only for those (it classifies the line
        again, which every repeat removed outright would pay for nothing)."""
        buf = self.buf
        buf.append(self.new_line(self.n, text, fixed, held))
        self.n += 1
        if len(buf) >= self.flush_at:
            return self._flush(len(buf) - self.clf.hold)
        return []

    def finish(self) -> list[Verdict]:
        """End of document: the remaining verdicts."""
        self.finishing = True
        out = self._flush(len(self.buf))
        if self.crossdoc is not None:
            self.crossdoc.end_doc()
        return out

    # -- pass 1 ------------------------------------------------------------
    def _classify(self, lines: Iterable[_Line], own: bool = False, xdocs: int | None = None) -> None:
        """Pass 1: features, class and score of each line (``own``: repeats
        judged as any other line, leaving no trace in the running counts;
        ``xdocs``: the cross-document count of the lines, already taken).
        The reference for ``_speedups.classify_lines``."""
        p = self.p
        cd, c, c_sw, sw, seen = self.crossdoc, self.clf.c_line, self.c_sw, self.sw, self.seen
        for ln in lines:
            fx = ln.fixed
            if fx is not None:
                ln.feat = _NO_FEATURES
                if not ln.text.strip():  # a blank line the engine collapsed: no evidence
                    ln.kind, ln.score = BLANK, 0.0
                elif fx == DEDUP_RULE:
                    ln.kind, ln.score = DUP, p.dedup_score
                else:
                    ln.kind = RULE
                    ln.score = self.clf.rule_score(fx)
                continue
            t = ln.text.strip()
            if not t:
                ln.feat, ln.kind, ln.score = _NO_FEATURES, BLANK, 0.0
                continue
            x = xdocs if xdocs is not None else cd.see(t, not own) if cd is not None else 0
            r = c.classify(t, c_sw, x) if c is not None else None
            if r is None:
                r = line_class(t, sw, x, p)
            kind, why, score, feat, short = r
            if short and seen is not None and len(t) <= REPEAT_MAX_CHARS and not feat.bullet and not own:
                if t in seen:
                    ln.rep = True
                    self.last_rep = ln.index
                elif len(seen) < REPEAT_MAX_KEYS:
                    seen.add(t)
            ln.kind, ln.why, ln.score, ln.feat = kind, why, score, feat

    def _classify_c(self) -> None:
        """``_classify`` of the new lines in C; a line C leaves to Python is
        classified by ``_classify`` with the cross-document count C took."""
        buf, cd, line, run = self.buf, self.crossdoc, self.clf.c_line, self.clf.classify_lines
        assert run is not None and line is not None
        see = None if cd is None else (cd.rows, cd.bits, cd._pending, CROSSDOC_MAX_KEYS_PER_DOC)
        i = self.classified
        while i < len(buf):
            i, xdocs, rep = run(line, buf, i, self.c_sw, see, self.seen, self.clf.pass1_consts)
            if rep >= 0:
                self.last_rep = rep
            if i < len(buf):
                self._classify((buf[i],), xdocs=xdocs)
                i += 1

    def _score_pending(self, final: bool) -> None:
        """Pass 1 for new lines, then context adjustments and the Viterbi
        forward step for lines whose next LAG lines are known."""
        buf = self.buf
        p = self.p
        if self.guess is not None:
            # guess the language from every line not yet classified; until it
            # is clear (or LANG_MAX_LINES lines were sampled) lines are
            # classified without stopwords
            g = self.guess
            lang = None
            for i in range(self.classified, len(buf)):
                if g.feed(buf[i].text) and g.words >= LANG_EARLY_WORDS:
                    lang = g.best()
                    if lang is not None:
                        break
            self.lang = lang or g.best()
            if self.lang is not None or g.lines >= LANG_MAX_LINES or g.words >= LANG_ENOUGH_WORDS:
                self.sw = self.clf.stop.get(self.lang) if self.lang else None
                if self.sw is not None and self.lang and self.clf.c_line is not None:
                    self.c_sw = self.clf.c_stopwords(self.lang)
                self.guess = None
        n = len(buf)
        if self.classified < n:
            if self.clf.classify_lines is not None:
                self._classify_c()
            else:
                self._classify(buf[self.classified:] if self.classified else buf)
            self.classified = n
        stop = n if final else n - LAG
        if self.scored < stop:
            clf = self.clf
            if clf.context_lines is not None:
                self.prev, scores = clf.context_lines(buf, self.scored, stop, self.prev, clf.context_consts)
            else:
                scores = self._context_lines(stop)
            self.va, self.vj = clf.forward(scores, self.va, self.vj, p.switch_cost, self.back)
        self.scored = max(self.scored, stop)

    def _context_lines(self, stop: int) -> list[float]:
        """Pass 2 on ``buf[scored:stop]``; their scores. The reference for
        ``_speedups.context_lines``."""
        buf = self.buf
        prev = self.prev
        use_context = self.p.use_context
        for i in range(self.scored, stop):
            ln = buf[i]
            if ln.kind != BLANK:
                if use_context and ln.fixed is None:
                    self._context(i, prev)
                prev = ln
        self.prev = prev
        return [ln.score for ln in buf[self.scored:stop]]

    def _context(self, i: int, prev: _Line | None) -> None:
        """Pass 2 on line ``i`` (not blank, not removed by a rule)."""
        buf, p = self.buf, self.p
        ln = buf[i]
        kind = ln.kind
        # a paragraph of prose pasted twice in a row is an article paragraph
        # (its copy is removed): only other lines are echoes
        if kind != GOOD or not ln.feat.end:
            key = ""
            for o in buf[i + 1:i + 3]:
                if o.kind == DUP:
                    key = key or ln.text.strip().lower()
                    if o.text.strip().lower() == key:
                        # repeated right below itself: a link and its title, alt text and caption
                        ln.kind, ln.why, ln.score = BAD, "echoed-below", p.bad_score
                        return
        if kind == GOOD and (prev is None or prev.kind != GOOD):
            nxt = None
            for k in range(1, LAG + 1):
                if i + k < len(buf) and buf[i + k].kind != BLANK:
                    nxt = buf[i + k]
                    break
            if nxt is None or nxt.kind != GOOD:
                # prose with no prose right above or below: a teaser, a bio, a caption
                ln.score *= p.isolated_factor

    # -- the article region and the verdicts -------------------------------
    def _flush(self, upto: int) -> list[Verdict]:
        """Decide ``buf[:upto]`` using everything in ``buf``."""
        if upto <= 0:
            return []
        self._score_pending(final=upto == len(self.buf))
        p = self.p
        buf = self.buf
        n = self.scored
        # trace the best path back through the buffer
        # both ends of the document are free: a path may start or end in the
        # article without paying a switch (on clean input, such as extractor
        # output, the first and last lines are article text; charging the
        # switch there cost 1 point of recall on extracted/ and gained nothing)
        path = self.clf.trace(self.back, n, self.va > self.vj)
        # article runs and their scores (a run may continue from decided lines)
        runs: list[tuple[int, int, float]] = []
        self.carry_in = self.carry_open and n > 0 and path[0]
        i = 0
        while True:
            try:
                i = path.index(True, i)
            except ValueError:
                break
            try:
                j = path.index(False, i)
            except ValueError:
                j = n
            carried = i == 0 and self.carry_open
            tot = self.carry if carried else 0.0
            for ln in buf[i:j]:
                tot += ln.score
            runs.append((i, j, tot))
            if tot > self.best:
                self.best = tot
                self.best_start = self.carry_start if carried else buf[i].index
            i = j
        if upto < n and path[upto - 1] and path[upto]:
            # the run goes on past the decided part: carry its decided share
            k = upto - 1
            while k >= 0 and path[k]:
                k -= 1
            if k < 0 and self.carry_open:
                self.carry += sum(buf[m].score for m in range(upto))
            else:
                self.carry = sum(buf[m].score for m in range(k + 1, upto))
                self.carry_start = buf[k + 1].index
            self.carry_open = True
        else:
            self.carry, self.carry_open = 0.0, False
        art = [not p.use_region] * len(buf)
        if p.use_region and not p.use_run_filter:
            for a, b, _ in runs:
                art[a:b] = path[a:b]
        elif p.use_region:
            after = max(p.region_min, p.region_rel * self.best)
            before = max(p.region_min, p.region_rel_before * self.best)
            far = max(p.region_min, p.region_rel_far * self.best)
            ref = self.last_art
            for a, b, tot in runs:
                if buf[b - 1].index < self.best_start:
                    need = before
                elif ref >= 0 and buf[a].index - ref > p.region_gap and not (a == 0 and self.carry_in):
                    need = max(after, far)
                else:
                    need = after
                if tot >= need:
                    art[a:b] = path[a:b]  # all True
                    ref = buf[b - 1].index
        for i in range(upto - 1, -1, -1):
            if art[i]:
                self.last_art = buf[i].index
                break
        clf = self.clf
        if clf.verdict_lines is not None:
            weak = p.use_weak_article and self.finishing and self.best < p.weak_article
            cd = self.crossdoc
            line = clf.c_line
            own = None if line is None else (line, self.c_sw, None if cd is None else (cd.rows, cd.bits))
            out, left = clf.verdict_lines(buf, art, upto, clf.verdict_consts, clf.verdict_flags | weak << 1, own,
                                          self.left)
            for i in left:  # the branches C leaves to Python
                out[i] = self._verdicts(i, i + 1)[0]
        else:
            for ln, a in zip(buf, art, strict=True):
                ln.art = a
            out = self._verdicts(0, upto)
        if self.seen is not None:
            # short repeats of the line kept right above, or left over from a
            # copied block, go
            last = self.last_out
            if self.last_rep >= buf[0].index:
                for i, (ln, v) in enumerate(zip(buf[:upto], out, strict=True)):
                    if v.keep and v.kind != BLANK:
                        if ln.rep:
                            why = self._repeat(i, last)
                            if why:
                                out[i] = v._replace(keep=False, reason=why)
                                continue
                        last = ln
            else:  # no repeat to judge: only the last line kept matters
                for i in range(upto - 1, -1, -1):
                    if out[i].keep and out[i].kind != BLANK:
                        last = buf[i]
                        break
            self.last_out = last
        self.left.extend(buf[:upto])
        if len(self.left) > NEIGHBOR_MAX:
            del self.left[: len(self.left) - NEIGHBOR_MAX]
        del buf[:upto]
        del self.back[:upto]
        self.scored -= upto
        self.classified -= upto
        return out

    def _neighbor(self, i: int, step: int) -> _Line | None:
        """Nearest line that is not short or blank, within NEIGHBOR_MAX lines."""
        buf, left = self.buf, self.left
        for k in range(1, NEIGHBOR_MAX + 1):
            j = i + step * k
            if j >= len(buf):
                return None
            ln = buf[j] if j >= 0 else (left[j] if -j <= len(left) else None)
            if ln is None:
                return None
            if ln.kind not in (SHORT, BLANK):
                return ln
        return None

    def _near(self, i: int, step: int) -> _Line | None:
        """The nearest line above (step -1) or below (step 1) line ``i`` that
        is not blank and not removed by a rule or as a duplicate."""
        buf, left = self.buf, self.left
        j = i + step
        while -len(left) <= j < len(buf):
            ln = buf[j] if j >= 0 else left[j]
            if ln.kind not in _GAPS:
                return ln
            j += step
        return None

    def _repeat(self, i: int, last: _Line | None) -> str:
        """Why short repeat ``i`` (kept so far) is a copy, or "" (see the
        comment above ``REPEAT_MAX_CHARS``); ``last`` is the last non-blank
        line kept above it."""
        if last is not None and last.text.strip() == self.buf[i].text.strip():
            return REPEAT_ABOVE
        buf, left = self.buf, self.left
        for step in (-1, 1):
            j, seen = i + step, 0
            while seen < REPEAT_BLOCK_SPAN and -len(left) <= j < len(buf):
                o = buf[j] if j >= 0 else left[j]
                j += step
                if o.kind == BLANK:
                    continue
                seen += 1
                if o.kind == DUP:
                    if o.text.count(" ") + 1 >= self.p.long_units:
                        return REPEAT_BLOCK
                elif not o.rep:
                    break
        return ""

    def _weak_company(self, i: int, kind: str) -> bool:
        """In a document without a clear article: does line ``i`` keep company
        with its kind? A table row needs a row next to it (a lone "date -
        author - tags" or address line is no table); other content lines need
        a content line next to them or the document's edge (a paragraph alone
        among menu entries and link labels is a sidebar promo)."""
        up, down = self._near(i, -1), self._near(i, 1)
        if kind == DATA:
            return (up is not None and up.kind == DATA) or (down is not None and down.kind == DATA)
        return up is None or down is None or up.kind in _CONTENT or down.kind in _CONTENT

    def _own_keep(self, i: int) -> bool:
        """Whether repeat ``i`` would be kept were it not a repeat: its own
        pass-1 class, decided in place (the path and region stay as they are)."""
        ln = self.buf[i]
        saved = ln.fixed, ln.kind, ln.why, ln.score, ln.feat
        try:
            ln.fixed = None
            self._classify((ln,), own=True)
            return self._verdicts(i, i + 1)[0].keep
        finally:
            ln.fixed, ln.kind, ln.why, ln.score, ln.feat = saved

    def _verdicts(self, start: int, end: int) -> list[Verdict]:
        """The verdicts of ``buf[start:end]``."""
        buf, p = self.buf, self.p
        use_region = p.use_region
        weak = p.use_weak_article and self.finishing and self.best < p.weak_article
        out: list[Verdict] = []
        # tuple.__new__ makes a Verdict without the Python frame of Verdict()
        new = tuple.__new__
        for i in range(start, end):
            ln = buf[i]
            kind, art, own = ln.kind, ln.art, False
            if ln.fixed is not None:
                keep, why = False, ln.fixed
                own = ln.held and ln.fixed == DEDUP_RULE and self._own_keep(i)
            elif kind == BLANK:
                keep, why = True, "classifier:blank"
            elif not use_region:
                keep = art = kind in _CONTENT
                why = f"classifier:{kind}"
            elif not art:
                if weak and kind in _CONTENT:
                    keep = not p.use_weak_neighbors or self._weak_company(i, kind)
                    why = f"classifier:{kind}-no-clear-article" if keep else f"classifier:{kind}-alone-no-clear-article"
                else:
                    keep, why = False, _OUTSIDE[kind]
            elif kind == BAD and (
                p.drop_bad_in_article or (ln.why == WHY_CROSSDOC and ln.feat.units >= p.short_units)
            ):
                keep, why = False, f"classifier:{ln.why}"
            elif kind == SHORT and p.drop_short_in_article and not self._short_company(i):
                keep, why = False, "classifier:short-among-junk"
            else:
                keep, why = True, _IN_ARTICLE[kind]
            out.append(new(Verdict, (ln.index, keep, why, kind, art, ln.score, ln.feat, own)))
        return out

    def _short_company(self, i: int) -> bool:
        """Whether short line ``i`` (in the article) has a content line of the
        article as its nearest non-short neighbour above or below."""
        prev, nxt = self._neighbor(i, -1), self._neighbor(i, 1)
        ok_prev = prev is not None and prev.art and prev.kind in _CONTENT
        ok_next = nxt is not None and nxt.art and nxt.kind in _CONTENT
        return ok_prev or ok_next


__all__ = [
    "ContextClassifier",
    "ContextParams",
    "CrossDocCounter",
    "DocumentContext",
    "LineFeatures",
    "Verdict",
    "detect_language",
    "load_stopwords",
]
