"""Required literals of rule patterns: the prefilter used without Hyperscan.

For each pattern, ``required_literals`` derives a set of literal strings such
that every string the pattern can match (``search`` on one line) contains at
least one of them. ``LiteralPrefilter.scan`` then looks for those literals in
a batch of lines (``bytes.find`` for short ones; for the others one stdlib
``re`` trie per group over a suffix of each literal that starts at a rare
byte, the literal itself checked where its suffix is found) and reports,
per line, the rules whose literals it holds: the same shape as the Hyperscan
scan. A pattern with no
such set (it can match without any literal, or uses a construct the
derivation does not know) is tried on every line.

Derivation: the pattern is parsed by the standard library's ``re`` parser
after the ``regex``-only syntax it would reject (``\\p{..}``, ``\\x{..}``,
``(?<name>``, ``\\z``) is rewritten into syntax with the same literal
structure; anything else it does not know, or would read differently
(fuzzy ``{e<=1}``, POSIX or nested sets, verbose, V1 and full-case
patterns), sends the pattern to ``always``. Then, bottom-up, each node gets
the finite set of strings it matches (``exact``, when small) and a set of
required literals (``factors``): a concatenation keeps the best of its
children's sets, or of runs of children whose exact sets multiply out;
an alternation unites its branches' sets (none if a branch has none); a
repeat with minimum 0 has none; a class of a few characters expands.

Non-ASCII: the pseudo-literal ``NONASCII`` (a line holds it when it is not
ASCII) stands for characters the literals cannot spell: a class whose
ASCII members are few gives those members plus ``NONASCII`` for the rest
(``\\d``: ``0``-``9`` or another digit, which is not ASCII), and so does a
non-ASCII character under ``(?i)`` that the ``regex`` module's ``(?i)``
never lets match an ASCII one (checked for each such character; the four
that do, below, give their ASCII letter and ``NONASCII``). A class reaching
the surrogates also gives ``?``: an undecodable byte is ``?`` in the
scanned buffer.

Case: a literal under ``(?i)`` is kept in lower case and looked for in the
batch lowered (ASCII only: ``bytes.lower``) with the four non-ASCII letters
the ``regex`` module's ``(?i)`` matches for ASCII ones (``ſ ı İ`` and the
Kelvin sign) replaced by them; a non-ASCII character under ``(?i)`` ends the
literal (its case variants are not enumerated). Case-sensitive literals are
looked for in the batch as it is. Only characters the pattern spells out
become literal characters, so ``\\s`` never does: a literal space means the
pattern requires U+0020 there.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import regex

_sre: Any
_c: Any
try:  # the standard library's regex parser (``sre_parse``), private but stable since 3.11
    _sre = importlib.import_module("re._parser")
    _c = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - a Python without them: no literals, every rule runs
    _sre = None
    _c = None

# (case-insensitive, text): a literal; ci texts are lower-case ASCII
Lit = tuple[bool, str]

CLASS_MAX = 8  # a class of at most this many characters expands to alternatives
EXACT_MAX = 64  # strings an exact set (and a product of them) may hold
CLASS_FACTORS_MAX = 12  # ASCII members of a class that still give it (one-character) literals
# The pseudo-literal "some non-ASCII character": a line holds it when it is not
# ASCII. A lone surrogate, which no pattern character becomes (``_char``).
NONASCII = "\udc80"
FOLDS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}  # as prefilter._FOLD_TO_ASCII
_FOLDS_UTF8 = [(k.encode("utf-8"), v.encode("ascii")) for k, v in FOLDS.items()]


class NoLiterals(ValueError):
    """The pattern has no required literals (or uses syntax not understood)."""


# -- rewriting regex-only syntax ------------------------------------------------

_QUANT = re.compile(r"\{\d*(?:,\d*)?\}")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def to_stdlib(pattern: str, prop: Callable[[str], str] | None = None) -> str:
    """The pattern in syntax the stdlib parser reads with the same literal
    structure: ``\\p{..}``/``\\P{..}`` become ``\\w`` (a class, never a
    literal; or ``prop(escape)``), ``\\x{HEX}`` a ``\\U`` escape,
    ``(?<name>`` ``(?P<name>``, ``\\z`` ``\\Z``. Raises ``NoLiterals`` for
    syntax the two modules could read differently."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise NoLiterals("trailing backslash")
            e = pattern[i + 1]
            if e in "pP":
                start = i
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise NoLiterals("unterminated \\p{")
                    i = end + 1
                else:
                    i += 3
                out.append("\\w" if prop is None else prop(pattern[start:i]))
                continue
            if e == "x" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                digits = pattern[i + 3:end] if end > 0 else ""
                if not _HEX.fullmatch(digits) or int(digits, 16) > 0x10FFFF:
                    raise NoLiterals("bad \\x{..}")
                out.append(f"\\U{int(digits, 16):08x}")
                i = end + 1
                continue
            if e == "z":
                out.append("\\Z")
                i += 2
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and i + 1 < n and pattern[i + 1] in ":=.":
                raise NoLiterals("a POSIX class or nested set")
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            j = i + 1
            if pattern.startswith("^", j):
                j += 1
            if pattern.startswith("]", j):  # a leading ] is a member
                j += 1
            out.append(pattern[i:j])
            i = j
            continue
        if c == "{" and not _QUANT.match(pattern, i):
            raise NoLiterals("a brace that is not a counted repeat (fuzzy matching?)")
        if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


# -- the derivation ---------------------------------------------------------------


class _Info:
    """What a node matches: ``exact`` (every string it can match; None: too
    many or unknown) and ``factors`` (every match contains one; None: no
    such set)."""

    __slots__ = ("exact", "factors")

    def __init__(self, exact: frozenset[Lit] | None, factors: frozenset[Lit] | None) -> None:
        self.exact = exact
        self.factors = factors if factors is not None else _as_factors(exact)


def _as_factors(exact: frozenset[Lit] | None) -> frozenset[Lit] | None:
    if exact is None or any(not s for _, s in exact):
        return None
    return _simplify(exact)


def _simplify(lits: Iterable[Lit]) -> frozenset[Lit]:
    """Drop a literal that holds another of the same case mode: a line
    holding it holds the other."""
    items = sorted(set(lits), key=lambda x: len(x[1]))
    kept: list[Lit] = []
    for ci, s in items:
        if not any(kci == ci and k in s for kci, k in kept):
            kept.append((ci, s))
    return frozenset(kept)


_EMPTY: frozenset[Lit] = frozenset({(False, "")})
_NONASCII_SET: frozenset[Lit] = frozenset({(False, NONASCII)})
UNKNOWN = _Info(None, None)
ZERO_WIDTH = _Info(_EMPTY, None)


def _concat(a: frozenset[Lit], b: frozenset[Lit]) -> frozenset[Lit] | None:
    if len(a) * len(b) > EXACT_MAX:
        return None
    out: set[Lit] = set()
    for aci, x in a:
        for bci, y in b:
            if not x:
                out.add((bci, y))
            elif not y:
                out.add((aci, x))
            elif aci == bci:
                out.add((aci, x + y))
            else:
                return None  # a case-sensitive part next to a ci one: not one literal
    return frozenset(out)


def _score(f: frozenset[Lit]) -> tuple[int, int, int]:
    """Higher is better: long literals (up to 6 characters, past which a
    literal is rare anyway; ``NONASCII`` counts as none), then few of them,
    then case-sensitive ones."""
    return (min(min(0 if s == NONASCII else len(s) for _, s in f), 6), -len(f), -sum(ci for ci, _ in f))


def _best(sets: Iterable[frozenset[Lit] | None]) -> frozenset[Lit] | None:
    best: frozenset[Lit] | None = None
    for f in sets:
        if f and (best is None or _score(f) > _score(best)):
            best = f
    return best


def _char(ch: str, ci: bool) -> frozenset[Lit] | None:
    """The literals one pattern character matches (None: not a literal)."""
    if 0xD800 <= ord(ch) <= 0xDFFF or ch == "\ufffd":
        return None  # stands for undecodable bytes: not in the scanned buffer
    if not ci:
        return frozenset({(False, ch)})
    if not ch.isascii():
        return None  # its case variants under (?i) are not enumerated
    return frozenset({(True, ch.lower())})


@functools.lru_cache(maxsize=4096)
def _ci_matches_ascii(ch: str) -> bool:
    """Whether ``(?i)ch`` (the regex module) matches some ASCII character."""
    pat = regex.compile("(?i)" + regex.escape(ch))
    return any(pat.match(chr(a)) for a in range(128))


def _char_info(ch: str, ci: bool) -> _Info:
    """A pattern character: its exact literal, or, for a non-ASCII one under
    (?i) whose case variants are not enumerated, the pseudo-literal
    ``NONASCII`` when (?i) never lets it match an ASCII character."""
    one = _char(ch, ci)
    if one is not None:
        return _Info(one, None)
    if ci and ch in FOLDS:  # its ASCII letter (lowered in the buffer) or non-ASCII letters
        return _Info(None, frozenset({(True, FOLDS[ch]), (False, NONASCII)}))
    if ci and not ch.isascii() and ch != "\ufffd" and not 0xD800 <= ord(ch) <= 0xDFFF and not _ci_matches_ascii(ch):
        return _Info(None, _NONASCII_SET)
    return UNKNOWN


def _class(items: Sequence[tuple[Any, Any]], ci: bool) -> _Info:
    """A (non-negated) class: its exact set when it is a few characters the
    literals can spell; else, when its ASCII members are few, those members
    plus ``NONASCII`` for the rest (``\\d``: the ten ASCII digits or any
    other character, which is not ASCII)."""
    assert _c is not None
    chars: set[str] = set()
    other = False  # a member that is (or may be) non-ASCII, not spelled out
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE:
            lo, hi = av
            if min(hi, 0x7F) - lo >= CLASS_FACTORS_MAX:
                return UNKNOWN
            chars.update(chr(x) for x in range(lo, min(hi, 0x7F) + 1))
            if hi > 0x7F:
                other = True
                if ci:  # the fold letters in the range match ASCII ones
                    chars.update(k for k in FOLDS if max(lo, 0x80) <= ord(k) <= hi)
                if lo <= 0xDFFF and hi >= 0xD800:  # an undecodable byte: "?" in the scanned buffer
                    chars.add("?")
        elif op is _c.CATEGORY and av is _c.CATEGORY_DIGIT:
            chars.update("0123456789")
            other = True
        else:  # NEGATE, another category ...
            return UNKNOWN
        if len(chars) > CLASS_FACTORS_MAX + 4:
            return UNKNOWN
    out: set[Lit] = set()
    for ch in chars:
        if ci and ch in FOLDS:  # matches its ASCII letter (lowered in the buffer) or non-ASCII letters
            out.add((True, FOLDS[ch]))
            other = True
            continue
        info = _char_info(ch, ci)
        if info.exact is not None:
            out |= info.exact
        elif info.factors == _NONASCII_SET:
            other = True
        else:
            return UNKNOWN
    if not other and len(chars) <= CLASS_MAX:
        return _Info(frozenset(out), None)
    if len(out) > CLASS_FACTORS_MAX:
        return UNKNOWN
    return _Info(None, frozenset(out | _NONASCII_SET) if other else frozenset(out))


def _seq(items: Sequence[tuple[Any, Any]], ci: bool) -> _Info:
    """A concatenation."""
    run: frozenset[Lit] | None = _EMPTY
    whole = True  # the run spans every child so far: it is the exact set
    candidates: list[frozenset[Lit] | None] = []
    for item in items:
        info = _node(item, ci)
        joined = _concat(run, info.exact) if run is not None and info.exact is not None else None
        if joined is not None:
            run = joined
            continue
        whole = False
        candidates.append(_as_factors(run))
        candidates.append(info.factors)
        run = info.exact
    candidates.append(_as_factors(run))
    return _Info(run if whole else None, _best(candidates))


def _node(item: tuple[Any, Any], ci: bool) -> _Info:
    assert _c is not None
    op, av = item
    if op is _c.LITERAL:
        return _char_info(chr(av), ci)
    if op is _c.IN:
        return _class(av, ci)
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return ZERO_WIDTH  # consumes nothing
    if op is _c.SUBPATTERN:
        _group, add, dele, sub = av
        if add & _c.SRE_FLAG_IGNORECASE:
            ci = True
        if dele & _c.SRE_FLAG_IGNORECASE:
            ci = False
        return _seq(sub, ci)
    if op is _c.ATOMIC_GROUP:
        return _seq(av, ci)
    if op is _c.BRANCH:
        infos = [_seq(b, ci) for b in av[1]]
        exact: frozenset[Lit] | None = None
        if all(i.exact is not None for i in infos):
            union = frozenset().union(*(i.exact for i in infos if i.exact is not None))
            exact = union if len(union) <= EXACT_MAX else None
        factors = None
        if all(i.factors for i in infos):
            factors = _simplify(x for i in infos if i.factors for x in i.factors)
        return _Info(exact, factors)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        lo, hi, sub = av
        child = _seq(sub, ci)
        if lo == 0:
            if hi == 1 and child.exact is not None:
                return _Info(child.exact | _EMPTY, None)
            return UNKNOWN if hi != 0 else ZERO_WIDTH
        power: frozenset[Lit] | None = child.exact
        for _ in range(lo - 1):
            if power is None or child.exact is None:
                break
            power = _concat(power, child.exact)
        if power is None or lo > 8:
            return _Info(None, child.factors)
        return _Info(power if hi == lo else None, _best([_as_factors(power), child.factors]))
    return UNKNOWN  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, ...


def _parse(pattern: str, prop: Callable[[str], str] | None = None) -> tuple[list[tuple[Any, Any]], bool]:
    """The stdlib parse of a ``regex`` pattern (``to_stdlib``) and whether it
    ignores case. Raises ``NoLiterals`` where the two modules could read it
    differently."""
    if _sre is None or _c is None:
        raise NoLiterals("no stdlib regex parser")
    try:
        flags = regex.compile(pattern).flags
    except regex.error as exc:
        raise NoLiterals(str(exc)) from exc
    if flags & (regex.VERBOSE | regex.V1 | regex.FULLCASE):
        raise NoLiterals("verbose, V1 or full-case pattern")
    try:
        source = to_stdlib(pattern, prop)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and the like: read differently
            parsed = _sre.parse(source)
    except (regex.error, re.error, Warning, RecursionError, OverflowError) as exc:
        raise NoLiterals(str(exc)) from exc
    if parsed.state.flags & _c.SRE_FLAG_VERBOSE:
        raise NoLiterals("verbose pattern")
    return list(parsed), bool(flags & regex.IGNORECASE) or bool(parsed.state.flags & _c.SRE_FLAG_IGNORECASE)


def required_literals(pattern: str) -> frozenset[Lit]:
    """Literals one of which every match of ``pattern`` (a ``regex``
    pattern, ``search`` on a line) contains; ci ones in lower case. Raises
    ``NoLiterals`` if there is no such set or the pattern is not understood."""
    items, ci = _parse(pattern)
    factors = _seq(items, ci).factors
    if not factors:
        raise NoLiterals("a match needs no literal")
    return factors


# -- the most words of a line a pattern matches -------------------------------------

_INF = 1 << 30  # no bound


def line_words(pattern: str, blanks: frozenset[str]) -> int | None:
    """The most words (runs of characters not in ``blanks``) a line can hold
    when ``pattern`` (a ``regex`` pattern) matches it; None when the pattern
    is not anchored at both ends of the line (``^...$``, or alternatives
    that all are), the count is unbounded, or the pattern is not understood.
    An upper bound: a run of characters none of which can be a blank is one
    word, and a part that can match blanks counts every word it can hold."""
    items = _parsed(pattern, functools.partial(_prop, blanks=blanks))
    if items is None or not _anchored(items, 0) or not _anchored(items, -1):
        return None
    words = _words_seq(items, blanks)[0]
    return None if words >= _INF else words


def ends_lines(pattern: str) -> bool:
    """Does every match of ``pattern`` end at the end of the line (``$``,
    or alternatives that all end so)? False when not understood."""
    items = _parsed(pattern)
    return items is not None and _anchored(items, -1)


def _parsed(pattern: str, prop: Callable[[str], str] | None = None) -> list[tuple[Any, Any]] | None:
    """``_parse``'s nodes, or None where it raises ``NoLiterals``."""
    try:
        return _parse(pattern, prop)[0]
    except NoLiterals:
        return None


def _prop(escape: str, blanks: frozenset[str]) -> str:
    """A ``\\p{..}`` class for ``line_words``: ``\\w`` (never a blank) when
    it matches no blank, else ``\\W`` (blanks and others)."""
    pat = regex.compile("(?i)" + escape)
    return "\\W" if any(pat.fullmatch(b) for b in blanks) else "\\w"


def _anchored(items: Sequence[tuple[Any, Any]], edge: int) -> bool:
    """Does every match of the sequence start (``edge`` 0) or end (-1) at
    the line's edge: its first (last) node is ``^`` (``$``), or a group or
    alternatives that all are?"""
    assert _c is not None
    if not items:
        return False
    op, av = items[edge]
    if op is _c.AT:
        return av in ((_c.AT_BEGINNING, _c.AT_BEGINNING_STRING) if edge == 0 else (_c.AT_END, _c.AT_END_STRING))
    if op is _c.SUBPATTERN:
        return _anchored(av[3], edge)
    if op is _c.ATOMIC_GROUP:
        return _anchored(av, edge)
    if op is _c.BRANCH:
        return all(_anchored(b, edge) for b in av[1])
    return False


def _words_seq(items: Sequence[tuple[Any, Any]], blanks: frozenset[str]) -> tuple[int, bool]:
    """(most words, can hold a blank) of a concatenation: consecutive parts
    that hold no blank make one word at most."""
    total, run, any_blank = 0, 0, False
    for item in items:
        words, blank = _words(item, blanks)
        if blank:
            total += run + words
            run = 0
            any_blank = True
        else:
            run = max(run, words)
    return min(total + run, _INF), any_blank


def _words(item: tuple[Any, Any], blanks: frozenset[str]) -> tuple[int, bool]:
    """(most words, can hold a blank) of what one node matches."""
    assert _c is not None
    op, av = item
    if op is _c.LITERAL:
        return (0, True) if chr(av) in blanks else (1, False)
    if op is _c.IN:
        blank, other = _class_blanks(av, blanks)
        return int(other), blank
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return 0, False  # consumes nothing
    if op is _c.SUBPATTERN:
        return _words_seq(av[3], blanks)
    if op is _c.ATOMIC_GROUP:
        return _words_seq(av, blanks)
    if op is _c.BRANCH:
        each = [_words_seq(b, blanks) for b in av[1]]
        return max(w for w, _ in each), any(b for _, b in each)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        _, hi, sub = av
        words, blank = _words_seq(sub, blanks)
        if hi == 0:
            return 0, False
        if not blank:  # no blank in any repeat: one word
            return min(words, 1), False
        if words == 0:
            return 0, True
        if len(sub) == 1 and sub[0][0] in (_c.IN, _c.LITERAL, _c.NOT_LITERAL, _c.ANY) and hi is not _c.MAXREPEAT:
            return (hi + 1) // 2, True  # n characters: a blank between each two words
        return (_INF if hi is _c.MAXREPEAT else min(hi * words, _INF)), True
    return _INF, True  # ANY, NOT_LITERAL, GROUPREF ...: a character or more of any kind


def _class_blanks(items: Sequence[tuple[Any, Any]], blanks: frozenset[str]) -> tuple[bool, bool]:
    """(can match a blank, can match another character) for a class."""
    assert _c is not None
    blank = other = False
    for op, av in items:
        if op is _c.LITERAL:
            if chr(av) in blanks:
                blank = True
            else:
                other = True
        elif op is _c.RANGE:
            lo, hi = av
            inside = sum(lo <= ord(b) <= hi for b in blanks)
            blank = blank or inside > 0
            other = other or hi - lo + 1 > inside
        elif op is _c.CATEGORY and av in (_c.CATEGORY_WORD, _c.CATEGORY_DIGIT, _c.CATEGORY_NOT_SPACE):
            other = True  # the regex module's \\w, \\d and \\S match no blank
        elif op is _c.CATEGORY and av is _c.CATEGORY_SPACE:
            blank = True  # and \\n, which a line never holds
        else:  # NEGATE, \\W, \\D ...
            return True, True
    return blank, other


def fold(buf: bytes) -> bytes:
    """The buffer ci literals are looked for in: ASCII lowered, the (?i)
    fold letters spelled as their ASCII letters."""
    low = buf.lower()
    if not low.isascii():
        for k, v in _FOLDS_UTF8:
            if k in low:
                low = low.replace(k, v)
    return low


# -- the scan ----------------------------------------------------------------------------

WORD_TIERS = (12, 40)  # this prefilter's own (prefilter.WORD_TIERS suits Hyperscan)
WORD_COUNT_PREFIX = 4096
# Literals this short (in bytes) are found with bytes.find, one line at a
# time; longer ones with one trie-shaped stdlib ``re`` pattern per buffer.
SHORT = 3
FEW = 40  # a group of at most this many literals is found with bytes.find only
# The trie holds a suffix of each long literal (a line holding the literal
# holds every piece of it), of at least this many bytes, chosen so that the
# suffixes start with few and rare bytes: the pattern opens with the class of
# those bytes, which ``re`` skips through fast, and tries the trie only there.
SUFFIX_MIN = 4
# bytes from common to rare in scraped text (English-leaning; ASCII lowered
# in the ci buffer): the rank of a byte is its place here, later is rarer
_COMMON = b" etaoinsrhldcumfpgwyb,.vk0-12x3j\n5498q67z'/():\"ETAISCORNLDMPHBUFGWYVKJXQZ"


def _rank(b: int) -> int:
    i = _COMMON.find(bytes([b]))
    return i if i >= 0 else 30 if b >= 0x80 else len(_COMMON)


def _rare_suffixes(lits: Iterable[bytes]) -> dict[bytes, list[tuple[int, bytes]]]:
    """Each literal under one of its suffixes of at least ``SUFFIX_MIN``
    bytes (or the literal itself): suffix -> (where it starts in the literal,
    literal). The start bytes are chosen greedily, those covering most of the
    literals still left per share of text first."""
    starts = {k: {k[i] for i in range(max(1, len(k) - SUFFIX_MIN + 1))} for k in lits}
    chosen: set[int] = set()
    left = set(starts)
    while left:
        cover: dict[int, int] = {}
        for k in left:
            for b in starts[k]:
                cover[b] = cover.get(b, 0) + 1
        best = min(cover, key=lambda b: (0.85 ** _rank(b) / cover[b], b))  # about the share of text
        chosen.add(best)
        left = {k for k in left if best not in starts[k]}
    out: dict[bytes, list[tuple[int, bytes]]] = {}
    for k in sorted(starts):
        i = max((i for i in range(max(1, len(k) - SUFFIX_MIN + 1)) if k[i] in chosen), key=lambda i: (_rank(k[i]), -i))
        out.setdefault(k[i:], []).append((i, k))
    return out


class _Group:
    """The literals of one word tier and case mode, and how to find them."""

    def __init__(self, lits: dict[bytes, set[int]]) -> None:
        few = len(lits) <= FEW
        self.short = {k: frozenset(v) for k, v in lits.items() if few or len(k) < SHORT}
        long = _rare_suffixes(k for k in lits if not few and len(k) >= SHORT)
        # Several suffixes can match at one position only if each is a prefix
        # of the longest, which the greedy trie reports: what it is checked
        # for there includes what they are. Found at p, a suffix that starts at
        # i in a literal stands for that literal if the literal is at p - i.
        self.check_at: dict[bytes, tuple[tuple[int, bytes, frozenset[int]], ...]] = {
            k: tuple((i, lit, frozenset(lits[lit])) for j in range(1, len(k) + 1) if k[:j] in long
                     for i, lit in long[k[:j]]) for k in long}
        self.plain = {k for k, checks in self.check_at.items() if all(i == 0 for i, _, _ in checks)}
        # At every position holding a first byte (the class, consumed), a
        # look-behind back to it holds a zero-width look-ahead for the trie:
        # a match at every position where a suffix starts, none hides another.
        firsts = b"".join(re.escape(bytes([b])) for b in sorted({k[0] for k in long}))
        self.pattern = re.compile(b"[" + firsts + b"](?<=(?=(" + _trie(sorted(long)) + b")).)") if long else None


def _trie(words: Sequence[bytes]) -> bytes:
    """A stdlib ``re`` pattern matching exactly ``words``, longest first at
    each position (children differ in their first byte; an optional tail
    after a word that is a prefix of longer ones is greedy)."""
    root: dict[int, Any] = {}
    for w in words:
        node = root
        for b in w:
            node = node.setdefault(b, {})
        node[-1] = True

    def build(node: dict[int, Any]) -> bytes:
        alts = [re.escape(bytes([b])) + build(sub) for b, sub in sorted(node.items()) if b >= 0]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if -1 in node else body

    return build(root)


class LiteralPrefilter:
    """Maps a batch of lines to the rules whose required literals they hold.
    A rule without literals but with a word limit is reported on every line
    within that limit (the engine tries it nowhere else); without a limit it
    goes to ``always``."""

    def __init__(self, patterns: Sequence[tuple[int, str]], max_words: Sequence[int | None] = (),
                 derived: dict[str, frozenset[Lit] | None] | None = None) -> None:
        always: set[int] = set()
        lits: dict[tuple[int | None, bool], dict[bytes, set[int]]] = {}
        every: dict[int, set[int]] = {}  # tier -> rules reported on each of its lines
        nonascii: dict[int | None, set[int]] = {}  # tier -> rules reported on its lines that are not ASCII
        self.with_literals: set[int] = set()
        self.without: set[int] = set()
        for rule, pat in patterns:
            found = derived[pat] if derived is not None and pat in derived else _derive(pat)
            limit = max_words[rule] if rule < len(max_words) else None
            tier = next((t for t in WORD_TIERS if limit is not None and limit <= t), None)
            if found is None:
                self.without.add(rule)
                if tier is None:
                    always.add(rule)
                else:
                    every.setdefault(tier, set()).add(rule)
                continue
            self.with_literals.add(rule)
            for ci, text in found:
                if text == NONASCII:
                    nonascii.setdefault(tier, set()).add(rule)
                    continue
                lits.setdefault((tier, ci), {}).setdefault(text.encode("utf-8"), set()).add(rule)
        self.always: tuple[int, ...] = tuple(sorted(always))
        self._groups = {key: _Group(d) for key, d in lits.items()}
        self._every = {t: frozenset(r) for t, r in every.items()}
        self._nonascii = {t: frozenset(r) for t, r in nonascii.items()}
        self._tiers = sorted({t for t, _ in lits if t is not None} | set(every)
                             | {t for t in nonascii if t is not None})
        self.literal_count = sum(len(d) for d in lits.values())

    def scan(self, buf: bytes) -> dict[int, list[int]]:
        """``buf``: lines joined by ``\\n``. Line index -> sorted rule indexes."""
        hits: dict[int, set[int]] = {}
        for ci in (False, True):
            group = self._groups.get((None, ci))
            if group is not None:
                _find_into(hits, group, fold(buf) if ci else buf, None)
        rules = self._nonascii.get(None)
        if rules and not buf.isascii():
            _nonascii_into(hits, rules, buf, None)
        if self._tiers:
            lines = buf.split(b"\n")
            top = self._tiers[-1]
            # as in Prefilter.scan: bytes.split on a prefix never counts more
            # words than the engine does, so a line is never left out of a tier
            words = [len(line[:WORD_COUNT_PREFIX].split(None, top)) for line in lines]
            for limit in self._tiers:
                keep = [i for i, n in enumerate(words) if n <= limit]
                if not keep:
                    continue
                every = self._every.get(limit)
                if every:
                    for i in keep:
                        got = hits.get(i)
                        if got is None:
                            hits[i] = set(every)
                        else:
                            got |= every
                part = b"\n".join([lines[i] for i in keep])
                rules = self._nonascii.get(limit)
                if rules and not part.isascii():
                    _nonascii_into(hits, rules, part, keep)
                for ci in (False, True):
                    group = self._groups.get((limit, ci))
                    if group is not None:
                        _find_into(hits, group, fold(part) if ci else part, keep)
        return {k: sorted(v) for k, v in hits.items()}


def _derive(pattern: str) -> frozenset[Lit] | None:
    try:
        return required_literals(pattern)
    except NoLiterals:
        return None


def _add(hits: dict[int, set[int]], key: int, rules: frozenset[int]) -> None:
    got = hits.get(key)
    if got is None:
        hits[key] = set(rules)
    else:
        got |= rules


def _find_into(hits: dict[int, set[int]], group: _Group, hay: bytes, line_map: list[int] | None) -> None:
    """Add the rules of the literals ``hay`` holds to the lines holding them
    (``line_map``: line of ``hay`` -> line of the batch)."""
    breaks: list[int] | None = None

    def line_of(pos: int) -> int:
        assert breaks is not None
        line = bisect.bisect_left(breaks, pos)  # line breaks before pos
        return line if line_map is None else line_map[line]

    find = hay.find
    for lit, rules in group.short.items():
        pos = find(lit)
        if pos < 0:
            continue
        if breaks is None:
            breaks = [m.start() for m in _BREAK.finditer(hay)]
        while pos >= 0:
            line = bisect.bisect_left(breaks, pos)
            _add(hits, line if line_map is None else line_map[line], rules)
            if line >= len(breaks):
                break
            pos = find(lit, breaks[line] + 1)  # the next line
    if group.pattern is None:
        return
    check_at = group.check_at
    startswith = hay.startswith
    last: tuple[int, bytes] = (-1, b"")
    for m in group.pattern.finditer(hay):
        if breaks is None:
            breaks = [m.start() for m in _BREAK.finditer(hay)]
        key = m.group(1)
        pos = m.start()
        line = line_of(pos)
        if (line, key) == last and key in group.plain:  # else what is checked at pos may differ
            continue
        last = (line, key)
        for i, lit, rules in check_at[key]:
            if i == 0 or (pos >= i and startswith(lit, pos - i)):
                _add(hits, line, rules)


def _nonascii_into(hits: dict[int, set[int]], rules: frozenset[int], hay: bytes, line_map: list[int] | None) -> None:
    """Add ``rules`` to the lines of ``hay`` holding a byte that is not ASCII."""
    search = _NON_ASCII.search
    breaks = [m.start() for m in _BREAK.finditer(hay)]
    m = search(hay)
    while m is not None:
        line = bisect.bisect_left(breaks, m.start())
        _add(hits, line if line_map is None else line_map[line], rules)
        if line >= len(breaks):
            break
        m = search(hay, breaks[line] + 1)


_BREAK = re.compile(b"\n")
_NON_ASCII = re.compile(b"[\x80-\xff]")
