"""Small named line predicates used by rules and by the engine.

Every predicate takes the line text (decoded, without its line ending), the
previous line of the same block or document (or ``None``) and its parameters.
Thresholds are named ``*_DEFAULT`` constants so rule files can override them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import dedup

# A headline or publisher line in an ad rail rarely runs past 16 words, while
# article sentences usually do; ends-with-punctuation separates the rest.
SHORT_HEADLINE_MAX_WORDS_DEFAULT = 16
# A caption broken across lines leaves a tail of a few words.
FRAGMENT_MAX_WORDS_DEFAULT = 12
SHORT_LINE_MAX_WORDS_DEFAULT = 8
# A kept line this long that ends a sentence means the article body has begun;
# headlines, kickers and bylines above it are shorter.
BODY_MIN_WORDS = 12

_SENTENCE_END = frozenset(".!?…。！？")
_CLOSERS = frozenset("\"'”’»)]")


# Longer lines are counted piece by piece: ``str.split`` on a line of tens of
# megabytes (a minified script, a data URI) would hold a string per word.
WORD_COUNT_PIECE = 1 << 16


def word_count(text: str) -> int:
    """Whitespace-separated words (as ``len(text.split())``), in memory
    bounded by ``WORD_COUNT_PIECE`` whatever the line's length (in C, when
    the extension is built, with no list of words at all)."""
    if _c_word_count is not None:
        return _c_word_count(text)
    return py_word_count(text)


def py_word_count(text: str) -> int:
    """``word_count`` in Python (the reference for ``_speedups.word_count``)."""
    if len(text) <= WORD_COUNT_PIECE:
        return len(text.split())
    n = 0
    for i in range(0, len(text), WORD_COUNT_PIECE):
        n += len(text[i:i + WORD_COUNT_PIECE].split())
        if i and not text[i - 1].isspace() and not text[i].isspace():
            n -= 1  # a word cut in two by the piece boundary
    return n


_c_word_count: Callable[[str], int] | None = dedup.speedup("word_count")


def ends_sentence(text: str) -> bool:
    """True when the line ends like a sentence (closing quotes and brackets skipped)."""
    t = text.rstrip()
    while t and t[-1] in _CLOSERS:
        t = t[:-1]
    return bool(t) and t[-1] in _SENTENCE_END


def is_body_line(text: str) -> bool:
    """A line that looks like article prose: long and ends like a sentence."""
    return word_count(text) >= BODY_MIN_WORDS and ends_sentence(text)


def _unbalanced(text: str) -> bool:
    return text.count("(") > text.count(")") or text.count("[") > text.count("]")


Params = Mapping[str, int]
PredicateFn = Callable[[str, "str | None", Params], bool]


def short_headline(text: str, prev: str | None, params: Params) -> bool:
    """A headline- or label-like line: few words, no sentence ending, and no
    colon at the end (such a line introduces what follows, a list or a quote:
    rails of headlines do not end that way)."""
    limit = params.get("max_words", SHORT_HEADLINE_MAX_WORDS_DEFAULT)
    return word_count(text) <= limit and not ends_sentence(text) and not text.rstrip().endswith(":")


def short_line(text: str, prev: str | None, params: Params) -> bool:
    """Any line of at most ``max_words`` words."""
    return word_count(text) <= params.get("max_words", SHORT_LINE_MAX_WORDS_DEFAULT)


def fragment(text: str, prev: str | None, params: Params) -> bool:
    """The tail of a line broken in two: the previous line did not finish
    (no sentence end, or an open bracket) and this one is short."""
    if prev is None or word_count(text) > params.get("max_words", FRAGMENT_MAX_WORDS_DEFAULT):
        return False
    return _unbalanced(prev) or not ends_sentence(prev)


def any_line(text: str, prev: str | None, params: Params) -> bool:
    """Every line: the block runs to ``max_lines``."""
    return True


@dataclass(frozen=True)
class PredicateSpec:
    fn: PredicateFn
    params: frozenset[str]
    doc: str


PREDICATES: dict[str, PredicateSpec] = {
    "short_headline": PredicateSpec(short_headline, frozenset({"max_words"}), short_headline.__doc__ or ""),
    "short_line": PredicateSpec(short_line, frozenset({"max_words"}), short_line.__doc__ or ""),
    "fragment": PredicateSpec(fragment, frozenset({"max_words"}), fragment.__doc__ or ""),
    "any": PredicateSpec(any_line, frozenset(), any_line.__doc__ or ""),
}
